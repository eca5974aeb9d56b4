"""The API as its users call it over HTTP: issuers, customs, auditors, admins; scopes; problem documents;
limits; webhooks to a real receiver; server-sent events."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.conftest import make_net
from tests.support.api_fixtures import form_ds, is_problem, issue, start_api, stop_api, wait_until


@pytest.fixture(scope="module")
def api(anvil_engine, tmp_path_factory):
    net = make_net(anvil_engine)
    a, server, thread = start_api(net, tmp_path_factory.mktemp("api"))
    yield a
    stop_api(server, thread)


def test_issue_verify_revoke_over_http(api):
    states = issue(api, "issuer_vn", form_ds(api, 4, seed=1))
    assert all(s["wrapped"] and s["blockNumber"] and s["transactionHash"] for s in states)
    with api.client("customs_th") as c:
        r = c.post("/v1/verify", json={"document": states[0]["wrapped"]})
        assert r.status_code == 200
        v = r.json()
        assert (
            v["status"] == "VALID" and v["issuer"]["country"] == "VN" and v["blockNumber"] >= states[0]["blockNumber"]
        )
        bulk = c.post("/v1/verify/bulk?mode=chain", json={"documents": [s["wrapped"] for s in states]}).json()
        assert bulk["counts"] == {"VALID": 4}
    with api.client("issuer_vn") as c:
        r = c.post(f"/v1/documents/{states[1]['id']}/revoke", json={"reason": "FRAUDULENT"})
        assert r.status_code == 202, r.text
        action = r.json()
        wait_until(lambda: c.get(f"/v1/actions/{action['id']}").json()["state"] == "DONE")
    with api.client("customs_th") as c:
        v = c.post("/v1/verify", json={"document": states[1]["wrapped"]}).json()
        assert v["status"] == "REVOKED" and v["revocation"]["reason"] == "FRAUDULENT"
    # repeated submission returns the existing records
    with api.client("issuer_vn") as c:
        again = c.post("/v1/documents", json={"documents": [states[0]["wrapped"] and form_ds(api, 4, seed=1)[0]]})
        assert again.status_code == 202 and again.json()["documents"][0]["id"] == states[0]["id"]
        batches = c.get("/v1/batches").json()
        assert batches and batches[0]["state"] == "ANCHORED"


def test_supersede_over_http(api):
    (old,) = issue(api, "issuer_vn", form_ds(api, 1, seed=2))
    corrected = form_ds(api, 1, seed=2)[0]
    corrected["referenceNumber"] += "-R"
    (new,) = issue(api, "issuer_vn", [corrected])
    with api.client("issuer_vn") as c:
        r = c.post(f"/v1/documents/{old['id']}/supersede", json={"successorId": new["id"]})
        assert r.status_code == 202, r.text
        wait_until(lambda: c.get(f"/v1/actions/{r.json()['id']}").json()["state"] == "DONE")
        is_problem(c.post(f"/v1/documents/{old['id']}/supersede", json={"successorId": old["id"]}), 422)
    with api.client("customs_th") as c:
        v = c.post("/v1/verify", json={"document": old["wrapped"]}).json()
        assert v["status"] == "SUPERSEDED" and v["successor"]["document"] == new["targetHash"]


def test_a_failed_supersession_can_be_requested_again_over_http(api):
    """A supersession FAILED (its successor was revoked: SuccessorNotActive) is requested again naming another
    successor: the same action goes back to PENDING and is done; a request repeated while it is pending returns it."""
    docs = form_ds(api, 3, seed=3)
    for i, d in enumerate(docs[1:]):
        d["referenceNumber"] += f"-R{i}"
    old, revoked, good = issue(api, "issuer_vn", docs)
    with api.client("issuer_vn") as c:
        r = c.post(f"/v1/documents/{revoked['id']}/revoke", json={"reason": "ISSUED_IN_ERROR"})
        wait_until(lambda: c.get(f"/v1/actions/{r.json()['id']}").json()["state"] == "DONE")
        first = c.post(f"/v1/documents/{old['id']}/supersede", json={"successorId": revoked["id"]}).json()
        failed = wait_until(
            lambda: (lambda a: a if a["state"] == "FAILED" else None)(c.get(f"/v1/actions/{first['id']}").json())
        )
        assert "SuccessorNotActive" in failed["error"]
        again = c.post(f"/v1/documents/{old['id']}/supersede", json={"successorId": good["id"]})
        assert again.status_code == 202 and again.json()["id"] == first["id"]
        assert again.json()["state"] in ("PENDING", "SENT", "DONE") and again.json()["error"] is None
        repeated = c.post(f"/v1/documents/{old['id']}/supersede", json={"successorId": good["id"]}).json()
        assert repeated["id"] == first["id"] and repeated["state"] != "FAILED"
        wait_until(lambda: c.get(f"/v1/actions/{first['id']}").json()["state"] == "DONE")
    with api.client("customs_th") as c:
        v = c.post("/v1/verify", json={"document": old["wrapped"]}).json()
        assert v["status"] == "SUPERSEDED" and v["successor"]["document"] == good["targetHash"]


# ------------------------------------------------------------------ scopes

ALL = {"issuer", "customs", "auditor", "admin"}
H64 = "ab" * 32
NOT_MINE = 999_999  # an id no test creates: the answer to an allowed role does not depend on the tests before
ENDPOINTS = [  # (method, path, body, roles allowed, what an allowed role gets): every operation of the API
    ("POST", "/v1/documents", {"documents": [{}]}, {"issuer"}, (422, "SCHEMA_INVALID")),
    ("GET", "/v1/documents", None, {"issuer"}, (200, None)),
    ("GET", f"/v1/documents/{NOT_MINE}", None, {"issuer"}, (404, "DOCUMENT_NOT_FOUND")),
    ("POST", f"/v1/documents/{NOT_MINE}/revoke", {"reason": "DUPLICATE"}, {"issuer"}, (404, "DOCUMENT_NOT_FOUND")),
    ("POST", f"/v1/documents/{NOT_MINE}/supersede", {"successorId": 2}, {"issuer"}, (404, "DOCUMENT_NOT_FOUND")),
    ("GET", f"/v1/actions/{NOT_MINE}", None, {"issuer"}, (404, "ACTION_NOT_FOUND")),
    ("GET", "/v1/batches", None, {"issuer"}, (200, None)),
    ("POST", f"/v1/documents/{NOT_MINE}/links", None, {"issuer"}, (404, "DOCUMENT_NOT_FOUND")),
    ("GET", f"/v1/documents/{NOT_MINE}/links", None, {"issuer"}, (404, "DOCUMENT_NOT_FOUND")),
    ("DELETE", f"/v1/documents/{NOT_MINE}/links/1", None, {"issuer"}, (404, "DOCUMENT_NOT_FOUND")),
    ("POST", "/v1/verify", {"document": {}}, ALL, (200, None)),
    ("POST", "/v1/verify/bulk", {"documents": [{}]}, ALL, (200, None)),
    ("POST", "/v1/inbox", {"document": {}}, {"customs"}, (422, "DOCUMENT_MALFORMED")),
    ("GET", "/v1/inbox", None, {"customs"}, (200, None)),
    ("GET", "/v1/certificates/VN/X-1", None, {"customs"}, (404, "CERTIFICATE_NOT_RECEIVED")),
    ("POST", "/v1/subscriptions", {"url": "http://127.0.0.1:9/hook"}, {"customs", "issuer", "admin"}, (201, None)),
    ("GET", "/v1/subscriptions", None, {"customs", "issuer", "admin"}, (200, None)),
    ("DELETE", f"/v1/subscriptions/{NOT_MINE}", None, {"customs", "issuer", "admin"}, (404, "SUBSCRIPTION_NOT_FOUND")),
    ("GET", "/v1/events/stream", None, {"customs", "issuer", "admin"}, (200, None)),
    (
        "POST",
        "/v1/decisions",
        {"certificate": {"inboxId": NOT_MINE}, "preference": "GIVEN"},
        {"customs"},
        (404, "CERTIFICATE_NOT_RECEIVED"),
    ),
    ("GET", f"/v1/certificates/{H64}/decisions", None, ALL, (404, "NO_DECISIONS")),
    (
        "POST",
        "/v1/checks",
        {"certificate": {"inboxId": NOT_MINE}, "reason": "RANDOM", "questions": ["?"]},
        {"customs"},
        (404, "CERTIFICATE_NOT_RECEIVED"),
    ),
    ("GET", "/v1/checks?state=open", None, ALL, (200, None)),
    ("GET", f"/v1/checks/{NOT_MINE}", None, ALL, (404, "CHECK_NOT_FOUND")),
    (
        "POST",
        f"/v1/checks/{NOT_MINE}/answer",
        {"result": "CONFIRMED", "findings": "x"},
        {"issuer", "admin"},
        (404, "CHECK_NOT_FOUND"),
    ),
    ("POST", f"/v1/checks/{NOT_MINE}/close", None, {"customs"}, (404, "CHECK_NOT_FOUND")),
    ("GET", "/v1/members", None, ALL, (200, None)),
    ("GET", "/v1/authorities", None, ALL, (200, None)),
    ("GET", "/v1/authorities/0x" + "34" * 20, None, ALL, (404, "AUTHORITY_NOT_FOUND")),
    ("GET", "/v1/issuers/0x" + "34" * 20, None, ALL, (404, "ISSUER_NOT_FOUND")),
    ("POST", "/v1/admin/authorities", {"name": "VCCI Hai Phong", "documentTypes": ["FORM_D"]}, {"admin"}, (201, None)),
    (
        "POST",
        "/v1/admin/authorities/0x" + "56" * 20 + "/keys",
        {"key": "0x" + "57" * 20},
        {"admin"},
        (409, "CHAIN_UNKNOWNSTORE"),
    ),
    ("POST", "/v1/admin/issuers/0x" + "ef" * 20, {"action": "suspend"}, {"admin"}, (409, "CHAIN_UNKNOWNKEY")),
    ("POST", "/v1/admin/customs-keys", {"key": "0x" + "ab" * 20}, {"admin"}, (201, None)),
    ("DELETE", "/v1/admin/customs-keys/0x" + "58" * 20, None, {"admin"}, (409, "CHAIN_NOTCUSTOMSKEY")),
    (
        "POST",
        "/v1/admin/proposals",
        {"kind": "add", "country": "SG", "admin": "0x" + "cd" * 20},
        {"admin"},
        (201, None),
    ),
    ("POST", "/v1/admin/proposals/999/vote", {"support": True}, {"admin"}, (409, "CHAIN_UNKNOWNPROPOSAL")),
    ("POST", "/v1/admin/proposals/999/decide", None, {"admin"}, (409, "CHAIN_UNKNOWNPROPOSAL")),
    ("GET", f"/v1/history/{H64}", None, {"auditor", "customs"}, (200, None)),
    ("GET", f"/v1/bundles/documents/{H64}", None, ALL, (404, "DOCUMENT_NOT_FOUND")),
    ("GET", f"/v1/bundles/batches/0x{'56' * 20}/{H64}", None, ALL, (404, "BATCH_NOT_FOUND")),
    ("POST", "/v1/bundles", {"documents": [{}]}, ALL, (422, "NO_DOCUMENT_TO_PROVE")),
    ("GET", "/v1/audit/export?country=VN&from=2026-01-01&to=2026-01-31", None, {"auditor"}, (200, None)),
]
PUBLIC = [
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/v1/openapi.json"),
    ("GET", "/v1/docs"),
    ("GET", "/portal"),
]
SIGNED = [("GET", f"/v1/customs-texts/{H64}")]  # no API key: a chain key's signature (tests/api/test_customs_api.py)
ROLE_KEYS = {"issuer": "issuer_vn", "customs": "customs_th", "auditor": "auditor_vn", "admin": "admin_vn"}


def _status(c: httpx.Client, method: str, path: str, body: dict | None) -> httpx.Response:
    """The response's head only (the event stream never ends by itself)."""
    with c.stream(method, path, json=body) as r:
        if r.headers.get("content-type", "").startswith("application/problem+json"):
            r.read()
        return r


