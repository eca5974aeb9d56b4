"""DocumentStore (one per issuing authority): anchoring, revocation, supersession, the OpenAttestation views,
ERC-165, the cross-store batched status view, and the trust-domain guarantees (embedded engine and anvil), plus
property tests of on-chain Merkle proof checking.

Tests marked "finding" pin down what issue 12 found wrong with the former shared CertificateRegistry (git show
23bcf82:contracts/src/CertificateRegistry.sol); each fails on it: there, revocations and supersessions were
kept by bare hash for the whole network, a root belonged to whoever anchored it first, and the root-only
OpenAttestation functions ignored a compromised key."""

from __future__ import annotations

import os
import random
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certnet.node import errors
from certnet.node.artifacts import load_artifact
from certnet.node.contracts import REVOCATION_REASONS, DocumentStoreClient, RevokedLevel
from certnet.node.deploy import _deploy_contract
from certnet.verifier.merkle import MerkleTree, combine
from tests.support.chain import selector_xor

pytestmark = pytest.mark.integration  # real engines, databases or processes (see tests/conftest.py)

REASON = REVOCATION_REASONS


def rand_hashes(n: int, rng: random.Random | None = None) -> list[str]:
    if rng is None:
        return [os.urandom(32).hex() for _ in range(n)]
    return [rng.randbytes(32).hex() for _ in range(n)]


def batch(n: int, rng: random.Random | None = None) -> tuple[str, list[str], dict[str, list[str]]]:
    """A random batch: (root, leaves, proofs by leaf)."""
    leaves = rand_hashes(n, rng)
    tree = MerkleTree(leaves)
    return tree.root_hex, leaves, {leaf: tree.proof_hex(leaf) for leaf in leaves}


def pair_root(a: str, b: str) -> str:
    """The root of a two-leaf batch of `a` and `b`."""
    return combine(bytes.fromhex(a), bytes.fromhex(b)).hex()


def path_nodes(leaf: str, proof: list[str]) -> list[str]:
    """The inner nodes on a leaf's proof path, below the root."""
    node, out = bytes.fromhex(leaf), []
    for sibling in proof[:-1]:
        node = combine(node, bytes.fromhex(sibling))
        out.append(node.hex())
    return out


def now(net) -> int:
    return net.engine.w3.eth.get_block("latest")["timestamp"]


def verdicts(net, store: str, docs: list[tuple[str, str, list[str]]]) -> list[tuple]:
    """What a verifier reads about each (root, doc, proof) of `store`: the batched status view's judgement and the
    OpenAttestation answers (root-only isRevoked of the targetHash, each path node and the root, as the TradeTrust
    verifiers ask, and the batchable forms)."""
    view = DocumentStoreClient(net.engine.w3, store)
    out = []
    statuses = net.registry().status_of([(store, r, d, p) for r, d, p in docs])
    for (root, doc, proof), s in zip(docs, statuses, strict=True):
        asked = [doc, *path_nodes(doc, proof), root] if root != doc else [root]
        out.append(
            (
                s.issued,
                s.issuer_authorised,
                s.proof_valid,
                s.revoked,
                s.revoked_level,
                s.superseded,
                s.successor_document,
                view.is_issued(root),
                any(view.is_revoked(x) for x in asked),
                view.is_active(root, doc, proof),
            )
        )
    return out


# ------------------------------------------------------------------ anchoring


def test_anchor_records_and_events(net):
    store = net.store("vn_issuer")
    root, leaves, _ = batch(5)
    receipt = store.anchor(root, "FORM_D", 5)
    view = net.store()
    assert [e["document"].hex() for e in view.events(receipt, "DocumentIssued")] == [root]
    ev = view.events(receipt, "RootAnchored")[0]
    assert ev["root"].hex() == root and ev["key"] == net.addr("vn_issuer")
    assert ev["documentType"] == 1 and ev["documentCount"] == 5
    a = view.anchor_of(root)
    block = net.engine.w3.eth.get_block(receipt["blockNumber"])
    assert (a.key, a.document_type, a.document_count) == (net.addr("vn_issuer"), 1, 5)
    assert (a.anchored_at, a.block_number) == (block["timestamp"], receipt["blockNumber"])
    assert view.anchoring_tx(root, receipt["blockNumber"]) == receipt["transactionHash"].to_0x_hex()
    assert view.is_issued(root) and view.is_active(root) and not view.is_revoked(root)
    assert view.anchor_of(rand_hashes(1)[0]) is None
    # the other stores know nothing of it
    assert not net.store(authority="vn2").is_issued(root) and not net.store(authority="th").is_issued(root)


def test_anchor_refusals(net):
    store = net.store("vn_issuer")
    root = rand_hashes(1)[0]
    store.anchor(root, "FORM_D", 1)
    with pytest.raises(errors.AlreadyIssued):
        store.anchor(root, "FORM_D", 1)
    with pytest.raises(errors.ZeroRoot):
        store.anchor("00" * 32, "FORM_D", 1)
    with pytest.raises(errors.InvalidDocumentCount):
        store.anchor(rand_hashes(1)[0], "FORM_D", 0)
    with pytest.raises(errors.InvalidDocumentCount):
        store.anchor(rand_hashes(1)[0], "FORM_D", 2**24)
    for who in ("outsider", "vn_admin", "vn2_issuer", "th_issuer", "th_admin"):  # only this authority's keys
        with pytest.raises(errors.NotAuthorisedKey) as info:
            net.store(who, authority="vn").anchor(rand_hashes(1)[0], "FORM_D", 1)
        assert info.value.args_["key"] == net.addr(who)
    with pytest.raises(errors.NotAuthorisedKey):
        net.store("vn2_issuer").anchor(rand_hashes(1)[0], "ECERT", 1)  # type not allowed to VCCI Hanoi
    with pytest.raises(errors.NotAuthorisedKey):  # OA issue() anchors the generic type
        net.store("th_issuer").issue(rand_hashes(1)[0])
    r = rand_hashes(1)[0]
    receipt = net.store("vn_issuer").issue(r)
    assert net.store().anchor_of(r).document_type == 0 and net.store().anchor_of(r).document_count == 1
    assert net.store().events(receipt, "DocumentIssued")[0]["document"].hex() == r


