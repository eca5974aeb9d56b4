"""Two member services on one chain, each with its own database, that know each other only as peers: VN's (its
issuing authority's key, its admin) and TH's (its customs key and its admin; it also holds a MY customs key, to show
another country's customs refused)."""

from __future__ import annotations

import random
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
from certnet.issuer import samples
from certnet.issuer.envelope import network_block
from certnet.node.keys import create_keystore
from tests.conftest import TEST_SCRYPT_N
from tests.support.api_fixtures import _free_port

PASS = "customs-test-passphrase"


@dataclass
class Member:
    country: str
    url: str
    service: Service
    keys: dict[str, str]
    server: uvicorn.Server
    thread: threading.Thread

    def client(self, who: str, **kw: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"authorization": f"Bearer {self.keys[who]}"}, timeout=120, **kw)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def start_member(
    net: Any, tmp: Path, country: str, keystores: dict[str, str], api_keys: dict[str, tuple], **settings: Any
) -> Member:
    """A service of `country` in `tmp`: keystores {file stem: actor} (e.g. "vn-issuer": "vn_issuer"), API keys
    {name: (role, country, issuer actor or None)}."""
    keys_dir = tmp / "keys"
    for stem, actor in keystores.items():
        create_keystore(keys_dir / f"{stem}.json", PASS, net.actors[actor].account.key, scrypt_n=TEST_SCRYPT_N)
    net.deployment.save(tmp / "deployment.json")
    s = Settings(
        data_dir=tmp,
        rpc_url=net.engine.rpc_url,
        deployment_file=tmp / "deployment.json",
        db_url=f"sqlite:///{tmp / 'certnet.db'}",
        passphrase=PASS,
        max_batch_age=0.2,
        rate_per_second=1000.0,
        rate_burst=2000,
        webhook_allow=["127.0.0.1"],  # receivers on loopback
        issuer_keystores=sorted(keys_dir.glob("*-issuer.json")),
        admin_keystores=sorted(keys_dir.glob("*-admin.json")),
        customs_keystores=sorted(keys_dir.glob("*-customs.json")),
        **settings,
    )
    service = Service(s)
    keys = {
        name: create_api_key(service.sessions, name, role, cc, net.addr(issuer) if issuer else None)[0]
        for name, (role, cc, issuer) in api_keys.items()
    }
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(service), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{country}", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{country}'s service did not start")
        time.sleep(0.05)
    return Member(country, url, service, keys, server, thread)


def vn_and_th(net: Any, tmp: Path, **settings: Any) -> tuple[Member, Member]:
    """VN's and TH's services, each the other's peer. TH's customs key (actor th_customs) and MY's (my_customs)
    are registered by their admins first."""
    for cc in ("TH", "MY"):
        actor = f"{cc.lower()}_customs"
        if actor not in net.actors:
            net.new_actor(actor)
            net.registry(f"{cc.lower()}_admin").add_customs_key(net.addr(actor))
    vn = start_member(
        net,
        tmp / "vn",
        "VN",
        {"vn-issuer": "vn_issuer", "vn-admin": "vn_admin"},
        {
            "issuer_vn": ("issuer", "VN", "vn_issuer"),
            "admin_vn": ("admin", "VN", None),
            "auditor_vn": ("auditor", "VN", None),
            "customs_vn": ("customs", "VN", None),
        },
        **settings,
    )
    th = start_member(
        net,
        tmp / "th",
        "TH",
        {"th-customs": "th_customs", "my-customs": "my_customs", "th-admin": "th_admin"},
        {
            "customs_th": ("customs", "TH", None),
            "admin_th": ("admin", "TH", None),
            "auditor_th": ("auditor", "TH", None),
            "auditor_my": ("auditor", "MY", None),
            "customs_my": ("customs", "MY", None),
        },
        **settings,
    )
    vn.service.customs_desk.peers["TH"] = th.url
    th.service.customs_desk.peers["VN"] = vn.url
    return vn, th


def wait_for(predicate: Any, timeout: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def issue(w: dict[str, Any], n: int = 1, importing: str = "TH", seed: int | None = None) -> list[dict[str, Any]]:
    """Form Ds VN -> `importing`, issued through VN's service; their wrapped documents."""
    rng = random.Random(seed if seed is not None else time.monotonic_ns())
    docs = []
    for _ in range(n):
        d = samples.form_d(rng, issuingCountry="VN", importingCountry=importing, lines=1)
        d.pop("issuers")
        d["network"] = network_block(w["net"].deployment)
        docs.append(d)
    with w["vn"].client("issuer_vn") as c:
        r = c.post("/v1/documents", json={"documents": docs})
        assert r.status_code == 202, r.text
        ids = [d["id"] for d in r.json()["documents"]]
        states = wait_for(
            lambda: (
                [s for s in (c.get(f"/v1/documents/{i}").json() for i in ids) if s["state"] == "ANCHORED"]
                if all(c.get(f"/v1/documents/{i}").json()["state"] == "ANCHORED" for i in ids)
                else None
            ),
            60,
            "anchoring",
        )
    return [s["wrapped"] for s in states]


def receive(member: Member, who: str, wrapped: dict[str, Any]) -> int:
    with member.client(who) as c:
        r = c.post("/v1/inbox", json={"document": wrapped})
        assert r.status_code == 201, r.text
        return r.json()["id"]
