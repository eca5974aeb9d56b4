"""Shared test helpers (durability): what the chain shows anchored, the check that every outbox document is
anchored exactly once, and a chain engine over a node of a geth network (so `make_net` deploys on it)."""

from __future__ import annotations

import threading
from typing import Any

import httpx
from sqlalchemy import select

from certnet.issuer.outbox import ANCHORED, Batch, Document
from certnet.node.engines import Engine
from certnet.node.network import GethNetwork
from tests.support.api_fixtures import wait_until


def rpc(engine, method: str, *params):
    answer = engine.w3.provider.make_request(method, list(params))
    assert "error" not in answer, answer
    return answer["result"]


def anchored_roots(net) -> list[str]:
    """Every root the chain shows anchored in the network's store, one entry per RootAnchored log."""
    return [e["args"]["root"].hex() for e in net.store().contract.events.RootAnchored().get_logs(from_block=0)]


def assert_each_document_anchored_once(net, sessions) -> list[Document]:
    """Every outbox document ANCHORED in exactly one batch whose root the chain anchored exactly once, by the
    document's issuer; each wrapped document carries its batch's root."""
    with sessions() as s:
        docs = list(s.scalars(select(Document).order_by(Document.id)))
        batches = {b.id: b for b in s.scalars(select(Batch))}
    roots = anchored_roots(net)
    assert len(roots) == len(set(roots)), "a root was anchored twice"
    per_batch: dict[int, int] = {}
    for d in docs:
        assert d.state == ANCHORED, (d.id, d.state)
        b = batches[d.batch_id]
        assert d.wrapped["signature"]["merkleRoot"] == b.merkle_root
        per_batch[b.id] = per_batch.get(b.id, 0) + 1
    assert per_batch == {i: b.count for i, b in batches.items()}  # no batch claims a document another holds
    for b in batches.values():
        assert b.state == ANCHORED and roots.count(b.merkle_root) == 1
        assert net.store().anchor_of(b.merkle_root).key == b.issuer
    return docs


def geth_engine(network: GethNetwork, node: int) -> Engine:
    """Node `node` of a geth network as a chain engine: its JSON-RPC and the genesis-funded deployer key."""
    return Engine(
        name="geth",
        w3=network.w3(node),
        keys=["0x" + bytes(network.deployer_key().key).hex()],
        rpc_url=network.rpc_url(node),
    )


class Submitter:
    """An issuer submitting `pool` through the API, three documents a request, on a thread of its own: what was
    acknowledged (202) and what failed are recorded; `stop` ends it."""

    def __init__(self, api: Any, pool: list[dict[str, Any]], who: str = "issuer_vn", pause: float = 0.05) -> None:
        self.api, self.pool, self.who, self.pause = api, pool, who, pause
        self.acknowledged: list[int] = []
        self.failures: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Submitter:
        self.thread.start()
        return self

    def _run(self) -> None:
        with self.api.client(self.who) as c:
            for start in range(0, len(self.pool), 3):
                if self.stop.is_set():
                    break
                try:
                    r = c.post("/v1/documents", json={"documents": self.pool[start : start + 3]})
                except httpx.HTTPError as exc:  # not acknowledged: nothing to expect
                    self.failures.append(repr(exc))
                    continue
                if r.status_code == 202:
                    self.acknowledged.extend(d["id"] for d in r.json()["documents"])
                else:
                    self.failures.append(r.text)
                self.stop.wait(self.pause)


def wait_all_anchored(
    api: Any, acknowledged: list[int], timeout: float, who: str = "issuer_vn"
) -> list[dict[str, Any]]:
    """Wait until the service says ANCHORED for every acknowledged document; their wrapped documents."""
    with api.client(who) as c:

        def all_anchored() -> bool:
            done: set[int] = set()
            while True:
                page = c.get(f"/v1/documents?state=ANCHORED&limit=500&offset={len(done)}").json()
                done |= {d["id"] for d in page}
                if len(page) < 500:
                    return done >= set(acknowledged)

        wait_until(all_anchored, timeout=timeout, interval=0.5)
        return [c.get(f"/v1/documents/{i}").json()["wrapped"] for i in acknowledged]