def test_root_squatting_does_not_touch_the_victims_store(net):
    """Finding: whoever saw a pending anchoring transaction could anchor the root first; the victim's anchoring
    reverted and the squatter controlled the root's revocation."""
    root, leaves, proofs = batch(4)
    docs = [(root, leaf, proofs[leaf]) for leaf in leaves]
    for squatter in ("th_issuer", "vn2_issuer"):
        net.store(squatter).anchor(root, "FORM_D", 4)  # first, in its own store
    net.store("vn_issuer").anchor(root, "FORM_D", 4)  # the victim's own anchoring goes through
    vn = net.stores["vn"]
    before = verdicts(net, vn, docs)
    assert all(v[:4] == (True, True, True, False) and v[-1] for v in before)
    assert net.store().anchor_of(root).key == net.addr("vn_issuer")
    net.store("th_issuer").revoke_root(root, "FRAUDULENT")  # the squatter revokes "its" root
    net.store("vn2_issuer").revoke_document(root, leaves[0], proofs[leaves[0]], 1)
    assert verdicts(net, vn, docs) == before
    assert net.store(authority="th").is_revoked(root)
    # the batched view tells the stores apart
    s = net.registry().status_of(
        [(net.stores["th"], root, leaves[1], proofs[leaves[1]]), (vn, root, leaves[1], proofs[leaves[1]])]
    )
    assert s[0].country == "TH" and s[0].root_revoked and s[1].country == "VN" and not s[1].revoked


# ------------------------------------------------------------------ revocation


def test_revoke_root_with_reason(net):
    store = net.store("vn_issuer")
    root, leaves, proofs = batch(4)
    store.anchor(root, "FORM_D", 4)
    receipt = store.revoke_root(root, "FRAUDULENT")
    view = net.store()
    ev = view.events(receipt, "DocumentRevoked")[0]
    assert ev["documentRoot"].hex() == root and ev["document"].hex() == root
    rec = view.events(receipt, "RevocationRecorded")[0]
    assert rec["root"].hex() == root and rec["document"].hex() == root
    assert rec["reason"] == REASON["FRAUDULENT"] and rec["by"] == net.addr("vn_issuer")
    assert view.is_revoked(root) and not view.is_active(root) and view.is_issued(root)
    for leaf in leaves:  # every document of a revoked batch is revoked
        assert view.is_revoked(root, leaf, proofs[leaf])
        assert not view.is_active(root, leaf, proofs[leaf])
    r = view.revocation_of(root)
    assert r.reason == REASON["FRAUDULENT"] and r.block_number == receipt["blockNumber"]
    assert r.by == net.addr("vn_issuer")
    assert view.revocation_of(leaves[0]) is None
    with pytest.raises(errors.AlreadyRevoked):
        store.revoke_root(root, 1)
    with pytest.raises(errors.AlreadyRevoked):
        store.revoke(root)
    with pytest.raises(errors.AlreadyRevoked):
        store.revoke_document(root, leaves[0], proofs[leaves[0]], 1)


def test_revocation_access(net):
    root, leaves, proofs = batch(3)
    net.store("vn_issuer").anchor(root, "FORM_D", 3)
    with pytest.raises(errors.NotIssued):
        net.store("vn_issuer").revoke_root(rand_hashes(1)[0])
    for who in ("vn2_issuer", "th_issuer", "th_admin", "my_admin", "outsider"):
        store = net.store(who, authority="vn")
        with pytest.raises(errors.NotRevoker) as info:
            store.revoke_root(root, 1)
        assert info.value.args_ == {"account": net.addr(who), "root": bytes.fromhex(root)}
        with pytest.raises(errors.NotRevoker):
            store.revoke(root)
        with pytest.raises(errors.NotRevoker):
            store.revoke_document(root, leaves[0], proofs[leaves[0]], 1)
        with pytest.raises(errors.NotRevoker):
            store.revoke_with_proof(root, leaves[0], proofs[leaves[0]])
        with pytest.raises(errors.NotRevoker):
            store.supersede(root, leaves[0], proofs[leaves[0]], root, leaves[1], proofs[leaves[1]])
    # an admin of the authority's country may revoke
    net.store("vn_admin2", authority="vn").revoke_document(root, leaves[1], proofs[leaves[1]], "ISSUED_IN_ERROR")
    assert net.store().revocation_of(leaves[1]).by == net.addr("vn_admin2")
    net.store("vn_admin", authority="vn").revoke(root)  # OpenAttestation form: reason unspecified
    assert net.store().revocation_of(root).reason == 0


