"""A mixed corpus of documents on a test network, each with the overall status a verifier must give."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from certnet.issuer import samples
from certnet.issuer.envelope import issuer_block, network_block
from certnet.issuer.outbox import open_database
from certnet.issuer.pipeline import Pipeline, PipelineConfig
from certnet.verifier.signing import sign_document
from certnet.verifier.wrap import wrap_documents


def _docs(
    net, n: int, seed: int, country: str = "VN", name: str = "VCCI Ho Chi Minh City", store: str | None = None
) -> list[dict]:
    d = net.deployment
    block = issuer_block(d, name, store or net.stores["vn"])
    return list(samples.generate(n, seed=seed, issuer_block=block, network=network_block(d), issuing_country=country))


def build_corpus(net, tmp_path: Path) -> dict[str, tuple[dict[str, Any], str]]:
    """{name: (wrapped document, expected overall status)}. Issued through the real pipeline."""
    issuer = net.addr("vn_issuer")
    sessions = open_database(f"sqlite:///{tmp_path / 'corpus-outbox.db'}")
    p = Pipeline(sessions, net.engine.w3, net.deployment, {issuer: net.actors["vn_issuer"]}, PipelineConfig())
    raws = _docs(net, 8, seed=42)
    recs = p.submit(issuer, raws)
    p.run_until_idle()
    p.request_revocation(issuer, document_id=recs[1].id, reason="FRAUDULENT")
    corrected = dict(raws[2], referenceNumber=raws[2]["referenceNumber"] + "-C")
    (new,) = p.submit(issuer, [corrected])
    p.run_until_idle()
    p.request_supersession(issuer, recs[2].id, new.id)
    p.run_until_idle()
    from sqlalchemy import select

    from certnet.issuer.outbox import Document

    with sessions() as s:
        docs = {d.id: d.wrapped for d in s.scalars(select(Document))}
    corpus: dict[str, tuple[dict, str]] = {
        "valid": (docs[recs[0].id], "VALID"),
        "valid_successor": (docs[new.id], "VALID"),
        "revoked_document": (docs[recs[1].id], "REVOKED"),
        "superseded": (docs[recs[2].id], "SUPERSEDED"),
    }
    tampered = copy.deepcopy(docs[recs[3].id])
    exporter = tampered["data"]["exporter"]
    salt = exporter["name"].split(":", 2)
    exporter["name"] = f"{salt[0]}:string:Forged Exports Ltd"
    corpus["tampered"] = (tampered, "TAMPERED")

    # a separate batch revoked as a whole
    recs_b = p.submit(issuer, _docs(net, 3, seed=7))
    p.run_until_idle()
    p.request_revocation(issuer, document_id=recs_b[0].id, whole_batch=True, reason="ISSUED_IN_ERROR")
    p.run_until_idle()
    with sessions() as s:
        corpus["revoked_batch"] = (s.get(Document, recs_b[2].id).wrapped, "REVOKED")

    # wrapped for this network but never anchored
    _, (unissued,) = wrap_documents(_docs(net, 1, seed=99))
    corpus["unissued"] = (unissued, "NOT_ISSUED")

    # anchored by an issuer whose key is then marked compromised since before the anchor
    rogue = net.new_actor("vn_rogue")
    reg = net.registry("vn_admin")
    net.stores["cantho"] = reg.store_from(reg.register_authority("VCCI Can Tho", ["FORM_D"], first_key=rogue.address))
    # another authority's service: its own outbox (one writer per outbox, and `p` above holds this one's)
    rsessions = open_database(f"sqlite:///{tmp_path / 'corpus-rogue-outbox.db'}")
    rp = Pipeline(rsessions, net.engine.w3, net.deployment, {rogue.address: rogue}, PipelineConfig())
    (rrec,) = rp.submit(rogue.address, _docs(net, 1, seed=5, name="VCCI Can Tho", store=net.stores["cantho"]))
    rp.run_until_idle()
    anchored_at = net.store(authority="cantho").anchor_of(s_root := rrec_root(rsessions, rrec.id)).anchored_at
    net.registry("vn_admin").mark_compromised(rogue.address, anchored_at)
    with rsessions() as s:
        corpus["compromised_issuer"] = (s.get(Document, rrec.id).wrapped, "UNAUTHORIZED_ISSUER")
    del s_root

    # revoked by a key of its own authority that is then marked compromised since before the revocation: the
    # revocation no longer counts, the document is valid again (anchored before that time)
    vt = net.new_actor("vn_vungtau")
    net.stores["vungtau"] = reg.store_from(reg.register_authority("VCCI Vung Tau", ["FORM_D"], first_key=vt.address))
    _, vt_docs = wrap_documents(_docs(net, 2, seed=14, name="VCCI Vung Tau", store=net.stores["vungtau"]))
    vt_store = net.store("vn_vungtau", authority="vungtau")
    vt_store.anchor(vt_docs[0]["signature"]["merkleRoot"], "FORM_D", 2)
    net.engine.advance_time(5)
    sig = vt_docs[0]["signature"]
    revocation = vt_store.revoke_document(sig["merkleRoot"], sig["targetHash"], sig["proof"], "FRAUDULENT")
    revoked_at = net.engine.w3.eth.get_block(revocation["blockNumber"])["timestamp"]
    net.registry("vn_admin").mark_compromised(vt.address, revoked_at)
    corpus["revoked_by_compromised_key"] = (vt_docs[0], "VALID")

    # a node of the proof path revoked: both documents under it are revoked, the rest of the batch is not
    _, quad = wrap_documents(_docs(net, 4, seed=15))
    net.store("vn_issuer").anchor(quad[0]["signature"]["merkleRoot"], "FORM_D", 4)
    leaf = quad[0]["signature"]
    proof = leaf["proof"]
    from certnet.verifier.merkle import combine

    node = combine(bytes.fromhex(leaf["targetHash"]), bytes.fromhex(proof[0]))
    net.store("vn_issuer").revoke_document(leaf["merkleRoot"], node, proof[1:], "GOODS_NOT_SHIPPED")
    under = [d for d in quad if d["signature"]["proof"][1:] == proof[1:]]
    others = [d for d in quad if d["signature"]["proof"][1:] != proof[1:]]
    corpus["proof_node_revoked"] = (under[1], "REVOKED")
    corpus["proof_node_other_subtree"] = (others[0], "VALID")

    # issued by an authority of another country (its own store), verified on the same network
    th_raw = _docs(net, 1, seed=16, country="TH", name="Thai Department of Foreign Trade", store=net.stores["th"])
    _, (th_doc,) = wrap_documents(th_raw)
    net.store("th_issuer").anchor(th_doc["signature"]["merkleRoot"], "FORM_D", 1)
    corpus["other_country_store"] = (th_doc, "VALID")

    # a document claiming another country than its issuer's
    th_claim = _docs(net, 1, seed=11)[0]
    _, (wrong_country,) = wrap_documents([dict(th_claim, issuingCountry="TH")])
    net.store("vn_issuer").anchor(wrong_country["signature"]["merkleRoot"], "FORM_D", 1)
    corpus["country_mismatch"] = (wrong_country, "UNAUTHORIZED_ISSUER")

    # signed by the issuer / by someone else
    _, (signed,) = wrap_documents(_docs(net, 1, seed=12))
    net.store("vn_issuer").anchor(signed["signature"]["merkleRoot"], "FORM_D", 1)
    corpus["signed_by_issuer"] = (sign_document(signed, net.actors["vn_issuer"].account.key), "VALID")
    corpus["signed_by_other"] = (
        sign_document(copy.deepcopy(signed), net.actors["outsider"].account.key),
        "UNAUTHORIZED_ISSUER",
    )

    # foreign: another registry / another chain
    foreign_raw = _docs(net, 1, seed=13)[0]
    foreign_raw["issuers"] = [
        {
            "name": "Elsewhere",
            "documentStore": "0x" + "12" * 20,
            "identityProof": {"type": "DNS-TXT", "location": "example.org"},
        }
    ]
    foreign_raw["network"] = {"chain": "ETH", "chainId": "1", "name": "mainnet"}
    _, (foreign,) = wrap_documents([foreign_raw])
    corpus["foreign"] = (foreign, "WRONG_NETWORK")

    corpus["malformed"] = ({"version": "https://schema.openattestation.com/2.0/schema.json", "data": {}}, "MALFORMED")
    return corpus


def rrec_root(sessions, doc_id: int) -> str:
    from certnet.issuer.outbox import Document

    with sessions() as s:
        return s.get(Document, doc_id).wrapped["signature"]["merkleRoot"]
