"""The chain-event index: the index's answers equal the chain's, incremental sync, reorgs, confirmation
depth, migrations, query speed."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from eth_utils import keccak
from sqlalchemy import inspect, insert, select

from certnet.api.index import VERSION_TABLE, current_revision, make_engine, sqlite_url, upgrade
from certnet.api.index.follower import Indexer
from certnet.api.index.models import EVENT_MODELS, Base, Network
from certnet.api.index.queries import IndexStatusSource
from certnet.node.contracts import CertificateRegistryClient, IssuerStatus
from certnet.node.engines import AnvilEngine, EmbeddedEngine
from certnet.node.tx import Transactor
from tests.conftest import Net, make_net

# ------------------------------------------------------------------ helpers


def h32() -> bytes:
    return os.urandom(32)


def merkle(leaves: list[bytes]) -> tuple[bytes, dict[bytes, list[bytes]]]:
    """The batch tree of the proof format (sorted pairs, an odd last node moves up): root and proofs."""
    proofs: dict[bytes, list[bytes]] = {leaf: [] for leaf in leaves}
    level = [(leaf, [leaf]) for leaf in sorted(leaves)]
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level), 2):
            if i + 1 == len(level):
                nxt.append(level[i])
                continue
            (a, la), (b, lb) = level[i], level[i + 1]
            for leaf in la:
                proofs[leaf].append(b)
            for leaf in lb:
                proofs[leaf].append(a)
            nxt.append((keccak(min(a, b) + max(a, b)), la + lb))
        level = nxt
    return level[0][0], proofs


def rpc(engine, method: str, params: list | None = None):
    resp = engine.w3.provider.make_request(method, params or [])
    assert not resp.get("error"), resp
    return resp["result"]


def same_second(engine) -> None:
    """The next block gets the latest block's timestamp (anvil allows equal timestamps)."""
    rpc(engine, "evm_setNextBlockTimestamp", [engine.w3.eth.get_block("latest")["timestamp"]])


def anchored_at(receipt, engine) -> int:
    return engine.w3.eth.get_block(receipt["blockNumber"])["timestamp"]


def assert_same(index_statuses, chain_statuses) -> None:
    assert len(index_statuses) == len(chain_statuses)
    for got, want in zip(index_statuses, chain_statuses):
        for name in want.__dataclass_fields__:
            assert getattr(got, name) == getattr(want, name), (name, got, want)
        assert got == want


def compare(net: Net, indexer: Indexer, source: IndexStatusSource, pairs) -> list:
    block = indexer.sync()
    assert source.indexed_block().number == block
    chain = net.store().status_of(pairs, block=block)
    got = source.status_of(pairs)
    assert_same(got, chain)
    return got


# ------------------------------------------------------------------ the corpus


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory):
    """An anvil of this module's own (the tests move its clock and mine blocks with chosen timestamps)."""
    engine = AnvilEngine(tmp_path_factory.mktemp("index-anvil")).start()
    yield engine
    engine.stop()


class Corpus:
    def __init__(self, net: Net) -> None:
        self.net = net
        self.pairs: list[tuple[bytes, bytes]] = []
        self.expect: dict[str, tuple[bytes, bytes]] = {}
        self.issuers: list[str] = []

    def add(self, label: str, root: bytes, doc: bytes) -> None:
        self.pairs.append((root, doc))
        self.expect[label] = (root, doc)