def test_suspended_and_retired_keys_can_neither_anchor_revoke_nor_supersede(net):
    """Finding: suspended and retired issuers could still revoke and supersede."""
    reg = net.registry("vn_admin")
    root, leaves, proofs = batch(4)
    new_root, new_leaves, new_proofs = batch(2)
    store = net.store("vn_issuer")
    store.anchor(root, "FORM_D", 4)
    store.anchor(new_root, "FORM_D", 2)

    def refused() -> None:
        with pytest.raises(errors.NotAuthorisedKey):
            store.anchor(rand_hashes(1)[0], "FORM_D", 1)
        with pytest.raises(errors.NotRevoker):
            store.revoke_root(root, 1)
        with pytest.raises(errors.NotRevoker):
            store.revoke_document(root, leaves[0], proofs[leaves[0]], 1)
        with pytest.raises(errors.NotRevoker):
            store.supersede(root, leaves[1], proofs[leaves[1]], new_root, new_leaves[0], new_proofs[new_leaves[0]])

    reg.suspend_key(net.addr("vn_issuer"))
    refused()
    reg.reinstate_key(net.addr("vn_issuer"))
    store.revoke_document(root, leaves[3], proofs[leaves[3]], 1)  # active again
    reg.retire_key(net.addr("vn_issuer"))
    refused()
    # the country's admins still can
    net.store("vn_admin", authority="vn").supersede(
        root, leaves[1], proofs[leaves[1]], new_root, new_leaves[0], new_proofs[new_leaves[0]]
    )


def test_keys_outside_their_validity_cannot_revoke(net):
    """An expired key (or one not yet valid) is no active key of its authority: it can no longer revoke or
    supersede (the country's admins can)."""
    key = net.new_actor("short_key")
    until = now(net) + 100
    net.registry("vn_admin").add_key(net.stores["vn"], key.address, 0, until)
    store = net.store("short_key", authority="vn")
    root, leaves, proofs = batch(2)
    store.anchor(root, "FORM_D", 2)
    net.engine.advance_time(200)
    with pytest.raises(errors.NotAuthorisedKey):
        store.anchor(rand_hashes(1)[0], "FORM_D", 1)
    with pytest.raises(errors.NotRevoker):
        store.revoke_root(root, 1)
    with pytest.raises(errors.NotRevoker):
        store.revoke_document(root, leaves[0], proofs[leaves[0]], 1)
    later = net.new_actor("later_key")
    net.registry("vn_admin").add_key(net.stores["vn"], later.address, now(net) + 1000)
    with pytest.raises(errors.NotRevoker):
        net.store("later_key", authority="vn").revoke_root(root, 1)
    net.store("vn_admin", authority="vn").revoke_root(root, 1)


def test_keys_and_admins_of_a_removed_country_can_neither_anchor_revoke_nor_supersede(net):
    """Finding: issuers of removed countries could still revoke and supersede."""
    root, leaves, proofs = batch(3)
    new_root, new_leaves, new_proofs = batch(1)
    th = net.store("th_issuer")
    th.anchor(root, "FORM_D", 3)
    th.anchor(new_root, "FORM_D", 1)
    net.engine.advance_time(5)
    pid = net.registry("vn_admin").propose_removal("TH")
    net.registry("my_admin").vote(pid, True)
    for who in ("th_issuer", "th_admin"):
        store = net.store(who, authority="th")
        with pytest.raises(errors.NotAuthorisedKey):
            store.anchor(rand_hashes(1)[0], "FORM_D", 1)
        with pytest.raises(errors.NotRevoker):
            store.revoke_root(root, 1)
        with pytest.raises(errors.NotRevoker):
            store.revoke_document(root, leaves[0], proofs[leaves[0]], 1)
        with pytest.raises(errors.NotRevoker):
            store.supersede(root, leaves[1], proofs[leaves[1]], new_root, new_leaves[0], [])
    assert net.store(authority="th").is_active(root, leaves[0], proofs[leaves[0]])


def test_revoke_single_document_checks_proof(net):
    store = net.store("vn_issuer")
    root, leaves, proofs = batch(7)
    store.anchor(root, "FORM_D", 7)
    target = leaves[3]
    bad = list(proofs[target])
    bad[0] = rand_hashes(1)[0]
    with pytest.raises(errors.InvalidProof):
        store.revoke_document(root, target, bad, 1)
    with pytest.raises(errors.InvalidProof) as info:
        store.revoke_document(root, rand_hashes(1)[0], proofs[target], 1)
    assert info.value.args_["root"] == bytes.fromhex(root)
    receipt = store.revoke_with_proof(root, target, proofs[target])  # OpenAttestation batchable form
    ev = net.store().events(receipt, "DocumentRevoked")[0]
    assert ev["documentRoot"].hex() == root and ev["document"].hex() == target
    rec = net.store().events(receipt, "RevocationRecorded")[0]
    assert rec["root"].hex() == root and rec["document"].hex() == target and rec["reason"] == 0
    view = net.store()
    assert view.is_revoked(target)  # root-only form answers for a document
    assert not view.is_revoked(root)
    assert view.is_revoked(root, target, proofs[target])
    assert not view.is_active(root, target, proofs[target])
    other = leaves[4]
    assert view.is_active(root, other, proofs[other]) and not view.is_revoked(root, other, proofs[other])
    with pytest.raises(errors.InvalidProof):
        view.is_revoked(root, other, proofs[target])
    assert not view.is_issued(root, other, proofs[target])
    assert not view.is_active(root, other, proofs[target])
    assert view.is_issued(root, other, proofs[other])
    with pytest.raises(errors.AlreadyRevoked):
        store.revoke_document(root, target, proofs[target], 1)
    for node in proofs[target]:  # sibling nodes are not revoked by a document revocation
        assert not view.is_revoked(node)


