"""Webhooks cannot be turned against the service. Targets are checked at registration and again when a delivery
connects — loopback, link-local (169.254.169.254), private, multicast, unspecified, reserved and their IPv6 forms
are refused unless the operator's allow-list names them — and the refusals happen before any connection: every
TCP connect this process makes is recorded, and none goes to a refused address (traffic goes to 127.0.0.1 only).
Redirects are not followed. Each key holds a bounded number of subscriptions. Deliveries run concurrently with a
total timeout, apart from the chain follower: a tarpit (a socket that accepts and never answers) does not delay
another subscriber's notice."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from sqlalchemy import select

from certnet.api.models import Delivery, Subscription
from certnet.api.webhooks import TargetPolicy, TargetRefused, parse_allow_list, system_resolver
from certnet.issuer import samples
from certnet.issuer.envelope import network_block
from tests.conftest import make_net
from tests.support.api_fixtures import start_api, stop_api, wait_anchored, wait_until

pytestmark = pytest.mark.integration  # real engines, databases or processes (see tests/conftest.py)

PUBLIC = "93.184.216.34"  # a public address: accepted, never connected to (no worker runs where it is registered)


class Names:
    """The tests' resolver: *.test names from a table the test may change (a name that rebinds); everything else
    (localhost) through the system's resolver. Records every lookup."""

    def __init__(self) -> None:
        self.table = {
            "evil.test": ["127.0.0.1"],
            "meta.test": ["169.254.169.254"],
            "intranet.test": ["10.0.0.1"],
            "six.test": ["::1"],
            "mixed.test": [PUBLIC, "10.1.2.3"],
            "public.test": [PUBLIC],
            "rebind.test": [PUBLIC],
        }
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        if host.endswith(".test"):
            if host not in self.table:
                raise TargetRefused(f"the name {host!r} does not resolve")
            return self.table[host]
        return system_resolver(host, port)