def test_the_scope_table_covers_every_operation(api):
    spec = httpx.get(api.url + "/v1/openapi.json").json()
    templates = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    covered = set()
    for method, path, _, _, _ in ENDPOINTS:
        concrete = path.split("?")[0]
        for m, template in templates:
            pattern = (
                "^"
                + "/".join("[^/]+" if part.startswith("{") else re.escape(part) for part in template.split("/"))
                + "$"
            )
            if m == method and re.match(pattern, concrete):
                covered.add((m, template))
    covered |= {(m, p) for m, p in PUBLIC}
    covered |= {(m, "/v1/customs-texts/{text_hash}") for m, _ in SIGNED}
    assert templates - covered == set(), "operations without a scope test"


@pytest.mark.parametrize(
    "method, path, body, allowed, expected", ENDPOINTS, ids=[f"{m} {p}" for m, p, _, _, _ in ENDPOINTS]
)
def test_every_role_against_every_endpoint(api, method, path, body, allowed, expected):
    with api.client() as anon:
        is_problem(_status(anon, method, path, body), 401, "MISSING_API_KEY")
        r = anon.request(method, path, json=body, headers={"authorization": "Bearer cn_not-a-key"})
        is_problem(r, 401, "INVALID_API_KEY")
    status, code = expected
    answered = []
    for role, key in ROLE_KEYS.items():
        with api.client(key) as c:
            r = _status(c, method, path, body)
            if role not in allowed:
                is_problem(r, 403, "FORBIDDEN_ROLE")
            elif status >= 400:  # the operation ran and refused the request on its merits, not the role's
                is_problem(r, status, code)
            else:
                assert r.status_code == status, (role, r.status_code)
            answered.append(role)
    assert set(answered) >= allowed