def test_revoking_a_proof_node_revokes_the_documents_under_it(net):
    store = net.store("vn_issuer")
    root, leaves, proofs = batch(8)
    store.anchor(root, "FORM_D", 8)
    leaf = leaves[0]
    node = path_nodes(leaf, proofs[leaf])[0]  # the parent of leaves 0 and 1
    store.revoke_document(root, node, proofs[leaf][1:], "DUPLICATE")
    by_leaf = dict(
        zip(leaves, net.registry().status_of([(net.stores["vn"], root, lf, proofs[lf]) for lf in leaves]), strict=True)
    )
    under = [lf for lf in leaves if by_leaf[lf].revoked]
    assert len(under) == 2 and leaf in under
    s = by_leaf[leaf]
    assert s.revoked_level == RevokedLevel.PROOF_NODE and s.revoked_hash == node
    assert s.revocation_reason == REASON["DUPLICATE"] and not s.root_revoked
    assert net.store().is_revoked(node)


def test_batch_of_one_document_revocation(net):
    root = rand_hashes(1)[0]
    net.store("vn_issuer").anchor(root, "FORM_D", 1)
    net.store("vn_issuer").revoke_document(root, root, [], 2)
    assert net.store().is_revoked(root) and not net.store().is_active(root, root, [])


# ------------------------------------------------------------------ supersession


def test_supersede(net):
    store = net.store("vn_issuer")
    old_root, old_leaves, old_proofs = batch(3)
    new_root, new_leaves, new_proofs = batch(2)
    store.anchor(old_root, "FORM_D", 3)
    old, new = old_leaves[0], new_leaves[1]
    vn = net.stores["vn"]
    with pytest.raises(errors.SuccessorNotActive):
        store.supersede(old_root, old, old_proofs[old], new_root, new, new_proofs[new])
    store.anchor(new_root, "FORM_D", 2)
    with pytest.raises(errors.InvalidProof):
        store.supersede(old_root, old, old_proofs[old_leaves[1]], new_root, new, new_proofs[new])
    with pytest.raises(errors.SuccessorNotActive):  # a wrong successor proof
        store.supersede(old_root, old, old_proofs[old], new_root, new, new_proofs[new_leaves[0]])
    with pytest.raises(errors.SupersededBySelf):
        store.supersede(old_root, old, old_proofs[old], old_root, old, old_proofs[old])
    with pytest.raises(errors.NotIssued):
        store.supersede(rand_hashes(1)[0], old, [], new_root, new, new_proofs[new])
    receipt = store.supersede(old_root, old, old_proofs[old], new_root, new, new_proofs[new])
    ev = net.store().events(receipt, "DocumentSuperseded")[0]
    assert ev["oldRoot"].hex() == old_root and ev["oldDocument"].hex() == old and ev["newStore"] == vn
    assert ev["newRoot"].hex() == new_root and ev["newDocument"].hex() == new and ev["by"] == net.addr("vn_issuer")
    view = net.store()
    s = view.supersession_of(old)
    assert s.successor_root == new_root and s.successor_document == new and s.successor_store == vn
    assert s.by == net.addr("vn_issuer") and s.block_number == receipt["blockNumber"]
    assert not view.is_active(old_root, old, old_proofs[old])  # no longer active for OA verifiers
    assert view.is_revoked(old)
    assert view.is_active(old_root, old_leaves[1], old_proofs[old_leaves[1]])
    with pytest.raises(errors.AlreadySuperseded):
        store.supersede(old_root, old, old_proofs[old], new_root, new_leaves[0], new_proofs[new_leaves[0]])
    # a superseded document cannot become a successor
    with pytest.raises(errors.SuccessorNotActive):
        store.supersede(old_root, old_leaves[1], old_proofs[old_leaves[1]], old_root, old, old_proofs[old])
    st = net.registry().status_of([(vn, old_root, old, old_proofs[old])])[0]
    assert st.superseded and st.successor_store == vn and st.successor_root == new_root
    assert st.superseded_by == net.addr("vn_issuer") and not st.revoked


def test_supersede_needs_same_country_and_live_successor(net):
    vn_root, th_root, rev_root, vn2_root = rand_hashes(4)
    net.store("vn_issuer").anchor(vn_root, "FORM_D", 1)
    net.store("th_issuer").anchor(th_root, "FORM_D", 1)
    net.store("vn2_issuer").anchor(vn2_root, "FORM_D", 1)
    with pytest.raises(errors.SuccessorOtherCountry) as info:
        net.store("vn_issuer").supersede(vn_root, vn_root, [], th_root, th_root, [], new_store=net.stores["th"])
    assert info.value.args_["expected"] == b"VN" and info.value.args_["actual"] == b"TH"
    with pytest.raises(errors.SuccessorOtherCountry):  # not a registered store
        net.store("vn_issuer").supersede(
            vn_root, vn_root, [], vn2_root, vn2_root, [], new_store=net.registry().store_implementation()
        )
    with pytest.raises(errors.SuccessorNotActive):  # the successor must be in the store named
        net.store("vn_issuer").supersede(vn_root, vn_root, [], vn2_root, vn2_root, [])
    net.store("vn_issuer").anchor(rev_root, "FORM_D", 1)
    net.store("vn_issuer").revoke_root(rev_root, 1)
    with pytest.raises(errors.SuccessorNotActive):
        net.store("vn_issuer").supersede(vn_root, vn_root, [], rev_root, rev_root, [])
    with pytest.raises(errors.AlreadyRevoked):
        net.store("vn_issuer").supersede(rev_root, rev_root, [], vn_root, vn_root, [])
    # another authority of the same country may hold the successor, superseded by the key or an admin
    receipt = net.store("vn_issuer").supersede(
        vn_root, vn_root, [], vn2_root, vn2_root, [], new_store=net.stores["vn2"]
    )
    assert net.store().events(receipt, "DocumentSuperseded")[0]["newStore"] == net.stores["vn2"]
    assert net.store().supersession_of(vn_root).successor_store == net.stores["vn2"]