class Listener:
    """A TCP socket on 127.0.0.1 that records the connections it accepts; a tarpit (never answers) if asked."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted: list[float] = []
        self.closed: list[float] = []  # when the client gave up (its end closed)
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted.append(time.monotonic())
            threading.Thread(target=self._hold, args=(conn,), daemon=True).start()

    def _hold(self, conn: socket.socket) -> None:
        with conn:  # read and never answer, until the client closes its end
            conn.settimeout(0.2)
            while not self._stop:
                try:
                    if not conn.recv(65536):
                        self.closed.append(time.monotonic())
                        return
                except TimeoutError:
                    continue
                except OSError:
                    self.closed.append(time.monotonic())
                    return

    def close(self) -> None:
        self._stop = True
        self.sock.close()


class Receiver:
    """A webhook receiver on 127.0.0.1: answers 204 (or redirects to `location`) and records the calls."""

    def __init__(self, location: str | None = None) -> None:
        self.calls: list[tuple[float, bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                outer.calls.append((time.monotonic(), body))
                self.send_response(302 if location else 204)
                if location:
                    self.send_header("location", location)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def connects(monkeypatch) -> list[tuple]:
    """Every TCP connect this process attempts (the service runs in it), in order."""
    seen: list[tuple] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def connect(self, address):
        seen.append(tuple(address)[:2])
        return real_connect(self, address)

    def connect_ex(self, address):
        seen.append(tuple(address)[:2])
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    return seen


@pytest.fixture(scope="module")
def strict(anvil_engine, tmp_path_factory) -> Iterator:
    """A service with no allow-list (public targets only), at most 3 subscriptions per key, no workers (its
    deliveries are run by the tests, so nothing is ever sent to the public address registered)."""
    net = make_net(anvil_engine)
    names = Names()
    api, server, thread = start_api(
        net,
        tmp_path_factory.mktemp("strict"),
        start_workers=False,
        webhook_allow=[],
        webhook_resolver=names,
        max_subscriptions=3,
    )
    api.names = names
    yield api
    stop_api(server, thread)


def subscribe(api, url: str, who: str = "customs_th") -> httpx.Response:
    with api.client(who) as c:
        return c.post("/v1/subscriptions", json={"url": url})


def test_refused_targets_never_see_a_connection(strict, connects):
    trap = Listener()  # a real service on loopback that must never be reached
    try:
        refused = {
            f"http://127.0.0.1:{trap.port}/hook": "loopback",
            f"http://127.1:{trap.port}/hook": "loopback",
            f"http://localhost:{trap.port}/hook": "loopback",  # a name that resolves to 127.0.0.1
            f"http://evil.test:{trap.port}/hook": "loopback",
            f"http://[::1]:{trap.port}/hook": "loopback",
            f"http://six.test:{trap.port}/hook": "loopback",
            f"http://[::ffff:127.0.0.1]:{trap.port}/hook": "loopback",  # IPv4 mapped into IPv6
            f"http://0.0.0.0:{trap.port}/hook": "unspecified",
            "http://169.254.169.254/latest/meta-data/": "link-local",
            "http://meta.test/latest/meta-data/": "link-local",
            "http://[fe80::1]/hook": "link-local",
            "http://10.0.0.1/hook": "private",
            "http://intranet.test/hook": "private",
            "http://192.168.1.1/hook": "private",
            "http://172.16.0.1/hook": "private",
            "http://[fc00::1]/hook": "private",
            "http://[fd12:3456::1]/hook": "private",
            "http://[2002:a00:1::1]/hook": "private",  # 6to4 for 10.0.0.1
            "http://[64:ff9b::7f00:1]/hook": "loopback",  # NAT64 for 127.0.0.1
            "http://mixed.test/hook": "private",  # one private address among public ones refuses the name
            "http://224.0.0.1/hook": "multicast",
            "http://[ff02::1]/hook": "multicast",
            "http://240.0.0.1/hook": "reserved",
            "http://100.64.0.1/hook": "not a public address",  # carrier-grade NAT (shared) space
        }
        for url, why in refused.items():
            r = subscribe(strict, url)
            assert r.status_code == 422, (url, r.status_code, r.text)
            body = r.json()
            assert body["code"] == "WEBHOOK_TARGET_REFUSED" and why in body["detail"], (url, body)
        for url in ("ftp://public.test/x", "http://user:pw@public.test/x", "http://nowhere.test/x"):
            r = subscribe(strict, url)
            assert r.status_code == 422 and r.json()["code"] in ("WEBHOOK_TARGET_REFUSED", "INVALID_REQUEST"), url
        assert "localhost" in strict.names.asked and "evil.test" in strict.names.asked  # names were resolved
        time.sleep(0.5)  # (a connection, had one been attempted, would have been accepted by now)
        assert trap.accepted == []
        api_port = int(strict.url.rsplit(":", 1)[1])
        assert not [a for a in connects if a[1] != api_port and a[0] != "127.0.0.1"], connects
        assert not [a for a in connects if a[1] in (trap.port, 80)], connects
    finally:
        trap.close()


def test_a_target_is_checked_again_when_it_is_delivered_to(strict, connects):
    """A name that resolved to a public address at registration and to loopback at delivery (DNS rebinding), and
    subscriptions stored before targets were checked: refused at delivery, before connecting."""
    trap = Listener()
    try:
        r = subscribe(strict, f"http://rebind.test:{trap.port}/hook", "customs_vn")
        assert r.status_code == 201, r.text
        strict.names.table["rebind.test"] = ["127.0.0.1"]
        with strict.service.sessions.begin() as s:
            key_id = s.get(Subscription, r.json()["id"]).key_id
            olds = [
                Subscription(key_id=key_id, country="VN", url=u, secret="s")
                for u in (
                    f"http://127.0.0.1:{trap.port}/old",
                    "http://169.254.169.254/latest/meta-data/",
                    f"http://[::1]:{trap.port}/old",
                )
            ]
            s.add_all(olds)
            s.flush()
            ids = [r.json()["id"]] + [o.id for o in olds]
            s.add_all(
                [
                    Delivery(
                        subscription_id=i,
                        event_key=f"rebind-test:{i}",
                        state="PENDING",
                        payload={"event": "REVOKED", "targetHash": "ab" * 32},
                    )
                    for i in ids
                ]
            )
        before = len(connects)
        assert strict.service.webhooks.deliver_due(wait=True) == 0
        with strict.service.sessions() as s:
            done = {d.subscription_id: d for d in s.scalars(select(Delivery).where(Delivery.subscription_id.in_(ids)))}
        for i in ids:
            assert done[i].state == "PENDING" and done[i].attempts == 1, done[i]
            assert done[i].last_error.startswith("target refused: "), done[i].last_error
        assert "'rebind.test' resolves to 127.0.0.1 is a loopback address" in done[ids[0]].last_error
        assert "169.254.169.254 is a link-local address" in done[ids[2]].last_error
        assert connects[before:] == [] and trap.accepted == []
    finally:
        trap.close()


def test_at_most_max_subscriptions_per_key(strict):
    with strict.client("auditor_vn") as c:  # (only customs subscribe)
        assert c.post("/v1/subscriptions", json={"url": "http://public.test/x"}).status_code == 403
    made = []
    for n in range(3):
        r = subscribe(strict, f"http://public.test/hook/{n}", "customs_th")
        if r.status_code == 409:
            break  # the key may already hold some from other tests of this module
        assert r.status_code == 201, r.text
        made.append(r.json()["id"])
    r = subscribe(strict, "http://public.test/one-too-many", "customs_th")
    assert r.status_code == 409 and r.json()["code"] == "TOO_MANY_SUBSCRIPTIONS" and "3" in r.json()["detail"]
    with strict.client("customs_th") as c:
        active = c.get("/v1/subscriptions").json()
        assert len(active) >= 3
        assert c.delete(f"/v1/subscriptions/{active[0]['id']}").status_code == 204
    assert subscribe(strict, "http://public.test/after-removing-one", "customs_th").status_code == 201


def test_the_allow_list_opens_what_it_names():
    policy = TargetPolicy(parse_allow_list(["127.0.0.1", "10.20.0.0/16", "[fd00::1]"]), lambda h, p: ["10.20.3.4"])
    assert policy.check_url("http://127.0.0.1:9/x") == ("http", "127.0.0.1", 9)
    assert policy.check_url("http://[::ffff:127.0.0.1]:9/x")  # the mapped form of an allowed address
    assert policy.check_url("https://corp.example/x") == ("https", "corp.example", 443)
    assert policy.check_url("http://[fd00::1]/x")
    for url in ("http://127.0.0.2/x", "http://10.21.0.1/x", "http://[::1]/x", "http://[fd00::2]/x"):
        with pytest.raises(TargetRefused):
            policy.check_url(url)
    with pytest.raises(ValueError, match="not an IP address or network"):
        parse_allow_list(["intranet"])


# ------------------------------------------------------------------ delivering (127.0.0.1 allowed)


@pytest.fixture(scope="module")
def open_api(anvil_engine, tmp_path_factory) -> Iterator:
    """A service whose operator allows 127.0.0.1 (the tests' receivers), with a 4 s delivery timeout."""
    net = make_net(anvil_engine)
    api, server, thread = start_api(
        net, tmp_path_factory.mktemp("open"), webhook_allow=["127.0.0.1"], webhook_timeout=4.0
    )
    yield api
    stop_api(server, thread)


def issue_one(api, seed: int) -> dict:
    docs = list(samples.generate(1, seed=seed, network=network_block(api.net.deployment), issuing_country="VN"))
    for d in docs:
        d.pop("issuers")
    with api.client("issuer_vn") as c:
        r = c.post("/v1/documents", json={"documents": docs})
        assert r.status_code == 202, r.text
    (doc,) = wait_anchored(api, "issuer_vn", [r.json()["documents"][0]["id"]])
    return doc


def revoke(api, doc: dict) -> None:
    with api.client("issuer_vn") as c:
        r = c.post(f"/v1/documents/{doc['id']}/revoke", json={"reason": "FRAUDULENT"})
        assert r.status_code == 202, r.text


def test_redirects_are_not_followed(open_api, connects):
    trap = Listener()
    redirect_local = Receiver(location=f"http://127.0.0.1:{trap.port}/elsewhere")
    redirect_meta = Receiver(location="http://169.254.169.254/latest/meta-data/")
    try:
        doc = issue_one(open_api, seed=71)
        for who, rec in (("customs_th", redirect_local), ("customs_vn", redirect_meta)):
            with open_api.client(who) as c:
                assert c.post("/v1/subscriptions", json={"url": rec.url}).status_code == 201
                assert c.post("/v1/verify", json={"document": doc["wrapped"]}).json()["status"] == "VALID"  # watch
        revoke(open_api, doc)
        wait_until(lambda: redirect_local.calls and redirect_meta.calls, timeout=60)

        def failed() -> list[Delivery]:
            with open_api.service.sessions() as s:
                rows = [
                    d
                    for d in s.scalars(select(Delivery).where(Delivery.attempts >= 1))
                    if d.payload.get("targetHash") == doc["targetHash"]
                ]
            return rows if len(rows) == 2 and all(d.last_error for d in rows) else []

        for d in wait_until(failed, timeout=30):
            assert d.state == "PENDING" and d.last_error == "HTTP 302: redirects are not followed"
        time.sleep(0.5)
        assert trap.accepted == []
        assert not [a for a in connects if a[0] != "127.0.0.1" or a[1] == trap.port], connects
    finally:
        trap.close()
        redirect_local.close()
        redirect_meta.close()


def test_a_tarpit_does_not_delay_another_subscribers_notice(open_api):
    """Three webhooks of TH point at a socket that accepts and never answers; VN's receiver hears of the
    revocation while those connections are still waiting, and the tarpit's deliveries end at their timeout."""
    tarpit = Listener()
    good = Receiver()
    try:
        doc = issue_one(open_api, seed=72)
        with open_api.client("customs_th") as c:
            for n in range(3):
                assert (
                    c.post("/v1/subscriptions", json={"url": f"http://127.0.0.1:{tarpit.port}/t{n}"}).status_code == 201
                )
            c.post("/v1/verify", json={"document": doc["wrapped"]})
        with open_api.client("customs_vn") as c:
            assert c.post("/v1/subscriptions", json={"url": good.url}).status_code == 201
            c.post("/v1/verify", json={"document": doc["wrapped"]})
        revoke(open_api, doc)
        wait_until(lambda: [b for _, b in good.calls if doc["targetHash"].encode() in b], timeout=60)
        heard = next(t for t, b in good.calls if doc["targetHash"].encode() in b)
        # when VN heard, every tarpit connection opened before was still open: nothing waited for the tarpit
        assert tarpit.accepted, "the tarpit was never tried"
        assert not [t for t in tarpit.closed if t < heard], (tarpit.accepted, tarpit.closed, heard)
        # and the tarpit's deliveries were given up at their timeout (4 s), then retried later
        wait_until(lambda: len(tarpit.closed) >= 2, timeout=60)
        for opened, closed in zip(tarpit.accepted, tarpit.closed, strict=False):
            assert 3.0 < closed - opened < 15, (opened, closed)

        def timed_out() -> list[Delivery]:
            with open_api.service.sessions() as s:
                return [
                    d
                    for d in s.scalars(select(Delivery).where(Delivery.last_error.is_not(None)))
                    if d.payload.get("targetHash") == doc["targetHash"] and "timed out" in d.last_error
                ]

        assert wait_until(timed_out, timeout=60)
    finally:
        tarpit.close()
        good.close()
