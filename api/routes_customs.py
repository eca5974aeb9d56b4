"""Verification (every role) and the importing customs' inbox, certificate look-up and notifications."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from certnet.api import openapi_examples as ex
from certnet.api.app import PROBLEM_RESPONSES, LimitQuery, OffsetQuery, PrincipalDep, id_path, service_of
from certnet.api.auth import Principal, require
from certnet.api.disclosure import received_record, visible_copy
from certnet.api.models import ApiKey, ReceivedDocument, Subscription
from certnet.api.problems import Problem
from certnet.api.webhooks import TargetRefused, subscription_count
from certnet.issuer.outbox import insert_ignoring_duplicates, utcnow
from certnet.verifier.jsjson import dump_bytes
from certnet.verifier.verdict import Verdict

router = APIRouter(prefix="/v1", tags=["verification and customs"], responses=PROBLEM_RESPONSES)

Mode = Literal["chain", "index"]
_MODE_HELP = "`chain` reads the node directly; `index` reads the service's index (fast; the verdict names its block)"
SubscriptionId = Annotated[int, id_path("id of one of this customs' webhooks", 1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VerifyRequest(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"document": ex.WRAPPED[0]}]})

    document: dict[str, Any] = Field(description="a wrapped OpenAttestation v2 document")


class BulkVerifyRequest(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"documents": ex.WRAPPED}]})

    documents: list[dict[str, Any]] = Field(min_length=1)


class CheckOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ex.CHECK_INTEGRITY, ex.CHECK_REVOKED]})

    type: str
    status: str
    code: str
    message: str
    details: dict[str, Any] = {}


class VerdictOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ex.VERDICT_VALID, ex.VERDICT_REVOKED]})

    status: str = Field(
        description="VALID, TAMPERED, NOT_ISSUED, REVOKED, SUPERSEDED, UNAUTHORIZED_ISSUER, "
        "WRONG_NETWORK, MALFORMED or ERROR"
    )
    message: str
    checks: list[CheckOut]
    chainId: int | None
    blockNumber: int | None
    blockHash: str | None
    source: str
    document: dict[str, Any]
    issuer: dict[str, Any] | None
    revocation: dict[str, Any] | None
    successor: dict[str, Any] | None


class BulkVerdictOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ex.BULK_VERDICT]})

    results: list[VerdictOut]
    counts: dict[str, int]


def verdict_out(v: Verdict) -> dict[str, Any]:
    """A verdict as the API writes it: the shape of :class:`VerdictOut`, as plain data (a bulk answer holds a
    thousand of them; building models for each would cost more than verifying)."""
    return {
        "status": v.status,
        "message": v.message,
        "checks": [
            {"type": c.type, "status": c.status, "code": c.code, "message": c.message, "details": c.details}
            for c in v.checks
        ],
        "chainId": v.chain_id,
        "blockNumber": v.block_number,
        "blockHash": v.block_hash,
        "source": v.source,
        "document": v.document,
        "issuer": v.issuer,
        "revocation": v.revocation,
        "successor": v.successor,
    }


def _verify(request: Request, principal: Principal, documents: list[dict[str, Any]], mode: str) -> list[Verdict]:
    service = service_of(request)
    verdicts = service.verifier(mode).verify_many(documents)
    counted: dict[str, int] = {}
    for v in verdicts:
        counted[v.status] = counted.get(v.status, 0) + 1
    for status, n in counted.items():
        service.metrics.verdicts.labels(status, mode).inc(n)
    if principal.role == "customs":  # what a customs verified, it hears about
        service.notifier.watch_many(
            principal.country,
            [
                (
                    v.document["targetHash"],
                    v.document["merkleRoot"],
                    v.document.get("referenceNumber"),
                    v.document["documentStore"],
                )
                for v in verdicts
                if v.status in ("VALID", "SUPERSEDED", "UNAUTHORIZED_ISSUER")
                and v.document.get("targetHash")
                and v.document.get("documentStore")
            ],
        )
    return verdicts


@router.post(
    "/verify",
    response_model=VerdictOut,
    summary="Verify one document",
    description="Any key (issuer, customs, auditor, admin). Checks integrity, status on the registry, the "
    "issuer's authority at the time of issue and the issuer's signature when present; a customs "
    "key is then notified when the document is revoked or superseded. `mode=index` reads the "
    "service's index (fast; the verdict names the index's block); `mode=chain` reads the node "
    "directly.",
)
async def verify(
    body: VerifyRequest,
    request: Request,
    principal: Principal = PrincipalDep,
    mode: Annotated[Mode, Query(description=_MODE_HELP, openapi_examples=ex.param("chain", "read the node"))] = "chain",
) -> Any:
    if mode == "chain" or not service_of(request).head_is_cached():
        # a blocking call to the node (the verification, or the head for the index's lag): off the event loop
        verdicts = await run_in_threadpool(_verify, request, principal, [body.document], mode)
    else:  # the index answers from local SQL in microseconds: no thread hop
        verdicts = _verify(request, principal, [body.document], mode)
    return verdict_out(verdicts[0])


@router.post(
    "/verify/bulk",
    response_model=BulkVerdictOut,
    summary="Verify many documents in one call",
    description="Any key (issuer, customs, auditor, admin). Verifies up to the service's per-request limit "
    "(1000 by default) as /v1/verify does, with a count of verdicts by status.",
)
def verify_bulk(
    body: BulkVerifyRequest,
    request: Request,
    principal: Principal = PrincipalDep,
    mode: Annotated[
        Mode, Query(description=_MODE_HELP, openapi_examples=ex.param("index", "read the service's index"))
    ] = "index",
) -> Response:
    service = service_of(request)
    limit = service.settings.max_documents
    if len(body.documents) > limit:
        raise Problem(413, "TOO_MANY_DOCUMENTS", f"{len(body.documents)} documents; at most {limit} per request")
    service.auth.charge_documents(principal, len(body.documents))
    verdicts = _verify(request, principal, body.documents, mode)
    counts: dict[str, int] = {}
    for v in verdicts:
        counts[v.status] = counts.get(v.status, 0) + 1
    # written directly (BulkVerdictOut documents the shape): validating a thousand verdicts again costs more
    # than verifying them
    return Response(
        dump_bytes({"results": [verdict_out(v) for v in verdicts], "counts": counts}), media_type="application/json"
    )


# ------------------------------------------------------------------ inbox


class InboxRequest(Strict):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"document": ex.WRAPPED[0], "nswReference": ex.NSW_REFERENCE}]}
    )

    document: dict[str, Any]
    nswReference: str | None = Field(None, max_length=128, description="the national single window's own reference")


class InboxEntry(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ex.INBOX_ENTRY]})

    id: int
    issuingCountry: str | None
    referenceNumber: str | None
    targetHash: str
    nswReference: str | None
    statusOnArrival: str
    receivedAt: str
    verdict: VerdictOut | None = None


def _entry(r: ReceivedDocument, verdict: Verdict | None = None) -> InboxEntry:
    return InboxEntry(
        id=r.id,
        issuingCountry=r.issuing_country,
        referenceNumber=r.reference_number,
        targetHash=r.target_hash,
        nswReference=r.nsw_reference,
        statusOnArrival=r.status_on_arrival,
        receivedAt=r.received_at.isoformat() + "Z",
        verdict=verdict_out(verdict) if verdict else None,
    )


@router.post(
    "/inbox",
    status_code=201,
    response_model=InboxEntry,
    summary="Register a document the single window received: verified on arrival, kept, watched",
    description="For customs keys. Verifies the document, keeps it in this customs' inbox (a repeat returns "
    "the existing entry) and watches it for revocations and supersessions; tampered or "
    "malformed documents are refused.",
)
def inbox_add(body: InboxRequest, request: Request, principal: Principal = PrincipalDep) -> InboxEntry:
    require(principal, "customs")
    service = service_of(request)
    v = service.verifier("chain").verify(body.document)
    if v.status in ("MALFORMED", "TAMPERED") or not v.document.get("targetHash"):
        raise Problem(422, f"DOCUMENT_{v.status}", v.message)
    th = v.document["targetHash"]
    mine = (ReceivedDocument.customs_country == principal.country, ReceivedDocument.target_hash == th)
    with service.sessions() as s:
        existing = s.scalar(select(ReceivedDocument).where(*mine))
    if existing is None:  # kept once, even when the same document arrives at two processes at once
        now = utcnow()
        with service.sessions.begin() as s:
            insert_ignoring_duplicates(
                s,
                ReceivedDocument.__table__,
                [
                    dict(
                        customs_country=principal.country,
                        key_id=principal.key_id,
                        issuing_country=v.document.get("issuingCountry"),
                        reference_number=v.document.get("referenceNumber"),
                        target_hash=th,
                        merkle_root=v.document["merkleRoot"],
                        document=body.document,
                        nsw_reference=body.nswReference,
                        status_on_arrival=v.status,
                        last_status=v.status,
                        received_at=now,
                        checked_at=now,
                    )
                ],
                ("customs_country", "target_hash"),
            )
        with service.sessions() as s:
            existing = s.scalar(select(ReceivedDocument).where(*mine))
    service.notifier.watch(
        principal.country, th, v.document["merkleRoot"], v.document["documentStore"], v.document.get("referenceNumber")
    )
    return _entry(existing, v)  # type: ignore[arg-type]  # recorded by this request or before it


@router.get(
    "/inbox",
    response_model=list[InboxEntry],
    summary="Documents this customs received, newest first",
    description="For customs keys: the inbox of the key's country, a page at a time, with each document's "
    "status on arrival.",
    responses={200: ex.json_example(ex.INBOX_LIST, "This customs' inbox")},
)
def inbox_list(
    request: Request, principal: Principal = PrincipalDep, limit: LimitQuery = 50, offset: OffsetQuery = 0
) -> list[InboxEntry]:
    require(principal, "customs")
    with service_of(request).sessions() as s:
        rows = list(
            s.scalars(
                select(ReceivedDocument)
                .where(ReceivedDocument.customs_country == principal.country)
                .order_by(ReceivedDocument.id.desc())
                .limit(limit)
                .offset(offset)
            )
        )
    return [_entry(r) for r in rows]


@router.get(
    "/certificates/{issuing_country}/{reference_number:path}",
    response_model=InboxEntry,
    summary="Current status of a received certificate by issuing country and reference number",
    description="For customs keys, about certificates in their own inbox: verifies the kept document again "
    "on the chain and answers with today's verdict.",
)
def certificate_status(
    issuing_country: Annotated[
        str,
        Path(description="ISO 3166-1 alpha-2 code of the issuing country", openapi_examples=ex.param("VN", "Viet Nam")),
    ],
    reference_number: Annotated[
        str,
        Path(
            description="the certificate's reference number (it may hold `/`)",
            openapi_examples=ex.param(ex.REFERENCE, "a Vietnamese Form D"),
        ),
    ],
    request: Request,
    principal: Principal = PrincipalDep,
) -> InboxEntry:
    require(principal, "customs")
    if len(reference_number) > 128 or len(issuing_country) != 2:
        raise Problem(422, "INVALID_REFERENCE", "issuing country is 2 letters, reference at most 128 characters")
    service = service_of(request)
    with service.sessions() as s:
        r = s.scalar(
            select(ReceivedDocument)
            .where(
                ReceivedDocument.customs_country == principal.country,
                ReceivedDocument.issuing_country == issuing_country.upper(),
                ReceivedDocument.reference_number == reference_number,
            )
            .order_by(ReceivedDocument.id.desc())
        )
    if r is None:
        raise Problem(
            404,
            "CERTIFICATE_NOT_RECEIVED",
            f"no certificate {reference_number!r} from {issuing_country.upper()} in this customs' inbox",
        )
    document = visible_copy(principal, received_record(r))  # this customs' own copy, as it received it
    if document is None:
        raise Problem(
            404,
            "CERTIFICATE_NOT_RECEIVED",
            f"no certificate {reference_number!r} from {issuing_country.upper()} in this customs' inbox",
        )
    v = service.verifier("chain").verify(document)
    with service.sessions.begin() as s:
        row = s.get(ReceivedDocument, r.id)
        assert row is not None  # read above as r
        row.last_status, row.checked_at = v.status, utcnow()
    return _entry(r, v)


# ------------------------------------------------------------------ notifications


class SubscriptionRequest(Strict):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"url": "https://nsw.customs.example/certnet/notices"}]}
    )

    url: AnyHttpUrl = Field(description="where revocation notices are POSTed (JSON, signed with HMAC-SHA256)")


class SubscriptionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ex.SUBSCRIPTION_CREATED, ex.SUBSCRIPTION_LIST[0]]})

    id: int
    url: str
    secret: str | None = Field(None, description="shown once: verify X-Certnet-Signature = sha256=HMAC(secret, body)")


def _same_side(principal: Principal) -> Any:
    """The keys whose webhooks this key sees: customs keys of its country, or its country's issuing side (issuer and
    admin keys)."""
    roles = ("customs",) if principal.role == "customs" else ("issuer", "admin")
    return select(ApiKey.id).where(ApiKey.country == principal.country, ApiKey.role.in_(roles))


def _side(principal: Principal) -> str:
    """Which notices a key's server-sent events carry: the customs' (revocations, supersessions, its customs
    decisions and checks) or the issuing side's (the customs decisions and checks on its certificates)."""
    return "customs" if principal.role == "customs" else "issuing"