@pytest.mark.parametrize("method, path", SIGNED, ids=[f"{m} {p}" for m, p in SIGNED])
def test_signed_endpoints_refuse_requests_without_a_signature(api, method, path):
    with api.client("admin_vn") as c:  # an API key is not what they take
        is_problem(c.request(method, path), 401, "TEXT_SIGNATURE_INVALID")


@pytest.mark.parametrize("method, path", PUBLIC, ids=[f"{m} {p}" for m, p in PUBLIC])
def test_public_endpoints_answer_without_a_key(api, method, path):
    with api.client() as anon:
        assert anon.request(method, path).status_code == 200


def test_keys_are_scoped_to_their_issuer_and_country(api):
    (vn,) = issue(api, "issuer_vn", form_ds(api, 1, seed=3))
    with api.client("issuer_th") as c:
        is_problem(c.get(f"/v1/documents/{vn['id']}"), 404, "DOCUMENT_NOT_FOUND")
        is_problem(c.post(f"/v1/documents/{vn['id']}/revoke", json={"reason": "FRAUDULENT"}), 404)
        # a TH issuer key cannot issue VN documents
        is_problem(c.post("/v1/documents", json={"documents": form_ds(api, 1, seed=4)}), 422, "WRONG_COUNTRY")
    # each issuer lists its own documents and batches, never the other's (both lists hold something)
    (th,) = issue(api, "issuer_th", form_ds(api, 1, seed=30, country="TH"))
    for who, mine, other in (("issuer_th", th, vn), ("issuer_vn", vn, th)):
        with api.client(who) as c:
            listed = {d["id"] for d in c.get("/v1/documents", params={"limit": 500}).json()}
            assert mine["id"] in listed and other["id"] not in listed, who
            roots = {b["merkleRoot"] for b in c.get("/v1/batches", params={"limit": 500}).json()}
            assert mine["merkleRoot"] in roots and other["merkleRoot"] not in roots, who
    with api.client("customs_vn") as c:
        assert c.post("/v1/inbox", json={"document": vn["wrapped"]}).status_code == 201
    with api.client("customs_th") as c:
        assert c.post("/v1/inbox", json={"document": th["wrapped"]}).status_code == 201
        inbox = {e["targetHash"] for e in c.get("/v1/inbox").json()}
        assert th["targetHash"] in inbox and vn["targetHash"] not in inbox
    # a customs removes its own country's webhooks only
    with api.client("customs_vn") as c:
        sub = c.post("/v1/subscriptions", json={"url": "http://127.0.0.1:9/vn-hook"}).json()
    with api.client("customs_th") as c:
        is_problem(c.delete(f"/v1/subscriptions/{sub['id']}"), 404, "SUBSCRIPTION_NOT_FOUND")
    with api.client("customs_vn") as c:
        assert sub["id"] in {x["id"] for x in c.get("/v1/subscriptions").json()}  # still there
        assert c.delete(f"/v1/subscriptions/{sub['id']}").status_code == 204
        assert sub["id"] not in {x["id"] for x in c.get("/v1/subscriptions").json()}
    th_issuer = api.net.addr("th_issuer")
    with api.client("admin_vn") as c:  # the VN admin cannot touch a TH issuer
        is_problem(c.post(f"/v1/admin/issuers/{th_issuer}", json={"action": "suspend"}), 409, "CHAIN_NOTADMINOF")


