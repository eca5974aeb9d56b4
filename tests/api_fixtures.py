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
from certnet.node.keys import create_keystore

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
    for actor, kind in (("vn_issuer", issuer_ks), ("th_issuer", issuer_ks), ("vn_admin", admin_ks),
                        ("th_admin", admin_ks)):
        if net.addr(actor) not in external:
            kind.append(keys_dir / f"{actor.replace('_', '-')}.json")
            create_keystore(kind[-1], PASS, net.actors[actor].account.key)
    net.deployment.save(tmp / "deployment.json")
    defaults: dict[str, Any] = dict(max_batch_age=0.2, rate_per_second=1000.0, rate_burst=2000,
                                    db_url=f"sqlite:///{tmp / 'certnet.db'}")
    defaults.update(settings)
    s = Settings(data_dir=tmp, rpc_url=net.engine.rpc_url, deployment_file=tmp / "deployment.json",
                 issuer_keystores=issuer_ks, admin_keystores=admin_ks,
                 passphrase=PASS, **defaults)
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
    server = uvicorn.Server(uvicorn.Config(create_app(service), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    return Api(url, service, keys, net), server, thread


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
