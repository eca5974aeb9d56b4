"""Confidentiality, table-driven: every endpoint and portal page that can carry a document's content × every
caller (no key; each role of VN; each role of TH) × three documents (issued in VN, issued in TH, an
obfuscated copy). No content leaves to a caller not entitled to it (certnet.api.disclosure) — asserted on
distinctive strings of each document: its consignee's name and address, exporter, reference number, Merkle
root, proof and anchoring transaction — and a field hidden by selective disclosure never appears to anyone
who holds only the obfuscated copy, nor in the answer to presenting that copy.

The documents, on a real service over anvil:
  D1  issued by the VN issuer through this service; its full copy received by the customs of TH;
  D2  issued by the TH issuer through this service; received by the customs of VN;
  D3  issued by the VN issuer; only an obfuscated copy (consignee address hidden) received by the customs of TH.
Each is batched with a partner document that no one else holds, so its root and proof are its own.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from certnet.api.auth import create_api_key
from certnet.api.portal.limits import IpRateLimiter
from certnet.issuer import samples
from certnet.issuer.envelope import network_block
from certnet.verifier.obfuscate import obfuscate_document
from certnet.verifier.salting import unsalt_data
from tests.conftest import make_net
from tests.support.api_fixtures import Api, start_api, stop_api, wait_anchored

pytestmark = pytest.mark.integration  # real engines, databases or processes (see tests/conftest.py)

#: the callers: None is no key at all
CALLERS = [
    None,
    "issuer_vn",
    "customs_vn",
    "auditor_vn",
    "admin_vn",
    "issuer_th",
    "customs_th",
    "auditor_th",
    "admin_th",
]

#: who is entitled to each document's content — written here from the rule's text, not from its code
ENTITLED = {
    "D1": {"issuer_vn", "auditor_vn", "customs_th"},
    "D2": {"issuer_th", "auditor_th", "customs_vn"},
    "D3": {"issuer_vn", "auditor_vn", "customs_th"},
}
#: who holds the full D3 (the hidden address); customs_th holds only the obfuscated copy
FULL_COPY = {"D1": ENTITLED["D1"], "D2": ENTITLED["D2"], "D3": {"issuer_vn", "auditor_vn"}}
HIDDEN = "consignee.address"


@dataclass
class Doc:
    name: str
    issuer: str  # the key of its issuing authority
    country: str
    state: dict[str, Any]  # GET /v1/documents/{id} as its issuer sees it
    presented: dict[str, Any]  # the copy the receiving customs holds (D3: obfuscated)
    consignee: str
    address: str
    exporter: str
    reference: str
    root: str
    proof: str
    tx: str

    @property
    def target_hash(self) -> str:
        return self.state["targetHash"]

    def secrets(self, full: bool) -> dict[str, str]:
        """Distinctive strings of the content; with `full`, the hidden field too."""
        found = {
            "consignee": self.consignee,
            "exporter": self.exporter,
            "reference": self.reference,
            "root": self.root,
            "proof": self.proof,
            "anchoring transaction": self.tx[2:],
        }
        if full:
            found["address"] = self.address
        return found


def _raw(api: Api, seed: int, country: str, tag: str) -> list[dict[str, Any]]:
    docs = list(samples.generate(2, seed=seed, network=network_block(api.net.deployment), issuing_country=country))
    for i, d in enumerate(docs):
        d.pop("issuers")
        d["consignee"]["name"] = f"Zephyr Consignee {tag}{i} QX"
        d["consignee"]["address"] = f"77 Hidden Lane {tag}{i} QX"
        d["exporter"]["name"] = f"Kestrel Exporter {tag}{i} QX"
    return docs


def _issue(api: Api, who: str, raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    with api.client(who) as c:
        r = c.post("/v1/documents", json={"documents": raw})
        assert r.status_code == 202, r.text
        ids = [d["id"] for d in r.json()["documents"]]
    states = wait_anchored(api, who, ids)
    assert states[0]["batchId"] == states[1]["batchId"], "the document and its partner share a batch"
    return states


@dataclass
class World:
    api: Api
    docs: dict[str, Doc]
    token: str  # a QR link of D1


@pytest.fixture(scope="module")
def world(anvil_engine, tmp_path_factory) -> Iterator[World]:
    net = make_net(anvil_engine)
    api, server, thread = start_api(net, tmp_path_factory.mktemp("disclosure"), max_batch_age=1.0)
    api.service.portal_limiter = IpRateLimiter(rate=10_000, burst=100_000)  # hundreds of page views here
    api.keys["auditor_th"] = create_api_key(api.service.sessions, "th auditor", "auditor", "TH")[0]
    try:
        docs: dict[str, Doc] = {}
        for name, who, country, seed in (
            ("D1", "issuer_vn", "VN", 301),
            ("D2", "issuer_th", "TH", 302),
            ("D3", "issuer_vn", "VN", 303),
        ):
            raw = _raw(api, seed, country, name)
            state, partner = _issue(api, who, raw)
            presented = state["wrapped"] if name != "D3" else obfuscate_document(state["wrapped"], HIDDEN)
            assert state["wrapped"]["signature"]["proof"] == [partner["targetHash"]]
            docs[name] = Doc(
                name,
                who,
                country,
                state,
                presented,
                raw[0]["consignee"]["name"],
                raw[0]["consignee"]["address"],
                raw[0]["exporter"]["name"],
                raw[0]["referenceNumber"],
                state["merkleRoot"],
                partner["targetHash"],
                state["transactionHash"].lower(),
            )
        assert HIDDEN.split(".")[1] not in unsalt_data(docs["D3"].presented["data"])["consignee"]
        for name, customs in (("D1", "customs_th"), ("D2", "customs_vn"), ("D3", "customs_th")):
            with api.client(customs) as c:
                assert c.post("/v1/inbox", json={"document": docs[name].presented}).status_code == 201
        with api.client("issuer_vn") as c:
            made = c.post(f"/v1/documents/{docs['D1'].state['id']}/links")
            assert made.status_code == 201, made.text
            token = re.search(r"/portal/q/([A-Za-z0-9_-]+)#", made.json()["url"]).group(1)
        yield World(api, docs, token)
    finally:
        stop_api(server, thread)


# ------------------------------------------------------------------ the endpoints


@dataclass
class Call:
    method: str
    path: str
    json: Any = None
    data: dict[str, str] | None = None


@dataclass
class Endpoint:
    name: str
    calls: Callable[[World, Doc, str | None], list[Call]]
    #: for entitled callers: labels of Doc.secrets that must appear (the test sees content when it is there)
    shows: tuple[str, ...] = ()
    #: presenting the document: the answer is built from the presented copy, whoever calls
    presents: bool = False


def _country(who: str | None) -> str:
    return who.rsplit("_", 1)[1].upper() if who else "VN"


def _export_period() -> str:
    import datetime as dt

    today = dt.date.today()
    return f"from={today - dt.timedelta(days=2)}&to={today + dt.timedelta(days=2)}"


ENDPOINTS = [
    Endpoint("portal certificate page", lambda w, d, who: [Call("GET", f"/portal/certificates/{d.target_hash}")]),
    Endpoint("portal old QR link", lambda w, d, who: [Call("GET", f"/portal/v/{d.target_hash}")]),
    Endpoint(
        "portal certificate content",
        lambda w, d, who: [Call("GET", f"/portal/api/certificates/{d.target_hash}")],
        shows=("consignee", "exporter", "reference", "root", "proof"),
    ),
    Endpoint(
        "portal QR link page and ciphertext",
        lambda w, d, who: [Call("GET", f"/portal/q/{w.token}"), Call("GET", f"/portal/api/q/{w.token}")],
    ),
    Endpoint(
        "portal status",
        lambda w, d, who: [
            Call(
                "POST", "/portal/api/status", json={"documents": [{"targetHash": d.target_hash, "merkleRoot": d.root}]}
            )
        ],
    ),
    Endpoint(
        "history by targetHash",
        lambda w, d, who: [Call("GET", f"/v1/history/{d.target_hash}")],
        shows=("root", "proof", "anchoring transaction"),
    ),
    Endpoint("history by root", lambda w, d, who: [Call("GET", f"/v1/history/0x{d.root}")]),
    Endpoint(
        "certificate by reference",
        lambda w, d, who: [Call("GET", f"/v1/certificates/{d.country}/{d.reference}")],
        shows=("reference", "root"),
    ),
    Endpoint("customs inbox", lambda w, d, who: [Call("GET", "/v1/inbox?limit=500")], shows=("reference",)),
    Endpoint(
        "issuer documents",
        lambda w, d, who: [
            Call("GET", "/v1/documents?limit=500"),
            Call("GET", f"/v1/documents/{d.state['id']}"),
            Call("GET", "/v1/batches?limit=500"),
            Call("GET", f"/v1/documents/{d.state['id']}/links"),
        ],
        shows=("consignee", "exporter", "reference", "root", "proof"),
    ),
    Endpoint(
        "audit export",
        lambda w, d, who: [Call("GET", f"/v1/audit/export?country={_country(who)}&{_export_period()}")],
        shows=("root", "proof"),
    ),
    Endpoint(
        "portal audit search and export",
        lambda w, d, who: [
            Call("GET", "/portal/api/audit/search?limit=500"),
            Call("GET", "/portal/api/audit/export?limit=500"),
        ],
        shows=("reference", "root", "proof"),
    ),
    Endpoint("members and authorities", lambda w, d, who: [Call("GET", "/v1/members"), Call("GET", "/v1/authorities")]),
    # presenting the copy the receiving customs holds (for D3: the obfuscated one)
    Endpoint(
        "verify (presented)",
        lambda w, d, who: [
            Call("POST", "/v1/verify", json={"document": d.presented}),
            Call("POST", "/v1/verify/bulk?mode=chain", json={"documents": [d.presented]}),
        ],
        presents=True,
    ),
    Endpoint(
        "portal verify (presented)",
        lambda w, d, who: [
            Call("POST", "/portal/verify", data={"document": json.dumps(d.presented)}),
            Call("POST", "/portal/api/verify", json={"document": d.presented}),
        ],
        presents=True,
    ),
]


def _request(w: World, who: str | None, call: Call) -> httpx.Response:
    with w.api.client(who) as c:
        return c.request(call.method, call.path, json=call.json, data=call.data)


def _sent(call: Call) -> str:
    """Everything the caller itself sent (what the answer may echo)."""
    return (call.path + json.dumps(call.json or {}) + json.dumps(call.data or {})).lower()


@pytest.mark.parametrize("doc", ["D1", "D2", "D3"])
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_no_content_to_those_not_entitled(world: World, endpoint: Endpoint, doc: str):
    d = world.docs[doc]
    problems: list[str] = []
    seen_content = set()
    for who in CALLERS:
        entitled = who in ENTITLED[doc]
        for call in endpoint.calls(world, d, who):
            r = _request(world, who, call)
            where = f"{who or 'no key'} {call.method} {call.path[:60]}"
            if r.status_code >= 500:
                problems.append(f"{where}: HTTP {r.status_code}")
                continue
            body = r.text.lower()
            sent = _sent(call)
            if endpoint.presents:  # only what was presented: the hidden field never, whoever presents it
                allowed = set(d.secrets(full=doc != "D3"))
            elif entitled:
                allowed = set(d.secrets(full=who in FULL_COPY[doc]))
            else:
                allowed = set()
            for label, value in d.secrets(full=True).items():
                present = value.lower() in body
                if present and label not in allowed and value.lower() not in sent:
                    problems.append(f"{where}: the {label} of {doc} ({value}) leaked (HTTP {r.status_code})")
                if present and entitled:
                    seen_content.add((who, label))
    for who in ENTITLED[doc]:
        for label in endpoint.shows:
            if (who, label) not in seen_content and _applies(endpoint, who, label):
                problems.append(f"{who}: the {label} of {doc} was not shown to an entitled caller")
    assert not problems, "\n".join(problems)


def _applies(endpoint: Endpoint, who: str, label: str) -> bool:
    """Whether `endpoint` serves `who`'s role at all (the positive half of the table)."""
    role = who.split("_")[0]
    serves = {
        "portal certificate content": {"issuer", "customs", "auditor"},
        "history by targetHash": {"customs", "auditor"},
        "certificate by reference": {"customs"},
        "customs inbox": {"customs"},
        "issuer documents": {"issuer"},
        "audit export": {"auditor"},
        "portal audit search and export": {"auditor"},
    }
    return role in serves.get(endpoint.name, set())


