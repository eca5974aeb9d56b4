"""Auditors: a certificate's history, and a jurisdiction's export for a period (NDJSON, re-checkable)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from certnet.api import openapi_examples as ex
from certnet.api.app import PROBLEM_RESPONSES, PrincipalDep, service_of
from certnet.api.auth import Principal, require
from certnet.api.disclosure import issued_record, load_record, may_see_content, status_event, visible_copy
from certnet.api.problems import Problem
from certnet.index.audit import document_store, export_lines
from certnet.issuer.outbox import Batch, Document
from certnet.node.countries import is_country

router = APIRouter(prefix="/v1", tags=["audit"], responses=PROBLEM_RESPONSES)
HEX64 = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")
MAX_EXPORT_DAYS = 366


class HistoryOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ex.HISTORY]})

    hash: str
    indexedBlock: int | None
    proof: dict[str, Any] | None
    events: list[dict[str, Any]]


def _proof(wrapped: dict[str, Any] | None) -> dict[str, Any] | None:
    """(store, targetHash, merkleRoot, proof) of a wrapped document."""
    sig = (wrapped or {}).get("signature")
    if not isinstance(sig, dict):
        return None
    return {
        "store": document_store(wrapped),
        "targetHash": sig.get("targetHash"),
        "merkleRoot": sig.get("merkleRoot"),
        "proof": sig.get("proof"),
    }


def _index(request: Request) -> Any:
    service = service_of(request)
    if service.index_source is None:
        raise Problem(503, "INDEX_UNAVAILABLE", "this service runs without an index")
    return service.index_source.index


@router.get(
    "/history/{hash}",
    response_model=HistoryOut,
    summary="Every event of a certificate (anchored, revoked, superseded) with block, time, transaction "
    "and the proof that ties the document to its root",
    description="For auditor and customs keys: the certificate's events from the service's index, each "
    "naming the document store that emitted it; when this service issued or received the "
    "document, only its own store's events are listed (the same hashes anchored in another store "
    "are another authority's business). Those entitled to the document's content (auditors of "
    "the issuing country, the customs whose inbox holds it) get every event with its root and "
    "transaction and the Merkle proof; the others get the status only (kinds, blocks, times, "
    "reasons, successors). Revocations and supersessions say whether they count (`counts`).",
)
def history(
    hash: Annotated[
        str,
        Path(
            description="a targetHash or Merkle root: 64 hex digits, with or without 0x",
            openapi_examples=ex.param(ex.TARGET_HASH, "a Form D's targetHash"),
        ),
    ],
    request: Request,
    principal: Principal = PrincipalDep,
) -> HistoryOut:
    require(principal, "auditor", "customs")
    if not HEX64.match(hash):
        raise Problem(422, "MALFORMED_HASH", "give a targetHash or Merkle root: 64 hex digits")
    h = hash.lower().removeprefix("0x")
    index = _index(request)
    record = load_record(service_of(request), h)
    copy = None
    if record is not None and not record.is_root:
        copy = (record.issued.wrapped if record.issued else None) or (
            record.received[0].wrapped if record.received else None
        )
    store = document_store(copy) if copy else None
    events = [e.as_dict() for e in index.history(h, record.merkle_root if record else None, store)]
    if record is None or not may_see_content(principal, record):  # the status only: nothing ties hash to content
        return HistoryOut(
            hash=h, indexedBlock=index.indexed_block().number, proof=None, events=[status_event(e) for e in events]
        )
    proof = None if record.is_root else _proof(visible_copy(principal, record))
    return HistoryOut(hash=h, indexedBlock=index.indexed_block().number, proof=proof, events=events)


def _time(value: str, name: str) -> int:
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Problem(422, "MALFORMED_TIME", f"{name}: an ISO 8601 date or time, e.g. 2026-01-31") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return int(t.timestamp())


def _customs_documents(
    service: Any, principal: Principal, events: list[dict[str, Any]], have: set[str]
) -> list[dict[str, Any]]:
    """Document lines for the certificates of the export's customs decisions and checks that this auditor may see
    (see certnet.api.disclosure): their proofs tie each to a root anchored in its store."""
    from certnet.index.audit import CUSTOMS_EVENTS

    wanted = {e["document"]: e["store"] for e in events if e["kind"] in CUSTOMS_EVENTS and e["document"] not in have}
    out = []
    for h, store in wanted.items():
        record = load_record(service, h)
        p = _proof(visible_copy(principal, record)) if record is not None else None
        if p and p["store"] == store:
            out.append(p)
    return out


@router.get(
    "/audit/export",
    summary="A jurisdiction's events for a period, as NDJSON that `certnet audit check` re-verifies against any node",
    response_class=StreamingResponse,
    description="For auditor keys, for their own country only: a header line, one line per registry event of "
    "the country in the period (at most 366 days) — customs decisions and retroactive checks "
    "included, those the country made as importer and those on its authorities' certificates "
    "(hashes only: the texts stay with the two services) — and one per document of its "
    "anchored batches and of the certificates of those decisions and checks, with its Merkle "
    "proof, as far as the auditor may see them.",
    responses={
        200: ex.text_example("application/x-ndjson", ex.AUDIT_EXPORT, "NDJSON: header, event and document lines")
    },
)
def export(
    request: Request,
    principal: Principal = PrincipalDep,
    country: str = Query(
        min_length=2,
        max_length=2,
        description="the auditor's own country (ISO 3166-1 alpha-2 code)",
        openapi_examples=ex.param("VN", "Viet Nam"),
    ),
    start: str = Query(
        alias="from",
        max_length=40,
        description="start of the period: an ISO 8601 date or time (UTC unless it says otherwise)",
        openapi_examples=ex.param("2024-06-01", "June 2024"),
    ),
    end: str = Query(
        alias="to",
        max_length=40,
        description="end of the period (excluded), as `from`",
        openapi_examples=ex.param("2024-07-01", "June 2024"),
    ),
) -> StreamingResponse:
    require(principal, "auditor")
    if not is_country(country):
        raise Problem(422, "UNKNOWN_COUNTRY", f"unknown ISO 3166-1 alpha-2 country code {country!r}")
    if country != principal.country:
        raise Problem(403, "OUTSIDE_JURISDICTION", f"this key audits {principal.country}, not {country}")
    t0, t1 = _time(start, "from"), _time(end, "to")
    if t1 <= t0 or t1 - t0 > MAX_EXPORT_DAYS * 86400:
        raise Problem(422, "BAD_PERIOD", f"`to` must be after `from`, at most {MAX_EXPORT_DAYS} days later")
    service = service_of(request)
    index = _index(request)
    events = [e.as_dict() for e in index.events_between(country, t0, t1)]
    stores = {(e["root"], e["store"]) for e in events if e["kind"] == "ANCHORED"}
    roots = {r for r, _ in stores}
    with service.sessions() as s:
        rows = (
            list(
                s.scalars(
                    select(Document).join(Batch, Batch.id == Document.batch_id).where(Batch.merkle_root.in_(roots))
                )
            )
            if roots
            else []
        )
    documents = [
        p
        for p in (_proof(visible_copy(principal, issued_record(d))) for d in rows)
        if p and (p["merkleRoot"], p["store"]) in stores
    ]  # anchored in the store it names
    documents += _customs_documents(service, principal, events, {p["targetHash"] for p in documents})
    d = service.deployment
    header = {
        "chainId": d.chain_id,
        "network": d.name,
        "issuerRegistry": d.issuer_registry,
        "customsRecord": d.customs_record,
        "country": country,
        "from": t0,
        "to": t1,
        "indexedBlock": index.indexed_block().number,
        "events": len(events),
        "documents": len(documents),
    }
    filename = f"certnet-{country}-{start[:10]}-{end[:10]}.ndjson"
    return StreamingResponse(
        export_lines(header, events, documents),
        media_type="application/x-ndjson",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )
