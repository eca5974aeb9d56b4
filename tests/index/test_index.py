"""The chain-event index: the index's answers equal the chain's, incremental sync, reorgs, confirmation
depth, migrations, query speed."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from eth_utils import keccak
from sqlalchemy import insert, inspect, select
from web3 import Web3

from certnet.index import VERSION_TABLE, current_revision, make_engine, sqlite_url, upgrade
from certnet.index.follower import Indexer
from certnet.index.models import EVENT_MODELS, Base, Network
from certnet.index.queries import IndexStatusSource
from certnet.node.contracts import DocumentStoreClient, KeyStatus, RevokedLevel
from certnet.node.engines import AnvilEngine, EmbeddedEngine
from certnet.node.tx import Transactor
from tests.conftest import Net, make_net
from tests.support.chain import assert_same, client, h32, merkle, register, rpc

pytestmark = pytest.mark.integration  # real engines, databases or processes (see tests/conftest.py)

# ------------------------------------------------------------------ helpers


def same_second(engine) -> None:
    """The next block gets the latest block's timestamp (anvil allows equal timestamps)."""
    rpc(engine, "evm_setNextBlockTimestamp", [engine.w3.eth.get_block("latest")["timestamp"]])


def anchored_at(receipt, engine) -> int:
    return engine.w3.eth.get_block(receipt["blockNumber"])["timestamp"]


def compare(net: Net, indexer: Indexer, source: IndexStatusSource, queries) -> list:
    block = indexer.sync()
    assert source.indexed_block().number == block
    chain = net.registry().status_of(queries, block=block)
    got = source.status_of(queries)
    assert_same(got, chain)
    return got


# ------------------------------------------------------------------ the corpus


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory):
    """An anvil of this module's own (the tests move its clock and mine blocks with chosen timestamps)."""
    engine = AnvilEngine(tmp_path_factory.mktemp("index-anvil"), persist=False).start()
    yield engine
    engine.stop()


class Corpus:
    def __init__(self, net: Net) -> None:
        self.net = net
        self.queries: list[tuple] = []
        self.expect: dict[str, tuple] = {}
        self.keys: list[tuple[str, str]] = []  # (key, store)

    def add(self, label: str, store: str, root: bytes, doc: bytes, proof: list[bytes] | None = None) -> None:
        q = (store, root, doc, list(proof or []))
        self.queries.append(q)
        self.expect[label] = q