def test_admin_manages_own_authorities_and_keys(api):
    from eth_account import Account

    new, second = Account.create().address, Account.create().address
    with api.client("admin_vn") as c:
        r = c.post(
            "/v1/admin/authorities", json={"name": "VCCI Hai Phong", "documentTypes": ["FORM_D"], "firstKey": new}
        )
        assert r.status_code == 201, r.text
        registered = r.json()
        store = registered["result"]["store"]
        assert c.post(f"/v1/admin/authorities/{store}/keys", json={"key": second}).status_code == 201
        suspended = c.post(f"/v1/admin/issuers/{new.lower()}", json={"action": "suspend"})  # lower case: no checksum
        assert suspended.status_code == 200, suspended.text
        info = c.get(f"/v1/issuers/{new}").json()
        assert info["status"] == "SUSPENDED" and info["store"] == store
        is_problem(c.post(f"/v1/admin/issuers/{new}", json={"action": "suspend"}), 409, "CHAIN_INVALIDKEYSTATUS")
        assert c.post(f"/v1/admin/issuers/{new}", json={"action": "reinstate"}).status_code == 200
        # validity over time, from the index: every status with the transaction that set it
        wait_until(lambda: len(c.get(f"/v1/issuers/{new}").json()["statusHistory"] or []) == 3, timeout=30)
        info = c.get(f"/v1/issuers/{new}").json()
        assert [(h["status"], h["transactionHash"]) for h in info["statusHistory"][:2]] == [
            ("ACTIVE", registered["transactionHash"]),
            ("SUSPENDED", suspended.json()["transactionHash"]),
        ]
        assert info["statusHistory"][2]["status"] == info["status"] == "ACTIVE"
        assert (
            info["registeredAt"] == info["statusHistory"][0]["time"]
            and info["historyBlock"] >= info["statusHistory"][2]["blockNumber"]
        )
        # another country's authority is not this admin's to manage
        th_key = api.net.addr("th_issuer")
        is_problem(c.post(f"/v1/admin/issuers/{th_key}", json={"action": "suspend"}), 409, "CHAIN_NOTADMINOF")
    with api.client("customs_th") as c:
        authorities = {a["store"]: a for a in c.get("/v1/authorities?country=VN").json()}
        assert authorities[store]["name"] == "VCCI Hai Phong" and authorities[store]["country"] == "VN"
        wait_until(
            lambda: {k["account"] for k in c.get(f"/v1/authorities/{store}").json()["keys"] or []} == {new, second},
            timeout=30,
        )
        members = {m["country"]: m for m in c.get("/v1/members").json()}
        assert set(members) >= {"VN", "TH", "MY"}
        vn = members["VN"]
        assert set(vn["admins"]) == {api.net.addr("vn_admin"), api.net.addr("vn_admin2")} == set(vn["admins"])
        assert vn["adminCount"] == 2 and vn["changes"][0]["added"] and vn["removedAt"] is None