@pytest.fixture(scope="module")
def corpus(chain) -> Corpus:
    """Valid, revoked (document, root, both), superseded, unauthorised (compromised after anchoring,
    suspended in the anchor's second, member removed in the anchor's second), suspended and reinstated,
    retired, rotated, validity window edge, OpenAttestation `issue`, unissued."""
    e = chain
    net = make_net(e)
    c = Corpus(net)
    vn, th = net.store("vn_issuer"), net.store("th_issuer")
    vn_admin, th_admin, my_admin = net.registry("vn_admin"), net.registry("th_admin"), net.registry("my_admin")

    docs = [h32() for _ in range(4)]
    root, proofs = merkle(docs)
    vn.anchor(root, "FORM_D", 4)
    c.add("valid", root, docs[0])
    c.add("valid2", root, docs[3])

    g = h32()
    vn.issue(g)
    c.add("oa_issue", g, g)

    a, b = h32(), h32()
    r1, p1 = merkle([a, b])
    vn.anchor(r1, "FORM_D", 2)
    vn.revoke_document(r1, a, p1[a], "ISSUED_IN_ERROR")
    c.add("revoked_doc", r1, a)
    c.add("sibling_of_revoked", r1, b)

    d3 = [h32() for _ in range(3)]
    r2, _ = merkle(d3)
    vn.anchor(r2, "FORM_D", 3)
    net.store("vn_admin").revoke_root(r2, "FRAUDULENT")  # by an admin of the issuer's country
    c.add("revoked_root", r2, d3[1])

    x, y = h32(), h32()
    r3, p3 = merkle([x, y])
    vn.anchor(r3, "ECERT", 2)
    vn.revoke_document(r3, x, p3[x], "DATA_CORRECTED")
    vn.revoke_root(r3, "DUPLICATE")
    c.add("doc_then_root_revoked", r3, x)

    s1, s2, n1 = h32(), h32(), h32()
    old, pold = merkle([s1, s2])
    vn.anchor(old, "FORM_D", 2)
    vn.anchor(n1, "FORM_D", 1)
    vn.supersede(old, s1, pold[s1], n1, n1, [])
    c.add("superseded", old, s1)
    c.add("superseded_sibling", old, s2)
    c.add("successor", n1, n1)

    # compromised after anchoring: the earlier anchor stays authorised, the later one not
    i2 = net.new_actor("vn_issuer2")
    vn_admin.register_issuer(i2.address, "VCCI Hanoi", ["FORM_D"])
    c0, c1 = h32(), h32()
    net.store("vn_issuer2").anchor(c0, "FORM_D", 1)
    e.advance_time(10)
    rc = net.store("vn_issuer2").anchor(c1, "FORM_D", 1)
    e.advance_time(10)
    vn_admin.mark_compromised(i2.address, anchored_at(rc, e))
    c.add("before_compromise", c0, c0)
    c.add("after_compromise", c1, c1)

    # suspended and reinstated; and suspended in the very second of an anchor
    t1, t2, t3 = h32(), h32(), h32()
    th.anchor(t1, "FORM_D", 1)
    e.advance_time(5)
    th_admin.suspend_issuer(net.addr("th_issuer"))
    e.advance_time(5)
    th_admin.reinstate_issuer(net.addr("th_issuer"))
    e.advance_time(5)
    th.anchor(t2, "FORM_D", 1)
    e.advance_time(5)
    th.anchor(t3, "FORM_D", 1)
    same_second(e)
    th_admin.suspend_issuer(net.addr("th_issuer"))
    e.advance_time(5)
    th_admin.reinstate_issuer(net.addr("th_issuer"))
    c.add("before_suspension", t1, t1)
    c.add("after_reinstatement", t2, t2)
    c.add("suspended_same_second", t3, t3)

    # retired after anchoring; rotated key
    i3 = net.new_actor("vn_issuer3")
    vn_admin.register_issuer(i3.address, "VCCI Da Nang", ["ECERT"])
    e3 = h32()
    net.store("vn_issuer3").anchor(e3, "ECERT", 1)
    e.advance_time(3)
    vn_admin.retire_issuer(i3.address)
    c.add("before_retirement", e3, e3)
    i4, i5 = net.new_actor("vn_issuer4"), net.new_actor("vn_issuer5")
    vn_admin.register_issuer(i4.address, "VCCI Can Tho", ["FORM_D", "EPHYTO"])
    f4, f5 = h32(), h32()
    net.store("vn_issuer4").anchor(f4, "EPHYTO", 1)
    e.advance_time(3)
    vn_admin.rotate_issuer(i4.address, i5.address)
    net.store("vn_issuer5").anchor(f5, "EPHYTO", 1)
    c.add("rotated_previous", f4, f4)
    c.add("rotated_successor", f5, f5)

    # validity window: an anchor exactly at validUntil is authorised (inclusive)
    i6 = net.new_actor("vn_issuer6")
    now = e.w3.eth.get_block("latest")["timestamp"]
    vn_admin.register_issuer(i6.address, "VCCI Hai Phong", ["FORM_D"], valid_from=now - 100, valid_until=now + 60)
    w = h32()
    rpc(e, "evm_setNextBlockTimestamp", [now + 60])
    net.store("vn_issuer6").anchor(w, "FORM_D", 1)
    c.add("at_valid_until", w, w)

    # a member removed in the very second of an anchor: that anchor is not authorised, an earlier one is
    i7 = net.new_actor("my_issuer")
    my_admin.register_issuer(i7.address, "MITI Malaysia", ["FORM_D"])
    m0, m1 = h32(), h32()
    net.store("my_issuer").anchor(m0, "FORM_D", 1)
    e.advance_time(5)
    pid = vn_admin.propose_removal("MY")
    net.store("my_issuer").anchor(m1, "FORM_D", 1)
    same_second(e)
    th_admin.vote(pid, True)  # 2 of 3: passed, MY removed
    c.add("member_before_removal", m0, m0)
    c.add("member_removed_same_second", m1, m1)

    for _ in range(3):
        u = h32()
        c.add(f"unissued_{_}", u, h32())
    c.add("unissued_doc_of_issued_root", root, h32())
    c.issuers = [net.addr(n) for n in ("vn_issuer", "th_issuer", "vn_issuer2", "vn_issuer3", "vn_issuer4",
                                       "vn_issuer5", "vn_issuer6", "my_issuer")]
    return c