def test_revoking_a_document_revoked_individually_is_refused_and_root_after_is_allowed(net):
    root, leaves, proofs = batch(2)
    store = net.store("vn_issuer")
    store.anchor(root, "FORM_D", 2)
    store.revoke_document(root, leaves[0], proofs[leaves[0]], 1)
    with pytest.raises(errors.AlreadyRevoked):
        store.supersede(root, leaves[0], proofs[leaves[0]], root, leaves[1], proofs[leaves[1]])
    store.revoke_root(root, 3)
    assert net.registry().status_of([(net.stores["vn"], root, leaves[0], proofs[leaves[0]])])[0].root_revoked


# ------------------------------------------------------------------ the trust domain


def test_victim_hashes_anchored_and_revoked_in_another_store_change_nothing(net):
    """Finding (a) and (b): another authority (of another country, or of the same country, or a country's admin)
    anchored the victim's targetHash as a batch of one, or a two-leaf root pairing the victim's root or
    targetHash with a random hash, in its own name, then revoked or superseded through it: the victim's documents
    read REVOKED / SUPERSEDED network-wide. Now the victim's verdicts do not change."""
    root, leaves, proofs = batch(4)
    net.store("vn_issuer").anchor(root, "FORM_D", 4)
    vn = net.stores["vn"]
    docs = [(root, leaf, proofs[leaf]) for leaf in leaves]
    before = verdicts(net, vn, docs)
    assert all(v == (True, True, True, False, RevokedLevel.NONE, False, None, True, False, True) for v in before)
    victim_hashes = [root, leaves[0], leaves[3], path_nodes(leaves[0], proofs[leaves[0]])[0]]

    def supersede_a(store, victim, own):
        store.anchor(victim, "FORM_D", 1)
        store.supersede(victim, victim, [], own, own, [])

    def revoke_a(store, victim, own):
        store.anchor(victim, "FORM_D", 1)
        store.revoke_root(victim, "FRAUDULENT")

    def revoke_b(store, victim, own):
        other = rand_hashes(1)[0]
        store.anchor(pair_root(victim, other), "FORM_D", 2)
        store.revoke_document(pair_root(victim, other), victim, [other], "FRAUDULENT")

    def supersede_b(store, victim, own):
        other = rand_hashes(1)[0]
        store.anchor(pair_root(victim, other), "FORM_D", 2)
        store.supersede(pair_root(victim, other), victim, [other], own, own, [])

    methods = [supersede_a, revoke_a, revoke_b, supersede_b]
    for country_admin in ("th_admin", "vn_admin"):  # another country's authority, and another of the same country
        for method in methods:
            key = net.new_actor(f"attacker_{country_admin}_{method.__name__}")
            reg = net.registry(country_admin)
            store = DocumentStoreClient(
                net.engine.w3,
                reg.store_from(reg.register_authority(method.__name__, ["FORM_D"], first_key=key.address)),
                key,
            )
            own = rand_hashes(1)[0]
            store.anchor(own, "FORM_D", 1)
            for victim in victim_hashes:
                method(store, victim, own)
            if country_admin == "th_admin":  # another country's admin, through its own country's store
                admin = store.as_signer(net.actors["th_admin"])
                other = rand_hashes(1)[0]
                admin.as_signer(key).anchor(pair_root(leaves[1], other), "FORM_D", 2)
                admin.revoke_with_proof(pair_root(leaves[1], other), leaves[1], [other])
        assert verdicts(net, vn, docs) == before
    # nothing of it was written to the victim's store
    view = net.store()
    assert all(view.revocation_of(x) is None and view.supersession_of(x) is None for x in victim_hashes)


def test_supersession_naming_the_victim_as_successor_changes_nothing(net):
    """Another authority of the same country may name the victim's document as the successor of its own: the
    victim's document stays VALID and the record is in the other store only."""
    root, leaves, proofs = batch(2)
    net.store("vn_issuer").anchor(root, "FORM_D", 2)
    vn = net.stores["vn"]
    docs = [(root, leaf, proofs[leaf]) for leaf in leaves]
    before = verdicts(net, vn, docs)
    own = rand_hashes(1)[0]
    net.store("vn2_issuer").anchor(own, "FORM_D", 1)
    net.store("vn2_issuer").supersede(own, own, [], root, leaves[0], proofs[leaves[0]], new_store=vn)
    assert verdicts(net, vn, docs) == before


# ------------------------------------------------------------------ compromised keys