def test_addresses_with_a_broken_checksum_are_refused(api):
    from eth_account import Account

    good = Account.create().address
    broken = good[:2] + good[2:].swapcase()  # same letters, every checksum case flipped
    if broken.lower() == broken or broken.upper()[2:] == broken[2:]:
        broken = good[:-1] + ("A" if good[-1] != "A" else "B")  # no letters to flip: change the address itself
    with api.client("admin_vn") as c:
        body = is_problem(
            c.post("/v1/admin/authorities", json={"firstKey": broken, "name": "x", "documentTypes": ["FORM_D"]}),
            422,
            "INVALID_REQUEST",
        )
        assert body["errors"][0]["field"] == "firstKey" and "checksum" in body["errors"][0]["message"]
        is_problem(c.post(f"/v1/admin/issuers/{broken}", json={"action": "suspend"}), 422, "MALFORMED_ADDRESS")


def test_membership_proposals_and_votes(api):
    with api.client("admin_vn") as c:
        r = c.post("/v1/admin/proposals", json={"kind": "add", "country": "LA", "admin": "0x" + "12" * 20})
        assert r.status_code == 201, r.text
        proposal = r.json()
        assert proposal["transactionHash"].startswith("0x") and proposal["blockNumber"] > 0
        pid = proposal["result"]["proposalId"]
    with api.client("admin_th") as c:
        vote = c.post(f"/v1/admin/proposals/{pid}/vote", json={"support": True})
        assert vote.status_code == 200, vote.text
        assert "LA" in {m["country"] for m in c.get("/v1/members").json()}


