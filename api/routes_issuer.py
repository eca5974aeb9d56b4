"""Issuing authorities: submit documents, follow their pipeline state, revoke, supersede."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from certnet.api import openapi_examples as ex
from certnet.api.app import PROBLEM_RESPONSES, LimitQuery, OffsetQuery, PrincipalDep, id_path, service_of
from certnet.api.auth import Principal, require
from certnet.api.disclosure import issued_record, may_see_content
from certnet.api.links import LinkError, create_link, links_of, public_base, revoke_link
from certnet.api.problems import Problem
from certnet.issuer.outbox import Action, Batch, BatchEvent, Document
from certnet.issuer.pipeline import SubmissionError
from certnet.node.contracts import REVOCATION_REASONS

router = APIRouter(prefix="/v1", tags=["issuers"], responses=PROBLEM_RESPONSES)

DocType = Literal["FORM_D", "EPHYTO", "ECERT"]
Reason = Literal[tuple(REVOCATION_REASONS)]  # type: ignore[valid-type]
DocumentId = Annotated[int, id_path("outbox id of a document this issuer submitted", 42)]
ActionId = Annotated[int, id_path("id of a revocation or supersession this issuer requested", 3)]
LinkId = Annotated[int, id_path("id of one of the document's QR links", 7)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubmitRequest(Strict):
    documents: list[dict[str, Any]] = Field(min_length=1, description="raw documents (the certificate content)")
    documentType: DocType | None = Field(None, description="type of all documents when they do not say it")

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"documentType": "FORM_D", "documents": ex.RAW_FORM_DS}]}
    )


class BatchHistoryEvent(BaseModel):
    """One event of a batch's history."""

    model_config = ConfigDict(json_schema_extra={"examples": [ex.BATCH_EVENT]})

    event: Literal["ANCHORED", "REANCHOR", "MOVED", "RESIGN"] = Field(
        description="ANCHORED (at the confirmation depth); REANCHOR (the chain lost the anchor, e.g. a node "
        "restart or a reorg: the same root is anchored again, wrapped documents stay valid); MOVED "
        "(re-mined in another block); RESIGN (its transaction could not be mined: signed again)"
    )
    at: str = Field(description="when the service recorded it (UTC, ISO 8601)")
    blockNumber: int | None = None
    blockHash: str | None = None
    transactionHash: str | None = None
    detail: str | None = None


def _history(s: Any, batch_ids: list[int]) -> dict[int, list[BatchHistoryEvent]]:
    out: dict[int, list[BatchHistoryEvent]] = {i: [] for i in batch_ids}
    if batch_ids:
        for e in s.scalars(select(BatchEvent).where(BatchEvent.batch_id.in_(batch_ids)).order_by(BatchEvent.id)):
            out[e.batch_id].append(
                BatchHistoryEvent(
                    event=e.event,
                    at=e.created_at.isoformat() + "Z",
                    blockNumber=e.block_number,
                    blockHash=e.block_hash,
                    transactionHash=e.tx_hash,
                    detail=e.detail,
                )
            )
    return out


class DocumentState(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ex.DOCUMENT_ANCHORED, ex.DOCUMENT_SUBMITTED]})

    id: int
    referenceNumber: str
    documentType: str
    state: str
    targetHash: str | None = None
    merkleRoot: str | None = None
    batchId: int | None = None
    transactionHash: str | None = None
    blockNumber: int | None = None
    wrapped: dict[str, Any] | None = None
    reanchoredCount: int | None = Field(
        None,
        description="times the chain lost this document's batch and it was "
        "anchored again (same root: the wrapped document stays valid)",
    )
    batchHistory: list[BatchHistoryEvent] | None = Field(
        None, description="the batch's history (one document read by id)"
    )


class SubmitResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ex.SUBMIT_RESPONSE]})

    documents: list[DocumentState]


class RevokeRequest(Strict):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "DATA_CORRECTED", "wholeBatch": False}]}
    )

    reason: Reason = "UNSPECIFIED"  # type: ignore[valid-type]
    wholeBatch: bool = Field(False, description="revoke every document of the document's batch")


class SupersedeRequest(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"successorId": 44}]})

    successorId: int = Field(ge=1, description="outbox id of the replacement document (submitted by this issuer)")


