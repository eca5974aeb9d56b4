"""Verification without a node, on a real 4-validator geth Clique network (one network for the session,
tests/support/bundle_fixtures.py, a short epoch so that checkpoints come quickly): bundles made from a node verify
offline with the same verdict as online, REVOKED after revocation, the old bundle still VALID as of its block (with
its age, ERROR once too old); tampering with the headers, seals, proof nodes, trust root or document never gives
VALID; a header sealed by a non-validator or by a validator voted out is refused; a bundle from another network
gives WRONG_NETWORK; a validator set changed by votes is followed, both through the exact replay of the votes and
across a checkpoint.

The tests run in file order and share state (`Chain`); they FAIL when geth is not installed.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from eth_account import Account

from certnet.node.network import init_network
from certnet.node.network.geth import wait_until
from certnet.node.network.trust_root import trust_root as trust_root_from_files
from certnet.verifier.bundle import Bundle, BundleError, TrustRoot, verify_with_bundle
from certnet.verifier.chainproof import Header, clique_signer
from certnet.verifier.sources import ChainSource
from certnet.verifier.verify import Verifier
from tests.support.bundle_fixtures import EPOCH, Chain, checksum, flip, reseal

pytestmark = [pytest.mark.timeout(300), pytest.mark.integration]


@pytest.fixture(scope="module")
def chain(bundle_chain: Chain) -> Chain:
    """The session's geth network and contracts (tests/support/bundle_fixtures.py): the tests below share its state."""
    return bundle_chain


def statuses(bundle: dict, trust: dict, docs: list, **kw) -> list[str]:
    """The overall statuses offline, or ["REFUSED"] when the bundle or trust root cannot even be read."""
    try:
        b, t = Bundle.from_json(bundle), TrustRoot.from_json(trust)
    except BundleError:
        return ["REFUSED"]
    return [v.status for v in verify_with_bundle(docs, b, t, **kw)]


def test_trust_root_from_files_is_what_the_node_says(chain: Chain) -> None:
    from_node = chain.maker.trust_root().to_json()
    assert chain.trust == from_node  # genesis hash, validators, registry code hash: all computed without a node
    assert chain.trust["consensus"]["epoch"] == EPOCH and len(chain.trust["consensus"]["validators"]) == 4


def test_valid_document_verifies_offline_like_online(chain: Chain) -> None:
    bundle = chain.bundle(chain.docs)
    chain.saved["valid"] = bundle
    b, t = Bundle.from_json(bundle), TrustRoot.from_json(chain.trust)
    offline = verify_with_bundle(chain.docs, b, t)
    online = Verifier(ChainSource(chain.w3, chain.deployment)).verify_many(chain.docs)
    for off in offline:
        assert off.status == "VALID", [(c.code, c.message) for c in off.checks]
        assert off.block_number == bundle["block"] and off.source == "bundle"
        info = off.bundle
        assert info["block"] == bundle["block"] and 0 <= info["ageSeconds"] < 120 and not info["stale"]
        assert len(info["validators"]) == 4 and len(info["sealedBy"]) >= 3
    assert [v.status for v in online] == ["VALID"] * 3
    assert [c.code for c in offline[0].checks] == [c.code for c in online[0].checks]
    assert offline[0].issuer == online[0].issuer
    # a compact bundle: the validator set never changed, so a jump from genesis to the target's few headers
    assert len(bundle["headers"]) <= 8


def test_schema_describes_the_bundle_and_trust_root(chain: Chain) -> None:
    import jsonschema_rs

    here = Path(__file__).resolve().parents[2] / "verifier" / "schemas"
    for name, obj in (("bundle", chain.saved["valid"]), ("trust-root", chain.trust)):
        schema = json.loads((here / f"{name}.schema.json").read_text())
        jsonschema_rs.Draft202012Validator(schema).validate(obj)