# ------------------------------------------------------------------ bad input and limits


def test_bad_requests_get_problem_documents(api):
    with api.client("issuer_vn") as c:
        is_problem(
            c.post("/v1/documents", content=b"{not json", headers={"content-type": "application/json"}),
            400,
            "MALFORMED_JSON",
        )
        body = is_problem(c.post("/v1/documents", json={"documents": [], "extra": 1}), 422, "INVALID_REQUEST")
        assert {e["field"] for e in body["errors"]} >= {"documents", "extra"}
        is_problem(c.post("/v1/documents", json={"documents": [{"documentType": "FORM_D"}]}), 422, "SCHEMA_INVALID")
        is_problem(
            c.post(
                "/v1/documents", content=b"documents=1", headers={"content-type": "application/x-www-form-urlencoded"}
            ),
            422,
        )
        is_problem(c.get("/v1/documents/999999"), 404, "DOCUMENT_NOT_FOUND")
        is_problem(c.get("/v1/nowhere"), 404, "NOT_FOUND")
        big = {"documents": [{"pad": "x" * (17 * 1024 * 1024)}]}
        is_problem(c.post("/v1/documents", json=big), 413, "BODY_TOO_LARGE")
        many = {"documents": [{}] * 1001}
        is_problem(c.post("/v1/documents", json=many), 413, "TOO_MANY_DOCUMENTS")
    with api.client("customs_th") as c:
        v = c.post("/v1/verify", json={"document": {"version": "nope"}}).json()
        assert v["status"] == "MALFORMED"
        is_problem(c.post("/v1/inbox", json={"document": {"version": "nope"}}), 422, "DOCUMENT_MALFORMED")
        is_problem(c.get("/v1/certificates/VN/UNKNOWN-1"), 404, "CERTIFICATE_NOT_RECEIVED")


def test_rate_limit_per_key(anvil_engine, tmp_path):
    net = make_net(anvil_engine)
    api, server, thread = start_api(net, tmp_path, rate_per_second=2.0, rate_burst=3, start_workers=False)
    try:
        with api.client("customs_th") as c:
            codes = [c.get("/v1/members").status_code for _ in range(6)]
            assert codes[:3] == [200, 200, 200] and 429 in codes[3:]
            r = c.get("/v1/members")
            body = is_problem(r, 429, "RATE_LIMITED")
            assert int(r.headers["retry-after"]) >= 1 and "retry" in body["detail"]
        with api.client("customs_vn") as c:  # another key is not affected
            assert c.get("/v1/members").status_code == 200
    finally:
        stop_api(server, thread)


def test_health_readiness_metrics(api):
    with api.client() as c:
        assert c.get("/healthz").json() == {"status": "ok"}
        ready = c.get("/readyz")
        assert ready.status_code == 200 and ready.json()["checks"]["chain"]["ok"]
        metrics = c.get("/metrics").text
        assert "certnet_http_requests_total" in metrics and "certnet_outbox_pending_documents" in metrics
        spec = c.get("/v1/openapi.json").json()
        assert "/v1/verify" in spec["paths"] and "/v1/documents" in spec["paths"]


def test_readiness_fails_when_the_node_is_gone(anvil_engine, tmp_path):
    from certnet.node.engines import AnvilEngine

    own = AnvilEngine(tmp_path / "node").start()
    net = make_net(own)
    api, server, thread = start_api(net, tmp_path / "svc", start_workers=False)
    try:
        own.stop()
        r = httpx.get(api.url + "/readyz", timeout=30)
        assert r.status_code == 503 and not r.json()["checks"]["chain"]["ok"]
    finally:
        stop_api(server, thread)


# ------------------------------------------------------------------ notifications


