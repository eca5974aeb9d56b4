"""CertificateRegistry: anchoring, revocation, supersession, OpenAttestation views, ERC-165, batched status
(embedded and anvil), plus property tests of on-chain Merkle proof checking."""

from __future__ import annotations

import os
import random

import pytest
from eth_utils import function_signature_to_4byte_selector
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certnet.node import errors
from certnet.node.contracts import REVOCATION_REASONS
from certnet.verifier.merkle import MerkleTree

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


def selector_xor(*signatures: str) -> bytes:
    acc = 0
    for sig in signatures:
        acc ^= int.from_bytes(function_signature_to_4byte_selector(sig), "big")
    return acc.to_bytes(4, "big")


# ------------------------------------------------------------------ anchoring

def test_anchor_records_and_events(net):
    store = net.store("vn_issuer")
    root, leaves, _ = batch(5)
    receipt = store.anchor(root, "FORM_D", 5)
    view = net.store()
    assert view.events(receipt, "DocumentIssued")[0]["document"].hex() == root
    ev = view.events(receipt, "RootAnchored")[0]
    assert ev["root"].hex() == root and ev["issuer"] == net.addr("vn_issuer") and ev["country"] == b"VN"
    assert ev["documentType"] == 1 and ev["documentCount"] == 5
    a = view.anchor_of(root)
    block = net.engine.w3.eth.get_block(receipt["blockNumber"])
    assert (a.issuer, a.document_type, a.document_count) == (net.addr("vn_issuer"), 1, 5)
    assert (a.anchored_at, a.block_number) == (block["timestamp"], receipt["blockNumber"])
    assert view.is_issued(root) and view.is_active(root) and not view.is_revoked(root)
    assert view.anchor_of(rand_hashes(1)[0]) is None


def test_anchor_refusals(net):
    store = net.store("vn_issuer")
    root = rand_hashes(1)[0]
    store.anchor(root, "FORM_D", 1)
    with pytest.raises(errors.AlreadyIssued):
        store.anchor(root, "FORM_D", 1)
    with pytest.raises(errors.AlreadyIssued):  # not even another issuer
        net.store("th_issuer").anchor(root, "FORM_D", 1)
    with pytest.raises(errors.ZeroRoot):
        store.anchor("00" * 32, "FORM_D", 1)
    with pytest.raises(errors.InvalidDocumentCount):
        store.anchor(rand_hashes(1)[0], "FORM_D", 0)
    with pytest.raises(errors.InvalidDocumentCount):
        store.anchor(rand_hashes(1)[0], "FORM_D", 2**24)
    with pytest.raises(errors.NotAuthorisedIssuer):
        net.store("outsider").anchor(rand_hashes(1)[0], "FORM_D", 1)
    with pytest.raises(errors.NotAuthorisedIssuer):
        net.store("vn_admin").anchor(rand_hashes(1)[0], "FORM_D", 1)  # admins are not issuers
    with pytest.raises(errors.NotAuthorisedIssuer):
        net.store("th_issuer").anchor(rand_hashes(1)[0], "ECERT", 1)  # type not allowed
    with pytest.raises(errors.NotAuthorisedIssuer):  # OA issue() anchors the generic type
        net.store("th_issuer").issue(rand_hashes(1)[0])
    r = rand_hashes(1)[0]
    net.store("vn_issuer").issue(r)
    assert net.store().anchor_of(r).document_type == 0


# ------------------------------------------------------------------ revocation