@pytest.fixture(scope="module")
def indexed(corpus: Corpus, chain, tmp_path_factory: pytest.TempPathFactory):
    url = sqlite_url(tmp_path_factory.mktemp("index") / "index.db")
    indexer = Indexer(chain.w3, corpus.net.deployment, url)
    source = IndexStatusSource(url, chain.w3.eth.chain_id, corpus.net.deployment.certificate_registry)
    yield indexer, source
    source.close()
    indexer.close()


# ------------------------------------------------------------------ equality with the chain


def test_status_of_equals_chain_field_by_field(corpus: Corpus, indexed) -> None:
    indexer, source = indexed
    got = compare(corpus.net, indexer, source, corpus.pairs)
    by = {label: got[corpus.pairs.index(pair)] for label, pair in corpus.expect.items()}
    # the corpus exercises what it claims
    assert by["valid"].issued and by["valid"].issuer_authorised and not by["valid"].revoked
    assert by["oa_issue"].document_type == 0 and by["oa_issue"].document_count == 1
    assert by["revoked_doc"].revoked and not by["revoked_doc"].root_revoked and by["revoked_doc"].revocation_reason == 1
    assert not by["sibling_of_revoked"].revoked
    assert by["revoked_root"].root_revoked and by["revoked_root"].revocation_reason == 3
    assert by["doc_then_root_revoked"].root_revoked and by["doc_then_root_revoked"].revocation_reason == 6
    assert by["superseded"].superseded and by["superseded"].successor_root == corpus.expect["successor"][0].hex()
    assert not by["superseded_sibling"].superseded
    assert by["before_compromise"].issuer_authorised and not by["after_compromise"].issuer_authorised
    assert by["before_suspension"].issuer_authorised and by["after_reinstatement"].issuer_authorised
    assert not by["suspended_same_second"].issuer_authorised
    assert by["before_retirement"].issuer_authorised
    assert by["rotated_previous"].issuer_authorised and by["rotated_successor"].issuer_authorised
    assert by["at_valid_until"].issuer_authorised
    assert by["member_before_removal"].issuer_authorised and by["member_before_removal"].country == "MY"
    assert not by["member_removed_same_second"].issuer_authorised
    assert not by["unissued_0"].issued and by["unissued_0"].country is None
    # hex with 0x and bytes are the same question
    assert source.status_of([("0x" + p[0].hex(), p[1]) for p in corpus.pairs[:3]]) == got[:3]