def test_compromised_key_later_anchors_read_revoked_and_later_acts_stop_counting(net):
    """Finding: a root anchored with a key after its compromised-since time answered issued, active and not
    revoked through the root-only OpenAttestation functions (a TradeTrust verifier said valid where certnet said
    UNAUTHORIZED_ISSUER); and its revocations and supersessions counted."""
    store = net.store("vn_issuer")
    vn = net.stores["vn"]
    good_root, good_leaves, good_proofs = batch(4)
    early_root, early_leaves, early_proofs = batch(2)
    store.anchor(good_root, "FORM_D", 4)
    store.anchor(early_root, "FORM_D", 2)
    store.revoke_document(early_root, early_leaves[0], early_proofs[early_leaves[0]], 1)  # before: counts
    succ_root, succ_leaves, succ_proofs = batch(1)
    store.anchor(succ_root, "FORM_D", 1)
    docs = [(good_root, lf, good_proofs[lf]) for lf in good_leaves]
    before = verdicts(net, vn, docs)
    net.engine.advance_time(60)
    since = now(net) + 1
    net.engine.advance_time(5)
    # after `since`, the thief anchors, revokes and supersedes
    bad_root, bad_leaves, bad_proofs = batch(2)
    store.anchor(bad_root, "FORM_D", 2)
    store.revoke_document(good_root, good_leaves[0], good_proofs[good_leaves[0]], "FRAUDULENT")
    store.supersede(good_root, good_leaves[1], good_proofs[good_leaves[1]], succ_root, succ_leaves[0], [])
    store.revoke_root(succ_root, 1)
    assert verdicts(net, vn, docs) != before
    view = net.store()
    assert view.is_active(bad_root)
    receipt = net.registry("vn_admin").mark_compromised(net.addr("vn_issuer"), since)
    # its later anchor reads revoked through the OpenAttestation functions and unauthorised in the batched view
    assert view.is_issued(bad_root) and view.is_revoked(bad_root) and not view.is_active(bad_root)
    for leaf in bad_leaves:
        assert view.is_revoked(bad_root, leaf, bad_proofs[leaf]) and not view.is_active(
            bad_root, leaf, bad_proofs[leaf]
        )
    s = net.registry().status_of([(vn, bad_root, bad_leaves[0], bad_proofs[bad_leaves[0]])])[0]
    assert s.issued and not s.issuer_authorised
    # its later revocations and supersessions stop counting: the victims read as before
    assert verdicts(net, vn, docs) == before
    assert not view.is_revoked(succ_root) and view.is_active(succ_root)
    # ... but remain on record
    assert view.revocation_of(good_leaves[0]).by == net.addr("vn_issuer")
    assert view.supersession_of(good_leaves[1]) is not None
    # its earlier acts still count
    assert view.is_revoked(early_leaves[0]) and view.is_active(good_root)
    assert net.registry().events(receipt, "KeyCompromised")[0]["since"] == since
    # the admins can revoke and supersede again where that was right
    admin = net.store("vn_admin", authority="vn")
    admin.revoke_document(good_root, good_leaves[0], good_proofs[good_leaves[0]], "KEY_COMPROMISED")
    admin.supersede(good_root, good_leaves[1], good_proofs[good_leaves[1]], succ_root, succ_leaves[0], [])
    s0, s1 = net.registry().status_of([(vn, good_root, lf, good_proofs[lf]) for lf in good_leaves[:2]])
    assert s0.revoked and s0.revoked_by == net.addr("vn_admin") and s0.revocation_reason == REASON["KEY_COMPROMISED"]
    assert s1.superseded and s1.superseded_by == net.addr("vn_admin")
    with pytest.raises(errors.AlreadyRevoked):
        admin.revoke_document(good_root, good_leaves[0], good_proofs[good_leaves[0]], 1)
    with pytest.raises(errors.AlreadyRevoked):  # the early revocation counts
        admin.revoke_document(early_root, early_leaves[0], early_proofs[early_leaves[0]], 1)
    admin.revoke_root(bad_root, "KEY_COMPROMISED")


def test_compromised_key_revocation_of_a_whole_batch_stops_counting(net):
    store = net.store("vn_issuer")
    root, leaves, proofs = batch(3)
    store.anchor(root, "FORM_D", 3)
    net.engine.advance_time(10)
    since = now(net) + 1
    net.engine.advance_time(5)
    store.revoke_root(root, "FRAUDULENT")
    assert net.store().is_revoked(root)
    net.registry("vn_admin").mark_compromised(net.addr("vn_issuer"), since)
    view = net.store()
    assert not view.is_revoked(root) and view.is_active(root)
    assert all(view.is_active(root, lf, proofs[lf]) for lf in leaves)
    assert not net.registry().status_of([(net.stores["vn"], root, leaves[0], proofs[leaves[0]])])[0].revoked
    # a successor anchored by the compromised key cannot be superseded to
    net.store("vn_admin", authority="vn").revoke_root(root, "KEY_COMPROMISED")
    assert view.is_revoked(root)


def test_anchor_then_suspension_in_the_same_block_keeps_the_anchor_valid(anvil_net):
    """A key suspended (or retired) in the same block as its anchor — the same second — does not undo the anchor:
    the store let the key anchor because it was active then. (Judging by the key's status checkpoint of the
    anchoring second read the anchor as revoked.)"""
    net = anvil_net
    w3 = net.engine.w3
    root, leaves, proofs = batch(2)
    store, reg = net.store("vn_issuer"), net.registry("vn_admin")
    w3.provider.make_request("evm_setAutomine", [False])
    try:
        sent = [
            store.signer.send(store.function("anchor", bytes.fromhex(root), 1, 2), wait=False),
            reg.signer.send(reg.function("suspendKey", net.addr("vn_issuer")), wait=False),
        ]
        w3.provider.make_request("evm_mine", [])
    finally:
        w3.provider.make_request("evm_setAutomine", [True])
    receipts = [w3.eth.wait_for_transaction_receipt(h, timeout=30) for h in sent]
    assert [r["status"] for r in receipts] == [1, 1] and receipts[0]["blockNumber"] == receipts[1]["blockNumber"]
    view = net.store()
    assert view.is_active(root) and not view.is_revoked(root)
    s = net.registry().status_of([(net.stores["vn"], root, leaves[0], proofs[leaves[0]])])[0]
    assert s.issued and s.issuer_authorised and not s.revoked


