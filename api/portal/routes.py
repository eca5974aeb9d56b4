"""The portal's pages (server-rendered) and its small JSON endpoints, all under /portal.

Verification needs no API key (anyone holding a document may verify it); it is limited per client address.
The issuer and auditor pages take an API key that the browser keeps in sessionStorage and sends as
`Authorization: Bearer` to the JSON API; it never travels in a cookie or a URL.

What a page shows follows certnet.api.disclosure: pages reached by a hash show the status only; the content of
a certificate is shown from what the visitor presents (a file, a paste, a QR capability link decrypted in the
browser), or fetched with an API key entitled to it (`/portal/api/certificates/{hash}`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from pathlib import Path
from typing import Any

import jinja2
from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from certnet.api.auth import Principal, require
from certnet.api.disclosure import DocumentRecord, load_record, may_see_content, status_event, visible_copy
from certnet.api.links import ALGORITHM, LinkError, b64url, create_link, find_link, public_base
from certnet.api.portal.history import HistoryError, expected_kinds, histories
from certnet.api.portal.known import AuditQuery, audit_search, hash_in_link, known_hashes, normalise_hash, token_in_link
from certnet.api.portal.limits import IpRateLimiter
from certnet.api.portal.present import certificate_view, raw_data, short, status_view, timeline, verdict_view
from certnet.api.portal.qr import qr_svg
from certnet.api.problems import Problem
from certnet.issuer.outbox import Document
from certnet.node.contracts import CHECK_REASONS, DECISION_REASONS, REVOCATION_REASONS
from certnet.verifier import jsonlimits
from certnet.verifier.integrity import parse_document
from certnet.verifier.verdict import REASON_SENTENCES, Verdict, utc

log = logging.getLogger("certnet.portal")

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
STATIC_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*\.(css|js|svg)$")

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(HERE / "templates")),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.ChainableUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["short"] = short
_env.filters["utc"] = utc
templates = Jinja2Templates(env=_env)

router = APIRouter(include_in_schema=False)


def _service(request: Request) -> Any:
    return request.app.state.service


# ------------------------------------------------------------------ helpers


def page(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    service = _service(request)
    ctx = {
        "network_name": service.deployment.name,
        "chain_id": service.deployment.chain_id,
        "max_bytes": service.settings.max_body_bytes,
        "nav": "",
        **(context or {}),
    }
    h = {**SECURITY_HEADERS, "Cache-Control": "no-store", **(headers or {})}
    return templates.TemplateResponse(request, name, ctx, status_code=status, headers=h)


def message_page(
    request: Request, status: int, title: str, text: str, headers: dict[str, str] | None = None, **extra: Any
) -> HTMLResponse:
    return page(request, "message.html", {"title": title, "text": text, "status": status, **extra}, status, headers)


def limiter(service: Any) -> IpRateLimiter:
    """The service's per-address limiter for open verification (made on first use)."""
    lim = getattr(service, "portal_limiter", None)
    if lim is None:
        settings = service.settings
        lim = IpRateLimiter(
            getattr(settings, "portal_rate_per_second", 5.0), getattr(settings, "portal_rate_burst", 60)
        )
        service.portal_limiter = lim
    return lim


def _client(request: Request) -> str:
    """The client's address: the socket's peer, or the trusted proxy's header (Settings.trusted_proxy_header)."""
    return _service(request).auth.client_address(request)


def public_url(request: Request, path: str) -> str:
    """An absolute link to print (a QR code): under Settings.public_base_url, else under the address this process
    listens on — never under the request's Host header, which the client chooses."""
    base = _service(request).settings.public_base_url
    if not base:
        host, port = (request.scope.get("server") or ("127.0.0.1", 80))[:2]
        base = f"http://[{host}]:{port}" if ":" in str(host) else f"http://{host}:{port}"
    return base.rstrip("/") + path


def _limited(request: Request, cost: float = 1.0) -> float | None:
    """Seconds to wait when this client is over its rate, else None."""
    ok, retry = limiter(_service(request)).allow(_client(request), cost)
    return None if ok else retry


