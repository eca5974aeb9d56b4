"""TradeTrust interoperability: the two npm verifiers, `@govtechsg/oa-verify` 9.4.0 and `@tradetrust-tt/tt-verify`
9.7.2 (both pinned exactly in package.json), check certnet documents on our chain.

The pinned libraries run in node through ``tests/oracle/tt_verify.cjs`` (one process, both libraries, each with an
ethers v5 StaticJsonRpcProvider of its own) on the session's anvil node (chain 31337). Documents are issued, revoked
and superseded through certnet's real pipeline; every eth_call each verifier makes is recorded and decoded. Every
test below about a verifier's answers runs once per verifier (the ``verifier`` parameter), on the same documents and
chain states; ``test_both_verifiers_give_the_same_answers`` compares them with each other.

Findings this file pins down (for both verifiers alike):

* Against an authority's DocumentStore (the store in issuers[0].documentStore), each verifier asks
  ``supportsInterface(0xdcfd0745)`` (false: the batchable id is not advertised), then ``isIssued(bytes32)``
  with ``0x<merkleRoot>``, then
  ``supportsInterface(0xdcfd0745)`` again and root-only ``isRevoked(bytes32)`` for ``0x<targetHash>``,
  each node on the proof path and the root. Issued, revoked (one document or the whole batch),
  superseded, tampered and never-issued documents all get the right DOCUMENT_STATUS /
  DOCUMENT_INTEGRITY answers.
* The verifiers only run their checks on documents that pass the OpenAttestation v2 JSON schema, which
  wants ``network: {chain: <string>, chainId?: <string>}``; certnet's envelope writes exactly that
  (plus the network's name), so documents as the pipeline issues them are checked unrelaxed.
  (tt-verify checks the same schema, through its fork `@tradetrust-tt/tradetrust`.)
* ISSUER_IDENTITY is never VALID: certnet's identityProof type CERTNET-REGISTRY is neither DNS-TXT nor
  DNS-DID, so both identity verifiers answer SKIPPED and the libraries' ``isValid`` is false.

These tests fail (they do not skip) when node or either package is missing.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy import select

from certnet.issuer.outbox import Document, open_database
from certnet.issuer.pipeline import Pipeline, PipelineConfig
from certnet.verifier.sources import ChainSource
from certnet.verifier.verify import Verifier
from certnet.verifier.wrap import wrap_documents
from tests.support.corpus import _docs
from tests.support.tradetrust import (
    BATCHABLE_ID,
    VERIFIERS,
    fragment,
    integrity,
    path_hashes,
    store_status,
)


@pytest.fixture(scope="module")
def both_world(anvil_engine, tt_oracle, tmp_path_factory):
    tt = tt_oracle
    """Documents issued through the pipeline, verified by both TradeTrust verifiers before and after revocations."""
    from tests.conftest import make_net

    net = make_net(anvil_engine)
    url = anvil_engine.rpc_url
    tmp = tmp_path_factory.mktemp("tt-outbox")
    issuer = net.addr("vn_issuer")
    sessions = open_database(f"sqlite:///{tmp / 'outbox.db'}")
    p = Pipeline(sessions, net.engine.w3, net.deployment, {issuer: net.actors["vn_issuer"]}, PipelineConfig())
    raws_a = _docs(net, 5, seed=301)
    batch_a = p.submit(issuer, raws_a)
    p.run_until_idle()
    batch_b = p.submit(issuer, _docs(net, 3, seed=302))
    p.run_until_idle()

    def wrapped(doc_id: int) -> dict[str, Any]:
        with sessions() as s:
            return s.get(Document, doc_id).wrapped

    docs = {f"a{i}": wrapped(r.id) for i, r in enumerate(batch_a)}
    docs.update({f"b{i}": wrapped(r.id) for i, r in enumerate(batch_b)})
    relaxed = ()  # certnet documents pass the OpenAttestation v2 schema as issued
    before_names = ["a0", "a1", "a2", "a3", "b0", "b2"]
    before = dict(zip(before_names, tt([docs[n] for n in before_names], url, *relaxed), strict=True))

    # the same kind of document, but with the network block in the OpenAttestation v2 shape
    raw = _docs(net, 1, seed=303)[0]
    raw["network"] = {"chain": "ETH", "chainId": str(net.deployment.chain_id), "name": net.deployment.name}
    _, (oa_shaped,) = wrap_documents([raw])
    net.store("vn_issuer").anchor(oa_shaped["signature"]["merkleRoot"], "FORM_D", 1)
    unrelaxed = dict(zip(["a0", "oa_shaped"], tt([docs["a0"], oa_shaped], url), strict=True))

    # certnet revokes one document, supersedes another, revokes batch B whole
    p.request_revocation(issuer, document_id=batch_a[1].id, reason="FRAUDULENT")
    corrected = dict(raws_a[2], referenceNumber=raws_a[2]["referenceNumber"] + "-C")
    (successor,) = p.submit(issuer, [corrected])
    p.run_until_idle()
    p.request_supersession(issuer, batch_a[2].id, successor.id)
    p.request_revocation(issuer, document_id=batch_b[0].id, whole_batch=True, reason="ISSUED_IN_ERROR")
    p.run_until_idle()
    with sessions() as s:
        from certnet.issuer.outbox import Action

        assert all(a.state == "DONE" for a in s.scalars(select(Action))), "a revocation did not go through"
    docs["successor"] = wrapped(successor.id)
    tampered = copy.deepcopy(docs["a3"])
    salt = tampered["data"]["exporter"]["name"].split(":", 2)[0]
    tampered["data"]["exporter"]["name"] = f"{salt}:string:Forged Exports Ltd"
    docs["tampered"] = tampered
    _, (unissued,) = wrap_documents(_docs(net, 1, seed=304))
    docs["unissued"] = unissued

    # a key marked compromised since t: what it anchored after t is not valid; a document it revoked after t
    # verifies as before the revocation
    reg = net.registry("vn_admin")
    rogue = net.new_actor("vn_rogue")
    net.stores["cantho"] = reg.store_from(reg.register_authority("VCCI Can Tho", ["FORM_D"], first_key=rogue.address))
    rogue_store = net.store("vn_rogue", authority="cantho")
    (_, (kept,)), (_, (stolen,)) = (
        wrap_documents(_docs(net, 1, seed=s, name="VCCI Can Tho", store=net.stores["cantho"])) for s in (305, 306)
    )
    rogue_store.anchor(kept["signature"]["merkleRoot"], "FORM_D", 1)
    anvil_engine.advance_time(10)
    since = anvil_engine.w3.eth.get_block("latest")["timestamp"] + 1
    anvil_engine.advance_time(5)
    rogue_store.anchor(stolen["signature"]["merkleRoot"], "FORM_D", 1)
    rogue_store.revoke_root(kept["signature"]["merkleRoot"], "FRAUDULENT")
    revoked_by_thief = tt([kept, stolen], url)
    reg.mark_compromised(rogue.address, since)
    docs["compromised_anchor"], docs["compromised_revocation"] = stolen, kept
    after_names = [
        "a0",
        "a1",
        "a2",
        "a3",
        "a4",
        "successor",
        "b0",
        "b2",
        "tampered",
        "unissued",
        "compromised_anchor",
        "compromised_revocation",
    ]
    after = dict(zip(after_names, tt([docs[n] for n in after_names], url, *relaxed), strict=True))
    certnet = dict(
        zip(
            after_names,
            Verifier(ChainSource(net.engine.w3, net.deployment)).verify_many([docs[n] for n in after_names]),
            strict=True,
        )
    )
    return {
        "net": net,
        "docs": docs,
        "before": before,
        "after": after,
        "unrelaxed": unrelaxed,
        "oa_shaped": oa_shaped,
        "certnet": certnet,
        "revoked_by_thief": revoked_by_thief,
    }


#: the entries of `both_world` that hold the oracle's answers (per document, one result per verifier)
ANSWERS = ("before", "after", "unrelaxed", "revoked_by_thief")


@pytest.fixture
def world(both_world, tt_verifier):
    verifier = tt_verifier
    """`both_world` as one verifier saw it: each answer is that verifier's result alone."""
    view = dict(both_world)
    for key in ANSWERS:
        answers = both_world[key]
        if isinstance(answers, dict):
            view[key] = {name: per_verifier[verifier] for name, per_verifier in answers.items()}
        else:
            view[key] = [per_verifier[verifier] for per_verifier in answers]
    return view