class ActionState(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ex.ACTION_PENDING, ex.ACTION_DONE]})

    id: int
    kind: str
    state: str
    transactionHash: str | None = None
    blockNumber: int | None = None
    error: str | None = None


def _issuer(principal: Principal) -> str:
    require(principal, "issuer")
    assert principal.issuer_account is not None
    return principal.issuer_account


def _state(
    principal: Principal,
    d: Document,
    b: Batch | None,
    with_wrapped: bool,
    history: list[BatchHistoryEvent] | None = None,
) -> DocumentState:
    sig = (d.wrapped or {}).get("signature", {})
    show = with_wrapped and d.state == "ANCHORED" and may_see_content(principal, issued_record(d))
    return DocumentState(
        id=d.id,
        referenceNumber=d.reference_number,
        documentType=d.document_type,
        state=d.state,
        targetHash=d.target_hash,
        merkleRoot=sig.get("merkleRoot"),
        batchId=d.batch_id,
        transactionHash=b.tx_hash if b else None,
        blockNumber=b.block_number if b else None,
        wrapped=d.wrapped if show else None,
        reanchoredCount=b.reanchored_count if b else None,
        batchHistory=history,
    )


def _submission_problem(exc: SubmissionError) -> Problem:
    status = {
        "REFERENCE_CONFLICT": 409,
        "TOO_MANY_DOCUMENTS": 413,
        "UNKNOWN_ISSUER": 403,
        "CHAIN_UNAVAILABLE": 503,
    }.get(exc.code, 422)
    return Problem(status, exc.code, str(exc), [{"field": exc.path, "message": exc.message}] if exc.path else None)


@router.post(
    "/documents",
    status_code=202,
    response_model=SubmitResponse,
    summary="Submit documents for issuance (one or many)",
    description="For issuer keys. Accepted documents are stored durably before this answers; the batcher "
    "wraps and anchors them. A repeated submission (same reference number and content) returns "
    "the existing record.",
)
def submit(body: SubmitRequest, request: Request, principal: Principal = PrincipalDep) -> SubmitResponse:
    service = service_of(request)
    issuer = _issuer(principal)
    if len(body.documents) > service.settings.max_documents:
        raise Problem(
            413,
            "TOO_MANY_DOCUMENTS",
            f"{len(body.documents)} documents; at most {service.settings.max_documents} per request",
        )
    service.auth.charge_documents(principal, len(body.documents))
    try:
        records = service.pipeline.submit(issuer, body.documents, body.documentType)
    except SubmissionError as exc:
        raise _submission_problem(exc) from None
    return SubmitResponse(
        documents=[
            DocumentState(
                id=r.id,
                referenceNumber=r.reference_number,
                documentType=r.document_type,
                state=r.state,
                targetHash=r.target_hash,
                merkleRoot=r.merkle_root,
                batchId=r.batch_id,
            )
            for r in records
        ]
    )


def _own_document(request: Request, principal: Principal, document_id: int) -> tuple[Document, Batch | None]:
    _issuer(principal)
    with service_of(request).sessions() as s:
        d = s.get(Document, document_id)
        if d is None or not may_see_content(principal, issued_record(d)):  # its own documents only
            raise Problem(404, "DOCUMENT_NOT_FOUND", f"no document {document_id} of this issuer")
        b = s.get(Batch, d.batch_id) if d.batch_id else None
    return d, b


@router.get(
    "/documents/{document_id}",
    response_model=DocumentState,
    summary="A submitted document's pipeline state (and the wrapped document once anchored)",
    description="For issuer keys, about their own documents. Gives the state (SUBMITTED, BATCHED, SENT, "
    "ANCHORED), the batch and its transaction, and the wrapped document to hand out once anchored.",
)
def document_state(document_id: DocumentId, request: Request, principal: Principal = PrincipalDep) -> DocumentState:
    d, b = _own_document(request, principal, document_id)
    history = None
    if b is not None:
        with service_of(request).sessions() as s:
            history = _history(s, [b.id])[b.id]
    return _state(principal, d, b, True, history)