def test_cli_bundle_and_offline_verify(chain: Chain, tmp_path: Path) -> None:
    doc = tmp_path / "doc.json"
    doc.write_text(json.dumps(chain.docs[0]))
    (tmp_path / "trust.json").write_text(json.dumps(chain.trust))
    cli = [sys.executable, "-m", "certnet.cli.main"]
    out = subprocess.run(
        cli + ["network", "trust-root", str(chain.net.directory), "--out", str(tmp_path / "t2.json")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads((tmp_path / "t2.json").read_text()) == chain.trust
    out = subprocess.run(
        cli
        + [
            "bundle",
            str(doc),
            "--out",
            str(tmp_path / "b.json"),
            "--rpc",
            chain.net.rpc_url(1),
            "--deployment",
            str(chain.net.directory / "deployment.json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    verify = cli + [
        "verify",
        str(doc),
        "--bundle",
        str(tmp_path / "b.json"),
        "--trust-root",
        str(tmp_path / "trust.json"),
        "--json",
        "--deployment",
        str(tmp_path / "nowhere.json"),
        "--rpc",
        "http://127.0.0.1:9",
    ]
    out = subprocess.run(verify, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr + out.stdout
    result = json.loads(out.stdout)
    assert (
        result["status"] == "VALID"
        and result["bundle"]["block"] == json.loads((tmp_path / "b.json").read_text())["block"]
    )
    out = subprocess.run(verify + ["--max-age", "0"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 17 and json.loads(out.stdout)["checks"][1]["code"] == "BUNDLE_TOO_OLD"


def test_tampering_never_gives_valid(chain: Chain) -> None:
    bundle, trust, docs = chain.saved["valid"], chain.trust, chain.docs[:1]
    target = next(
        i for i, h in enumerate(bundle["headers"]) if Header.decode(bytes.fromhex(h[2:])).number == bundle["block"]
    )
    seen = set()
    for hi, h in enumerate(bundle["headers"]):
        size = len(h) // 2 - 1
        step = 1 if hi == target else 5
        for i in range(0, size, step):
            b = copy.deepcopy(bundle)
            b["headers"][hi] = flip(h, i)
            got = statuses(b, trust, docs)
            assert "VALID" not in got, (hi, i)
            seen.update(got)
    # every byte of the target's seal, every proof node
    h = bundle["headers"][target]
    for i in range(len(h) // 2 - 1 - 65, len(h) // 2 - 1):
        b = copy.deepcopy(bundle)
        b["headers"][target] = flip(h, i)
        assert "VALID" not in statuses(b, trust, docs)
    for ni, node in enumerate(bundle["nodes"]):
        for i in range(0, len(node) // 2 - 1, 7):
            b = copy.deepcopy(bundle)
            b["nodes"][ni] = flip(node, i)
            # a node only some of the bundle's documents need: those documents are not VALID
            got = statuses(b, trust, chain.docs)
            assert got.count("VALID") < len(got), (ni, i)
    # the trust root: validators, genesis, registry and its code
    for path in (
        ("network", "genesisHash"),
        ("issuerRegistry", "address"),
        ("issuerRegistry", "codeHash"),
        ("issuerRegistry", "storeCodeHash"),
        ("network", "chainId"),
    ):
        t = copy.deepcopy(trust)
        node = t
        for k in path[:-1]:
            node = node[k]
        v = node[path[-1]]
        node[path[-1]] = v + 1 if isinstance(v, int) else flip(v, 5)
        assert "VALID" not in statuses(bundle, t, docs), path
    # two of the four validators changed: the other two are no majority to vouch for the headers. (One changed, or
    # the list cut to two, can rightly still check -- when the headers start at an epoch checkpoint, a majority of
    # the genuine validators the trust root names vouches for them -- so whether it does depends on the blocks.)
    t = copy.deepcopy(trust)
    for i in (0, 1):
        t["consensus"]["validators"][i] = checksum(bytes.fromhex(flip(t["consensus"]["validators"][i], 5)[2:]))
    assert "VALID" not in statuses(bundle, t, docs)
    # the document
    d = copy.deepcopy(docs[0])
    d["data"]["referenceNumber"] = d["data"]["referenceNumber"][:-1] + "X"
    assert statuses(bundle, trust, [d]) == ["TAMPERED"]
    assert seen - {"ERROR", "REFUSED", "WRONG_NETWORK", "TAMPERED"} == set()


def test_header_sealed_by_a_non_validator_is_refused(chain: Chain) -> None:
    bundle = chain.saved["valid"]
    target = [Header.decode(bytes.fromhex(h[2:])).number for h in bundle["headers"]].index(bundle["block"])
    b = copy.deepcopy(bundle)
    b["headers"] = reseal(chain, bundle["headers"], target, Account.create().key)
    with pytest.raises(BundleError, match="not a validator"):
        Bundle.from_json(b).check(TrustRoot.from_json(chain.trust))
    assert statuses(b, chain.trust, chain.docs[:1]) == ["ERROR"]
    # resealed by the right signers, the forged chain checks (the test's own forging is sound)
    same = copy.deepcopy(bundle)
    signer = checksum(clique_signer(Header.decode(bytes.fromhex(bundle["headers"][target][2:]))))
    same["headers"] = reseal(chain, bundle["headers"], target, chain.keys[signer])
    assert statuses(same, chain.trust, chain.docs[:1]) == ["VALID"]


def test_bundle_from_another_network_is_wrong_network(chain: Chain, tmp_path: Path) -> None:
    other = tmp_path / "other"
    init_network(other, validators=4, engine="geth", period=1, chain_id=48484)
    dep = json.loads((chain.net.directory / "deployment.json").read_text())
    dep["chain_id"] = 48484
    (other / "deployment.json").write_text(json.dumps(dep))
    other_trust = trust_root_from_files(other)
    assert statuses(chain.saved["valid"], other_trust, chain.docs) == ["WRONG_NETWORK"] * 3
    same_chain = copy.deepcopy(other_trust)
    same_chain["network"]["chainId"] = chain.trust["network"]["chainId"]  # another genesis on the same chain id
    assert statuses(chain.saved["valid"], same_chain, chain.docs) == ["WRONG_NETWORK"] * 3


def test_revocation_is_proven_and_the_old_bundle_keeps_its_block(chain: Chain) -> None:
    from certnet.verifier.integrity import check_integrity

    integ = check_integrity(chain.docs[1])
    chain.deployment.store_client(chain.w3, chain.store, chain.issuer).revoke_document(
        chain.root, integ.target_hash, integ.proof, "FRAUDULENT"
    )
    new = chain.bundle(chain.docs)
    chain.saved["revoked"] = new
    b, t = Bundle.from_json(new), TrustRoot.from_json(chain.trust)
    got = verify_with_bundle(chain.docs, b, t)
    assert [v.status for v in got] == ["VALID", "REVOKED", "VALID"]
    assert got[1].revocation["reason"] == "FRAUDULENT"
    old = Bundle.from_json(chain.saved["valid"])
    later = time.time() + 3600
    aged = verify_with_bundle(chain.docs, old, t, now=later)
    assert [v.status for v in aged] == ["VALID"] * 3
    assert aged[1].block_number == chain.saved["valid"]["block"] < new["block"]
    assert aged[1].bundle["ageSeconds"] >= 3600 and "ago" in aged[1].message
    stale = verify_with_bundle(chain.docs, old, t, now=later, max_age=600)
    assert [v.status for v in stale] == ["ERROR"] * 3
    assert stale[0].check("DOCUMENT_STATUS").code == "BUNDLE_TOO_OLD"
    # a revoked verdict stays REVOKED when the bundle is old: it never turns into VALID
    assert [v.status for v in verify_with_bundle(chain.docs, b, t, now=later, max_age=600)] == [
        "ERROR",
        "REVOKED",
        "ERROR",
    ]


def test_validator_voted_out_is_followed(chain: Chain) -> None:
    net = chain.net
    out = net.node(3).validator
    for i in range(3):
        net.propose_validator(i, out, authorize=False)
    wait_until(lambda: out not in net.validators(0), 90, "the validator to be voted out")
    removed_at = chain.w3.eth.block_number
    for i in range(3):
        net.discard_proposal(i, out)
    # a target in the epoch of the vote: the bundle replays the votes from the epoch's checkpoint
    wait_until(lambda: chain.w3.eth.block_number >= removed_at + 4, 60, "blocks after the vote")
    target = chain.w3.eth.block_number - 3
    bundle = chain.bundle(chain.docs[:1], block=target)
    b, t = Bundle.from_json(bundle), TrustRoot.from_json(chain.trust)
    v = verify_with_bundle(chain.docs[:1], b, t)[0]
    assert v.status == "VALID" and len(v.bundle["validators"]) == 3 and out not in v.bundle["validators"]
    # the set the verifier follows is the node's: the bundle carries the vote (or the checkpoint after it), not a
    # bare jump from genesis that would leave it believing the old set
    assert min(Header.decode(bytes.fromhex(h[2:])).number for h in bundle["headers"]) < target
    # the voted-out validator seals the target: refused, even with the blocks after it resealed by the others
    idx = [Header.decode(bytes.fromhex(h[2:])).number for h in bundle["headers"]].index(target)
    forged = copy.deepcopy(bundle)
    forged["headers"] = reseal(chain, bundle["headers"], idx, chain.keys[out])
    with pytest.raises(BundleError, match="not a validator at that block"):
        Bundle.from_json(forged).check(t)
    # across the next checkpoint, whose signer list shows the new set (a majority of the old set sealing over it)
    next_checkpoint = target - target % EPOCH + EPOCH
    wait_until(lambda: chain.w3.eth.block_number >= next_checkpoint + 8, 90, "the next checkpoint")
    later = chain.bundle(chain.docs[:1])
    numbers = [Header.decode(bytes.fromhex(h[2:])).number for h in later["headers"]]
    assert next_checkpoint in numbers and len(numbers) < later["block"]
    v = verify_with_bundle(chain.docs[:1], Bundle.from_json(later), t)[0]
    assert v.status == "VALID" and sorted(v.bundle["validators"]) == sorted(net.validators(0))
    chain.saved["after_vote"] = later