@pytest.fixture(scope="module")
def corpus(chain) -> Corpus:
    """Valid, revoked (document, root, both, a proof node), superseded (in its store and into another store of the
    country), revocations and supersessions by a key later marked compromised since before them (they stop
    counting; an admin revokes again), unauthorised (compromised after anchoring, suspended in the anchor's
    second, member removed in the anchor's second), suspended and reinstated, retired, rotated, validity window
    edge, OpenAttestation `issue`, another country's store, a victim's hashes anchored and revoked in an attacker's
    store, an unregistered store, unissued."""
    e = chain
    net = make_net(e)
    c = Corpus(net)
    VN, VN2, TH = net.stores["vn"], net.stores["vn2"], net.stores["th"]
    vn, th = net.store("vn_issuer"), net.store("th_issuer")
    vn_admin, th_admin = net.registry("vn_admin"), net.registry("th_admin")
    c.keys = [(net.addr("vn_issuer"), VN), (net.addr("vn2_issuer"), VN2), (net.addr("th_issuer"), TH)]

    docs = [h32() for _ in range(4)]
    root, proofs = merkle(docs)
    vn.anchor(root, "FORM_D", 4)
    c.add("valid", VN, root, docs[0], proofs[docs[0]])
    c.add("valid2", VN, root, docs[3], proofs[docs[3]])
    c.add("bad_proof", VN, root, docs[1], proofs[docs[2]])
    c.add("same_root_other_store", VN2, root, docs[0], proofs[docs[0]])  # registered, same country, not issued
    c.add("same_root_other_country", TH, root, docs[0], proofs[docs[0]])
    c.add("unregistered_store", "0x" + "12" * 20, root, docs[0], proofs[docs[0]])

    g = h32()
    vn.issue(g)
    c.add("oa_issue", VN, g, g)

    a, b = h32(), h32()
    r1, p1 = merkle([a, b])
    vn.anchor(r1, "FORM_D", 2)
    vn.revoke_document(r1, a, p1[a], "ISSUED_IN_ERROR")
    c.add("revoked_doc", VN, r1, a, p1[a])
    c.add("sibling_of_revoked", VN, r1, b, p1[b])

    d3 = [h32() for _ in range(3)]
    r2, p2 = merkle(d3)
    vn.anchor(r2, "FORM_D", 3)
    net.store("vn_admin", authority="vn").revoke_root(r2, "FRAUDULENT")  # by an admin of the authority's country
    c.add("revoked_root", VN, r2, d3[1], p2[d3[1]])

    x, y = h32(), h32()
    r3, p3 = merkle([x, y])
    vn.anchor(r3, "ECERT", 2)
    vn.revoke_document(r3, x, p3[x], "DATA_CORRECTED")
    vn.revoke_root(r3, "DUPLICATE")
    c.add("doc_then_root_revoked", VN, r3, x, p3[x])

    # a node of the proof path: revokes the two documents under it, not the others
    d4 = sorted(h32() for _ in range(4))
    r4, p4 = merkle(d4)
    vn.anchor(r4, "FORM_D", 4)
    node = keccak(min(d4[0], d4[1]) + max(d4[0], d4[1]))
    vn.revoke_document(r4, node, p4[d4[0]][1:], "GOODS_NOT_SHIPPED")
    c.add("proof_node_revoked", VN, r4, d4[1], p4[d4[1]])
    c.add("proof_node_sibling_subtree", VN, r4, d4[2], p4[d4[2]])

    s1, s2, n1, n2 = h32(), h32(), h32(), h32()
    old, pold = merkle([s1, s2])
    vn.anchor(old, "FORM_D", 2)
    vn.anchor(n1, "FORM_D", 1)
    vn.supersede(old, s1, pold[s1], n1, n1, [])
    net.store("vn2_issuer").anchor(n2, "FORM_D", 1)
    vn.supersede(old, s2, pold[s2], n2, n2, [], new_store=VN2)  # replaced by another authority of VN
    c.add("superseded", VN, old, s1, pold[s1])
    c.add("superseded_into_other_store", VN, old, s2, pold[s2])
    c.add("successor", VN, n1, n1)
    c.add("successor_other_store", VN2, n2, n2)

    # the victim's public hashes anchored and revoked in an attacker's own store change nothing in the victim's
    th.anchor(docs[1], "FORM_D", 1)
    th.revoke_root(docs[1], "FRAUDULENT")
    c.add("victim_doc", VN, root, docs[1], proofs[docs[1]])
    c.add("attacker_copy", TH, docs[1], docs[1])

    # a key of its own authority revokes and supersedes; then it is marked compromised since before: neither
    # counts any more (the documents are valid again), and an admin revokes one of them again
    rk = register(net, "vn_admin", "VCCI Vung Tau", ["FORM_D"], "vn_revoker")
    RK = client(net, "vn_revoker", rk)
    k1, k2, k3, kn = h32(), h32(), h32(), h32()
    rr, pr = merkle([k1, k2, k3])
    RK.anchor(rr, "FORM_D", 3)
    RK.anchor(kn, "FORM_D", 1)
    e.advance_time(10)
    rev = RK.revoke_document(rr, k1, pr[k1], "FRAUDULENT")
    RK.revoke_document(rr, k3, pr[k3], "FRAUDULENT")
    RK.supersede(rr, k2, pr[k2], kn, kn, [])
    vn_admin.mark_compromised(net.addr("vn_revoker"), anchored_at(rev, e))
    net.store("vn_admin", authority="VCCI Vung Tau").revoke_document(rr, k3, pr[k3], "ISSUED_IN_ERROR")
    c.add("revoked_by_compromised_key", rk, rr, k1, pr[k1])
    c.add("superseded_by_compromised_key", rk, rr, k2, pr[k2])
    c.add("revoked_again_by_admin", rk, rr, k3, pr[k3])
    c.keys.append((net.addr("vn_revoker"), rk))

    # compromised after anchoring: the earlier anchor stays authorised, the later one not
    hn = register(net, "vn_admin", "VCCI Hue", ["FORM_D"], "vn_hue")
    c0, c1 = h32(), h32()
    client(net, "vn_hue", hn).anchor(c0, "FORM_D", 1)
    e.advance_time(10)
    rc = client(net, "vn_hue", hn).anchor(c1, "FORM_D", 1)
    e.advance_time(10)
    vn_admin.mark_compromised(net.addr("vn_hue"), anchored_at(rc, e))
    c.add("before_compromise", hn, c0, c0)
    c.add("after_compromise", hn, c1, c1)
    c.keys.append((net.addr("vn_hue"), hn))

    # suspended and reinstated; and suspended in the very second of an anchor
    t1, t2, t3 = h32(), h32(), h32()
    th.anchor(t1, "FORM_D", 1)
    e.advance_time(5)
    th_admin.suspend_key(net.addr("th_issuer"))
    e.advance_time(5)
    th_admin.reinstate_key(net.addr("th_issuer"))
    e.advance_time(5)
    th.anchor(t2, "FORM_D", 1)
    e.advance_time(5)
    th.anchor(t3, "FORM_D", 1)
    same_second(e)
    th_admin.suspend_key(net.addr("th_issuer"))
    e.advance_time(5)
    th_admin.reinstate_key(net.addr("th_issuer"))
    c.add("before_suspension", TH, t1, t1)
    c.add("after_reinstatement", TH, t2, t2)
    c.add("suspended_same_second", TH, t3, t3)

    # retired after anchoring; a rotated key; a second key of one authority
    dn = register(net, "vn_admin", "VCCI Da Nang", ["ECERT"], "vn_danang")
    e3 = h32()
    client(net, "vn_danang", dn).anchor(e3, "ECERT", 1)
    e.advance_time(3)
    vn_admin.retire_key(net.addr("vn_danang"))
    c.add("before_retirement", dn, e3, e3)
    ct = register(net, "vn_admin", "VCCI Can Tho", ["FORM_D", "EPHYTO"], "vn_cantho")
    net.new_actor("vn_cantho2")
    net.new_actor("vn_cantho3")
    f4, f5, f6 = h32(), h32(), h32()
    client(net, "vn_cantho", ct).anchor(f4, "EPHYTO", 1)
    e.advance_time(3)
    vn_admin.rotate_key(net.addr("vn_cantho"), net.addr("vn_cantho2"))
    client(net, "vn_cantho2", ct).anchor(f5, "EPHYTO", 1)
    vn_admin.add_key(ct, net.addr("vn_cantho3"))
    client(net, "vn_cantho3", ct).anchor(f6, "FORM_D", 1)
    c.add("rotated_previous", ct, f4, f4)
    c.add("rotated_successor", ct, f5, f5)
    c.add("second_key", ct, f6, f6)
    c.keys += [(net.addr("vn_danang"), dn)] + [(net.addr(k), ct) for k in ("vn_cantho", "vn_cantho2", "vn_cantho3")]

    # validity window: an anchor exactly at validUntil is authorised (inclusive)
    now = e.w3.eth.get_block("latest")["timestamp"]
    hp = register(
        net, "vn_admin", "VCCI Hai Phong", ["FORM_D"], "vn_haiphong", valid_from=now - 100, valid_until=now + 60
    )
    w = h32()
    rpc(e, "evm_setNextBlockTimestamp", [now + 60])
    client(net, "vn_haiphong", hp).anchor(w, "FORM_D", 1)
    c.add("at_valid_until", hp, w, w)
    c.keys.append((net.addr("vn_haiphong"), hp))

    # a member removed in the very second of an anchor: that anchor is not authorised, an earlier one is
    my = register(net, "my_admin", "MITI Malaysia", ["FORM_D"], "my_issuer")
    m0, m1 = h32(), h32()
    client(net, "my_issuer", my).anchor(m0, "FORM_D", 1)
    e.advance_time(5)
    pid = vn_admin.propose_removal("MY")
    client(net, "my_issuer", my).anchor(m1, "FORM_D", 1)
    same_second(e)
    th_admin.vote(pid, True)  # 2 of 3: passed, MY removed
    c.add("member_before_removal", my, m0, m0)
    c.add("member_removed_same_second", my, m1, m1)
    c.keys.append((net.addr("my_issuer"), my))

    # customs keys: added, one removed
    net.new_actor("th_customs")
    net.new_actor("th_customs2")
    th_admin.add_customs_key(net.addr("th_customs"))
    th_admin.add_customs_key(net.addr("th_customs2"))
    th_admin.remove_customs_key(net.addr("th_customs2"))

    for i in range(3):
        u = h32()
        c.add(f"unissued_{i}", VN, u, h32())
    c.add("unissued_doc_of_issued_root", VN, root, h32())
    return c