def _too_many_page(request: Request, retry: float) -> HTMLResponse:
    wait = max(1, int(retry + 0.999))
    return message_page(
        request,
        429,
        "Too many verifications",
        f"This address has made many verifications in a short time. Please wait {wait} "
        f"second{'s' if wait != 1 else ''} and try again.",
        {"Retry-After": str(wait)},
    )


def _too_many_problem(retry: float) -> Problem:
    wait = max(1, int(retry + 0.999))
    return Problem(
        429,
        "RATE_LIMITED",
        f"too many verifications from this address; retry in {wait}s",
        headers={"Retry-After": str(wait)},
    )


def _principal(request: Request, role: str) -> Principal:
    principal = _service(request).auth.principal(request)
    require(principal, role)
    return principal


# ------------------------------------------------------------------ verification


def _verify(service: Any, document: Any) -> Verdict:
    v = service.verifier("chain").verify(document)
    try:
        service.metrics.verdicts.labels(v.status, "chain").inc()
    except Exception:
        pass
    return v


def _history(service: Any, v: Verdict) -> tuple[list[dict[str, Any]], str | None]:
    th, root = v.document.get("targetHash"), v.document.get("merkleRoot")
    if not th or not root or not expected_kinds(v):
        return [], None
    try:
        got, _ = histories(
            service, [(th, root, v.document.get("documentStore"))], {th: expected_kinds(v)}, as_of=v.block_number
        )
    except HistoryError as exc:
        return [], str(exc)
    return got.get(th, []), None


def _verdict_context(service: Any, document: Any) -> dict[str, Any]:
    """The verdict page of a presented document: everything shown comes from what was presented (a field hidden
    by selective disclosure stays hidden), never from a copy this service keeps."""
    v = _verify(service, document)
    events, history_error = _history(service, v)
    th = v.document.get("targetHash")
    data = raw_data(document) if isinstance(document, dict) else None
    known = bool(th) and isinstance(document, dict) and th in known_hashes(service, [th])  # type: ignore[list-item]  # th is set: bool(th) first
    successor = (v.successor or {}).get("document")
    successor_known = bool(successor) and successor in known_hashes(service, [successor])  # type: ignore[list-item]  # successor is set: bool(successor) first
    view = verdict_view(
        v,
        network_name=service.deployment.name,
        events=events,
        history_error=history_error,
        data=data,
        known=known,
        successor_known=successor_known,
    )
    cert = certificate_view(data) if data and view["summary"] else None
    return {"v": view, "cert": cert, "title": f"{view['label']} – verification result"}


def _read_upload(value: Any) -> bytes | None:
    if isinstance(value, UploadFile):
        if not value.filename and not value.size:
            return None
        content = value.file.read()
        return content or None
    return None


@router.get("/portal", response_class=HTMLResponse, name="portal_home")
def verify_page(request: Request) -> HTMLResponse:
    return page(request, "verify.html", {"nav": "verify", "title": "Verify a certificate"})


def offline_config() -> dict[str, Any]:
    """What the offline page's JavaScript needs besides the files the inspector opens: the contracts' storage
    layout and the names the verdicts use (the same tables as the Python verifier)."""
    from certnet.node.contracts import DOCUMENT_TYPES, REVOCATION_REASON_NAMES
    from certnet.verifier.bundle import DEFAULT_MAX_AGE, storage_layout
    from certnet.verifier.wrap import PROOF_TYPE, SCHEMA_V2

    return {
        "layout": storage_layout(),
        "documentTypes": DOCUMENT_TYPES,
        "reasons": {str(k): v for k, v in REVOCATION_REASON_NAMES.items()},
        "reasonSentences": REASON_SENTENCES,
        "defaultMaxAge": DEFAULT_MAX_AGE,
        "schemaV2": SCHEMA_V2,
        "proofType": PROOF_TYPE,
    }


