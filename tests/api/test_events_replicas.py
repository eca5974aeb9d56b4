"""Server-sent events from every replica, with real processes: `certnet serve --workers 2` (the background
workers run in one of its two processes) and a `certnet serve --no-workers` replica on the same database
(SQLite file, and PostgreSQL). Listeners on every process hear a revocation; a listener that reconnects with
Last-Event-ID gets what it missed."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from certnet.api.auth import create_api_key
from certnet.api.models import ApiBase
from certnet.issuer import samples
from certnet.issuer.envelope import network_block
from certnet.issuer.outbox import open_database
from certnet.node.engines import free_port
from certnet.node.keys import create_keystore
from tests.conftest import make_net
from tests.support.postgres import Cluster
from tests.support.processes import PASS, serve, stop, wait_ready

ROOT = Path(__file__).resolve().parents[2]
#: from the issuer's revocation request to every listener's notice
HEARD_WITHIN = 15.0


class Listener:
    """A customs SSE client in a thread: the events it heard (id, event, data) and when."""

    def __init__(self, url: str, key: str, last_event_id: str | None = None) -> None:
        self.heard: list[tuple[str | None, dict, float]] = []
        self.connected = threading.Event()
        headers = {"authorization": f"Bearer {key}"}
        if last_event_id is not None:
            headers["last-event-id"] = last_event_id
        self._client = httpx.Client(base_url=url, headers=headers, timeout=httpx.Timeout(60, read=None))
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        current_id = None
        try:
            with self._client.stream("GET", "/v1/events/stream") as r:
                for line in r.iter_lines():
                    if line.startswith(": connected"):
                        self.connected.set()
                    elif line.startswith("id: "):
                        current_id = line[4:]
                    elif line.startswith("data: "):
                        self.heard.append((current_id, json.loads(line[6:]), time.monotonic()))
        except httpx.HTTPError:
            pass  # closed by the test

    def close(self) -> None:
        self._client.close()


@contextlib.contextmanager
def two_services(net, tmp: Path, db: str) -> Iterator[tuple[str, str, dict[str, str]]]:
    main_dir, replica_dir = tmp / "main", tmp / "replica"
    for d in (main_dir, replica_dir):
        d.mkdir()
        net.deployment.save(d / "deployment.json")
    create_keystore(main_dir / "keys" / "vn-issuer.json", PASS, net.actors["vn_issuer"].account.key)
    sessions = open_database(db)
    ApiBase.metadata.create_all(sessions.kw["bind"])
    keys = {
        "issuer_vn": create_api_key(sessions, "vn issuer", "issuer", "VN", net.addr("vn_issuer"))[0],
        "customs_th": create_api_key(sessions, "th customs", "customs", "TH")[0],
    }
    sessions.kw["bind"].dispose()
    ports = free_port(), free_port()
    procs = [
        serve(main_dir, net.engine.rpc_url, db, ports[0], "--workers", "2"),
        serve(replica_dir, net.engine.rpc_url, db, ports[1], "--no-workers"),
    ]
    try:
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        for url, proc, d in zip(urls, procs, (main_dir, replica_dir), strict=True):
            wait_ready(url, proc, d / "serve.log")
        yield urls[0], urls[1], keys
    finally:
        for p in procs:
            stop(p)


def _form_d(net) -> dict:
    doc = next(samples.generate(1, seed=401, network=network_block(net.deployment), issuing_country="VN"))
    doc.pop("issuers")
    return doc


def hear_a_revocation_everywhere(net, tmp: Path, db: str) -> None:
    with two_services(net, tmp, db) as (main, replica, keys):
        # issued through the service with the workers, received by the customs of TH through the replica
        with httpx.Client(base_url=main, headers={"authorization": f"Bearer {keys['issuer_vn']}"}, timeout=60) as c:
            r = c.post("/v1/documents", json={"documents": [_form_d(net)]})
            assert r.status_code == 202, r.text
            doc_id = r.json()["documents"][0]["id"]
            deadline = time.monotonic() + 60
            while (state := c.get(f"/v1/documents/{doc_id}").json())["state"] != "ANCHORED":
                assert time.monotonic() < deadline, state
                time.sleep(0.1)
        with httpx.Client(base_url=replica, headers={"authorization": f"Bearer {keys['customs_th']}"}, timeout=60) as c:
            assert c.post("/v1/inbox", json={"document": state["wrapped"]}).status_code == 201
        # four listeners on the two processes of the main service (the kernel spreads them: all on one with
        # probability 1/8), one on the replica (a process without the background workers, always)
        listeners = [Listener(main, keys["customs_th"]) for _ in range(4)] + [Listener(replica, keys["customs_th"])]
        try:
            for lis in listeners:
                assert lis.connected.wait(30), "a listener did not connect"
            with httpx.Client(base_url=main, headers={"authorization": f"Bearer {keys['issuer_vn']}"}, timeout=60) as c:
                asked = time.monotonic()
                assert c.post(f"/v1/documents/{doc_id}/revoke", json={"reason": "FRAUDULENT"}).status_code == 202
            deadline = asked + HEARD_WITHIN
            while not all(lis.heard for lis in listeners) and time.monotonic() < deadline:
                time.sleep(0.05)
            late = [i for i, lis in enumerate(listeners) if not lis.heard]
            assert not late, f"listeners {late} heard nothing within {HEARD_WITHIN} s"
            ids = set()
            for lis in listeners:
                notice_id, payload, _ = lis.heard[0]
                assert payload["event"] == "REVOKED" and payload["targetHash"] == state["targetHash"]
                assert payload["reason"] == "FRAUDULENT"
                ids.add(notice_id)
            assert len(ids) == 1 and ids != {None}  # one notice, one id, wherever it is heard
        finally:
            for lis in listeners:
                lis.close()
        # a listener that reconnects after missing it gets it again first, from any process
        (notice_id,) = ids
        again = Listener(replica, keys["customs_th"], last_event_id=str(int(notice_id) - 1))
        try:
            deadline = time.monotonic() + 15
            while not again.heard and time.monotonic() < deadline:
                time.sleep(0.05)
            assert (
                again.heard
                and again.heard[0][0] == notice_id
                and again.heard[0][1]["targetHash"] == state["targetHash"]
            )
        finally:
            again.close()


def test_every_process_hears_every_notice_on_sqlite(anvil_engine, tmp_path):
    net = make_net(anvil_engine)
    hear_a_revocation_everywhere(net, tmp_path, f"sqlite:///{tmp_path / 'certnet.db'}")


@pytest.fixture(scope="module")
def pg():
    cluster = Cluster()
    try:
        yield cluster.start()
    finally:
        cluster.stop()


def test_every_process_hears_every_notice_on_postgres(pg, anvil_engine, tmp_path):
    net = make_net(anvil_engine)
    hear_a_revocation_everywhere(net, tmp_path, pg)