@pytest.fixture(scope="module")
def indexed(corpus: Corpus, chain, tmp_path_factory: pytest.TempPathFactory):
    url = sqlite_url(tmp_path_factory.mktemp("index") / "index.db")
    indexer = Indexer(chain.w3, corpus.net.deployment, url)
    source = IndexStatusSource(url, chain.w3.eth.chain_id, corpus.net.deployment.issuer_registry)
    yield indexer, source
    source.close()
    indexer.close()


# ------------------------------------------------------------------ equality with the chain


def test_status_of_equals_chain_field_by_field(corpus: Corpus, indexed) -> None:
    indexer, source = indexed
    got = compare(corpus.net, indexer, source, corpus.queries)
    by = {label: got[corpus.queries.index(q)] for label, q in corpus.expect.items()}
    # the corpus exercises what it claims
    assert by["valid"].issued and by["valid"].issuer_authorised and not by["valid"].revoked and by["valid"].proof_valid
    assert by["valid"].store_registered and by["valid"].country == "VN"
    assert not by["bad_proof"].proof_valid
    assert by["same_root_other_store"].store_registered and not by["same_root_other_store"].issued
    assert by["same_root_other_country"].country == "TH" and not by["same_root_other_country"].issued
    assert not by["unregistered_store"].store_registered and by["unregistered_store"].country is None
    assert by["oa_issue"].document_type == 0 and by["oa_issue"].document_count == 1
    assert by["revoked_doc"].revoked_level == RevokedLevel.DOCUMENT and by["revoked_doc"].revocation_reason == 1
    assert not by["sibling_of_revoked"].revoked
    assert by["revoked_root"].root_revoked and by["revoked_root"].revocation_reason == 3
    assert by["revoked_root"].revoked_by == corpus.net.addr("vn_admin")
    assert by["doc_then_root_revoked"].root_revoked and by["doc_then_root_revoked"].revocation_reason == 6
    assert by["proof_node_revoked"].revoked_level == RevokedLevel.PROOF_NODE
    assert not by["proof_node_sibling_subtree"].revoked
    assert by["superseded"].superseded and by["superseded"].successor_root == corpus.expect["successor"][1].hex()
    assert by["superseded_into_other_store"].successor_store == corpus.net.stores["vn2"]
    assert not by["victim_doc"].revoked and by["attacker_copy"].revoked
    assert by["revoked_by_compromised_key"].issued and not by["revoked_by_compromised_key"].revoked
    assert not by["superseded_by_compromised_key"].superseded
    assert by["revoked_again_by_admin"].revoked and by["revoked_again_by_admin"].revocation_reason == 1
    assert by["before_compromise"].issuer_authorised and not by["after_compromise"].issuer_authorised
    assert by["before_suspension"].issuer_authorised and by["after_reinstatement"].issuer_authorised
    assert by["suspended_same_second"].issuer_authorised  # the store checked the key when it anchored: a later
    # suspension in the same second does not undo the anchor (only a compromise since then does)
    assert by["before_retirement"].issuer_authorised
    assert by["rotated_previous"].issuer_authorised and by["rotated_successor"].issuer_authorised
    assert by["second_key"].issuer_authorised
    assert by["at_valid_until"].issuer_authorised
    assert by["member_before_removal"].issuer_authorised and by["member_before_removal"].country == "MY"
    assert by["member_removed_same_second"].issuer_authorised  # anchored while a member: the store checked it
    assert not by["unissued_0"].issued and by["unissued_0"].country == "VN"
    # hex with 0x and bytes are the same question
    assert source.status_of([(q[0].lower(), "0x" + q[1].hex(), q[2], q[3]) for q in corpus.queries[:3]]) == got[:3]