@router.get("/portal/offline", response_class=HTMLResponse, name="portal_offline")
def offline_page(request: Request) -> HTMLResponse:
    """Verification against a bundle in the browser: the page asks no server anything once loaded."""
    from certnet.verifier.bundle import DEFAULT_MAX_AGE

    config = json.dumps(offline_config(), separators=(",", ":")).replace("<", "\\u003c")
    return page(
        request,
        "offline.html",
        {"title": "Verify offline", "config_json": config, "default_max_age_hours": DEFAULT_MAX_AGE // 3600},
    )


@router.get("/portal/", include_in_schema=False)
def verify_page_slash() -> RedirectResponse:
    return RedirectResponse("/portal", status_code=308)


@router.get("/portal/verify", include_in_schema=False)
def verify_get() -> RedirectResponse:
    return RedirectResponse("/portal", status_code=303)


@router.post("/portal/verify", response_class=HTMLResponse)
async def verify_submit(request: Request) -> HTMLResponse:
    retry = _limited(request)
    if retry is not None:
        return _too_many_page(request, retry)
    service = _service(request)
    form = await request.form(max_files=2, max_fields=10, max_part_size=service.settings.max_body_bytes)
    try:
        content = _read_upload(form.get("file"))
        if content is None:
            pasted = form.get("document")
            content = pasted.encode() if isinstance(pasted, str) and pasted.strip() else None
    finally:
        await form.close()
    if content is None:
        return page(
            request,
            "verify.html",
            {
                "nav": "verify",
                "title": "Verify a certificate",
                "error": "Choose a document file, drop one on the box, or paste the document's text, "
                "then press Verify.",
            },
            status=400,
        )
    try:
        document: Any = parse_document(content, service.settings.max_json_depth)
    except (ValueError, UnicodeDecodeError):
        document = content  # the verifier explains why it cannot be read (MALFORMED)
    ctx = await run_in_threadpool(_verdict_context, service, document)
    return page(request, "verdict.html", {"nav": "verify", **ctx})


@router.get("/portal/open", response_class=HTMLResponse)
def open_link(request: Request, link: str = Query("", max_length=4000)) -> Response:
    if token_in_link(link):  # a capability link: the page's script opens it without sending its key here
        return page(
            request,
            "verify.html",
            {
                "nav": "verify",
                "title": "Verify a certificate",
                "link_error": "This QR link holds a key that only your browser should see: open the link itself (scan "
                "the QR code, or paste the link into the address bar).",
            },
            status=400,
        )
    h = hash_in_link(link)
    if h is None:
        return page(
            request,
            "verify.html",
            {
                "nav": "verify",
                "title": "Verify a certificate",
                "link": link[:200],
                "link_error": "This is not a certnet QR link: it should look like …/portal/q/<token>#<key> "
                "(or, printed before, …/portal/v/ and 64 letters and digits).",
            },
            status=400,
        )
    return RedirectResponse(f"/portal/v/{h}", status_code=303)


def _copy_for_status(record: DocumentRecord) -> dict[str, Any] | None:
    """A copy this service keeps, verified server-side to learn the status (never shown)."""
    if record.issued is not None and record.issued.wrapped is not None:
        return record.issued.wrapped
    return next((r.wrapped for r in record.received), None)


def _status_context(request: Request, record: DocumentRecord, h: str) -> dict[str, Any]:
    """A hash's status and history, for anyone: no field, root, proof or transaction of the document."""
    service = _service(request)
    copy = _copy_for_status(record)
    v = _verify(service, copy)
    events, history_error = _history(service, v)
    events = [status_event(e) for e in events]
    linked = [e.get("newDocument") or e.get("oldDocument") for e in events if e["kind"] in ("SUPERSEDED", "SUPERSEDES")]
    successor = (v.successor or {}).get("document")
    known = known_hashes(service, [x for x in linked + [successor] if x])
    view = status_view(v, successor_known=bool(successor) and successor in known)
    return {
        "v": view,
        "events": timeline(events, known),
        "history_error": history_error,
        "target_hash": h,
        "checked_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "title": f"{view['label']} – certificate status",
    }


def _record_or_unknown(request: Request, target_hash: str) -> tuple[str, DocumentRecord] | HTMLResponse:
    h = normalise_hash(target_hash)
    record = load_record(_service(request), h) if h else None
    if record is None or h is None or record.is_root or _copy_for_status(record) is None:
        return _unknown(request, target_hash)
    return h, record


@router.get("/portal/v/{target_hash}", response_class=HTMLResponse, name="portal_qr")
def qr_link(request: Request, target_hash: str) -> HTMLResponse:
    """Links printed before QR capabilities (a bare targetHash): the status only."""
    found = _record_or_unknown(request, target_hash)
    if isinstance(found, HTMLResponse):
        return found
    retry = _limited(request)
    if retry is not None:
        return _too_many_page(request, retry)
    h, record = found
    ctx = _status_context(request, record, h)
    return page(request, "status.html", {"nav": "verify", "via_link": True, **ctx})


def _unknown(request: Request, target_hash: str) -> HTMLResponse:
    return message_page(
        request,
        404,
        "Certificate not found",
        "This service knows no certificate with this fingerprint. It may have been issued through another node: "
        "ask the holder for the document file and verify it here.",
        fingerprint=target_hash[:80],
    )


# ------------------------------------------------------------------ certificate


@router.get("/portal/certificates/{target_hash}", response_class=HTMLResponse, name="portal_certificate")
def certificate_page(request: Request, target_hash: str) -> HTMLResponse:
    """Status and history for anyone; the content is fetched by the page's script with an entitled API key."""
    found = _record_or_unknown(request, target_hash)
    if isinstance(found, HTMLResponse):
        return found
    retry = _limited(request)
    if retry is not None:
        return _too_many_page(request, retry)
    h, record = found
    ctx = _status_context(request, record, h)
    return page(
        request,
        "status.html",
        {
            "nav": "",
            "certificate_page": True,
            **ctx,
            "decision_reasons": list(DECISION_REASONS),
            "check_reasons": list(CHECK_REASONS),
            "revocation_reasons": list(REVOCATION_REASONS),
        },
    )


@router.get("/portal/q/{token}", response_class=HTMLResponse, name="portal_capability")
def capability_page(request: Request, token: str) -> HTMLResponse:
    """A QR capability link: the page fetches the ciphertext and decrypts it in the browser with the key in the
    URL fragment (never sent here), then verifies it by presenting it. A revoked link shows the status only."""
    service = _service(request)
    link = find_link(service.sessions, token)
    if link is None:
        return message_page(
            request,
            404,
            "QR link not found",
            "This service knows no such QR link. Check that the whole link was scanned or copied.",
        )
    retry = _limited(request)
    if retry is not None:
        return _too_many_page(request, retry)
    if link.revoked_at is not None:
        record = load_record(service, link.target_hash)
        if record is None or record.is_root or _copy_for_status(record) is None:
            return message_page(request, 410, "QR link withdrawn", "The issuer withdrew this QR link.")
        ctx = _status_context(request, record, link.target_hash)
        return page(request, "status.html", {"nav": "verify", "link_revoked": True, **ctx})
    return page(request, "capability.html", {"nav": "verify", "title": "Opening the certificate", "token": token})


# ------------------------------------------------------------------ issuer and auditor pages


@router.get("/portal/issuer", response_class=HTMLResponse)
def issuer_page(request: Request) -> HTMLResponse:
    reasons = [(r, REASON_SENTENCES.get(r, r)) for r in REVOCATION_REASONS]
    return page(
        request, "issuer.html", {"nav": "issuer", "title": "Issuer: batches and revocation", "reasons": reasons}
    )


@router.get("/portal/checks", response_class=HTMLResponse)
def checks_page(request: Request) -> HTMLResponse:
    return page(
        request, "checks.html", {"nav": "checks", "title": "Retroactive checks", "reasons": list(REVOCATION_REASONS)}
    )


@router.get("/portal/api/whoami")
def api_whoami(request: Request) -> JSONResponse:
    """The role and country of the API key sent (for the pages that adapt to it)."""
    p = _service(request).auth.principal(request)
    return JSONResponse(
        {"role": p.role, "country": p.country, "issuerAccount": p.issuer_account}, headers={"Cache-Control": "no-store"}
    )


@router.get("/portal/auditor", response_class=HTMLResponse)
def auditor_page(request: Request) -> HTMLResponse:
    return page(request, "auditor.html", {"nav": "auditor", "title": "Auditor: search and export"})


# ------------------------------------------------------------------ static files


@router.get("/portal/static/{name}")
def static_file(request: Request, name: str) -> Response:
    path = STATIC / name
    if not STATIC_NAME.match(name) or not path.is_file():
        return message_page(request, 404, "Not found", "There is no such file.")
    return FileResponse(
        path,
        media_type=STATIC_TYPES[path.suffix],
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


# ------------------------------------------------------------------ JSON for the pages


@router.post("/portal/api/verify")
async def api_verify(request: Request) -> JSONResponse:
    """Verify a document without an API key: the body is {"document": <wrapped document>} or the document."""
    retry = _limited(request)
    if retry is not None:
        raise _too_many_problem(retry)
    body = await request.body()
    try:
        parsed = parse_document(body, _service(request).settings.max_json_depth)
    except (ValueError, UnicodeDecodeError):
        raise Problem(400, "INVALID_JSON", "the body is not JSON") from None
    document = parsed["document"] if isinstance(parsed, dict) and set(parsed) == {"document"} else parsed
    from certnet.api.routes_customs import verdict_out

    v = await run_in_threadpool(_verify, _service(request), document)
    return JSONResponse(verdict_out(v))


def _content_fragment(
    request: Request, record: DocumentRecord, wrapped: dict[str, Any], principal: Principal, issuer_view: bool
) -> str:
    data = raw_data(wrapped) or {}
    cert = certificate_view(data)
    received = [r.country for r in record.received]
    if issuer_view or (principal.role == "auditor" and record.issued is not None and record.issued.wrapped):
        shown = "The issuing authority's copy"
    else:
        shown = f"The copy received by the customs of {principal.country}"
    sig: Any = wrapped.get("signature") if isinstance(wrapped.get("signature"), dict) else {}
    return _env.get_template("_content.html").render(
        cert=cert,
        qr_slot=issuer_view,
        target_hash=record.hash,
        merkle_root=sig.get("merkleRoot"),
        proof=sig.get("proof") or [],
        shown=shown,
        received_by=received,
        outbox_state=record.issued.state if record.issued else None,
    )


@router.get("/portal/api/certificates/{target_hash}")
def api_certificate_content(request: Request, target_hash: str) -> JSONResponse:
    """A certificate's content, for a key entitled to it (certnet.api.disclosure): the rendered certificate
    (Form D boxes or a table) as an HTML fragment, its root and proof. Others get 403."""
    principal = _service(request).auth.principal(request)
    h = normalise_hash(target_hash)
    record = load_record(_service(request), h) if h else None
    if record is None or record.is_root:
        raise Problem(404, "CERTIFICATE_NOT_FOUND", "this service keeps no certificate with this fingerprint")
    wrapped = visible_copy(principal, record)
    if wrapped is None:
        raise Problem(
            403,
            "NOT_ENTITLED",
            "this key may not see this certificate's content: it is shown to the "
            "issuing authority, the importing customs that received it and the "
            "auditors of the issuing country",
        )
    issuer_view = principal.role == "issuer"
    can_link = issuer_view and record.issued is not None and record.issued.state == "ANCHORED"
    html = _content_fragment(request, record, wrapped, principal, issuer_view)
    return JSONResponse(
        {
            "targetHash": h,
            "html": html,
            "formD": (raw_data(wrapped) or {}).get("documentType") == "FORM_D",
            "canMakeLink": can_link,
            "documentId": record.issued.document_id if issuer_view and record.issued else None,
        },
        headers={"Cache-Control": "no-store"},
    )


@router.post("/portal/api/certificates/{target_hash}/links")
def api_make_link(request: Request, target_hash: str) -> JSONResponse:
    """For the issuing authority: a new QR capability link (shown once) with its QR codes, to print."""
    service = _service(request)
    principal = _principal(request, "issuer")
    h = normalise_hash(target_hash)
    record = load_record(service, h) if h else None
    if record is None or record.is_root or record.issued is None or not may_see_content(principal, record):
        raise Problem(404, "CERTIFICATE_NOT_FOUND", "no certificate with this fingerprint issued by this key's issuer")
    with service.sessions() as s:
        d = s.get(Document, record.issued.document_id)
    try:
        link, url = create_link(service.sessions, d, public_base(service, request))
    except LinkError as exc:
        raise Problem(409, "NOT_ANCHORED", str(exc)) from None
    label = "QR code opening this certificate"
    return JSONResponse(
        {"id": link.id, "url": url, "qr": qr_svg(url, label), "qrPrint": qr_svg(url, label, "qr-print")},
        status_code=201,
        headers={"Cache-Control": "no-store"},
    )


@router.get("/portal/api/q/{token}")
def api_capability(request: Request, token: str) -> JSONResponse:
    """The ciphertext behind a QR link (useless without the key in the link's fragment)."""
    retry = _limited(request)
    if retry is not None:
        raise _too_many_problem(retry)
    link = find_link(_service(request).sessions, token)
    if link is None:
        raise Problem(404, "LINK_NOT_FOUND", "no such QR link")
    if link.revoked_at is not None:
        raise Problem(410, "LINK_REVOKED", "the issuer withdrew this QR link")
    return JSONResponse(
        {
            "token": link.token,
            "algorithm": ALGORITHM,
            "nonce": b64url(link.nonce),
            "ciphertext": b64url(link.ciphertext),
        },
        headers={"Cache-Control": "no-store"},
    )


MAX_STATUS = 500


@router.post("/portal/api/status")
async def api_status(request: Request) -> JSONResponse:
    """On-chain status of many documents this service issued or received, for the issuer page: {"documents":
    [{"targetHash", "merkleRoot"}]} (UNKNOWN for a document the service keeps no copy of: it cannot tell which store
    to ask). Any valid API key (its own rate limit applies)."""
    service = _service(request)
    principal = service.auth.principal(request)
    body = await request.body()
    try:
        parsed = jsonlimits.loads(body, service.settings.max_json_depth)
        items = parsed["documents"]
        assert isinstance(items, list)
        pairs = [(normalise_hash(i["targetHash"]), normalise_hash(i["merkleRoot"])) for i in items]
    except Exception:
        raise Problem(400, "INVALID_REQUEST", 'send {"documents": [{"targetHash": ..., "merkleRoot": ...}]}') from None
    if len(pairs) > MAX_STATUS:
        raise Problem(413, "TOO_MANY_DOCUMENTS", f"at most {MAX_STATUS} documents per request")
    service.auth.charge_documents(principal, len(pairs))
    if any(t is None or r is None for t, r in pairs):
        raise Problem(422, "INVALID_HASH", "hashes are 64 hex digits")

    def read() -> dict[str, Any]:
        from certnet.index.audit import document_store
        from certnet.node.contracts import REVOCATION_REASON_NAMES
        from certnet.node.rpc import deadline
        from certnet.verifier.sources import SourceError

        # the status lives in the store the document names: this service's own copy says which, and its proof
        queries, known = [], []
        for t, r in pairs:
            record = load_record(service, t)  # type: ignore[arg-type]  # no None left: checked before read()
            copy = None
            if record is not None and not record.is_root:
                copy = (record.issued.wrapped if record.issued else None) or (
                    record.received[0].wrapped if record.received else None
                )
            store = document_store(copy) if copy else None
            if store and copy["signature"]["merkleRoot"] == r:  # type: ignore[index]  # a store only from a copy
                queries.append((store, r, t, copy["signature"]["proof"]))  # type: ignore[index]  # a store only from a copy
                known.append(True)
            else:
                known.append(False)
        try:
            with deadline(service.settings.verify_timeout):
                block, block_hash, found = service.chain_source.read(queries)
        except SourceError as exc:
            raise Problem(503, "CHAIN_UNAVAILABLE", str(exc)) from None
        statuses = iter(found)
        out: list[dict[str, Any]] = []
        for (t, _), is_known in zip(pairs, known, strict=True):
            if not is_known:
                out.append(
                    {
                        "targetHash": t,
                        "status": "UNKNOWN",
                        "revocationReason": None,
                        "revocationReasonText": None,
                        "revokedAtUtc": None,
                        "wholeBatch": None,
                        "successor": None,
                    }
                )
                continue
            s = next(statuses)
            state = "REVOKED" if s.revoked else "SUPERSEDED" if s.superseded else "ISSUED" if s.issued else "NOT_ISSUED"
            reason = REVOCATION_REASON_NAMES.get(s.revocation_reason) if s.revoked else None
            out.append(
                {
                    "targetHash": t,
                    "status": state,
                    "revocationReason": reason,
                    "revocationReasonText": REASON_SENTENCES.get(reason or "") if reason else None,
                    "revokedAtUtc": utc(s.revoked_at) if s.revoked else None,
                    "wholeBatch": bool(s.root_revoked) if s.revoked else None,
                    "successor": s.successor_document if s.superseded else None,
                }
            )
        return {"blockNumber": block, "blockHash": block_hash, "documents": out}

    return JSONResponse(await run_in_threadpool(read))


def _audit_query(
    principal: Principal,
    issuer: str | None,
    date_from: str | None,
    date_to: str | None,
    reference: str | None,
    limit: int,
) -> AuditQuery:
    return AuditQuery(
        country=principal.country,
        issuer=issuer or None,
        date_from=date_from or None,
        date_to=date_to or None,
        reference=reference or None,
        limit=limit,
    )


@router.get("/portal/api/audit/search")
def api_audit_search(
    request: Request,
    issuer: str | None = Query(None, max_length=64),
    date_from: str | None = Query(None, alias="from", max_length=10),
    date_to: str | None = Query(None, alias="to", max_length=10),
    reference: str | None = Query(None, max_length=128),
    limit: int = Query(100, ge=1, le=500),
) -> JSONResponse:
    """Auditor key required: documents of the key's jurisdiction with their on-chain events."""
    principal = _principal(request, "auditor")
    q = _audit_query(principal, issuer, date_from, date_to, reference, limit)
    try:
        result = audit_search(_service(request), q, principal)
    except HistoryError as exc:
        raise Problem(503, "CHAIN_UNAVAILABLE", str(exc)) from None
    return JSONResponse(result, headers={"Cache-Control": "no-store"})


@router.get("/portal/api/audit/export")
def api_audit_export(
    request: Request,
    issuer: str | None = Query(None, max_length=64),
    date_from: str | None = Query(None, alias="from", max_length=10),
    date_to: str | None = Query(None, alias="to", max_length=10),
    reference: str | None = Query(None, max_length=128),
    limit: int = Query(500, ge=1, le=500),
) -> StreamingResponse:
    """The same search as NDJSON in the format of `certnet.index.audit` (`certnet audit check` re-verifies it against
    any node): a header line (network, registries, query), one line per event (block number and hash, transaction,
    log index, time, hashes), one line per document (targetHash, merkleRoot, Merkle proof)."""
    principal = _principal(request, "auditor")
    q = _audit_query(principal, issuer, date_from, date_to, reference, limit)
    try:
        result = audit_search(_service(request), q, principal)
    except HistoryError as exc:
        raise Problem(503, "CHAIN_UNAVAILABLE", str(exc)) from None
    now = dt.datetime.now(dt.UTC)
    from certnet.index.audit import export_lines

    events: dict[tuple[str, str, int], dict[str, Any]] = {}
    documents = []
    for r in result["results"]:
        for e in r["events"]:
            events.setdefault((e["kind"], e["transactionHash"], e["logIndex"]), e)
        documents.append(
            {
                "store": r["store"],
                "targetHash": r["targetHash"],
                "merkleRoot": r["merkleRoot"],
                "proof": r["proof"] or [],
                "referenceNumber": r["referenceNumber"],
                "issuingCountry": r["issuingCountry"],
                "documentType": r["documentType"],
                "issuer": r["issuer"],
                "anchoredAt": r["anchoredAt"],
                "chainStatus": r["chainStatus"],
                "knownAs": r["knownAs"],
            }
        )
    net = result["network"]
    header = {
        "chainId": net["chainId"],
        "network": net["name"],
        "issuerRegistry": net["issuerRegistry"],
        "country": principal.country,
        "query": result["query"],
        "generatedAt": now.isoformat(timespec="seconds"),
        "historySource": result["historySource"],
        "truncated": result["truncated"],
        "events": len(events),
        "documents": len(documents),
    }
    ordered = sorted(events.values(), key=lambda e: (e["blockNumber"], e["logIndex"], e["kind"]))
    name = f"certnet-audit-{principal.country}-{now.strftime('%Y%m%dT%H%M%SZ')}.ndjson"
    return StreamingResponse(
        (line.encode() for line in export_lines(header, ordered, documents)),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


# ------------------------------------------------------------------ anything else under /portal


@router.get("/portal/{rest:path}", response_class=HTMLResponse)
def not_found(request: Request, rest: str) -> HTMLResponse:
    return message_page(request, 404, "Page not found", "There is no such page in the portal.")
