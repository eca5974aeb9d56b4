"""A real service (uvicorn on 127.0.0.1) over a test network, with one API key per role and country."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from certnet.api.app import create_app
from certnet.api.auth import create_api_key
from certnet.api.service import Service, Settings
from certnet.api.serving import uvicorn_config
from certnet.issuer import samples
from certnet.issuer.envelope import network_block
from certnet.node.keys import create_keystore
from tests.conftest import TEST_SCRYPT_N

PASS = "api-test-passphrase"


@dataclass
class Api:
    url: str
    service: Service
    keys: dict[str, str]
    net: Any

    def client(self, who: str | None = None, **kw: Any) -> httpx.Client:
        headers = {"authorization": f"Bearer {self.keys[who]}"} if who else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, **kw)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_api(net, tmp: Path, **settings: Any) -> tuple[Api, uvicorn.Server, threading.Thread]:
    """`settings` override the defaults; with `signer` (a SignerConfig), the accounts it lists get no keystore
    here (their keys are in the external signer)."""
    keys_dir = tmp / "keys"
    external = {a.address for a in settings["signer"].accounts} if settings.get("signer") else set()
    issuer_ks, admin_ks = [], []
    for actor, kind in (
        ("vn_issuer", issuer_ks),
        ("th_issuer", issuer_ks),
        ("vn_admin", admin_ks),
        ("th_admin", admin_ks),
    ):
        if net.addr(actor) not in external:
            kind.append(keys_dir / f"{actor.replace('_', '-')}.json")
            create_keystore(kind[-1], PASS, net.actors[actor].account.key, scrypt_n=TEST_SCRYPT_N)
    net.deployment.save(tmp / "deployment.json")
    # webhooks: the tests' receivers listen on 127.0.0.1, which only an operator's allow-list opens; every test
    # client is 127.0.0.1, and many send invalid keys on purpose: failed authentications are limited loosely
    defaults: dict[str, Any] = dict(
        max_batch_age=0.2,
        rate_per_second=1000.0,
        rate_burst=2000,
        db_url=f"sqlite:///{tmp / 'certnet.db'}",
        webhook_allow=["127.0.0.1"],
        auth_failure_rate=1000.0,
        auth_failure_burst=10_000,
    )
    defaults.update(settings)
    rpc_url = defaults.pop("rpc_url", net.engine.rpc_url)
    s = Settings(
        data_dir=tmp,
        rpc_url=rpc_url,
        deployment_file=tmp / "deployment.json",
        issuer_keystores=issuer_ks,
        admin_keystores=admin_ks,
        passphrase=PASS,
        **defaults,
    )
    service = Service(s)
    keys = {
        "issuer_vn": create_api_key(service.sessions, "vn issuer", "issuer", "VN", net.addr("vn_issuer"))[0],
        "issuer_th": create_api_key(service.sessions, "th issuer", "issuer", "TH", net.addr("th_issuer"))[0],
        "customs_th": create_api_key(service.sessions, "th customs", "customs", "TH")[0],
        "customs_vn": create_api_key(service.sessions, "vn customs", "customs", "VN")[0],
        "auditor_vn": create_api_key(service.sessions, "vn auditor", "auditor", "VN")[0],
        "admin_vn": create_api_key(service.sessions, "vn admin", "admin", "VN")[0],
        "admin_th": create_api_key(service.sessions, "th admin", "admin", "TH")[0],
    }
    port = _free_port()
    server = uvicorn.Server(uvicorn_config(create_app(service), "127.0.0.1", port))  # as `certnet serve` runs it
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    wait_answering(url, server, thread)
    return Api(url, service, keys, net), server, thread


def wait_answering(url: str, server: uvicorn.Server, thread: threading.Thread, timeout: float = 30) -> None:
    """Until the service answers /healthz; fails (stopping it) if it never does or its server thread ends."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(timeout=15)
            why = "its server thread ended" if not thread.is_alive() else f"not within {timeout:g} s"
            raise AssertionError(f"the service on {url} never answered /healthz ({why})")
        time.sleep(0.05)


def stop_api(server: uvicorn.Server, thread: threading.Thread) -> None:
    server.should_exit = True
    thread.join(timeout=15)


def wait_anchored(api: Api, who: str, ids: list[int], timeout: float = 60) -> list[dict]:
    deadline = time.monotonic() + timeout
    with api.client(who) as c:
        while True:
            states = [c.get(f"/v1/documents/{i}").json() for i in ids]
            if all(s["state"] == "ANCHORED" for s in states):
                return states
            if time.monotonic() > deadline:
                raise AssertionError(f"not anchored in time: {[s['state'] for s in states]}")
            time.sleep(0.1)


def wait_until(predicate, timeout: float = 30, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


def form_ds(api, n: int, seed: int, country: str = "VN") -> list[dict]:
    docs = list(samples.generate(n, seed=seed, network=network_block(api.net.deployment), issuing_country=country))
    for d in docs:
        d.pop("issuers")
    return docs


def is_problem(r: httpx.Response, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers["content-type"]
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if code:
        assert body["code"] == code, body
    return body


def issue(api, who: str, docs: list[dict]) -> list[dict]:
    with api.client(who) as c:
        r = c.post("/v1/documents", json={"documents": docs})
        assert r.status_code == 202, r.text
        ids = [d["id"] for d in r.json()["documents"]]
    return wait_anchored(api, who, ids)