def test_a_proof_longer_than_the_chain_accepts_is_refused(corpus: Corpus, indexed) -> None:
    _, source = indexed
    store, root, doc, _ = corpus.expect["valid"]
    with pytest.raises(ValueError, match="at most 32"):
        source.status_of([(store, root, doc, [h32() for _ in range(33)])])


def test_authorisation_at_any_time_equals_chain(corpus: Corpus, indexed) -> None:
    indexer, source = indexed
    block = indexer.sync()
    registry = corpus.net.registry()
    times = sorted(
        {e.time for e in source.events_between("VN", 0, 2**40)}
        | {e.time for e in source.events_between("TH", 0, 2**40)}
        | {e.time for e in source.events_between("MY", 0, 2**40)}
    )
    probes = sorted({t + d for t in times for d in (-1, 0, 1)})
    probes = probes[:: max(1, len(probes) // 12)] + probes[-3:]
    fn = registry.contract.functions
    other_store = corpus.net.stores["th"]
    for key, store in corpus.keys:
        for st in (store, other_store):
            for doc_type in (0, 1, 2, 5):
                for t in probes:
                    want = fn.isAuthorisedAt(key, st, doc_type, t).call(block_identifier=block)
                    assert source.is_authorised_at(key, st, doc_type, t) == want, (key, st, doc_type, t)
        for t in probes:
            assert int(source.key_status_at(key, t)) == fn.keyStatusAt(key, t).call(block_identifier=block)
            assert source.counts_at(key, t) == fn.countsAt(key, t).call(block_identifier=block)


def test_views_equal_chain(corpus: Corpus, indexed) -> None:
    indexer, source = indexed
    block = indexer.sync()
    net = corpus.net
    fn = net.registry().contract.functions
    keys = {v.key: v for v in source.keys()}
    for key, _store in corpus.keys:
        rec = fn.keyInfo(key).call(block_identifier=block)
        v = keys[key]
        assert (
            v.store,
            int(v.status),
            v.valid_from,
            v.valid_until,
            v.compromised_since or 0,
            v.successor or "0x" + "00" * 20,
        ) == tuple(rec), key
    assert keys[net.addr("vn_cantho2")].predecessor == net.addr("vn_cantho")
    assert keys[net.addr("vn_cantho")].successor == net.addr("vn_cantho2")
    assert [s.status for s in keys[net.addr("th_issuer")].status_history] == [
        KeyStatus.ACTIVE,
        KeyStatus.SUSPENDED,
        KeyStatus.ACTIVE,
        KeyStatus.SUSPENDED,
        KeyStatus.ACTIVE,
    ]
    assert {v.country for v in source.keys("TH")} == {"TH"}
    assert [v.key for v in source.issuers("TH")] == [net.addr("th_issuer")]  # the routes' name for keys
    authorities = {a.store: a for a in source.authorities()}
    for country in ("VN", "TH", "MY"):
        stores = fn.storesOf(country.encode()).call(block_identifier=block)
        assert [a.store for a in source.authorities(country)] == stores
        for store in stores:
            rec = fn.authority(store).call(block_identifier=block)
            a = authorities[store]
            assert (a.country.encode(), a.epoch, a.document_types, a.valid_from, a.valid_until) == tuple(rec)
            assert source.authority_name(store) == net.deployment.store_client(net.engine.w3, store).name() == a.name
            assert source.country_of_store(store) == country
    assert {k.key for k in authorities[net.stores["VCCI Can Tho"]].keys} == {
        net.addr(k) for k in ("vn_cantho", "vn_cantho2", "vn_cantho3")
    }
    assert not authorities[net.stores["MITI Malaysia"]].active and authorities[net.stores["vn"]].active
    members = {m.country: m for m in source.members()}
    assert set(members) == set(net.registry().countries())
    for country, m in members.items():
        active, epoch, admin_count, joined = fn.member(country.encode()).call(block_identifier=block)
        assert (m.active, m.epoch, len(m.admins) if m.active else 0, m.joined_at) == (
            active,
            epoch,
            admin_count if active else 0,
            joined,
        )
        for admin in m.admins:
            assert fn.isAdminOf(admin, country.encode()).call(block_identifier=block)
    assert not members["MY"].active and members["MY"].removed_at is not None and members["MY"].admins == []
    assert [c.epoch for c in members["MY"].changes] == [1, 1] and not members["MY"].changes[1].added
    assert members["TH"].customs_keys == [net.addr("th_customs")]
    customs = {k.key: k for k in source.customs_keys("TH")}
    assert customs[net.addr("th_customs")].active and not customs[net.addr("th_customs2")].active
    for k in customs:
        assert customs[k].active == fn.isCustomsKeyOf(k, b"TH").call(block_identifier=block)


def test_history_and_audit_export(corpus: Corpus, indexed) -> None:
    indexer, source = indexed
    indexer.sync()
    net = corpus.net
    store, root, doc, _ = corpus.expect["doc_then_root_revoked"]
    events = source.history(doc, root=root)
    assert [e.kind for e in events] == ["ANCHORED", "REVOKED", "REVOKED"]
    assert events[1].details["scope"] == "DOCUMENT" and events[2].details["scope"] == "ROOT"
    assert {e.store for e in events} == {store} and events[0].details["authorised"]
    w3 = net.engine.w3
    for e in events:  # every event can be re-checked against the node
        receipt = w3.eth.get_transaction_receipt(e.tx_hash)
        assert receipt["blockNumber"] == e.block_number and receipt["blockHash"].to_0x_hex() == e.block_hash
        assert w3.eth.get_block(e.block_number)["timestamp"] == e.time
        assert next(lg for lg in receipt["logs"] if lg["logIndex"] == e.log_index)["address"] == store
    _, old, s1, _ = corpus.expect["superseded"]
    new = corpus.expect["successor"][1]
    assert [e.kind for e in source.history(s1)] == ["SUPERSEDED"]
    assert [e.kind for e in source.history(new)] == ["ANCHORED", "SUPERSEDES"]
    assert [e.kind for e in source.history(old)] == ["ANCHORED", "SUPERSEDED", "SUPERSEDED"]
    assert source.history(h32()) == []
    # a hash anchored in two stores: the document's own store only, when named
    _, vroot, vdoc, _ = corpus.expect["victim_doc"]
    assert {e.store for e in source.history(vdoc, root=vroot)} == {net.stores["vn"], net.stores["th"]}
    assert [e.kind for e in source.history(vdoc, root=vroot, store=net.stores["vn"])] == ["ANCHORED"]
    # events that do not count say so
    rk, rr, k1, _ = corpus.expect["revoked_by_compromised_key"]
    revs = [e for e in source.history(k1, root=rr) if e.kind == "REVOKED"]
    assert [e.details["counts"] for e in revs] == [False]
    _, _, k3, _ = corpus.expect["revoked_again_by_admin"]
    assert [e.details["counts"] for e in source.history(k3, root=rr) if e.kind == "REVOKED"] == [False, True]

    all_vn = source.events_between("VN", 0, 2**40)
    kinds = {e.kind for e in all_vn}
    assert {
        "ANCHORED",
        "REVOKED",
        "SUPERSEDED",
        "AUTHORITY_REGISTERED",
        "KEY_ADDED",
        "KEY_STATUS_CHANGED",
        "KEY_ROTATED",
        "KEY_COMPROMISED",
        "MEMBER_ADDED",
        "ADMIN_ADDED",
        "PROPOSAL_CREATED",
        "VOTE_CAST",
    } <= kinds
    assert all(e.country in ("VN", "MY") for e in all_vn)  # MY: the removal proposed by VN
    assert all(e.store in net.stores.values() for e in all_vn if e.kind in ("ANCHORED", "REVOKED", "SUPERSEDED"))
    assert not any(e.store == net.stores["th"] for e in all_vn)  # TH's copy of a VN hash is TH's
    assert [(e.block_number, e.log_index) for e in all_vn] == sorted((e.block_number, e.log_index) for e in all_vn)
    my = source.events_between("MY", 0, 2**40)
    assert {"MEMBER_REMOVED", "PROPOSAL_CLOSED", "PROPOSAL_CREATED"} <= {e.kind for e in my}
    th = source.events_between("TH", 0, 2**40)
    assert {"CUSTOMS_KEY_ADDED", "CUSTOMS_KEY_REMOVED"} <= {e.kind for e in th}
    # the window is half-open: [from, to)
    t = next(e.time for e in all_vn if e.kind == "KEY_COMPROMISED")
    assert all(e.time < t for e in source.events_between("VN", 0, t))
    assert any(e.kind == "KEY_COMPROMISED" for e in source.events_between("VN", t, t + 1))


def test_incremental_sync_picks_up_new_events(corpus: Corpus, indexed) -> None:
    indexer, source = indexed
    net = corpus.net
    before = indexer.sync()
    events_before = indexer.stats.events
    assert indexer.sync() == before and indexer.stats.events == events_before  # nothing new
    a, b = h32(), h32()
    r, p = merkle([a, b])
    vn = net.stores["vn"]
    net.store("vn_issuer").anchor(r, "FORM_D", 2)
    assert not source.status_of([(vn, r, a, p[a])])[0].issued  # not synced yet
    net.store("vn_issuer").revoke_document(r, b, p[b], "GOODS_NOT_SHIPPED")
    got = compare(net, indexer, source, corpus.queries + [(vn, r, a, p[a]), (vn, r, b, p[b])])
    assert got[-2].issued and not got[-2].revoked and got[-1].revoked
    assert indexer.stats.events == events_before + 2
    assert indexer.lag() == 0


def test_a_store_created_inside_a_range(corpus: Corpus, chain, tmp_path: Path) -> None:
    """A store registered and used in blocks that one range of the follower reads: its events are indexed (the
    follower fetches its logs at once), whatever the address filter."""
    net = corpus.net
    start = chain.w3.eth.block_number
    store = register(net, "th_admin", f"Thai range test {start}", ["FORM_D"], f"th_range_{start}")
    key = f"th_range_{start}"
    a, b = h32(), h32()
    r, p = merkle([a, b])
    client(net, key, store).anchor(r, "FORM_D", 2)
    client(net, key, store).revoke_document(r, b, p[b], "DUPLICATE")
    queries = [(store, r, a, p[a]), (store, r, b, p[b])]
    for limit in (1000, 0):  # with the address filter, and by topic alone
        url = sqlite_url(tmp_path / f"range-{limit}.db")
        indexer = Indexer(chain.w3, net.deployment, url, address_limit=limit)
        source = IndexStatusSource(url, chain.w3.eth.chain_id)
        try:
            indexer.sync(to_block=start)
            indexer._range = 1000  # the rest in one range
            got = compare(net, indexer, source, queries)
            assert got[0].issued and got[0].issuer_authorised and got[1].revoked
            assert indexer.stats.ranges >= 1 and store.lower() in indexer.stores()
        finally:
            source.close()
            indexer.close()


def test_confirmations_leave_the_newest_blocks_unindexed(corpus: Corpus, chain, tmp_path: Path) -> None:
    net = corpus.net
    vn = net.stores["vn"]
    url = sqlite_url(tmp_path / "confirmed.db")
    indexer = Indexer(chain.w3, net.deployment, url, confirmations=3)
    source = IndexStatusSource(url, chain.w3.eth.chain_id)
    try:
        head = chain.w3.eth.block_number
        assert indexer.sync() == head - 3
        r = h32()
        receipt = net.store("vn_issuer").anchor(r, "FORM_D", 1)
        assert indexer.sync() == receipt["blockNumber"] - 3
        assert not source.status_of([(vn, r, r, [])])[0].issued
        assert indexer.lag() == 3
        for _ in range(2):
            rpc(chain, "evm_mine")
        indexer.sync()
        assert not source.status_of([(vn, r, r, [])])[0].issued
        rpc(chain, "evm_mine")
        assert indexer.sync() == receipt["blockNumber"]
        assert source.status_of([(vn, r, r, [])])[0].issued
        assert source.indexed_block().hash == chain.w3.eth.get_block(receipt["blockNumber"])["hash"].to_0x_hex()
        # to_block caps a sync too
        rpc(chain, "evm_mine")
        assert indexer.sync(to_block=receipt["blockNumber"]) == receipt["blockNumber"]
    finally:
        source.close()
        indexer.close()


def test_run_loop_follows_the_chain(corpus: Corpus, chain, tmp_path: Path) -> None:
    net = corpus.net
    vn = net.stores["vn"]
    url = sqlite_url(tmp_path / "run.db")
    indexer = Indexer(chain.w3, net.deployment, url)
    source = IndexStatusSource(url, chain.w3.eth.chain_id)
    stop = threading.Event()
    worker = threading.Thread(target=indexer.run, args=(stop, 0.05), daemon=True)
    worker.start()
    try:
        r = h32()
        net.store("vn_issuer").anchor(r, "FORM_D", 1)
        deadline = time.monotonic() + 20
        while not source.status_of([(vn, r, r, [])])[0].issued:
            assert time.monotonic() < deadline, "the follower did not pick up the anchor"
            time.sleep(0.05)
    finally:
        stop.set()
        worker.join(10)
        source.close()
        indexer.close()
    assert not worker.is_alive()


# ------------------------------------------------------------------ reorgs


def test_reorg_rolls_back_to_the_common_ancestor(tmp_path: Path) -> None:
    engine = AnvilEngine(tmp_path / "anvil", persist=False).start()  # its own chain: snapshots and reverts
    try:
        net = make_net(engine)
        vn = net.store("vn_issuer")
        VN = net.stores["vn"]
        a, b = h32(), h32()
        r, p = merkle([a, b])
        vn.anchor(r, "FORM_D", 2)
        url = sqlite_url(tmp_path / "index.db")
        indexer = Indexer(engine.w3, net.deployment, url)
        source = IndexStatusSource(url, engine.w3.eth.chain_id)
        ancestor = indexer.sync()
        snapshot = rpc(engine, "evm_snapshot")

        gone = h32()
        vn.revoke_document(r, a, p[a], "FRAUDULENT")
        rpc(engine, "evm_mine")
        vn.anchor(gone, "FORM_D", 1)
        # a store registered on the branch that will vanish: it must vanish from the index too
        lost = register(net, "vn_admin", "VCCI Lost Branch", ["FORM_D"], "vn_lost")
        pairs = [(VN, r, a, p[a]), (VN, r, b, p[b]), (VN, gone, gone, [])]
        old = indexer.sync()
        assert source.status_of(pairs)[0].revoked and source.status_of(pairs)[2].issued
        assert lost.lower() in indexer.stores()
        old_hashes = {n: engine.w3.eth.get_block(n)["hash"].to_0x_hex() for n in range(ancestor + 1, old + 1)}

        # the other branch: different blocks at the same heights, and one more
        rpc(engine, "evm_revert", [snapshot])
        assert engine.w3.eth.block_number == ancestor
        fresh = Transactor(engine.w3, net.actors["vn_issuer"].account)  # nonces re-read after the revert
        store = DocumentStoreClient(engine.w3, VN, fresh)
        other = h32()
        engine.advance_time(7)
        store.anchor(other, "ECERT", 1)
        for _ in range(6):
            rpc(engine, "evm_mine")
        assert engine.w3.eth.block_number > old
        for n, hsh in old_hashes.items():
            assert engine.w3.eth.get_block(n)["hash"].to_0x_hex() != hsh

        pairs.append((VN, other, other, []))
        got = compare(net, indexer, source, pairs)
        assert lost.lower() not in indexer.stores() and source.authority_name(lost) is None
        assert len(indexer.stats.reorgs) == 1
        reorg = indexer.stats.reorgs[0]
        assert reorg.orphaned_block == old and reorg.ancestor_block <= ancestor
        assert not got[0].revoked  # the revocation vanished with its branch
        assert not got[2].issued and got[3].issued
        assert [e.kind for e in source.history(a, root=r)] == ["ANCHORED"]
        # nothing in the index points at a block the chain no longer has
        engine_db = make_engine(url)
        with engine_db.connect() as conn:
            for model in EVENT_MODELS:
                t = model.__table__
                for number, block_hash in conn.execute(select(t.c.block_number, t.c.block_hash).distinct()):
                    assert engine.w3.eth.get_block(number)["hash"].to_0x_hex() == block_hash
        engine_db.dispose()

        # a chain that only got shorter is a reorg too
        snapshot = rpc(engine, "evm_snapshot")
        late = h32()
        store.anchor(late, "ECERT", 1)
        indexer.sync()
        assert source.status_of([(VN, late, late, [])])[0].issued
        rpc(engine, "evm_revert", [snapshot])
        fresh2 = Transactor(engine.w3, net.actors["vn_issuer"].account)
        assert indexer.sync() == engine.w3.eth.block_number
        assert not source.status_of([(VN, late, late, [])])[0].issued
        assert len(indexer.stats.reorgs) == 2
        assert [a for _, a in source.rollbacks_since(0)] == [r.ancestor_block for r in indexer.stats.reorgs]
        DocumentStoreClient(engine.w3, VN, fresh2).anchor(late, "ECERT", 1)
        compare(net, indexer, source, pairs + [(VN, late, late, [])])
        source.close()
        indexer.close()
    finally:
        engine.stop()


# ------------------------------------------------------------------ embedded engine, schema, speed


def test_embedded_engine(tmp_path: Path) -> None:
    engine = EmbeddedEngine()
    net = make_net(engine)
    vn = net.store("vn_issuer")
    a, b = h32(), h32()
    r, p = merkle([a, b])
    vn.anchor(r, "FORM_D", 2)
    vn.revoke_document(r, b, p[b], "DUPLICATE")
    url = sqlite_url(tmp_path / "embedded.db")
    indexer = Indexer(engine.w3, net.deployment, url)
    source = IndexStatusSource(url, engine.w3.eth.chain_id)
    assert indexer.start_block() <= net.deployment.block
    VN = net.stores["vn"]
    compare(net, indexer, source, [(VN, r, a, p[a]), (VN, r, b, p[b]), (VN, h32(), h32(), [])])
    source.close()
    indexer.close()


def test_migration_creates_the_schema_from_empty(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "empty.db")
    assert current_revision(url) is None
    upgrade(url)
    upgrade(url)  # idempotent
    assert current_revision(url) == "0003"
    engine = make_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) | {VERSION_TABLE} == tables
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE, "compare_type": True})
            assert compare_metadata(ctx, Base.metadata) == []  # the migrations build exactly the models
    finally:
        engine.dispose()
    from alembic import command

    from certnet.index import alembic_config

    command.downgrade(alembic_config(url), "base")
    assert current_revision(url) is None
    upgrade(url)
    assert current_revision(url) == "0003"