@router.post(
    "/subscriptions",
    status_code=201,
    response_model=SubscriptionOut,
    summary="Subscribe a webhook to revocations and supersessions of documents this customs received "
    "or verified, and to the steps of customs decisions and retroactive checks",
    description="For customs keys, and for issuer and admin keys (the issuing side of customs decisions and "
    "retroactive checks: opened, answered, closed, reminders, overdue). Notices are POSTed as "
    "JSON signed with the secret returned here (once); failed deliveries are retried with "
    "backoff. The URL must lead to public addresses only "
    "(not loopback, link-local, private, multicast or reserved ones, unless the operator allows "
    "them), checked now and at every delivery; redirects are not followed. A key holds at most "
    "the service's `max_subscriptions` (20 by default).",
)
def subscribe(body: SubscriptionRequest, request: Request, principal: Principal = PrincipalDep) -> SubscriptionOut:
    require(principal, "customs", "issuer", "admin")
    url = str(body.url)
    if len(url) > 2000:
        raise Problem(422, "URL_TOO_LONG", "webhook URLs are limited to 2000 characters")
    service = service_of(request)
    try:
        service.webhooks.check_target(url)
    except TargetRefused as exc:
        raise Problem(422, "WEBHOOK_TARGET_REFUSED", f"url: {exc}", [{"field": "url", "message": str(exc)}]) from None
    secret = secrets.token_hex(32)
    cap = service.settings.max_subscriptions
    with service.sessions.begin() as s:
        if subscription_count(s, principal.key_id) >= cap:
            raise Problem(
                409,
                "TOO_MANY_SUBSCRIPTIONS",
                f"this key already has {cap} active subscriptions, the "
                "most it may hold; remove one first (DELETE /v1/subscriptions/{id})",
            )
        sub = Subscription(key_id=principal.key_id, country=principal.country, url=url, secret=secret)
        s.add(sub)
        s.flush()
        return SubscriptionOut(id=sub.id, url=url, secret=secret)