def test_revoke_root_by_issuer_with_reason(net):
    store = net.store("vn_issuer")
    root, leaves, proofs = batch(4)
    store.anchor(root, "FORM_D", 4)
    receipt = store.revoke_root(root, "FRAUDULENT")
    view = net.store()
    ev = view.events(receipt, "DocumentRevoked")[0]
    assert ev["documentRoot"].hex() == root and ev["document"].hex() == root
    rec = view.events(receipt, "RevocationRecorded")[0]
    assert rec["reason"] == REASON["FRAUDULENT"] and rec["by"] == net.addr("vn_issuer")
    assert view.is_revoked(root) and not view.is_active(root) and view.is_issued(root)
    for leaf in leaves:  # every document of a revoked batch is revoked
        assert view.is_revoked(root, leaf, proofs[leaf])
        assert not view.is_active(root, leaf, proofs[leaf])
    r = view.revocation_of(root)
    assert r.reason == REASON["FRAUDULENT"] and r.block_number == receipt["blockNumber"]
    with pytest.raises(errors.AlreadyRevoked):
        store.revoke_root(root, 1)
    with pytest.raises(errors.AlreadyRevoked):
        store.revoke_document(root, leaves[0], proofs[leaves[0]], 1)


def test_revocation_access(net):
    root, leaves, proofs = batch(3)
    net.store("vn_issuer").anchor(root, "FORM_D", 3)
    with pytest.raises(errors.NotIssued):
        net.store("vn_issuer").revoke_root(rand_hashes(1)[0])
    for who in ("th_issuer", "th_admin", "outsider"):
        with pytest.raises(errors.NotRevoker):
            net.store(who).revoke_root(root, 1)
        with pytest.raises(errors.NotRevoker):
            net.store(who).revoke_document(root, leaves[0], proofs[leaves[0]], 1)
    # an admin of the issuer's country may revoke
    net.store("vn_admin2").revoke_document(root, leaves[1], proofs[leaves[1]], "ISSUED_IN_ERROR")
    assert net.store().revocation_of(leaves[1]).by == net.addr("vn_admin2")
    net.store("vn_admin").revoke(root)  # OpenAttestation form: reason unspecified
    assert net.store().revocation_of(root).reason == 0


def test_compromised_issuer_cannot_revoke_but_admin_can(net):
    root = rand_hashes(1)[0]
    net.store("vn_issuer").anchor(root, "FORM_D", 1)
    now = net.engine.w3.eth.get_block("latest")["timestamp"]
    net.registry("vn_admin").mark_compromised(net.addr("vn_issuer"), now)
    with pytest.raises(errors.NotRevoker):
        net.store("vn_issuer").revoke_root(root, "KEY_COMPROMISED")
    net.store("vn_admin").revoke_root(root, "KEY_COMPROMISED")


def test_retired_issuer_can_still_revoke_its_own(net):
    root = rand_hashes(1)[0]
    net.store("vn_issuer").anchor(root, "FORM_D", 1)
    net.registry("vn_admin").retire_issuer(net.addr("vn_issuer"))
    net.store("vn_issuer").revoke_root(root, 1)