def comparable(result: dict[str, Any]) -> list[tuple[Any, ...]]:
    """What a verifier concluded about a document (its version and its call log aside)."""
    return [
        (f["name"], f["type"], f["status"], (f.get("reason") or {}).get("codeString"), f.get("data"))
        for f in result["fragments"]
    ] + [("isValid", result["isValid"])]


def test_both_verifiers_give_the_same_answers(both_world):
    """oa-verify and tt-verify reach the same fragments (status, reason, data) and ask the store the same
    questions for every document, in every chain state."""
    (oa, ttv) = VERIFIERS
    compared = 0
    for key in ANSWERS:
        answers = both_world[key]
        for name, per_verifier in answers.items() if isinstance(answers, dict) else enumerate(answers):
            assert comparable(per_verifier[oa]) == comparable(per_verifier[ttv]), (key, name)
            asked = [
                [(c["to"].lower(), c["fn"], c["args"], c.get("result")) for c in r["calls"]]
                for r in (per_verifier[oa], per_verifier[ttv])
            ]
            assert sorted(asked[0]) == sorted(asked[1]), (key, name)
            compared += 1
    assert compared == 6 + 12 + 2 + 2


def test_issued_documents_are_valid_for_oa_verify(world):
    for name, r in world["before"].items():
        assert integrity(r) == "VALID", name
        st = store_status(r)
        assert st["status"] == "VALID", (name, st)
        assert st["data"]["issuedOnAll"] is True and st["data"]["revokedOnAny"] is False