@router.get(
    "/documents",
    response_model=list[DocumentState],
    summary="This issuer's documents, newest first",
    description="For issuer keys: the key's own documents, a page at a time, optionally of one state or one "
    "reference number (without the wrapped documents: read one document for that).",
    responses={200: ex.json_example(ex.DOCUMENT_LIST, "This issuer's documents")},
)
def list_documents(
    request: Request,
    principal: Principal = PrincipalDep,
    state: Literal["SUBMITTED", "BATCHED", "SENT", "ANCHORED"] | None = Query(
        None,
        description="only documents in this pipeline state",
        openapi_examples=ex.param("ANCHORED", "anchored documents"),
    ),
    reference: str | None = Query(
        None,
        max_length=128,
        description="only the document with this reference number",
        openapi_examples=ex.param(ex.REFERENCE, "a Vietnamese Form D"),
    ),
    limit: LimitQuery = 50,
    offset: OffsetQuery = 0,
) -> list[DocumentState]:
    issuer = _issuer(principal)
    q = select(Document).where(Document.issuer == issuer)
    if state:
        q = q.where(Document.state == state)
    if reference:
        q = q.where(Document.reference_number == reference)
    with service_of(request).sessions() as s:
        docs = list(s.scalars(q.order_by(Document.id.desc()).limit(limit).offset(offset)))
    return [_state(principal, d, None, False) for d in docs]


class BatchState(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ex.BATCH]})

    id: int
    merkleRoot: str
    documentType: str
    count: int
    state: str
    transactionHash: str | None
    blockNumber: int | None
    anchoredAt: int | None
    reanchoredCount: int = Field(
        0,
        description="times the chain lost this batch's anchor (a node restart, a "
        "reorg) and the same root was anchored again",
    )
    lastReconciledAt: str | None = Field(
        None, description="when the service last checked the anchor on chain (UTC, ISO 8601)"
    )
    history: list[BatchHistoryEvent] = Field(default_factory=list, description="the batch's events, oldest first")


@router.get(
    "/batches",
    response_model=list[BatchState],
    summary="This issuer's batches, newest first",
    description="For issuer keys: the key's own batches (one Merkle root each) with their anchoring "
    "transaction and history (anchored, anchored again after the chain lost it), a page at a "
    "time.",
    responses={200: ex.json_example([ex.BATCH], "This issuer's batches")},
)
def list_batches(
    request: Request, principal: Principal = PrincipalDep, limit: LimitQuery = 50, offset: OffsetQuery = 0
) -> list[BatchState]:
    issuer = _issuer(principal)
    with service_of(request).sessions() as s:
        rows = list(
            s.scalars(select(Batch).where(Batch.issuer == issuer).order_by(Batch.id.desc()).limit(limit).offset(offset))
        )
        history = _history(s, [b.id for b in rows])
    return [
        BatchState(
            id=b.id,
            merkleRoot=b.merkle_root,
            documentType=b.document_type,
            count=b.count,
            state=b.state,
            transactionHash=b.tx_hash,
            blockNumber=b.block_number,
            anchoredAt=b.anchored_at,
            reanchoredCount=b.reanchored_count or 0,
            lastReconciledAt=b.last_reconciled_at.isoformat() + "Z" if b.last_reconciled_at else None,
            history=history[b.id],
        )
        for b in rows
    ]


def _action(a: Action) -> ActionState:
    return ActionState(
        id=a.id, kind=a.kind, state=a.state, transactionHash=a.tx_hash, blockNumber=a.block_number, error=a.error
    )


@router.post(
    "/documents/{document_id}/revoke",
    status_code=202,
    response_model=ActionState,
    summary="Revoke a document (or its whole batch) with a reason",
    description="For issuer keys, about their own anchored documents. Queues the revocation and answers "
    "with the action to follow; the registry records it once the transaction is mined.",
)
def revoke(
    document_id: DocumentId, body: RevokeRequest, request: Request, principal: Principal = PrincipalDep
) -> ActionState:
    d, _ = _own_document(request, principal, document_id)
    try:
        a = service_of(request).pipeline.request_revocation(
            d.issuer, document_id=d.id, reason=body.reason, whole_batch=body.wholeBatch
        )
    except SubmissionError as exc:
        raise _submission_problem(exc) from None
    return _action(a)