def test_the_table_covers_every_route(world: World):
    """Every route of the service that takes a document hash, id, reference or token, or lists documents, is
    in the table above (a new one must be added there)."""
    covered = {
        "/portal/certificates/{target_hash}",
        "/portal/v/{target_hash}",
        "/portal/api/certificates/{target_hash}",
        "/portal/q/{token}",
        "/portal/api/q/{token}",
        "/portal/api/status",
        "/v1/history/{hash}",
        "/v1/certificates/{issuing_country}/{reference_number}",
        "/v1/inbox",
        "/v1/documents",
        "/v1/documents/{document_id}",
        "/v1/batches",
        "/v1/documents/{document_id}/links",
        "/v1/audit/export",
        "/portal/api/audit/search",
        "/portal/api/audit/export",
        "/v1/verify",
        "/v1/verify/bulk",
        "/portal/verify",
        "/portal/api/verify",
        "/v1/members",
        "/v1/authorities",
        # no document content by construction: actions, registry, operations, pages without data
        "/v1/documents/{document_id}/revoke",
        "/v1/documents/{document_id}/supersede",
        "/v1/actions/{action_id}",
        "/v1/documents/{document_id}/links/{link_id}",
        "/portal/api/certificates/{target_hash}/links",
        "/v1/subscriptions",
        "/v1/subscriptions/{subscription_id}",
        "/v1/events/stream",
        "/v1/issuers/{account}",
        "/v1/authorities/{store}",
        "/v1/admin/authorities",
        "/v1/admin/authorities/{store}/keys",
        "/v1/admin/issuers/{account}",
        "/v1/admin/customs-keys",
        "/v1/admin/customs-keys/{account}",
        "/v1/admin/proposals",
        "/v1/admin/proposals/{proposal_id}/vote",
        "/v1/admin/proposals/{proposal_id}/decide",
        "/healthz",
        "/readyz",
        "/metrics",
        "/v1/openapi.json",
        "/v1/docs",
        "/v1/redoc",
        "/v1/docs-assets",
        "/v1/docs-assets/redoc.js",
        "/docs/oauth2-redirect",
        "/portal",
        "/portal/",
        "/portal/open",
        "/portal/issuer",
        "/portal/auditor",
        "/portal/offline",  # the offline verification page: no data, the inspector brings the files
        "/portal/static/{name}",
        "/portal/{rest:path}",
    }
    from certnet.api.app import create_app

    routes = {getattr(r, "path", None) for r in create_app(world.api.service).routes}
    missing = {r for r in routes if r and r not in covered}
    assert not missing, f"routes not in the disclosure table: {sorted(missing)}"