def test_revoke_single_document_checks_proof(net):
    store = net.store("vn_issuer")
    root, leaves, proofs = batch(7)
    store.anchor(root, "FORM_D", 7)
    target = leaves[3]
    bad = list(proofs[target])
    bad[0] = rand_hashes(1)[0]
    with pytest.raises(errors.InvalidProof):
        store.revoke_document(root, target, bad, 1)
    with pytest.raises(errors.InvalidProof):
        store.revoke_document(root, rand_hashes(1)[0], proofs[target], 1)
    receipt = store.revoke_with_proof(root, target, proofs[target])  # OpenAttestation batchable form
    ev = net.store().events(receipt, "DocumentRevoked")[0]
    assert ev["documentRoot"].hex() == root and ev["document"].hex() == target
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
    assert view.is_issued(root, other, proofs[other])
    with pytest.raises(errors.AlreadyRevoked):
        store.revoke_document(root, target, proofs[target], 1)
    # inner proof nodes are not revoked by a document revocation
    for node in proofs[target]:
        assert not view.is_revoked(node)


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
    with pytest.raises(errors.SuccessorNotIssued):
        store.supersede(old_root, old, old_proofs[old], new_root, new, new_proofs[new])
    store.anchor(new_root, "FORM_D", 2)
    with pytest.raises(errors.InvalidProof):
        store.supersede(old_root, old, old_proofs[old_leaves[1]], new_root, new, new_proofs[new])
    with pytest.raises(errors.InvalidProof):
        store.supersede(old_root, old, old_proofs[old], new_root, new, new_proofs[new_leaves[0]])
    with pytest.raises(errors.SupersededBySelf):
        store.supersede(old_root, old, old_proofs[old], old_root, old, old_proofs[old])
    with pytest.raises(errors.NotRevoker):
        net.store("th_admin").supersede(old_root, old, old_proofs[old], new_root, new, new_proofs[new])
    receipt = store.supersede(old_root, old, old_proofs[old], new_root, new, new_proofs[new])
    ev = net.store().events(receipt, "DocumentSuperseded")[0]
    assert ev["oldRoot"].hex() == old_root and ev["oldDocument"].hex() == old
    assert ev["newRoot"].hex() == new_root and ev["newDocument"].hex() == new and ev["by"] == net.addr("vn_issuer")
    view = net.store()
    s = view.supersession_of(old)
    assert s.successor_root == new_root and s.successor_document == new
    assert not view.is_active(old_root, old, old_proofs[old])  # no longer active for OA verifiers
    assert view.is_revoked(old)
    assert view.is_active(old_root, old_leaves[1], old_proofs[old_leaves[1]])
    with pytest.raises(errors.AlreadySuperseded):
        store.supersede(old_root, old, old_proofs[old], new_root, new_leaves[0], new_proofs[new_leaves[0]])
    # a superseded document cannot become a successor
    with pytest.raises(errors.AlreadySuperseded):
        store.supersede(old_root, old_leaves[1], old_proofs[old_leaves[1]], old_root, old, old_proofs[old])


def test_supersede_needs_same_country_and_live_successor(net):
    vn_root, th_root, rev_root = rand_hashes(3)
    net.store("vn_issuer").anchor(vn_root, "FORM_D", 1)
    net.store("th_issuer").anchor(th_root, "FORM_D", 1)
    with pytest.raises(errors.SuccessorOtherCountry):
        net.store("vn_issuer").supersede(vn_root, vn_root, [], th_root, th_root, [])
    net.store("vn_issuer").anchor(rev_root, "FORM_D", 1)
    net.store("vn_issuer").revoke_root(rev_root, 1)
    with pytest.raises(errors.SuccessorRevoked):
        net.store("vn_issuer").supersede(vn_root, vn_root, [], rev_root, rev_root, [])
    with pytest.raises(errors.AlreadyRevoked):
        net.store("vn_issuer").supersede(rev_root, rev_root, [], vn_root, vn_root, [])
    # an admin of the same country may supersede with another VN issuer's document
    net.registry("vn_admin").register_issuer(net.new_actor("vn_issuer_b").address, "VCCI Da Nang", ["FORM_D"])
    b_root = rand_hashes(1)[0]
    net.store("vn_issuer_b").anchor(b_root, "FORM_D", 1)
    net.store("vn_admin").supersede(vn_root, vn_root, [], b_root, b_root, [])


# ------------------------------------------------------------------ views

def test_name_and_erc165(net):
    view = net.store()
    assert view.name() == "certnet test"
    assert view.issuer_registry() == net.deployment.issuer_registry
    erc165 = selector_xor("supportsInterface(bytes4)")
    document_store = selector_xor("name()", "revoke(bytes32)", "isIssued(bytes32)",
                                  "isRevoked(bytes32)", "isActive(bytes32)")
    batchable = selector_xor("issue(bytes32)", "revoke(bytes32,bytes32,bytes32[])", "isIssued(bytes32,bytes32,bytes32[])",
                             "isRevoked(bytes32,bytes32,bytes32[])", "isActive(bytes32,bytes32,bytes32[])")
    assert batchable == bytes.fromhex("dcfd0745")
    assert view.supports_interface(erc165)
    assert view.supports_interface(document_store)
    assert not view.supports_interface("0xdcfd0745")
    assert not view.supports_interface("0xffffffff")
    assert net.registry().supports_interface(erc165)