def test_an_index_of_the_replaced_schema_is_rebuilt(tmp_path: Path) -> None:
    """An index left at revision 0001 (one shared certificate registry) is dropped and created anew."""
    url = sqlite_url(tmp_path / "old.db")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {VERSION_TABLE} (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        conn.exec_driver_sql(f"INSERT INTO {VERSION_TABLE} VALUES ('0001')")
        conn.exec_driver_sql("CREATE TABLE idx_networks (id INTEGER PRIMARY KEY, certificate_registry VARCHAR(42))")
        conn.exec_driver_sql("CREATE TABLE idx_issuers (id INTEGER PRIMARY KEY)")
        conn.exec_driver_sql("CREATE TABLE outbox_documents (id INTEGER PRIMARY KEY)")  # not the index's
    engine.dispose()
    upgrade(url)
    assert current_revision(url) == "0003"
    engine = make_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert "idx_issuers" not in tables and "outbox_documents" in tables
        assert "certificate_registry" not in {c["name"] for c in inspect(engine).get_columns("idx_networks")}
    finally:
        engine.dispose()


def test_status_of_5000_documents_is_batched(tmp_path: Path) -> None:
    """5,000 documents with their proofs are answered with a few batched statements, never one round trip per
    document."""
    url = sqlite_url(tmp_path / "speed.db")
    upgrade(url)
    engine = make_engine(url)
    key = Web3.to_checksum_address("0x" + "ab" * 20)
    store = Web3.to_checksum_address("0x" + "cd" * 20)
    where = {"block_hash": "0x" + "00" * 32, "tx_hash": "0x" + "11" * 32, "log_index": 0}
    docs = [h32() for _ in range(5000)]
    batches = [docs[i : i + 1000] for i in range(0, 5000, 1000)]
    trees = [merkle(b) for b in batches]
    with engine.begin() as conn:
        nid = conn.execute(
            insert(Network).values(
                chain_id=1,
                issuer_registry="0x" + "01" * 20,
                start_block=0,
                block_number=100,
                block_hash="0x" + "cc" * 32,
                updated_at=0,
            )
        ).inserted_primary_key[0]
        from certnet.index.models import (
            Anchor,
            AuthorityRegistration,
            KeyAddition,
            KeyStatusChange,
            MemberChange,
            Revocation,
        )

        common = {"network_id": nid, "block_number": 1, "block_time": 1000, **where}
        conn.execute(
            insert(MemberChange.__table__),
            [{**common, "log_index": 0, "country": "VN", "added": True, "epoch": 1, "proposal_id": 0}],
        )
        conn.execute(
            insert(AuthorityRegistration.__table__),
            [
                {
                    **common,
                    "log_index": 1,
                    "store": store,
                    "country": "VN",
                    "name": "x",
                    "document_types": 2**64 - 1,
                    "valid_from": 0,
                    "valid_until": 2**40 - 1,
                    "by": key,
                }
            ],
        )
        conn.execute(
            insert(KeyAddition.__table__),
            [
                {
                    **common,
                    "log_index": 2,
                    "key": key,
                    "store": store,
                    "country": "VN",
                    "valid_from": 0,
                    "valid_until": 2**40 - 1,
                    "by": key,
                }
            ],
        )
        conn.execute(
            insert(KeyStatusChange.__table__),
            [{**common, "log_index": 3, "key": key, "store": store, "country": "VN", "status": 1, "by": key}],
        )
        conn.execute(
            insert(Anchor.__table__),
            [
                {
                    **common,
                    "block_number": 2 + i,
                    "block_time": 1001 + i,
                    "store": store,
                    "country": "VN",
                    "root": root.hex(),
                    "key": key,
                    "document_type": 1,
                    "document_count": 1000,
                }
                for i, (root, _) in enumerate(trees)
            ],
        )
        conn.execute(
            insert(Revocation.__table__),
            [
                {
                    **common,
                    "block_number": 90,
                    "block_time": 9000,
                    "store": store,
                    "country": "VN",
                    "hash": d.hex(),
                    "root": trees[0][0].hex(),
                    "by": key,
                    "reason": 1,
                }
                for d in docs[:1000:7]
            ],
        )
    engine.dispose()
    source = IndexStatusSource(url, 1)
    queries = [(store, root, d, proofs[d]) for root, proofs in trees for d in proofs]
    source.status_of(queries[:10])  # connect
    from sqlalchemy import event

    statements: list[str] = []
    event.listen(source.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    got = source.status_of(queries)
    source.close()
    assert len(got) == 5000 and all(s.issued and s.issuer_authorised and s.proof_valid for s in got)
    assert sum(s.revoked for s in got) == len(docs[:1000:7])
    assert len(statements) < 100, f"{len(statements)} SQL statements for 5,000 documents"


def test_an_index_at_0002_is_followed_again_with_customs_events(tmp_path: Path) -> None:
    """0002 followed the chain without the CustomsRecord: the upgrade empties its rows and moves the checkpoint back
    to the start, so that the follower reads every block again, customs events included."""
    from sqlalchemy import text

    url = sqlite_url(tmp_path / "at-0002.db")
    upgrade(url, "0002")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO idx_networks (id, chain_id, issuer_registry, start_block, block_number, "
                    "block_hash, updated_at) VALUES (1, 31337, '0xabc', 7, 500, '0x01', 0)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO idx_member_changes (country, added, epoch, proposal_id, network_id, "
                    "block_number, block_hash, tx_hash, log_index, block_time) "
                    "VALUES ('VN', 1, 1, 0, 1, 7, '0x01', '0x02', 0, 1)"
                )
            )
        upgrade(url)
        assert current_revision(url) == "0003"
        with engine.connect() as conn:
            assert conn.execute(text("SELECT block_number, block_hash FROM idx_networks")).one() == (6, None)
            assert conn.execute(text("SELECT count(*) FROM idx_member_changes")).scalar() == 0
            assert conn.execute(text("SELECT count(*) FROM idx_customs_events")).scalar() == 0
    finally:
        engine.dispose()
