"""Notifications read what the index follower wrote: only events of the watched document's own store, only those
that count, and a reorg rolled back by the follower is read again."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from certnet.api.auth import create_api_key
from certnet.api.models import ApiBase, Delivery, Subscription
from certnet.api.notify import Notifier
from certnet.index import sqlite_url
from certnet.index.follower import Indexer
from certnet.index.source import IndexedSource
from certnet.issuer.outbox import open_database
from certnet.node.engines import AnvilEngine
from certnet.node.tx import Transactor
from tests.conftest import make_net
from tests.support.chain import client, merkle, register, rpc

pytestmark = pytest.mark.integration  # real engines, databases or processes (see tests/conftest.py)


def test_notifications_follow_the_index(tmp_path: Path) -> None:
    engine = AnvilEngine(tmp_path / "anvil", persist=False).start()  # its own chain: a snapshot is reverted below
    try:
        net = make_net(engine)
        url = sqlite_url(tmp_path / "service.db")
        sessions = open_database(url)
        ApiBase.metadata.create_all(sessions.kw["bind"])
        indexer = Indexer(engine.w3, net.deployment, url)
        source = IndexedSource(url, net.deployment)
        service = SimpleNamespace(
            sessions=sessions, deployment=net.deployment, index_source=source, settings=SimpleNamespace(confirmations=0)
        )
        notifier = Notifier(service)  # type: ignore[arg-type]
        _, key = create_api_key(sessions, "th customs", "customs", "TH")
        with sessions.begin() as s:
            s.add(Subscription(key_id=key.id, country="TH", url="https://customs.example/hook", secret="s3cret"))

        def delivered() -> dict[str, str]:
            indexer.sync()
            notifier.poll_chain()
            with sessions() as s:
                return {d.payload["targetHash"]: d.payload["event"] for d in s.scalars(select(Delivery))}

        VN, vn = net.stores["vn"], net.store("vn_issuer")
        a, b, c = (bytes([i]) * 32 for i in (1, 2, 3))
        root, proofs = merkle([a, b, c])
        vn.anchor(root, "FORM_D", 3)
        # a VN authority whose key revokes, and is then marked compromised since before the revocation
        rogue = register(net, "vn_admin", "VCCI Rogue", ["FORM_D"], "vn_rogue")
        d, e = bytes([4]) * 32, bytes([5]) * 32
        rroot, rproofs = merkle([d, e])
        client(net, "vn_rogue", rogue).anchor(rroot, "FORM_D", 2)
        notifier.watch_many(
            "TH",
            [(h.hex(), root.hex(), f"REF-{i}", VN) for i, h in enumerate((a, b, c))]
            + [(d.hex(), rroot.hex(), "REF-D", rogue)],
        )
        assert delivered() == {}

        # another country's authority anchors and revokes a watched hash in its own store: not this document
        th = net.store("th_issuer")
        th.anchor(a, "FORM_D", 1)
        th.revoke_root(a, "FRAUDULENT")
        assert delivered() == {}

        engine.advance_time(5)
        receipt = client(net, "vn_rogue", rogue).revoke_document(rroot, d, rproofs[d], "FRAUDULENT")
        since = engine.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
        net.registry("vn_admin").mark_compromised(net.addr("vn_rogue"), since)
        vn.revoke_document(root, b, proofs[b], "DATA_CORRECTED")
        assert delivered() == {b.hex(): "REVOKED"}  # the compromised key's revocation does not count

        # a revocation on a branch that vanishes; on the branch that stays, the whole batch is revoked in a block
        # the notifier had already read past: the follower's rollback sends it back to the common ancestor
        snapshot = rpc(engine, "evm_snapshot")
        vn.revoke_document(root, c, proofs[c], "DUPLICATE")
        for _ in range(3):
            rpc(engine, "evm_mine")
        assert delivered() == {b.hex(): "REVOKED", c.hex(): "REVOKED"}
        rpc(engine, "evm_revert", [snapshot])
        fresh = net.deployment.store_client(engine.w3, VN, Transactor(engine.w3, net.actors["vn_issuer"].account))
        batch = fresh.revoke_root(root, "ISSUED_IN_ERROR")
        for _ in range(5):
            rpc(engine, "evm_mine")
        got = delivered()
        assert len(indexer.stats.reorgs) == 1
        assert got == {a.hex(): "REVOKED", b.hex(): "REVOKED", c.hex(): "REVOKED"}
        with sessions() as s:
            rows = [
                (x.payload["targetHash"], x.payload["block"], x.payload["wholeBatch"])
                for x in s.scalars(select(Delivery))
            ]
        assert sorted(h for h, blk, whole in rows if whole and blk == batch["blockNumber"]) == sorted(
            h.hex() for h in (a, b, c)
        )
        assert len(rows) == 5  # b's revocation, c's (orphaned, already recorded), the batch's for a, b and c
        source.index.close()
        indexer.close()
    finally:
        engine.stop()