def test_oa_verify_uses_the_root_only_document_store_path(world):
    """Exactly what oa-verify asks the authority's DocumentStore, in order, for one document."""
    store = world["net"].stores["vn"].lower()
    for name, r in world["before"].items():
        w = world["docs"][name]
        root = "0x" + w["signature"]["merkleRoot"]
        calls = [(c["to"].lower(), c["fn"], c["args"], c.get("result")) for c in r["calls"]]
        expected = [
            (store, "supportsInterface(bytes4)", [BATCHABLE_ID], "false"),
            (store, "isIssued(bytes32)", [root], "true"),
            (store, "supportsInterface(bytes4)", [BATCHABLE_ID], "false"),
        ] + [(store, "isRevoked(bytes32)", [h], "false") for h in path_hashes(w)]
        assert calls == expected, (name, calls)
        assert len(w["signature"]["proof"]) >= 1  # batches of several: the proof path is really walked


def test_revoked_document_is_invalid_and_its_batch_mates_stay_valid(world):
    r = world["after"]["a1"]
    assert integrity(r) == "VALID"
    st = store_status(r)
    assert st["status"] == "INVALID" and st["reason"]["codeString"] == "DOCUMENT_REVOKED"
    target = "0x" + world["docs"]["a1"]["signature"]["targetHash"]
    revoked_asks = {c["args"][0]: c["result"] for c in r["calls"] if c["fn"] == "isRevoked(bytes32)"}
    assert revoked_asks[target] == "true"
    # revoking one document does not touch the others of its batch
    for name in ("a0", "a3", "a4"):
        assert store_status(world["after"][name])["status"] == "VALID", name


def test_whole_batch_revocation_is_invalid(world):
    for name in ("b0", "b2"):
        r = world["after"][name]
        st = store_status(r)
        assert st["status"] == "INVALID" and st["reason"]["codeString"] == "DOCUMENT_REVOKED", name
        root = "0x" + world["docs"][name]["signature"]["merkleRoot"]
        asks = {c["args"][0]: c["result"] for c in r["calls"] if c["fn"] == "isRevoked(bytes32)"}
        assert asks[root] == "true"


def test_superseded_document_is_invalid_and_its_successor_valid(world):
    st = store_status(world["after"]["a2"])
    assert st["status"] == "INVALID" and st["reason"]["codeString"] == "DOCUMENT_REVOKED"
    succ = world["after"]["successor"]
    assert integrity(succ) == "VALID" and store_status(succ)["status"] == "VALID"