class Receiver:
    """A real HTTP server on 127.0.0.1 that records webhook calls (and can fail the first ones)."""

    def __init__(self, fail_first: int = 0) -> None:
        self.calls: list[tuple[dict, bytes]] = []
        self.first_at = 0.0  # when the first call arrived (time.monotonic)
        self.fail_first = fail_first
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                if not outer.calls:
                    outer.first_at = time.monotonic()
                outer.calls.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = 500 if len(outer.calls) <= outer.fail_first else 204
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def test_webhook_told_of_revocation_with_signature_and_retries(api):
    import certnet.api.webhooks as webhooks

    webhooks.BACKOFF_BASE = 0.2  # keep the retry test short
    receiver = Receiver(fail_first=2)
    try:
        doc, other = issue(api, "issuer_vn", form_ds(api, 2, seed=5))
        with api.client("customs_th") as c:
            sub = c.post("/v1/subscriptions", json={"url": receiver.url})
            assert sub.status_code == 201
            secret = sub.json()["secret"]
            entry = c.post("/v1/inbox", json={"document": doc["wrapped"], "nswReference": "TH-NSW-0001"})
            assert entry.status_code == 201 and entry.json()["statusOnArrival"] == "VALID"
            ref = doc["referenceNumber"]
            looked = c.get(f"/v1/certificates/VN/{ref}").json()
            assert looked["verdict"]["status"] == "VALID" and looked["nswReference"] == "TH-NSW-0001"
        with api.client("issuer_vn") as c:
            asked = time.monotonic()
            c.post(f"/v1/documents/{doc['id']}/revoke", json={"reason": "GOODS_NOT_SHIPPED"})
        wait_until(lambda: receiver.calls, timeout=30)
        assert receiver.first_at - asked < HEARD_WITHIN, f"the first attempt took {receiver.first_at - asked:.1f} s"
        wait_until(
            lambda: any(h.get("x-certnet-event") == "REVOKED" and len(receiver.calls) >= 3 for h, _ in receiver.calls),
            timeout=30,
        )
        headers, body = receiver.calls[-1]
        expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        assert headers["x-certnet-signature"] == expected
        payload = json.loads(body)
        assert payload["targetHash"] == doc["targetHash"] and payload["reason"] == "GOODS_NOT_SHIPPED"
        assert payload["referenceNumber"] == doc["referenceNumber"]
        assert len({h["x-certnet-delivery"] for h, _ in receiver.calls}) == 1  # one delivery, retried
        with api.client("customs_th") as c:
            assert c.get(f"/v1/certificates/VN/{doc['referenceNumber']}").json()["verdict"]["status"] == "REVOKED"
        # the other document was not watched by TH: no notice for it, once the notifier has read past its
        # revocation (its cursor moves only after the block's events were turned into deliveries)
        with api.client("issuer_vn") as c:
            act = c.post(f"/v1/documents/{other['id']}/revoke", json={"reason": "DUPLICATE"}).json()
            done = wait_until(lambda: (a := c.get(f"/v1/actions/{act['id']}").json())["state"] == "DONE" and a)
        wait_until(lambda: api.service.notifier._cursor() >= done["blockNumber"], timeout=30)
        from sqlalchemy import select

        from certnet.api.models import Delivery

        with api.service.sessions() as s:
            recorded = [d.payload["targetHash"] for d in s.scalars(select(Delivery))]
        assert doc["targetHash"] in recorded and other["targetHash"] not in recorded
        assert all(json.loads(b)["targetHash"] == doc["targetHash"] for _, b in receiver.calls)
    finally:
        receiver.close()


def test_dead_letter_after_max_attempts(api):
    from sqlalchemy import select

    import certnet.api.webhooks as webhooks
    from certnet.api.models import Delivery

    webhooks.BACKOFF_BASE = 0.05
    webhooks.MAX_ATTEMPTS = 3
    receiver = Receiver(fail_first=100)
    try:
        (doc,) = issue(api, "issuer_vn", form_ds(api, 1, seed=6))
        with api.client("customs_vn") as c:
            c.post("/v1/subscriptions", json={"url": receiver.url})
            c.post("/v1/verify", json={"document": doc["wrapped"]})  # verifying also watches
        with api.client("issuer_vn") as c:
            c.post(f"/v1/documents/{doc['id']}/revoke", json={"reason": "FRAUDULENT"})

        def dead() -> Delivery | None:
            with api.service.sessions() as s:
                return next(
                    (
                        d
                        for d in s.scalars(select(Delivery).where(Delivery.state == "DEAD"))
                        if d.payload["targetHash"] == doc["targetHash"]
                    ),
                    None,
                )

        d = wait_until(dead, timeout=30)
        assert d.attempts == 3 and "HTTP 500" in d.last_error
    finally:
        webhooks.MAX_ATTEMPTS = 8
        receiver.close()