# ------------------------------------------------------------------ views


def test_name_registry_and_erc165(net):
    view = net.store()
    assert view.name() == "VCCI Ho Chi Minh City"
    assert view.registry() == net.deployment.issuer_registry
    erc165 = selector_xor("supportsInterface(bytes4)")
    document_store = selector_xor(
        "name()", "revoke(bytes32)", "isIssued(bytes32)", "isRevoked(bytes32)", "isActive(bytes32)"
    )
    batchable = selector_xor(
        "issue(bytes32)",
        "revoke(bytes32,bytes32,bytes32[])",
        "isIssued(bytes32,bytes32,bytes32[])",
        "isRevoked(bytes32,bytes32,bytes32[])",
        "isActive(bytes32,bytes32,bytes32[])",
    )
    certnet = selector_xor(
        "anchor(bytes32,uint8,uint32)",
        "revokeRoot(bytes32,uint8)",
        "revokeDocument(bytes32,bytes32,bytes32[],uint8)",
        "supersede(bytes32,bytes32,bytes32[],address,bytes32,bytes32,bytes32[])",
        "statusOf(bytes32,bytes32,bytes32[])",
    )
    assert batchable == bytes.fromhex("dcfd0745")
    assert view.supports_interface(erc165)
    assert view.supports_interface(document_store)
    assert view.supports_interface(certnet)
    assert not view.supports_interface("0xdcfd0745")  # the TradeTrust verifiers take the root-only path
    assert not view.supports_interface("0xffffffff")


def test_stores_cannot_be_initialised_by_others(net):
    view = net.store()
    with pytest.raises(errors.NotRegistry) as info:
        view.as_signer(net.actors["vn_admin"])._send("initialize", "renamed")
    assert info.value.args_["caller"] == net.addr("vn_admin")
    # the implementation itself is never a store: even its registry cannot initialise it
    deployer = net.actors["deployer"]
    impl, _ = _deploy_contract(net.engine.w3, deployer, "DocumentStore", deployer.address)
    with pytest.raises(errors.AlreadyInitialized):
        DocumentStoreClient(net.engine.w3, impl, deployer)._send("initialize", "x")
    registry_impl = DocumentStoreClient(net.engine.w3, net.registry().store_implementation(), net.actors["th_admin"])
    with pytest.raises(errors.NotRegistry):
        registry_impl._send("initialize", "x")
    assert registry_impl.registry() == net.deployment.issuer_registry


def test_batched_status_agrees_with_single_calls(net):
    root_a, leaves_a, proofs_a = batch(6)
    root_b, leaves_b, proofs_b = batch(2)
    root_c, leaves_c, proofs_c = batch(3)
    root_t, leaves_t, proofs_t = batch(2)
    store = net.store("vn_issuer")
    store.anchor(root_a, "FORM_D", 6)
    store.anchor(root_b, "FORM_D", 2)
    store.anchor(root_c, "ECERT", 3)
    net.store("th_issuer").anchor(root_t, "FORM_D", 2)
    store.revoke_document(root_a, leaves_a[0], proofs_a[leaves_a[0]], "DATA_CORRECTED")
    store.revoke_root(root_c, "DUPLICATE")
    store.supersede(root_a, leaves_a[1], proofs_a[leaves_a[1]], root_b, leaves_b[0], proofs_b[leaves_b[0]])
    vn, th = net.stores["vn"], net.stores["th"]
    (unknown_root,) = rand_hashes(1)
    queries = (
        [(vn, root_a, lf, proofs_a[lf]) for lf in leaves_a]
        + [(vn, root_b, lf, proofs_b[lf]) for lf in leaves_b]
        + [(vn, root_c, lf, proofs_c[lf]) for lf in leaves_c]
        + [(th, root_t, lf, proofs_t[lf]) for lf in leaves_t]
        + [(vn, unknown_root, unknown_root, []), (vn, root_t, leaves_t[0], proofs_t[leaves_t[0]])]
    )
    statuses = net.registry().status_of(queries)
    assert len(statuses) == len(queries)
    for (store_addr, root, doc, proof), s in zip(queries, statuses, strict=True):
        view = DocumentStoreClient(net.engine.w3, store_addr)
        assert s.store == store_addr and s.root == root and s.document == doc and s.store_registered
        assert s.country == ("TH" if store_addr == th else "VN")
        assert s.issued == view.is_issued(root)
        assert s.proof_valid == view.is_issued(root, doc, proof) or not s.issued
        if s.issued:
            assert (s.revoked or s.superseded) == view.is_revoked(root, doc, proof)
            assert (not (s.revoked or s.superseded)) == view.is_active(root, doc, proof)
            a = view.anchor_of(root)
            assert (s.issuer, s.document_type, s.document_count, s.anchored_at, s.anchored_block) == (
                a.key,
                a.document_type,
                a.document_count,
                a.anchored_at,
                a.block_number,
            )
            assert s.issuer_authorised
            rev = view.revocation_of(root) or view.revocation_of(doc)
            assert s.revoked_at == (rev.revoked_at if rev else 0)
            assert s.revocation_reason == (rev.reason if rev else 0)
            assert s.revoked_by == (rev.by if rev else None)
            assert s.root_revoked == (view.revocation_of(root) is not None)
        else:
            assert s.issuer is None and not s.issuer_authorised and not s.revoked
    by_doc = {(s.store, s.document): s for s in statuses}
    assert by_doc[vn, leaves_a[0]].revocation_reason == REASON["DATA_CORRECTED"]
    assert by_doc[vn, leaves_a[0]].revoked_level == RevokedLevel.DOCUMENT
    assert by_doc[vn, leaves_c[2]].root_revoked and by_doc[vn, leaves_c[2]].revoked_level == RevokedLevel.ROOT
    sup = by_doc[vn, leaves_a[1]]
    assert sup.superseded and sup.successor_root == root_b and sup.successor_document == leaves_b[0]
    assert by_doc[vn, leaves_c[0]].document_type == 0 and by_doc[vn, leaves_c[0]].document_count == 3
    assert not by_doc[vn, leaves_t[0]].issued  # TH's root is not in VN's store