@router.get(
    "/subscriptions",
    response_model=list[SubscriptionOut],
    summary="This customs' webhooks",
    description="For customs keys (and issuer and admin keys): the active webhooks of the key's country and "
    "side (without their secrets).",
    responses={200: ex.json_example(ex.SUBSCRIPTION_LIST, "This customs' webhooks")},
)
def subscriptions(request: Request, principal: Principal = PrincipalDep) -> list[SubscriptionOut]:
    require(principal, "customs", "issuer", "admin")
    with service_of(request).sessions() as s:
        rows = list(
            s.scalars(
                select(Subscription).where(
                    Subscription.key_id.in_(_same_side(principal)), Subscription.active.is_(True)
                )
            )
        )
    return [SubscriptionOut(id=r.id, url=r.url) for r in rows]


@router.delete(
    "/subscriptions/{subscription_id}",
    status_code=204,
    summary="Remove a webhook",
    description="For customs keys (and issuer and admin keys), about their own country's and side's "
    "webhooks: no more notices go to it.",
)
def unsubscribe(subscription_id: SubscriptionId, request: Request, principal: Principal = PrincipalDep) -> None:
    require(principal, "customs", "issuer", "admin")
    with service_of(request).sessions.begin() as s:
        sub = s.get(Subscription, subscription_id)
        if sub is None or sub.key_id not in set(s.scalars(_same_side(principal))):
            raise Problem(404, "SUBSCRIPTION_NOT_FOUND", f"no subscription {subscription_id} of this customs")
        sub.active = False