@router.post(
    "/documents/{document_id}/supersede",
    status_code=202,
    response_model=ActionState,
    summary="Replace a document by another one of this issuer (a corrected certificate)",
    description="For issuer keys, about their own documents: the successor must be another document of "
    "the same issuer. Queues the supersession and answers with the action to follow.",
)
def supersede(
    document_id: DocumentId, body: SupersedeRequest, request: Request, principal: Principal = PrincipalDep
) -> ActionState:
    d, _ = _own_document(request, principal, document_id)
    new, _ = _own_document(request, principal, body.successorId)
    if new.id == d.id:
        raise Problem(422, "SUPERSEDED_BY_SELF", "a document cannot replace itself")
    a = service_of(request).pipeline.request_supersession(d.issuer, d.id, new.id)
    return _action(a)


@router.get(
    "/actions/{action_id}",
    response_model=ActionState,
    summary="A revocation or supersession's state",
    description="For issuer keys, about the actions they requested: PENDING, SENT, DONE (with the "
    "transaction) or FAILED (with the contract's reason).",
)
def action_state(action_id: ActionId, request: Request, principal: Principal = PrincipalDep) -> ActionState:
    issuer = _issuer(principal)
    with service_of(request).sessions() as s:
        a = s.get(Action, action_id)
    if a is None or a.sender != issuer:
        raise Problem(404, "ACTION_NOT_FOUND", f"no action {action_id} of this issuer")
    return _action(a)


# ------------------------------------------------------------------ QR capability links


class LinkOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ex.LINK_CREATED, ex.LINK_LIST[1]]})

    id: int
    targetHash: str
    createdAt: str
    revokedAt: str | None = None
    url: str | None = Field(
        None,
        description="shown once, when made: `<public URL>/portal/q/<token>#<key>`; the key "
        "after `#` is not kept by the service",
    )


def _link_out(link: Any, url: str | None = None) -> LinkOut:
    return LinkOut(
        id=link.id,
        targetHash=link.target_hash,
        createdAt=link.created_at.isoformat(timespec="seconds") + "Z",
        revokedAt=link.revoked_at.isoformat(timespec="seconds") + "Z" if link.revoked_at else None,
        url=url,
    )


@router.post(
    "/documents/{document_id}/links",
    status_code=201,
    response_model=LinkOut,
    summary="Make a QR link to print on the certificate (a capability: token and key)",
    description="For issuer keys, about their own anchored documents. The service encrypts the wrapped "
    "document under a new random key (AES-256-GCM) and keeps only the token and the ciphertext; "
    "the answer's `url` holds the key in its fragment and is shown once. Whoever opens the link "
    "sees the certificate decrypted in the browser and verified; without it, a hash yields at "
    "most the status.",
)
def make_link(document_id: DocumentId, request: Request, principal: Principal = PrincipalDep) -> LinkOut:
    d, _ = _own_document(request, principal, document_id)
    service = service_of(request)
    try:
        link, url = create_link(service.sessions, d, public_base(service, request))
    except LinkError as exc:
        raise Problem(409, "NOT_ANCHORED", str(exc)) from None
    return _link_out(link, url)


@router.get(
    "/documents/{document_id}/links",
    response_model=list[LinkOut],
    summary="A document's QR links",
    description="For issuer keys, about their own documents: every link made, with when it was revoked "
    "(the keys are not kept, so no URL).",
    responses={200: ex.json_example(ex.LINK_LIST, "The document's QR links")},
)
def list_links(document_id: DocumentId, request: Request, principal: Principal = PrincipalDep) -> list[LinkOut]:
    d, _ = _own_document(request, principal, document_id)
    return [_link_out(x) for x in links_of(service_of(request).sessions, d.id)]


@router.delete(
    "/documents/{document_id}/links/{link_id}",
    status_code=204,
    summary="Revoke a QR link",
    description="For issuer keys, about their own documents' links: the link stops opening the "
    "certificate (its ciphertext is erased); its page then shows the document's status only.",
)
def delete_link(
    document_id: DocumentId, link_id: LinkId, request: Request, principal: Principal = PrincipalDep
) -> None:
    d, _ = _own_document(request, principal, document_id)
    if revoke_link(service_of(request).sessions, d.id, link_id) is None:
        raise Problem(404, "LINK_NOT_FOUND", f"no QR link {link_id} of document {document_id}")
