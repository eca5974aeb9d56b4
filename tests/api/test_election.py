"""More than one host per member: two `certnet serve` processes (different ports and data directories, as on two
hosts) share one PostgreSQL database and one deployment on anvil. The background workers run in exactly one of
them, elected through the database; when that leader is killed with SIGKILL while documents are being submitted
through both, the other takes over within seconds. Every acknowledged document is anchored, once (no root twice
on the chain, no document in two batches), and every webhook notice is delivered once."""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from sqlalchemy import select

from certnet.api.auth import create_api_key
from certnet.api.models import ApiBase, Delivery
from certnet.issuer import samples
from certnet.issuer.envelope import network_block
from certnet.issuer.outbox import ANCHORED, Batch, Document, open_database
from certnet.node.engines import free_port
from certnet.node.keys import create_keystore
from tests.conftest import TEST_SCRYPT_N, make_net
from tests.support.postgres import Cluster
from tests.support.processes import PASS, serve, stop, wait_ready

#: from the leader's SIGKILL to the standby running the workers (it tries the lock every second)
TAKEOVER_WITHIN = 15.0


@pytest.fixture(scope="module")
def pg():
    cluster = Cluster()
    try:
        yield cluster.start()
    finally:
        cluster.stop()


class Receiver:
    """A webhook receiver on 127.0.0.1 recording every call (delivery id header, body)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                outer.calls.append((self.headers["x-certnet-delivery"], json.loads(body)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def leads(url: str) -> bool | None:
    """Whether the service at `url` runs the background workers (its /metrics), None when it does not answer."""
    try:
        text = httpx.get(url + "/metrics", timeout=5).text
    except httpx.HTTPError:
        return None
    m = re.search(r"^certnet_workers_leader(?:\{[^}]*\})? ([0-9.e+]+)$", text, re.M)
    assert m, "certnet_workers_leader is missing from /metrics"
    return float(m.group(1)) >= 1


def wait_for(what: str, condition, timeout: float, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(interval)


class Submitter:
    """Submits Form Ds through both services in turn until stopped; keeps the ids of the acknowledged ones."""

    def __init__(self, net, urls: list[str], key: str) -> None:
        self.docs = samples.generate(100_000, seed=611, network=network_block(net.deployment), issuing_country="VN")
        self.urls, self.key = urls, key
        self.acknowledged: list[int] = []
        self.refused = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        turn = 0
        while not self._stop.is_set():
            url = self.urls[turn % len(self.urls)]
            turn += 1
            batch = []
            for _ in range(5):
                d = next(self.docs)
                d.pop("issuers")
                batch.append(d)
            try:
                r = httpx.post(
                    url + "/v1/documents",
                    json={"documents": batch},
                    timeout=30,
                    headers={"authorization": f"Bearer {self.key}"},
                )
            except httpx.HTTPError:
                self.refused += 1  # the killed service: nothing acknowledged
                continue
            if r.status_code == 202:
                self.acknowledged += [d["id"] for d in r.json()["documents"]]
            else:
                self.refused += 1
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)


def inbox_and_revoke(url: str, keys: dict[str, str], doc_id: int) -> str:
    """Customs TH receives the (anchored) document, then its issuer revokes it; returns its target hash."""
    with httpx.Client(base_url=url, timeout=60) as c:
        auth = {"authorization": f"Bearer {keys['issuer_vn']}"}
        state = wait_for(
            f"document {doc_id} anchored",
            lambda: (s := c.get(f"/v1/documents/{doc_id}", headers=auth).json())["state"] == ANCHORED and s,
            90,
        )
        r = c.post(
            "/v1/inbox", json={"document": state["wrapped"]}, headers={"authorization": f"Bearer {keys['customs_th']}"}
        )
        assert r.status_code == 201, r.text
        r = c.post(f"/v1/documents/{doc_id}/revoke", json={"reason": "FRAUDULENT"}, headers=auth)
        assert r.status_code == 202, r.text
        return state["targetHash"]


def test_a_killed_leader_is_replaced_without_double_anchoring_or_delivery(pg, anvil_engine, tmp_path):
    net = make_net(anvil_engine)
    sessions = open_database(pg)
    ApiBase.metadata.create_all(sessions.kw["bind"])
    keys = {
        "issuer_vn": create_api_key(sessions, "vn issuer", "issuer", "VN", net.addr("vn_issuer"))[0],
        "customs_th": create_api_key(sessions, "th customs", "customs", "TH")[0],
    }
    dirs = [tmp_path / "host-a", tmp_path / "host-b"]
    for d in dirs:  # two hosts of one member: each its own data directory, with the deployment and the keys
        d.mkdir()
        net.deployment.save(d / "deployment.json")
        create_keystore(
            d / "keys" / "vn-issuer.json", PASS, net.actors["vn_issuer"].account.key, scrypt_n=TEST_SCRYPT_N
        )
    ports = free_port(), free_port()
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    extra = ("--webhook-allow", "127.0.0.1", "--reconcile-interval", "2")
    receiver = Receiver()
    procs = [serve(dirs[0], net.engine.rpc_url, pg, ports[0], *extra)]
    submitter = None
    try:
        wait_ready(urls[0], procs[0], dirs[0] / "serve.log")
        wait_for("the first service elected", lambda: leads(urls[0]), 30)
        procs.append(serve(dirs[1], net.engine.rpc_url, pg, ports[1], *extra))
        wait_ready(urls[1], procs[1], dirs[1] / "serve.log")
        assert leads(urls[1]) is False and leads(urls[0]) is True  # exactly one leader

        with httpx.Client(base_url=urls[1], headers={"authorization": f"Bearer {keys['customs_th']}"}) as c:
            assert c.post("/v1/subscriptions", json={"url": receiver.url}).status_code == 201
        submitter = Submitter(net, urls, keys["issuer_vn"])
        wait_for("documents acknowledged", lambda: len(submitter.acknowledged) >= 20, 60)
        # a notice delivered by the first leader (and recorded as delivered) before it dies
        first = inbox_and_revoke(urls[1], keys, submitter.acknowledged[0])

        def delivered(target: str) -> bool:
            with sessions() as s:
                return [d.state for d in s.scalars(select(Delivery)) if d.payload["targetHash"] == target] == [
                    "DELIVERED"
                ]

        wait_for("the first notice delivered", lambda: delivered(first), 60)
        anchored_before = len(submitter.acknowledged)
        wait_for("more documents acknowledged", lambda: len(submitter.acknowledged) >= anchored_before + 20, 60)

        procs[0].kill()  # SIGKILL of the leader in the middle of the submissions
        procs[0].wait()
        killed = time.monotonic()
        wait_for("the standby taking over", lambda: leads(urls[1]), TAKEOVER_WITHIN, interval=0.1)
        took = time.monotonic() - killed
        assert took < TAKEOVER_WITHIN
        wait_for(
            "documents acknowledged by the new leader", lambda: len(submitter.acknowledged) >= anchored_before + 40, 60
        )
        submitter.stop()
        # a notice delivered by the new leader
        second = inbox_and_revoke(urls[1], keys, submitter.acknowledged[-1])

        acknowledged = set(submitter.acknowledged)
        with httpx.Client(base_url=urls[1], headers={"authorization": f"Bearer {keys['issuer_vn']}"}, timeout=60) as c:
            wait_for(
                "every acknowledged document anchored",
                lambda: all(c.get(f"/v1/documents/{i}").json()["state"] == ANCHORED for i in acknowledged),
                180,
                interval=1,
            )
        wait_for("the second notice heard", lambda: any(b["targetHash"] == second for _, b in receiver.calls), 60)

        with sessions() as s:
            docs = {d.id: d for d in s.scalars(select(Document))}
            batches = list(s.scalars(select(Batch)))
        assert acknowledged <= set(docs) and all(docs[i].state == ANCHORED for i in acknowledged)
        by_id = {b.id: b for b in batches}
        assert all(by_id[docs[i].batch_id].state == ANCHORED for i in acknowledged)
        assert sum(b.count for b in batches) == len([d for d in docs.values() if d.batch_id is not None])
        roots = [
            log["args"]["root"].hex().removeprefix("0x")
            for log in net.store().contract.events.RootAnchored().get_logs(from_block=0)
        ]
        twice = {r for r in roots if roots.count(r) > 1}
        assert not twice, f"roots anchored twice: {twice}"
        assert all(roots.count(b.merkle_root.removeprefix("0x")) == 1 for b in batches if b.state == ANCHORED)

        # every notice delivered once: one call per delivery, one delivery per revoked document
        ids = [i for i, _ in receiver.calls]
        assert len(ids) == len(set(ids)) == 2, receiver.calls
        assert sorted(b["targetHash"] for _, b in receiver.calls) == sorted([first, second])
        with sessions() as s:
            assert {d.state for d in s.scalars(select(Delivery))} == {"DELIVERED"}
        log_b = (dirs[1] / "serve.log").read_text()
        assert "now runs the background workers" in log_b, log_b[-3000:]
    finally:
        if submitter is not None:
            submitter.stop()
        for p in procs:
            stop(p)
        receiver.close()
        sessions.kw["bind"].dispose()