def test_tampered_document_fails_integrity(world):
    r = world["after"]["tampered"]
    h = fragment(r, "OpenAttestationHash")
    assert h["status"] == "INVALID" and h["reason"]["codeString"] == "DOCUMENT_TAMPERED"
    assert r["isValid"] is False


def test_never_issued_document_is_invalid(world):
    st = store_status(world["after"]["unissued"])
    assert st["status"] == "INVALID" and st["reason"]["codeString"] == "DOCUMENT_NOT_ISSUED"


def test_issuer_identity_is_not_valid_for_oa_verify(world):
    """Recorded, not a goal: CERTNET-REGISTRY identity proofs are unknown to the TradeTrust verifiers."""
    seen = set()
    for r in [*world["before"].values(), *world["after"].values()]:
        ident = [f for f in r["fragments"] if f["type"] == "ISSUER_IDENTITY"]
        assert {f["name"] for f in ident} == {
            "OpenAttestationDnsTxtIdentityProof",
            "OpenAttestationDnsDidIdentityProof",
        }
        for f in ident:
            assert f["status"] != "VALID"
            seen.add((f["name"], f["status"], f["reason"]["codeString"]))
        assert r["isValid"] is False  # oa-verify's isValid needs a VALID issuer identity
    assert seen == {
        ("OpenAttestationDnsTxtIdentityProof", "SKIPPED", "SKIPPED"),
        ("OpenAttestationDnsDidIdentityProof", "SKIPPED", "SKIPPED"),
    }


def test_certnet_and_oa_verify_agree_on_status(world):
    expected = {
        "a0": "VALID",
        "a1": "REVOKED",
        "a2": "SUPERSEDED",
        "a3": "VALID",
        "a4": "VALID",
        "successor": "VALID",
        "b0": "REVOKED",
        "b2": "REVOKED",
        "tampered": "TAMPERED",
        "unissued": "NOT_ISSUED",
        "compromised_anchor": "UNAUTHORIZED_ISSUER",
        "compromised_revocation": "VALID",
    }
    for name, r in world["after"].items():
        ours = world["certnet"][name].status
        assert ours == expected[name], (name, ours)
        theirs_ok = integrity(r) == "VALID" and store_status(r)["status"] == "VALID"
        assert theirs_ok == (ours == "VALID"), (name, ours, r["fragments"])


def test_oa_shaped_network_block_passes_without_relaxation(world):
    """The only thing between certnet documents and oa-verify is the shape of `network`."""
    r = world["unrelaxed"]["oa_shaped"]
    assert integrity(r) == "VALID"
    assert store_status(r)["status"] == "VALID"


def test_pipeline_documents_pass_the_oa_schema(world):
    r = world["unrelaxed"]["a0"]
    assert integrity(r) == "VALID", r["fragments"]
    assert store_status(r)["status"] == "VALID"


def test_compromised_key_anchor_is_not_valid_for_oa_verify(world):
    """Anchored by a key after its compromised-since time: valid for oa-verify until the key was marked, then not
    (the root reads revoked through the root-only isRevoked), as certnet says UNAUTHORIZED_ISSUER."""
    assert store_status(world["revoked_by_thief"][1])["status"] == "VALID"
    r = world["after"]["compromised_anchor"]
    assert integrity(r) == "VALID"
    st = store_status(r)
    assert st["status"] == "INVALID" and st["reason"]["codeString"] == "DOCUMENT_REVOKED"
    root = "0x" + world["docs"]["compromised_anchor"]["signature"]["merkleRoot"]
    asks = {c["args"][0]: c["result"] for c in r["calls"] if c["fn"] == "isRevoked(bytes32)"}
    assert asks[root] == "true"
    assert world["certnet"]["compromised_anchor"].status == "UNAUTHORIZED_ISSUER"


def test_compromised_key_revocation_stops_counting_for_oa_verify(world):
    """Revoked by a key after its compromised-since time: revoked for oa-verify until the key was marked, then
    valid again, for oa-verify and certnet."""
    before = store_status(world["revoked_by_thief"][0])
    assert before["status"] == "INVALID" and before["reason"]["codeString"] == "DOCUMENT_REVOKED"
    assert store_status(world["after"]["compromised_revocation"])["status"] == "VALID"
    assert world["certnet"]["compromised_revocation"].status == "VALID"