@router.get(
    "/events/stream",
    summary="Server-sent events: revocations and supersessions of watched documents",
    response_class=StreamingResponse,
    description="For customs keys: a never-ending `text/event-stream` of the notices the webhooks get, for "
    "documents the key's country received or verified, with a keep-alive comment every 10 s. "
    "Any process of the service (every worker, every replica on the same database) hears every "
    "notice. Each event carries an `id`; a client that reconnects with `Last-Event-ID` first "
    "gets the notices it missed (kept for a day). Customs, issuer and admin keys also hear the "
    "steps of the customs decisions and retroactive checks that concern their side.",
    responses={200: ex.text_example("text/event-stream", ex.EVENT_STREAM, "Server-sent events")},
)
async def events(
    request: Request,
    principal: Principal = PrincipalDep,
    last_event_id: str | None = Header(
        None,
        max_length=20,
        description="resume after this event id",
        openapi_examples=ex.param("41", "the last event received"),
    ),
) -> StreamingResponse:
    require(principal, "customs", "issuer", "admin")
    notifier = service_of(request).notifier
    side = _side(principal)
    queue = notifier.add_listener(principal.country)
    after = int(last_event_id) if last_event_id and last_event_id.isdigit() else None
    missed = await run_in_threadpool(notifier.notices_after, after, principal.country) if after is not None else []

    def event(notice_id: int, payload: dict[str, Any]) -> bytes:
        return f"id: {notice_id}\nevent: {payload['event']}\ndata: {json.dumps(payload)}\n\n".encode()

    async def stream() -> AsyncIterator[bytes]:
        sent = after or 0
        try:
            yield b": connected\n\n"
            for notice_id, _, payload in missed:
                if payload.get("audience", "customs") == side:
                    yield event(notice_id, payload)
                sent = notice_id
            while not await request.is_disconnected():
                try:
                    notice_id, payload = await asyncio.wait_for(queue.get(), timeout=10)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                if notice_id > sent:  # not already sent from the missed ones
                    if payload.get("audience", "customs") == side:  # this key's side's notices only
                        yield event(notice_id, payload)
                    sent = notice_id
        finally:
            notifier.remove_listener(queue)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"cache-control": "no-cache"})