def test_an_obfuscated_copy_in_an_inbox_shows_its_holder_only_what_it_holds(world: World):
    """The customs that received the obfuscated D3 sees the consignee's name but never the hidden address,
    though the service keeps the issuer's full copy; the issuer sees both."""
    d = world.docs["D3"]
    with world.api.client("customs_th") as c:
        shown = c.get(f"/portal/api/certificates/{d.target_hash}").json()["html"]
        assert d.consignee in shown and d.address not in shown
        assert "The copy received by the customs of TH" in shown
        again = c.get(f"/v1/certificates/VN/{d.reference}").json()
        assert again["verdict"]["status"] == "VALID" and d.address not in json.dumps(again)
    with world.api.client("issuer_vn") as c:
        shown = c.get(f"/portal/api/certificates/{d.target_hash}").json()["html"]
        assert d.consignee in shown and d.address in shown


def test_history_gives_others_the_status_only(world: World):
    d = world.docs["D1"]
    with world.api.client("customs_vn") as c:  # another country's customs: D1 is not in its inbox
        h = c.get(f"/v1/history/{d.target_hash}").json()
    assert h["proof"] is None and [e["kind"] for e in h["events"]] == ["ANCHORED"]
    assert set(h["events"][0]) <= {
        "kind",
        "blockNumber",
        "time",
        "country",
        "actor",
        "documentType",
        "documentTypeName",
    }
    with world.api.client("customs_th") as c:  # the receiving customs: everything
        h = c.get(f"/v1/history/{d.target_hash}").json()
    assert h["proof"]["proof"] == [d.proof] and h["events"][0]["root"] == d.root


