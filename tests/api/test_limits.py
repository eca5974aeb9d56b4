"""Limits that hold against abuse: a bulk request costs one token per document; failed authentications are
limited per client address; the client address comes from a trusted proxy's header only; QR links are built
from the configured public base URL, never from the request's Host header."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from certnet.api.portal.limits import IpRateLimiter
from certnet.issuer import samples
from certnet.issuer.envelope import network_block
from tests.conftest import make_net
from tests.support.api_fixtures import start_api, stop_api, wait_anchored

ROOT = Path(__file__).resolve().parents[2]
WRAPPED = json.loads((ROOT / "api" / "examples" / "form-d.json").read_text())["wrapped"]


def problem(r: httpx.Response, status: int, code: str) -> dict:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == code, body
    return body


@pytest.fixture
def service(anvil_engine, tmp_path, request):
    """A service (no background workers) with the settings given as the test's parameter:
    ``@pytest.mark.parametrize("service", [{...}], indirect=True)``."""
    net = make_net(anvil_engine)
    api, server, thread = start_api(net, tmp_path, start_workers=False, **request.param)
    yield api
    stop_api(server, thread)


@pytest.mark.parametrize("service", [dict(rate_per_second=0.001, rate_burst=10)], indirect=True)
def test_bulk_requests_cost_one_token_per_document(service):
    with service.client("customs_th") as c:
        docs = [WRAPPED[0]] * 8
        assert c.post("/v1/verify/bulk?mode=chain", json={"documents": docs}).status_code == 200  # 8 of 10 tokens
        body = problem(c.post("/v1/verify/bulk?mode=chain", json={"documents": docs[:5]}), 429, "RATE_LIMITED")
        assert "one per document" in body["detail"]
        assert c.get("/v1/members").status_code == 200  # the refused bulk took only its own authentication's token
        problem(c.get("/v1/members"), 429, "RATE_LIMITED")
    with service.client("issuer_vn") as c:  # more documents than the burst can ever hold: said so
        body = problem(c.post("/v1/documents", json={"documents": [{}] * 11}), 429, "RATE_LIMITED")
        assert "more than this key's burst of 10" in body["detail"]
    with service.client("customs_vn") as c:  # another key has its own bucket
        assert c.post("/v1/verify/bulk?mode=chain", json={"documents": docs}).status_code == 200


@pytest.mark.parametrize(
    "service",
    [
        dict(
            auth_failure_rate=0.001,
            auth_failure_burst=3,
            trusted_proxy_header="X-Forwarded-For",
            trusted_proxies=["127.0.0.1"],
        )
    ],
    indirect=True,
)
def test_failed_authentications_are_limited_per_client_address(service):
    bogus = {"authorization": "Bearer cn_not-a-key"}
    with httpx.Client(base_url=service.url, timeout=30) as c:
        for _ in range(3):
            problem(c.get("/v1/members", headers=bogus), 401, "INVALID_API_KEY")
        problem(c.get("/v1/members", headers=bogus), 429, "TOO_MANY_FAILED_AUTHENTICATIONS")
        # from that address even a valid key is refused now: a right guess cannot be told from a wrong one
        valid = {"authorization": f"Bearer {service.keys['customs_th']}"}
        r = c.get("/v1/members", headers=valid)
        assert int(problem(r, 429, "TOO_MANY_FAILED_AUTHENTICATIONS") and r.headers["retry-after"]) >= 1
        # a missing key is no guess: still told to send one
        problem(c.get("/v1/members"), 401, "MISSING_API_KEY")
        # another client behind the trusted proxy (the socket peer, 127.0.0.1, is the proxy) has its own bucket
        other = {"x-forwarded-for": "203.0.113.7"}
        assert c.get("/v1/members", headers={**valid, **other}).status_code == 200
        problem(c.get("/v1/members", headers={**bogus, **other}), 401, "INVALID_API_KEY")
        # the address that counts is the last one, the proxy's: what the client put before it changes nothing
        for spoof in ("198.51.100.1", "198.51.100.2"):
            problem(
                c.get("/v1/members", headers={**bogus, "x-forwarded-for": f"{spoof}, 203.0.113.7"}),
                401,
                "INVALID_API_KEY",
            )
        problem(c.get("/v1/members", headers={**bogus, **other}), 429, "TOO_MANY_FAILED_AUTHENTICATIONS")


@pytest.mark.parametrize(
    "service",
    [
        dict(
            auth_failure_rate=0.001,
            auth_failure_burst=2,
            trusted_proxy_header="X-Forwarded-For",
            trusted_proxies=["192.0.2.1"],
        )
    ],
    indirect=True,
)
def test_the_header_counts_only_from_the_trusted_proxy(service):
    """The peer (127.0.0.1) is not the configured proxy: its X-Forwarded-For is the client's own say, ignored."""
    bogus = {"authorization": "Bearer cn_not-a-key"}
    with httpx.Client(base_url=service.url, timeout=30) as c:
        for n in range(2):
            problem(
                c.get("/v1/members", headers={**bogus, "x-forwarded-for": f"203.0.113.{n}"}), 401, "INVALID_API_KEY"
            )
        problem(
            c.get("/v1/members", headers={**bogus, "x-forwarded-for": "203.0.113.99"}),
            429,
            "TOO_MANY_FAILED_AUTHENTICATIONS",
        )


@pytest.mark.parametrize("service", [dict(trusted_proxy_header="X-Real-IP")], indirect=True)
def test_portal_clients_behind_a_proxy_have_their_own_buckets(service):
    service.service.portal_limiter = IpRateLimiter(rate=0.001, burst=2)
    body = json.dumps({"document": WRAPPED[0]})
    with httpx.Client(base_url=service.url, timeout=60) as c:

        def verify(client: str | None) -> int:
            headers = {"content-type": "application/json", **({"x-real-ip": client} if client else {})}
            return c.post("/portal/api/verify", content=body, headers=headers).status_code

        assert [verify("198.51.100.1") for _ in range(3)] == [200, 200, 429]
        assert [verify("198.51.100.2") for _ in range(3)] == [200, 200, 429]
        assert [verify(None) for _ in range(3)] == [200, 200, 429]  # no header: the peer's own bucket
        assert verify("not an address") == 429  # a header that is no address: the peer's bucket again


def test_qr_links_use_the_public_base_url_never_the_host_header(anvil_engine, tmp_path):
    net = make_net(anvil_engine)
    api, server, thread = start_api(net, tmp_path, public_base_url="https://certnet.customs.example/")
    try:
        docs = list(samples.generate(1, seed=41, network=network_block(net.deployment), issuing_country="VN"))
        for d in docs:
            d.pop("issuers")
        with api.client("issuer_vn") as c:
            r = c.post("/v1/documents", json={"documents": docs})
            assert r.status_code == 202, r.text
            (doc,) = wait_anchored(api, "issuer_vn", [r.json()["documents"][0]["id"]])
        with api.client("issuer_vn") as c:  # the QR capability link printed on the certificate
            link = c.post(f"/v1/documents/{doc['id']}/links", headers={"host": "evil.example"})
            assert link.status_code == 201, link.text
            assert link.json()["url"].startswith("https://certnet.customs.example/portal/q/")
            # unconfigured (an in-process service; `certnet serve` always passes http://HOST:PORT): the address the
            # service listens on, still not the Host header
            api.service.settings.public_base_url = None
            link = c.post(f"/v1/documents/{doc['id']}/links", headers={"host": "evil.example"})
            assert link.status_code == 201 and link.json()["url"].startswith(f"{api.url}/portal/q/"), link.text
    finally:
        stop_api(server, thread)