def test_batched_status_agrees_with_single_calls(net):
    store = net.store("vn_issuer")
    root_a, leaves_a, proofs_a = batch(6)
    root_b, leaves_b, proofs_b = batch(2)
    root_c, leaves_c, proofs_c = batch(3)
    store.anchor(root_a, "FORM_D", 6)
    store.anchor(root_b, "FORM_D", 2)
    store.anchor(root_c, "ECERT", 3)
    store.revoke_document(root_a, leaves_a[0], proofs_a[leaves_a[0]], "DATA_CORRECTED")
    store.revoke_root(root_c, "DUPLICATE")
    store.supersede(root_a, leaves_a[1], proofs_a[leaves_a[1]], root_b, leaves_b[0], proofs_b[leaves_b[0]])
    unknown_root, = rand_hashes(1)
    pairs = [(root_a, l) for l in leaves_a] + [(root_b, l) for l in leaves_b] + [(root_c, l) for l in leaves_c]
    pairs.append((unknown_root, unknown_root))
    proofs = {**proofs_a, **proofs_b, **proofs_c, unknown_root: []}
    statuses = net.store().status_of(pairs)
    assert len(statuses) == len(pairs)
    view = net.store()
    for (root, doc), s in zip(pairs, statuses):
        assert s.root == root and s.document == doc
        assert s.issued == view.is_issued(root, doc, proofs[doc])
        if s.issued:
            assert (s.revoked or s.superseded) == view.is_revoked(root, doc, proofs[doc])
            assert (not (s.revoked or s.superseded)) == view.is_active(root, doc, proofs[doc])
            a = view.anchor_of(root)
            assert (s.issuer, s.document_type, s.anchored_at, s.anchored_block) == (
                a.issuer, a.document_type, a.anchored_at, a.block_number)
            assert s.country == "VN" and s.issuer_authorised
            rev = view.revocation_of(root) or view.revocation_of(doc)
            assert s.revoked_at == (rev.revoked_at if rev else 0)
            assert s.revocation_reason == (rev.reason if rev else 0)
            assert s.root_revoked == (view.revocation_of(root) is not None)
        else:
            assert s.issuer is None and not s.issuer_authorised and not s.revoked
    by_doc = {s.document: s for s in statuses}
    assert by_doc[leaves_a[0]].revocation_reason == REASON["DATA_CORRECTED"] and not by_doc[leaves_a[0]].root_revoked
    assert by_doc[leaves_c[2]].root_revoked and by_doc[leaves_c[2]].revocation_reason == REASON["DUPLICATE"]
    sup = by_doc[leaves_a[1]]
    assert sup.superseded and sup.successor_root == root_b and sup.successor_document == leaves_b[0]
    assert by_doc[leaves_c[0]].document_type == 0 and by_doc[leaves_c[0]].document_count == 3


def test_batched_status_reports_unauthorised_anchors(net):
    root = rand_hashes(1)[0]
    net.store("vn_issuer").anchor(root, "FORM_D", 1)
    anchored_at = net.store().anchor_of(root).anchored_at
    net.registry("vn_admin").mark_compromised(net.addr("vn_issuer"), anchored_at)
    assert not net.store().status_of([(root, root)])[0].issuer_authorised


def test_batched_status_limits(net):
    view = net.store()
    with pytest.raises(errors.ArrayLengthMismatch):
        view._call("statusOf", [b"\x01" * 32], [])
    with pytest.raises(errors.TooManyQueries):
        view._call("statusOf", [b"\x01" * 32] * 1001, [b"\x01" * 32] * 1001)
    assert len(view.status_of([(h, h) for h in rand_hashes(1500)])) == 1500  # the client splits


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