def test_a_tampered_copy_of_a_kept_document_reveals_nothing(world: World):
    """Presenting a forged copy (one field changed) of a document this service keeps gets TAMPERED and no
    link to, nor field of, the genuine one."""
    d = world.docs["D1"]
    forged = copy.deepcopy(d.presented)
    salted = forged["data"]["exporter"]["name"]
    forged["data"]["exporter"]["name"] = salted.rsplit(":", 1)[0] + ":Someone Else Ltd"
    with world.api.client() as c:
        page = c.post("/portal/verify", data={"document": json.dumps(forged)}).text
    assert 'data-status="TAMPERED"' in page and "/portal/certificates/" not in page
    assert d.exporter not in page and d.consignee not in page


def test_qr_links_are_capabilities(world: World):
    """A link's token fetches only ciphertext; its key (in the fragment) decrypts it to the wrapped document;
    the service keeps no key; only the issuing authority makes, lists and revokes links; a revoked link's
    ciphertext is gone and its page shows the status only."""
    from cryptography.exceptions import InvalidTag
    from sqlalchemy import select

    from certnet.api.links import LinkError, create_link, decrypt, unb64url
    from certnet.api.models import QrLink
    from certnet.issuer.outbox import Document

    d = world.docs["D1"]
    doc_id = d.state["id"]
    with world.api.client("issuer_vn") as c:
        made = c.post(f"/v1/documents/{doc_id}/links").json()
    token, key_text = re.fullmatch(
        rf"{re.escape(world.api.url)}/portal/q/([A-Za-z0-9_-]{{22}})#([A-Za-z0-9_-]{{43}})", made["url"]
    ).groups()
    key = unb64url(key_text)
    with world.api.client() as c:  # no key needed for the ciphertext; it is useless without the link's key
        sealed = c.get(f"/portal/api/q/{token}").json()
    assert sealed["algorithm"] == "AES-256-GCM" and d.consignee not in json.dumps(sealed)
    assert decrypt(token, key, unb64url(sealed["nonce"]), unb64url(sealed["ciphertext"])) == d.state["wrapped"]
    with pytest.raises(InvalidTag):
        decrypt(token, bytes(32), unb64url(sealed["nonce"]), unb64url(sealed["ciphertext"]))
    with pytest.raises(InvalidTag):  # the ciphertext is bound to its token
        decrypt(world.token, key, unb64url(sealed["nonce"]), unb64url(sealed["ciphertext"]))
    with world.api.service.sessions() as s:
        row = s.scalar(select(QrLink).where(QrLink.token == token))
        stored = b"".join(
            v if isinstance(v, bytes) else str(v).encode()
            for v in (getattr(row, col.name) for col in QrLink.__table__.columns)
        )
    assert key not in stored and key_text.encode() not in stored  # the key is in the link only

    # only the issuing authority: others' keys find no such document
    for who in ("issuer_th", "customs_th", "auditor_vn", "admin_vn"):
        with world.api.client(who) as c:
            assert c.post(f"/v1/documents/{doc_id}/links").status_code in (403, 404), who
            assert c.get(f"/v1/documents/{doc_id}/links").status_code in (403, 404), who
            assert c.delete(f"/v1/documents/{doc_id}/links/{made['id']}").status_code in (403, 404), who
    with world.api.client("issuer_vn") as c:
        listed = c.get(f"/v1/documents/{doc_id}/links").json()
        assert made["id"] in [x["id"] for x in listed] and all(x["url"] is None for x in listed)
        assert c.delete(f"/v1/documents/{doc_id}/links/{made['id']}").status_code == 204
        assert c.delete(f"/v1/documents/{doc_id}/links/{made['id']}").status_code == 204  # idempotent
        assert c.delete(f"/v1/documents/{doc_id}/links/999999").status_code == 404
        revoked = next(x for x in c.get(f"/v1/documents/{doc_id}/links").json() if x["id"] == made["id"])
        assert revoked["revokedAt"]
    with world.api.client() as c:
        r = c.get(f"/portal/api/q/{token}")
        assert r.status_code == 410 and r.json()["code"] == "LINK_REVOKED"
        page = c.get(f"/portal/q/{token}")
        assert page.status_code == 200 and 'id="link-revoked"' in page.text and 'data-status="VALID"' in page.text
        assert d.consignee not in page.text and d.reference not in page.text
        assert c.get("/portal/q/unknown-token-0000000").status_code == 404
    with world.api.service.sessions() as s:
        assert s.scalar(select(QrLink.ciphertext).where(QrLink.token == token)) == b""  # nothing left to decrypt

    # links are built from the configured public URL, not the request's Host
    settings = world.api.service.settings
    settings.public_base_url = "https://certnet.customs.example"
    try:
        with world.api.client("issuer_vn") as c:
            url = c.post(f"/v1/documents/{doc_id}/links", headers={"host": "evil.example"}).json()["url"]
        assert url.startswith("https://certnet.customs.example/portal/q/")
    finally:
        settings.public_base_url = None

    # a document not anchored yet has no link
    pending = Document(
        id=0,
        issuer=world.api.net.addr("vn_issuer"),
        issuing_country="VN",
        reference_number="X",
        document_type="FORM_D",
        content_hash="0" * 64,
        raw={},
        state="SUBMITTED",
    )
    with pytest.raises(LinkError, match="not anchored"):
        create_link(world.api.service.sessions, pending, "https://x.example")


@pytest.mark.parametrize("bad", ["ftp://certnet.example", "https://certnet.example/#k"])
def test_serve_refuses_a_public_url_that_is_not_one(tmp_path, bad):
    import subprocess
    import sys
    from pathlib import Path

    certnet = Path(sys.executable).with_name("certnet")  # the installed command (as operators run it)
    r = subprocess.run(
        [str(certnet), "--data-dir", str(tmp_path), "serve", "--port", "9", "--public-url", bad],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2 and "--public-url" in r.stderr and "absolute public URL" in r.stderr, r.stderr[-2000:]
