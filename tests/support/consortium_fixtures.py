"""A consortium of four member countries on a real geth Clique network on 127.0.0.1.

Each member (VN, TH, MY, SG; founding members with one admin each) runs its own validator node (node i),
its own certnet service (certnet.api.service.Service + create_app on its own uvicorn port, talking only to its own
node) and its own SQLite database (outbox, API keys, index). VN also holds its issuing authority's
keystore. Every service reads the chain at the Clique confirmation depth (Settings.confirmations).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from eth_account import Account

from certnet.api.app import create_app
from certnet.api.auth import create_api_key
from certnet.api.service import Service, Settings
from certnet.api.serving import uvicorn_config
from certnet.issuer import samples
from certnet.issuer.envelope import network_block
from certnet.node.deploy import DeployConfig, Deployment
from certnet.node.deploy import Member as DeployMember
from certnet.node.keys import create_keystore
from certnet.node.network import GethNetwork, init_network
from certnet.node.network.geth import geth_binary
from certnet.node.tx import Transactor
from tests.conftest import TEST_SCRYPT_N

MEMBERS = ("VN", "TH", "MY", "SG")  # member i runs node i
VALIDATORS = len(MEMBERS)
PERIOD = 1
CONFIRMATIONS = 2
PASS = "consortium-test-passphrase"
VN_ISSUER_NAME = "Vietnam Chamber of Commerce and Industry (VCCI) HCMC"


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    """Poll until `predicate` returns a true value (returned); AssertionError naming `what` on timeout.
    Exceptions count as "not yet" (a node restarting) and the last one is reported."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:.0f}s waiting for {what}"
                + (f" (last error: {type(last).__name__}: {last})" if last else "")
            )
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def processes_using(directory: Path) -> list[int]:
    """Pids of live (non-zombie) processes whose command line mentions `directory`."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if str(directory) in cmd and state != "Z":
            out.append(int(entry.name))
    return out


# ------------------------------------------------------------------ a webhook receiver


class Receiver:
    """A real HTTP server on 127.0.0.1 recording webhook calls: (headers, body, arrival time, extra), where
    `extra` is what `on_call()` returned at arrival (e.g. the subscriber's node head)."""

    def __init__(self, on_call: Callable[[], Any] | None = None) -> None:
        self.calls: list[tuple[dict[str, str], bytes, float, Any]] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                extra = None
                if on_call is not None:
                    try:
                        extra = on_call()
                    except Exception as exc:
                        extra = exc
                with outer._lock:
                    outer.calls.append(({k.lower(): v for k, v in self.headers.items()}, body, time.monotonic(), extra))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def payloads(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(b) for _, b, _, _ in self.calls]

    def call_for(self, target_hash: str) -> tuple[dict[str, str], bytes, float, Any] | None:
        with self._lock:
            for call in self.calls:
                if json.loads(call[1]).get("targetHash") == target_hash:
                    return call
        return None

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


# ------------------------------------------------------------------ members and their services


@dataclass
class MemberService:
    """One member country: its node index, its certnet service on its own port, its API keys."""

    country: str
    node: int
    directory: Path
    service: Service
    server: uvicorn.Server
    thread: threading.Thread
    port: int
    keys: dict[str, str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, who: str | None = None, timeout: float = 60) -> httpx.Client:
        headers = {"authorization": f"Bearer {self.keys[who]}"} if who else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def readyz(self) -> httpx.Response:
        return httpx.get(self.url + "/readyz", timeout=60)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@dataclass
class Consortium:
    net: GethNetwork
    deployment: Deployment
    admins: dict[str, Transactor]
    vn_issuer: Transactor
    vn_store: str
    members: dict[str, MemberService] = field(default_factory=dict)
    customs: dict[str, Transactor] = field(default_factory=dict)  # each member's customs key
    closed: bool = False

    def __getitem__(self, country: str) -> MemberService:
        return self.members[country]

    def head(self, country: str) -> int:
        return self.net.block_number(self.members[country].node)

    def form_ds(self, n: int, seed: int) -> list[dict[str, Any]]:
        """Form D documents of the VN issuing authority, as its back office submits them (the service fills in
        the issuer block)."""
        docs = list(samples.generate(n, seed=seed, network=network_block(self.deployment), issuing_country="VN"))
        for d in docs:
            d.pop("issuers")
        return docs

    def close(self) -> None:
        """Stop every service, then every geth node (idempotent)."""
        if self.closed:
            return
        self.closed = True
        try:
            for m in self.members.values():
                m.stop()
        finally:
            self.net.down()


def _start_member(
    c: Consortium,
    country: str,
    node: int,
    root: Path,
    admin_key: Any,
    issuer_key: Any | None,
    customs_key: Any | None = None,
) -> MemberService:
    d = root / country.lower()
    keys_dir = d / "keys"
    admin_ks = [keys_dir / f"{country.lower()}-admin.json"]
    create_keystore(admin_ks[0], PASS, admin_key, scrypt_n=TEST_SCRYPT_N)
    customs_ks = []
    if customs_key is not None:  # the country's customs key (decisions and retroactive checks)
        customs_ks = [keys_dir / f"{country.lower()}-customs.json"]
        create_keystore(customs_ks[0], PASS, customs_key, scrypt_n=TEST_SCRYPT_N)
    issuer_ks = []
    if issuer_key is not None:
        issuer_ks = [keys_dir / f"{country.lower()}-issuer.json"]
        create_keystore(issuer_ks[0], PASS, issuer_key, scrypt_n=TEST_SCRYPT_N)
    c.deployment.save(d / "deployment.json")  # each member keeps its own copy
    settings = Settings(
        data_dir=d,
        rpc_url=c.net.rpc_url(node),
        deployment_file=d / "deployment.json",
        db_url=f"sqlite:///{d / 'certnet.db'}",
        issuer_keystores=issuer_ks,
        admin_keystores=admin_ks,
        customs_keystores=customs_ks,
        passphrase=PASS,
        confirmations=CONFIRMATIONS,
        max_batch_age=0.2,
        rate_per_second=1000.0,
        rate_burst=2000,
        webhook_allow=["127.0.0.1"],
    )  # the receivers are on loopback
    service = Service(settings)
    assert list(service.admins) == [country], service.admins
    lc = country.lower()
    keys = {
        f"customs_{lc}": create_api_key(service.sessions, f"{lc} customs", "customs", country)[0],
        f"auditor_{lc}": create_api_key(service.sessions, f"{lc} auditor", "auditor", country)[0],
    }
    if issuer_key is not None:
        keys[f"issuer_{lc}"] = create_api_key(
            service.sessions, f"{lc} issuer", "issuer", country, Account.from_key(issuer_key).address
        )[0]
    port = free_port()
    server = uvicorn.Server(uvicorn_config(create_app(service), "127.0.0.1", port))  # as `certnet serve` runs it
    thread = threading.Thread(target=server.run, name=f"uvicorn-{lc}", daemon=True)
    thread.start()
    m = MemberService(country, node, d, service, server, thread, port, keys)
    c.members[country] = m
    wait_for(lambda: httpx.get(m.url + "/healthz", timeout=2).status_code == 200, 30, f"{country}'s service to answer")
    return m


def start_consortium(root: Path) -> Consortium:
    """Initialise and start the 4-validator network, deploy the contracts with VN, TH, MY and SG as founding
    members (one admin each), register VN's issuing authority, and start every member's service."""
    geth_binary()  # a missing geth is an error, not a skip
    directory = root / "net"
    init_network(directory, validators=VALIDATORS, engine="geth", period=PERIOD)
    net = GethNetwork(directory)
    c: Consortium | None = None
    try:
        net.up(timeout=90)
        w3 = net.w3(0)
        deployer = Transactor(w3, net.deployer_key())
        admin_accounts = {cc: Account.create() for cc in MEMBERS}
        customs_accounts = {cc: Account.create() for cc in MEMBERS}
        issuer_account = Account.create()
        for a in [*admin_accounts.values(), *customs_accounts.values(), issuer_account]:
            deployer.transfer(a.address, 10 * 10**18, wait=False)
        config = DeployConfig(
            name="certnet ASEAN consortium test",
            members=[DeployMember(cc, [admin_accounts[cc].address]) for cc in MEMBERS],
        )
        deployment = net.deploy(config, node=0, signer=deployer)
        admins = {cc: Transactor(w3, a) for cc, a in admin_accounts.items()}
        vn_issuer = Transactor(w3, issuer_account)
        reg = deployment.issuer_registry_client(w3, admins["VN"])
        vn_store = reg.store_from(
            reg.register_authority(VN_ISSUER_NAME, ["FORM_D", "ECERT"], first_key=vn_issuer.address)
        )
        c = Consortium(net, deployment, admins, vn_issuer, vn_store)
        for cc, a in customs_accounts.items():  # every member's admin registers its customs key
            deployment.issuer_registry_client(w3, admins[cc]).add_customs_key(a.address)
            c.customs[cc] = Transactor(w3, a)
        # every node knows the registration, at the confirmation depth
        reg_block = w3.eth.block_number
        for i in range(VALIDATORS):
            wait_for(
                lambda i=i: deployment.issuer_registry_client(net.w3(i)).key_info(vn_issuer.address).store == vn_store,
                30,
                f"node {i} to see the VN issuer",
            )
            net.wait_block(i, reg_block + CONFIRMATIONS, timeout=30)
        for i, cc in enumerate(MEMBERS):
            _start_member(
                c,
                cc,
                i,
                root,
                admin_accounts[cc].key,
                issuer_account.key if cc == "VN" else None,
                customs_accounts[cc].key,
            )
        for m in c.members.values():  # each service knows the others' (customs texts travel between them)
            m.service.customs_desk.peers.update({o.country: o.url for o in c.members.values() if o is not m})
        return c
    except BaseException:
        if c is not None:
            c.close()
        else:
            net.down()
        raise