def test_batched_status_of_unregistered_stores(net):
    root = rand_hashes(1)[0]
    net.store("vn_issuer").anchor(root, "FORM_D", 1)
    impl = net.registry().store_implementation()
    for store in (impl, "0x" + "12" * 20, net.deployment.issuer_registry):
        s = net.registry().status_of([(store, root, root, [])])[0]
        assert not s.store_registered and s.country is None and not s.issued and not s.revoked


def test_batched_status_reports_unauthorised_anchors(net):
    root = rand_hashes(1)[0]
    net.store("vn_issuer").anchor(root, "FORM_D", 1)
    anchored_at = net.store().anchor_of(root).anchored_at
    net.registry("vn_admin").mark_compromised(net.addr("vn_issuer"), anchored_at)
    s = net.registry().status_of([(net.stores["vn"], root, root, [])])[0]
    assert s.issued and not s.issuer_authorised
    assert net.store().is_revoked(root) and not net.store().is_active(root)


def test_batched_status_limits(net):
    reg = net.registry()
    vn = net.stores["vn"]
    one = b"\x01" * 32
    with pytest.raises(errors.ArrayLengthMismatch):
        reg._call("statusOf", [vn], [one], [], [0], [])
    with pytest.raises(errors.ArrayLengthMismatch):  # proof lengths beyond the nodes given
        reg._call("statusOf", [vn], [one], [one], [2], [one])
    with pytest.raises(errors.ArrayLengthMismatch):  # nodes left over
        reg._call("statusOf", [vn], [one], [one], [0], [one])
    with pytest.raises(errors.TooManyQueries):
        reg._call("statusOf", [vn] * 1001, [one] * 1001, [one] * 1001, [0] * 1001, [])
    with pytest.raises(errors.ProofTooLong):
        reg._call("statusOf", [vn], [one], [one], [33], [one] * 33)
    with pytest.raises(errors.ProofTooLong):
        net.store()._call("statusOf", one, one, [one] * 33)
    queries = [(vn, x, x, []) for x in rand_hashes(1500)]
    assert len(reg.status_of(queries)) == 1500  # the client splits


def test_every_custom_error_is_tested():
    """Each custom error of the compiled contracts is asserted by a test of this file or test_issuer_registry."""
    here = Path(__file__).parent
    text = (here / "test_document_store.py").read_text() + (here / "test_issuer_registry.py").read_text()
    used = set(re.findall(r"errors\.(\w+)", text))
    declared = {
        item["name"]
        for c in ("IssuerRegistry", "DocumentStore")
        for item in load_artifact(c)["abi"]
        if item["type"] == "error"
    }
    # OpenZeppelin's (Clones, Checkpoints): a failed clone creation, a checkpoint out of time order; unreachable
    library = {"FailedDeployment", "InsufficientBalance", "CheckpointUnorderedInsertion"}
    assert declared - library - used == set()


# ------------------------------------------------------------------ property tests: proofs on chain


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.integers(min_value=1, max_value=200), data=st.data())
def test_offchain_proofs_verify_on_chain(embedded_net, size, data):
    rng = random.Random(data.draw(st.integers(0, 2**64)))
    root, leaves, proofs = batch(size, rng)
    view = embedded_net.store()
    if not view.is_issued(root):  # hypothesis replays examples on the same chain
        embedded_net.store("vn_issuer").anchor(root, "FORM_D", size)
    leaf = data.draw(st.sampled_from(leaves))
    proof = proofs[leaf]
    assert view.is_issued(root, leaf, proof)
    # any alteration of the proof, the leaf or the root fails
    if proof:
        k = data.draw(st.integers(0, len(proof) - 1))
        altered = list(proof)
        altered[k] = data.draw(st.sampled_from([rng.randbytes(32).hex(), leaf]))
        if altered[k] != proof[k]:
            assert not view.is_issued(root, leaf, altered)
        assert not view.is_issued(root, leaf, proof[:-1])
        assert not view.is_issued(root, leaf, proof + [rng.randbytes(32).hex()])
    else:
        assert not view.is_issued(root, leaf, [rng.randbytes(32).hex()])
    assert not view.is_issued(root, rng.randbytes(32).hex(), proof)
    flipped = bytearray(bytes.fromhex(leaf))
    flipped[data.draw(st.integers(0, 31))] ^= 1 << data.draw(st.integers(0, 7))
    assert not view.is_issued(root, bytes(flipped), proof)


def test_offchain_proofs_verify_on_anvil(anvil_net):
    """The same property over real JSON-RPC for a few sizes (every leaf of each batch)."""
    for size in (1, 2, 3, 17, 64, 200):
        root, leaves, proofs = batch(size)
        anvil_net.store("vn_issuer").anchor(root, "FORM_D", size)
        view = anvil_net.store()
        for leaf in leaves[:50]:
            assert view.is_issued(root, leaf, proofs[leaf])
            if proofs[leaf]:
                bad = [os.urandom(32).hex()] + proofs[leaf][1:]
                assert not view.is_issued(root, leaf, bad)