def test_authorisation_at_any_time_equals_chain(corpus: Corpus, indexed) -> None:
    indexer, source = indexed
    block = indexer.sync()
    registry = corpus.net.registry()
    times = sorted({e.time for e in source.events_between("VN", 0, 2**40)}
                   | {e.time for e in source.events_between("TH", 0, 2**40)}
                   | {e.time for e in source.events_between("MY", 0, 2**40)})
    probes = sorted({t + d for t in times for d in (-1, 0, 1)})
    for account in corpus.issuers:
        for doc_type in (0, 1, 2, 5):
            for t in probes[:: max(1, len(probes) // 12)] + probes[-3:]:
                want = registry.contract.functions.isAuthorisedAt(account, doc_type, t).call(block_identifier=block)
                assert source.is_authorised_at(account, doc_type, t) == want, (account, doc_type, t)


def test_views_equal_chain(corpus: Corpus, indexed) -> None:
    indexer, source = indexed
    block = indexer.sync()
    registry = corpus.net.registry()
    views = {v.account: v for v in source.issuers()}
    for account in corpus.issuers:
        rec = registry.contract.functions.issuer(account).call(block_identifier=block)
        v = views[account]
        assert (v.country.encode(), int(v.status), v.valid_from, v.valid_until, v.compromised_since or 0,
                v.document_types, v.successor or "0x" + "00" * 20, v.name) == \
               (rec[0], rec[1], rec[2], rec[3], rec[4], rec[5], rec[6], rec[7])
    assert views[corpus.net.addr("vn_issuer5")].predecessor == corpus.net.addr("vn_issuer4")
    assert [s.status for s in views[corpus.net.addr("th_issuer")].status_history] == [
        IssuerStatus.ACTIVE, IssuerStatus.SUSPENDED, IssuerStatus.ACTIVE, IssuerStatus.SUSPENDED, IssuerStatus.ACTIVE]
    assert {v.country for v in source.issuers("TH")} == {"TH"}
    members = {m.country: m for m in source.members()}
    assert set(members) == set(registry.countries())
    for country, m in members.items():
        active, admin_count, joined = registry.contract.functions.member(country.encode()).call(block_identifier=block)
        assert (m.active, len(m.admins), m.joined_at) == (active, admin_count, joined)
    assert not members["MY"].active and members["MY"].removed_at is not None


def test_history_and_audit_export(corpus: Corpus, indexed) -> None:
    indexer, source = indexed
    indexer.sync()
    root, doc = corpus.expect["doc_then_root_revoked"]
    events = source.history(doc, root=root)
    assert [e.kind for e in events] == ["ANCHORED", "REVOKED", "REVOKED"]
    assert events[1].details["scope"] == "DOCUMENT" and events[2].details["scope"] == "ROOT"
    w3 = corpus.net.engine.w3
    for e in events:  # every event can be re-checked against the node
        receipt = w3.eth.get_transaction_receipt(e.tx_hash)
        assert receipt["blockNumber"] == e.block_number and receipt["blockHash"].to_0x_hex() == e.block_hash
        assert w3.eth.get_block(e.block_number)["timestamp"] == e.time
    old, s1 = corpus.expect["superseded"]
    new = corpus.expect["successor"][0]
    assert [e.kind for e in source.history(s1)] == ["SUPERSEDED"]
    assert [e.kind for e in source.history(new)] == ["ANCHORED", "SUPERSEDES"]
    assert [e.kind for e in source.history(old)] == ["ANCHORED", "SUPERSEDED"]
    assert source.history(h32()) == []

    all_vn = source.events_between("VN", 0, 2**40)
    kinds = {e.kind for e in all_vn}
    assert {"ANCHORED", "REVOKED", "SUPERSEDED", "ISSUER_REGISTERED", "ISSUER_STATUS_CHANGED", "ISSUER_ROTATED",
            "ISSUER_COMPROMISED", "MEMBER_ADDED", "ADMIN_ADDED", "PROPOSAL_CREATED", "VOTE_CAST"} <= kinds
    assert all(e.country in ("VN", "MY") for e in all_vn)  # MY: the removal proposed by VN
    assert [(e.block_number, e.log_index) for e in all_vn] == sorted((e.block_number, e.log_index) for e in all_vn)
    my = source.events_between("MY", 0, 2**40)
    assert {"MEMBER_REMOVED", "PROPOSAL_CLOSED", "PROPOSAL_CREATED"} <= {e.kind for e in my}
    # the window is half-open: [from, to)
    t = next(e.time for e in all_vn if e.kind == "ISSUER_COMPROMISED")
    assert all(e.time < t for e in source.events_between("VN", 0, t))
    assert any(e.kind == "ISSUER_COMPROMISED" for e in source.events_between("VN", t, t + 1))


def test_incremental_sync_picks_up_new_events(corpus: Corpus, indexed) -> None:
    indexer, source = indexed
    net = corpus.net
    before = indexer.sync()
    events_before = indexer.stats.events
    assert indexer.sync() == before and indexer.stats.events == events_before  # nothing new
    a, b = h32(), h32()
    r, p = merkle([a, b])
    net.store("vn_issuer").anchor(r, "FORM_D", 2)
    assert not source.status_of([(r, a)])[0].issued  # not synced yet
    net.store("vn_issuer").revoke_document(r, b, p[b], "GOODS_NOT_SHIPPED")
    got = compare(net, indexer, source, corpus.pairs + [(r, a), (r, b)])
    assert got[-2].issued and not got[-2].revoked and got[-1].revoked
    assert indexer.stats.events == events_before + 2
    assert indexer.lag() == 0


def test_confirmations_leave_the_newest_blocks_unindexed(corpus: Corpus, chain, tmp_path: Path) -> None:
    net = corpus.net
    url = sqlite_url(tmp_path / "confirmed.db")
    indexer = Indexer(chain.w3, net.deployment, url, confirmations=3)
    source = IndexStatusSource(url, chain.w3.eth.chain_id)
    try:
        head = chain.w3.eth.block_number
        assert indexer.sync() == head - 3
        r = h32()
        receipt = net.store("vn_issuer").anchor(r, "FORM_D", 1)
        assert indexer.sync() == receipt["blockNumber"] - 3
        assert not source.status_of([(r, r)])[0].issued
        assert indexer.lag() == 3
        for _ in range(2):
            rpc(chain, "evm_mine")
        indexer.sync()
        assert not source.status_of([(r, r)])[0].issued
        rpc(chain, "evm_mine")
        assert indexer.sync() == receipt["blockNumber"]
        assert source.status_of([(r, r)])[0].issued
        assert source.indexed_block().hash == chain.w3.eth.get_block(receipt["blockNumber"])["hash"].to_0x_hex()
        # to_block caps a sync too
        rpc(chain, "evm_mine")
        assert indexer.sync(to_block=receipt["blockNumber"]) == receipt["blockNumber"]
    finally:
        source.close()
        indexer.close()


def test_run_loop_follows_the_chain(corpus: Corpus, chain, tmp_path: Path) -> None:
    net = corpus.net
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
        while not source.status_of([(r, r)])[0].issued:
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
    engine = AnvilEngine(tmp_path / "anvil").start()  # its own chain: snapshots and reverts
    try:
        net = make_net(engine)
        vn = net.store("vn_issuer")
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
        pairs = [(r, a), (r, b), (gone, gone)]
        old = indexer.sync()
        assert source.status_of(pairs)[0].revoked and source.status_of(pairs)[2].issued
        old_hashes = {n: engine.w3.eth.get_block(n)["hash"].to_0x_hex() for n in range(ancestor + 1, old + 1)}

        # the other branch: different blocks at the same heights, and one more
        rpc(engine, "evm_revert", [snapshot])
        assert engine.w3.eth.block_number == ancestor
        fresh = Transactor(engine.w3, net.actors["vn_issuer"].account)  # nonces re-read after the revert
        store = CertificateRegistryClient(engine.w3, net.deployment.certificate_registry, fresh)
        other = h32()
        engine.advance_time(7)
        store.anchor(other, "ECERT", 1)
        for _ in range(3):
            rpc(engine, "evm_mine")
        assert engine.w3.eth.block_number > old
        for n, hsh in old_hashes.items():
            assert engine.w3.eth.get_block(n)["hash"].to_0x_hex() != hsh

        pairs.append((other, other))
        got = compare(net, indexer, source, pairs)
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
        assert source.status_of([(late, late)])[0].issued
        rpc(engine, "evm_revert", [snapshot])
        fresh2 = Transactor(engine.w3, net.actors["vn_issuer"].account)
        assert indexer.sync() == engine.w3.eth.block_number
        assert not source.status_of([(late, late)])[0].issued
        assert len(indexer.stats.reorgs) == 2
        CertificateRegistryClient(engine.w3, net.deployment.certificate_registry, fresh2).anchor(late, "ECERT", 1)
        compare(net, indexer, source, pairs + [(late, late)])
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
    compare(net, indexer, source, [(r, a), (r, b), (h32(), h32())])
    source.close()
    indexer.close()


def test_migration_creates_the_schema_from_empty(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "empty.db")
    assert current_revision(url) is None
    upgrade(url)
    upgrade(url)  # idempotent
    assert current_revision(url) == "0001"
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

    from certnet.api.index import alembic_config

    command.downgrade(alembic_config(url), "base")
    assert current_revision(url) is None
    upgrade(url)
    assert current_revision(url) == "0001"


def test_status_of_5000_pairs_is_batched(tmp_path: Path) -> None:
    """5,000 pairs are answered with a few batched statements, never one round trip per pair."""
    url = sqlite_url(tmp_path / "speed.db")
    upgrade(url)
    engine = make_engine(url)
    issuer = "0x" + "ab" * 20
    where = {"block_hash": "0x" + "00" * 32, "tx_hash": "0x" + "11" * 32, "log_index": 0}
    roots = [h32().hex() for _ in range(5000)]
    with engine.begin() as conn:
        nid = conn.execute(insert(Network).values(chain_id=1, issuer_registry="0x" + "01" * 20,
                                                  certificate_registry="0x" + "02" * 20, start_block=0,
                                                  block_number=100, block_hash="0x" + "cc" * 32,
                                                  updated_at=0)).inserted_primary_key[0]
        from certnet.api.index.models import Anchor, IssuerRegistration, IssuerStatusChange, MemberChange, Revocation

        common = {"network_id": nid, "block_number": 1, "block_time": 1000, **where}
        conn.execute(insert(MemberChange.__table__), [{**common, "country": "VN", "added": True, "proposal_id": 0}])
        conn.execute(insert(IssuerRegistration.__table__), [{
            **common, "account": issuer, "country": "VN", "name": "x", "document_types": 2**64 - 1,
            "valid_from": 0, "valid_until": 2**40 - 1, "by": issuer}])
        conn.execute(insert(IssuerStatusChange.__table__), [{**common, "account": issuer, "country": "VN",
                                                             "status": 1, "by": issuer}])
        conn.execute(insert(Anchor.__table__), [{**common, "block_number": 2 + i, "block_time": 1001 + i,
                                                 "root": root, "issuer": issuer, "country": "VN",
                                                 "document_type": 1, "document_count": 8} for i, root in
                                                enumerate(roots)])
        conn.execute(insert(Revocation.__table__), [{**common, "block_number": 9000, "block_time": 9000,
                                                     "hash": root, "root": root, "by": issuer, "reason": 1}
                                                    for root in roots[::7]])
    engine.dispose()
    source = IndexStatusSource(url, 1)
    pairs = [(root, h32()) for root in roots]
    source.status_of(pairs[:10])  # connect
    from sqlalchemy import event

    statements: list[str] = []
    event.listen(source.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    got = source.status_of(pairs)
    source.close()
    assert len(got) == 5000 and all(s.issued and s.issuer_authorised for s in got)
    assert sum(s.revoked for s in got) == len(roots[::7])
    assert got[0].root == roots[0]
    assert len(statements) < 100, f"{len(statements)} SQL statements for 5,000 pairs"
