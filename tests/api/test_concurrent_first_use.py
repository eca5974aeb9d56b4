"""First uses of the same documents at the same moment through several serving processes (`certnet serve
--workers 2`, one SQLite database): the first verification of a document by a customs (which watches it), its
registration in the inbox, its submission by the issuer. Each is recorded once, and no request answers 5xx."""

from __future__ import annotations

import itertools
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import func, select

from certnet.api.auth import create_api_key
from certnet.api.models import ApiBase, ReceivedDocument, Watch
from certnet.cli.service import start_service, stop_service
from certnet.issuer import samples
from certnet.issuer.envelope import network_block
from certnet.issuer.outbox import Document, open_database
from certnet.node.engines import free_port
from tests.support.api_fixtures import wait_until
from tests.support.processes import children, listening_sockets_of

DOCS = 12
COPIES = 3  # simultaneous requests per document, kind and customs


def test_concurrent_first_uses_through_two_processes(home, anvil_net):
    sessions = open_database(f"sqlite:///{home / 'certnet.db'}")
    ApiBase.metadata.create_all(sessions.kw["bind"])
    keys = {
        "issuer": create_api_key(sessions, "vn issuer", "issuer", "VN", anvil_net.addr("vn_issuer"))[0],
        "TH": create_api_key(sessions, "th customs", "customs", "TH")[0],
        "VN": create_api_key(sessions, "vn customs", "customs", "VN")[0],
    }
    port = free_port()
    url = start_service(home, port, workers=2, log=lambda *_: None)
    try:
        import json

        pid = json.loads((home / "service.json").read_text())["pid"]
        wait_until(lambda: len(children(pid)) == 2 and len(listening_sockets_of(port)) == 2, timeout=60)
        docs = list(samples.generate(DOCS, seed=71, network=network_block(anvil_net.deployment)))
        for d in docs:
            d.pop("issuers")

        def call(method: str, path: str, key: str, body: dict) -> httpx.Response:
            with httpx.Client(
                base_url=url,
                timeout=60,  # a connection of its own: spread over the processes
                headers={"authorization": f"Bearer {keys[key]}"},
            ) as c:
                return c.request(method, path, json=body)

        with ThreadPoolExecutor(16) as pool:
            # the same submission from both processes at once: one record per reference number
            submitted = list(pool.map(lambda _: call("POST", "/v1/documents", "issuer", {"documents": docs}), range(6)))
            assert [r.status_code for r in submitted] == [202] * 6, [(r.status_code, r.text[:300]) for r in submitted]
            ids = {tuple(d["id"] for d in r.json()["documents"]) for r in submitted}
            assert len(ids) == 1, ids
            ids_ = list(next(iter(ids)))

            def anchored() -> list[dict] | None:
                with httpx.Client(base_url=url, timeout=60, headers={"authorization": f"Bearer {keys['issuer']}"}) as c:
                    states = [c.get(f"/v1/documents/{i}").json() for i in ids_]
                return states if all(s["state"] == "ANCHORED" for s in states) else None

            wrapped = [s["wrapped"] for s in wait_until(anchored, timeout=90, interval=0.3)]
            jobs = [
                (path, country, w)
                for w in wrapped
                for path in ("/v1/verify", "/v1/inbox")
                for country in ("TH", "VN")
                for _ in range(COPIES)
            ]
            answers = list(pool.map(lambda j: (j[0], call("POST", j[0], j[1], {"document": j[2]})), jobs))
        failures = [(path, r.status_code, r.text[:300]) for path, r in answers if r.status_code >= 500]
        assert not failures, failures
        assert Counter(r.status_code for path, r in answers if path == "/v1/verify") == {200: len(jobs) // 2}
        assert Counter(r.status_code for path, r in answers if path == "/v1/inbox") == {201: len(jobs) // 2}
        assert all(r.json()["status" if path == "/v1/verify" else "statusOnArrival"] == "VALID" for path, r in answers)
        # one inbox entry per customs and document, the same one answered to every request
        for country, w in itertools.product(("TH", "VN"), wrapped):
            entries = {
                r.json()["id"]
                for path, r in answers
                if path == "/v1/inbox"
                and r.request.headers["authorization"] == f"Bearer {keys[country]}"
                and r.json()["targetHash"] == w["signature"]["targetHash"]
            }
            assert len(entries) == 1, (country, entries)
        with sessions() as s:
            assert s.scalar(select(func.count()).select_from(Watch)) == 2 * DOCS
            assert s.scalar(select(func.count()).select_from(ReceivedDocument)) == 2 * DOCS
            assert s.scalar(select(func.count()).select_from(Document)) == DOCS
    finally:
        stop_service(home)