#: "they hear of it within seconds": from the issuer's revocation request to the customs' notice
HEARD_WITHIN = 10.0


def first_event_after_revoking(listener, api, doc: dict, settle: float) -> dict:
    """Listen on ``listener``'s event stream as customs TH, revoke ``doc`` through ``api``: the first event,
    which must arrive within HEARD_WITHIN seconds of the revocation request."""
    got: list[str] = []
    arrived: list[float] = []

    def listen() -> None:
        with listener.client("customs_th") as c, c.stream("GET", "/v1/events/stream") as r:
            for line in r.iter_lines():
                if line.startswith("data: "):
                    got.append(line[6:])
                    arrived.append(time.monotonic())
                    return

    t = threading.Thread(target=listen, daemon=True)
    t.start()
    time.sleep(settle)
    with api.client("issuer_vn") as c:
        asked = time.monotonic()
        c.post(f"/v1/documents/{doc['id']}/revoke", json={"reason": "ISSUED_IN_ERROR"})
    t.join(timeout=30)
    assert got, "no event arrived"
    assert arrived[0] - asked < HEARD_WITHIN, f"the notice took {arrived[0] - asked:.1f} s"
    return json.loads(got[0])


def test_server_sent_events(api):
    (doc,) = issue(api, "issuer_vn", form_ds(api, 1, seed=8))
    with api.client("customs_th") as c:
        c.post("/v1/inbox", json={"document": doc["wrapped"]})
    assert first_event_after_revoking(api, api, doc, settle=0.5)["targetHash"] == doc["targetHash"]


def test_revoked_key_stops_working(api):
    from certnet.api.auth import create_api_key
    from certnet.api.models import ApiKey

    key, rec = create_api_key(api.service.sessions, "temporary", "customs", "TH")
    with httpx.Client(base_url=api.url, headers={"authorization": f"Bearer {key}"}) as c:
        assert c.get("/v1/members").status_code == 200
        with api.service.sessions.begin() as s:
            s.get(ApiKey, rec.id).revoked = True
        wait_until(lambda: c.get("/v1/members").status_code == 401, timeout=api.service.auth.CACHE_SECONDS + 5)


def test_submission_while_the_node_is_down_is_refused_cleanly(anvil_engine, tmp_path):
    from certnet.node.engines import AnvilEngine

    own = AnvilEngine(tmp_path / "node").start()
    net = make_net(own)
    api, server, thread = start_api(net, tmp_path / "svc", start_workers=False)
    try:
        api.service.pipeline._issuer_info.clear()  # as if the service had just started without a node
        own.stop()
        with api.client("issuer_vn") as c:
            is_problem(c.post("/v1/documents", json={"documents": form_ds(api, 1, seed=9)}), 503, "CHAIN_UNAVAILABLE")
    finally:
        stop_api(server, thread)


def test_server_sent_events_from_a_process_without_workers(api, tmp_path):
    """A process that serves requests only (the other workers of `certnet serve --workers N`, or a
    `--no-workers` replica on the same database) still tells its SSE listeners about revocations."""
    replica, server, thread = start_api(
        api.net, tmp_path / "replica", start_workers=False, db_url=api.service.settings.db_url
    )
    try:
        assert not any(t.name == "certnet-notifier" for t in replica.service._threads)
        (doc,) = issue(api, "issuer_vn", form_ds(api, 1, seed=18))
        with replica.client("customs_th") as c:
            assert c.post("/v1/inbox", json={"document": doc["wrapped"]}).status_code == 201
        event = first_event_after_revoking(replica, api, doc, settle=1.0)
        assert event["targetHash"] == doc["targetHash"] and event["event"] == "REVOKED"
    finally:
        stop_api(server, thread)
