"""Customs decisions and retroactive checks: the importing customs decides and asks, the issuing side (its authority's
issuer keys, its country's admins) answers; both sides and their auditors read. Transactions are sent with the keys
this service holds (the country's customs keystore, the issuer's or the admin's keystore) and answered once mined;
texts are kept in this service's database by the hash that goes on chain (see certnet.api.customs)."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import or_, select
from starlette.convertors import Convertor, register_url_convertor

from certnet.api import openapi_examples as ex
from certnet.api.app import PROBLEM_RESPONSES, LimitQuery, OffsetQuery, PrincipalDep, id_path, service_of
from certnet.api.auth import Principal, require
from certnet.api.customs import (
    CHECK_FINDINGS,
    CHECK_REQUEST,
    DECISION_NOTE,
    MAX_ATTACHMENTS,
    MAX_FINDINGS,
    MAX_NOTE,
    MAX_QUESTION,
    MAX_QUESTIONS,
    CustomsCheck,
    CustomsDecision,
    CustomsDesk,
    CustomsText,
    certificate_of,
    signer_of,
    text_hash,
)
from certnet.api.disclosure import load_record, may_see_content
from certnet.api.models import ReceivedDocument
from certnet.api.problems import Problem
from certnet.node import errors as chain_errors
from certnet.node.contracts import (
    CHECK_REASONS,
    DECISION_REASONS,
    REVOCATION_REASONS,
    CheckResult,
    CheckState,
    Preference,
)
from certnet.node.tx import TransactionError

if TYPE_CHECKING:
    from eth_typing import ChecksumAddress

router = APIRouter(prefix="/v1", tags=["customs decisions and checks"], responses=PROBLEM_RESPONSES)


class _HashConvertor(Convertor):
    """A targetHash in a path: only 64 hex digits match (anything else goes on to the next route, such as the
    look-up by issuing country and reference number)."""

    regex = "(?:0x)?[0-9a-fA-F]{64}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("hash64", _HashConvertor())

CheckId = Annotated[int, id_path("id of a retroactive check (the CustomsRecord's)", 1)]
TargetHash = Annotated[
    str,
    Path(
        pattern=r"^(0x)?[0-9a-fA-F]{64}$",
        description="the certificate's targetHash",
        openapi_examples=ex.param(ex.TARGET_HASH, "a Vietnamese Form D"),
    ),
]

# ------------------------------------------------------------------ examples

_TX_DECIDE = "0x7b3f0c5e2a1d4c6b8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f"
_TX_OPEN = "0x2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c0b2d4f6e8a0c1e3b5d7f9a1c3e5b7d9f0a"
_TX_ANSWER = "0x9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d"
_CUSTOMS_TH = "0x976EA74026E726554dB657fA54763abd0C3a0aa9"
_CERT = {
    "store": ex.VN_STORE,
    "targetHash": ex.TARGET_HASH,
    "referenceNumber": ex.REFERENCE,
    "issuingCountry": "VN",
    "importingCountry": "TH",
}
_NOTE = "Origin criterion 'RVC 40%' not supported by the cost statement presented with the goods."
DECISION_EXAMPLE: dict[str, Any] = {
    "certificate": _CERT,
    "version": 1,
    "preference": "NOT_GIVEN",
    "reason": "ORIGIN_CRITERION_NOT_MET",
    "note": _NOTE,
    "noteHash": "5d1c0f0e7a0e1b5f0e8fd1a3b1dbb3f1a9a7f0f7e2b1c0d9e8f7a6b5c4d3e2f1",
    "by": _CUSTOMS_TH,
    "at": 1719400000,
    "transactionHash": _TX_DECIDE,
    "blockNumber": 21,
}
_REQUEST: dict[str, Any] = {
    "kind": CHECK_REQUEST,
    "certificate": {**_CERT, "merkleRoot": ex.MERKLE_ROOT, "proof": ex.PROOF},
    "requestingCountry": "TH",
    "reason": "DOUBT_ORIGIN",
    "questions": ["Please confirm the regional value content of item 1 and send the exporter's cost statement."],
    "attachments": [
        {
            "name": "invoice-INV-2024-0612.pdf",
            "sha256": "4f2a1c9e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a19",
        }
    ],
}
_FINDINGS: dict[str, Any] = {
    "kind": CHECK_FINDINGS,
    "checkId": 1,
    "certificate": {"store": ex.VN_STORE, "targetHash": ex.TARGET_HASH},
    "result": "NOT_CONFIRMED",
    "findings": "The exporter could not substantiate the regional value content; the certificate is revoked.",
    "revocation": {"reason": "REJECTED_BY_IMPORTING_CUSTOMS", "transactionHash": ex.REVOKE_TX},
}
CHECK_EXAMPLE: dict[str, Any] = {
    "id": 1,
    "state": "OPEN",
    "overdue": False,
    "certificate": _CERT,
    "reason": "DOUBT_ORIGIN",
    "request": _REQUEST,
    "requestHash": "8a4c2e0f1b3d5c7e9f0a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d1e",
    "openedAt": 1719400100,
    "dueAt": 1727176100,
    "openedBy": _CUSTOMS_TH,
    "openedTransaction": _TX_OPEN,
    "result": None,
    "findings": None,
    "findingsHash": None,
    "late": False,
    "revoked": False,
    "answeredAt": None,
    "answeredBy": None,
    "answeredTransaction": None,
    "closedBy": None,
    "closedTransaction": None,
}
CHECK_ANSWERED_EXAMPLE: dict[str, Any] = {
    **CHECK_EXAMPLE,
    "state": "ANSWERED",
    "result": "NOT_CONFIRMED",
    "findings": _FINDINGS,
    "findingsHash": "1f3e5d7c9b0a2f4e6d8c0b1a3f5e7d9c1b2a4f6e8d0c2b4a6f8e0d1c3b5a7f9e",
    "revoked": True,
    "answeredAt": 1721000000,
    "answeredBy": ex.VN_ISSUER,
    "answeredTransaction": _TX_ANSWER,
}


# ------------------------------------------------------------------ models


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CertificateRef(Strict):
    """The certificate: a document in this customs' inbox, by its inbox id or as the wrapped document itself."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"inboxId": 5}, {"targetHash": ex.TARGET_HASH}, {"document": ex.WRAPPED[0]}]},
    )

    inboxId: int | None = Field(None, ge=1, le=2**63 - 1, description="id of the entry in this customs' inbox")
    targetHash: str | None = Field(
        None, pattern=r"^(0x)?[0-9a-fA-F]{64}$", description="the targetHash of a document in this customs' inbox"
    )
    document: dict[str, Any] | None = Field(None, description="the wrapped document (it must be in the inbox)")

    @model_validator(mode="after")
    def one_of(self) -> CertificateRef:
        if sum(x is not None for x in (self.inboxId, self.targetHash, self.document)) != 1:
            raise ValueError("name the certificate by exactly one of inboxId, targetHash or document")
        return self


class DecisionRequest(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "certificate": {"inboxId": 5},
                    "preference": "NOT_GIVEN",
                    "reason": "ORIGIN_CRITERION_NOT_MET",
                    "note": _NOTE,
                },
                {"certificate": {"inboxId": 5}, "preference": "GIVEN", "reason": "NONE", "note": None},
            ]
        },
    )

    certificate: CertificateRef
    preference: Literal["GIVEN", "NOT_GIVEN"]
    reason: Literal[tuple(DECISION_REASONS)] = Field(  # type: ignore[valid-type]
        "NONE", description="the Form D box 4 reason (NONE when preference is given)"
    )
    note: str | None = Field(None, min_length=1, max_length=MAX_NOTE, description="kept off chain; its hash on chain")


class DecisionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [DECISION_EXAMPLE]})

    certificate: dict[str, Any]
    version: int = Field(description="1 for the first decision; amendments count up (every version is kept)")
    preference: str
    reason: str
    note: str | None
    noteHash: str | None
    by: str = Field(description="the customs key that recorded it")
    at: int = Field(description="block time, unix seconds")
    transactionHash: str
    blockNumber: int


class Attachment(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_REQUEST["attachments"][0]]})

    name: str = Field(min_length=1, max_length=200)
    sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the attached file (the file stays with the customs)"
    )


class RetroCheckRequest(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "certificate": {"inboxId": 5},
                    "reason": "DOUBT_ORIGIN",
                    "questions": _REQUEST["questions"],
                    "attachments": _REQUEST["attachments"],
                }
            ]
        },
    )

    certificate: CertificateRef
    reason: Literal[tuple(CHECK_REASONS)]  # type: ignore[valid-type]
    questions: list[Annotated[str, Field(min_length=1, max_length=MAX_QUESTION)]] = Field(
        min_length=1, max_length=MAX_QUESTIONS, description="what the issuing country is asked to verify"
    )
    attachments: list[Attachment] = Field([], max_length=MAX_ATTACHMENTS)


class RevokeFirst(Strict):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "REJECTED_BY_IMPORTING_CUSTOMS"}]}
    )

    reason: Literal[tuple(REVOCATION_REASONS)] = "REJECTED_BY_IMPORTING_CUSTOMS"  # type: ignore[valid-type]


class SupersedeFirst(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"successorId": 44}]})

    successorId: int = Field(ge=1, le=2**63 - 1, description="outbox id of the corrected certificate (issuer keys)")


class AnswerRequest(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "result": "NOT_CONFIRMED",
                    "findings": _FINDINGS["findings"],
                    "revoke": {"reason": "REJECTED_BY_IMPORTING_CUSTOMS"},
                },
                {"result": "CONFIRMED", "findings": "The exporter's records confirm the origin criterion."},
            ]
        },
    )

    result: Literal["CONFIRMED", "NOT_CONFIRMED"]
    findings: str = Field(min_length=1, max_length=MAX_FINDINGS)
    revoke: RevokeFirst | None = Field(None, description="revoke the certificate first (the answer records it)")
    supersede: SupersedeFirst | None = Field(None, description="supersede it first by a corrected certificate")

    @model_validator(mode="after")
    def not_both(self) -> AnswerRequest:
        if self.revoke is not None and self.supersede is not None:
            raise ValueError("revoke or supersede, not both")
        return self


class RetroCheckOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [CHECK_EXAMPLE, CHECK_ANSWERED_EXAMPLE]})

    id: int
    state: str = Field(description="OPEN, ANSWERED or CLOSED")
    overdue: bool = Field(description="open past its due time")
    certificate: dict[str, Any]
    reason: str
    request: dict[str, Any] | None = Field(
        description="the request's text; null while the issuing side's service "
        "has not fetched it from the requesting one"
    )
    requestHash: str
    openedAt: int
    dueAt: int
    openedBy: str
    openedTransaction: str | None
    result: str | None
    findings: dict[str, Any] | None
    findingsHash: str | None
    late: bool
    revoked: bool = Field(description="the certificate was revoked or superseded when the answer was recorded")
    answeredAt: int | None
    answeredBy: str | None
    answeredTransaction: str | None
    closedBy: str | None
    closedTransaction: str | None


class TextOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"hash": "8a4c2e0f1b3d5c7e9f0a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d1e", "text": _REQUEST}]
        }
    )

    hash: str
    text: dict[str, Any]


# ------------------------------------------------------------------ helpers


def _desk(request: Request) -> CustomsDesk:
    return service_of(request).customs_desk


def _mined(fn: Any) -> Any:
    """Send and wait; a contract refusal is a 409 naming it, an unreachable chain a 503."""
    try:
        return fn()
    except chain_errors.ContractRevert as exc:
        code = {
            "NotIssued": "CERTIFICATE_NOT_ISSUED",
            "NotIssuingSide": "NOT_ISSUING_SIDE",
            "NotCustomsKey": "NOT_IMPORTING_COUNTRY",
            "InvalidCountryProof": "NOT_IMPORTING_COUNTRY",
            "CheckNotOpen": "CHECK_NOT_OPEN",
            "CheckNotAnswered": "CHECK_NOT_ANSWERED",
            "UnknownCheck": "CHECK_NOT_FOUND",
        }.get(exc.error, f"CHAIN_{exc.error.upper()}")
        raise Problem(409, code, f"the CustomsRecord refused: {exc}") from None
    except TransactionError as exc:
        raise Problem(503, "CHAIN_UNAVAILABLE", str(exc)) from None


def _with_text(
    desk: CustomsDesk, text: dict[str, Any] | None, kind: str, store: str, target_hash: str, importing: str, send: Any
) -> Any:
    """Keep `text` (before the transaction: the other side's service may ask for it as soon as it sees the hash on
    chain), then send; a text kept only for a transaction that failed is removed again."""
    from sqlalchemy import delete

    new = False
    if text is not None:
        new = desk.text(text_hash(text)) is None
        desk.keep_text(text, kind, store, target_hash, importing, True)
    try:
        return _mined(send)
    except BaseException:
        if new:
            with desk.sessions.begin() as s:
                s.execute(delete(CustomsText).where(CustomsText.hash == text_hash(text)))  # type: ignore[arg-type]
        raise


def _customs_signer(request: Request, country: str) -> Any:
    signer = getattr(service_of(request), "customs", {}).get(country)
    if signer is None:
        raise Problem(503, "NO_CUSTOMS_KEY", f"this service holds no customs keystore for {country}")
    return signer


def _received(request: Request, principal: Principal, ref: CertificateRef) -> ReceivedDocument:
    """The inbox entry the request names; a certificate this customs never received is a 404."""
    with service_of(request).sessions() as s:
        if ref.inboxId is not None:
            row = s.get(ReceivedDocument, ref.inboxId)
            if row is None or row.customs_country != principal.country:
                raise Problem(
                    404,
                    "CERTIFICATE_NOT_RECEIVED",
                    f"no entry {ref.inboxId} in the inbox of {principal.country}'s customs",
                )
            return row
        sig = (ref.document or {}).get("signature") if ref.targetHash is None else {"targetHash": ref.targetHash}
        th = sig.get("targetHash") if isinstance(sig, dict) else None
        if not isinstance(th, str) or len(th.removeprefix("0x")) != 64:
            raise Problem(
                422, "DOCUMENT_MALFORMED", "certificate.document: not a wrapped document (no signature.targetHash)"
            )
        row = s.scalar(
            select(ReceivedDocument).where(
                ReceivedDocument.customs_country == principal.country,
                ReceivedDocument.target_hash == th.removeprefix("0x").lower(),
            )
        )
        if row is None:
            raise Problem(
                404,
                "CERTIFICATE_NOT_RECEIVED",
                f"{principal.country}'s customs never received certificate {th}: register it first (POST /v1/inbox)",
            )
        return row


def _importer_args(request: Request, principal: Principal, row: ReceivedDocument) -> tuple[dict[str, Any], Any]:
    """(certificate, country proof or None) for a customs call on an inbox entry, after checking the certificate
    names this customs' country as its importing country."""
    try:
        cert = certificate_of(row.document)
    except Exception:
        raise Problem(422, "DOCUMENT_MALFORMED", "the received document names no document store") from None
    if cert["importingCountry"] != principal.country:
        raise Problem(
            403,
            "NOT_IMPORTING_COUNTRY",
            f"certificate {cert['referenceNumber']} names {cert['importingCountry']} as its importing "
            f"country, not {principal.country}: only its customs may decide on it or question it",
        )
    desk = _desk(request)
    proof = None
    if desk.record().importing_country_of(cert["store"], cert["targetHash"]) is None:
        from certnet.verifier.fields import prove_field
        from certnet.verifier.jsjson import ProofFormatError

        try:
            proof = prove_field(row.document, "importingCountry")
        except ProofFormatError as exc:
            raise Problem(
                422, "COUNTRY_NOT_PROVABLE", f"the received document cannot prove its importing country: {exc}"
            ) from None
    return cert, proof


def _public_cert(cert: dict[str, Any]) -> dict[str, Any]:
    return {k: cert.get(k) for k in ("store", "targetHash", "referenceNumber", "issuingCountry", "importingCountry")}


def _side(request: Request, principal: Principal, store: str, importing: str, issuing: str) -> str | None:
    """How `principal` stands to a certificate: "customs" (its importing country's customs), "issuing" (its
    authority's issuer key, its country's admin), "auditor" (of either country), or None."""
    if principal.role == "customs":
        return "customs" if principal.country == importing else None
    if principal.role == "admin":
        return "issuing" if principal.country == issuing else None
    if principal.role == "issuer":
        if principal.country != issuing or not principal.issuer_account:
            return None
        own = (
            service_of(request)
            .deployment.issuer_registry_client(service_of(request).w3)
            .key_info(principal.issuer_account)
            .store
        )
        return "issuing" if own and own.lower() == store.lower() else None
    if principal.role == "auditor":
        return "auditor" if principal.country in (importing, issuing) else None
    return None


def _redacted(text: dict[str, Any] | None, content: bool) -> dict[str, Any] | None:
    """A text as a caller not entitled to the certificate's content sees it (certnet.api.disclosure): without the
    certificate's root and proof, or the revocation's transaction (the rest is the customs' own words)."""
    if text is None or content:
        return text
    out = json.loads(json.dumps(text))
    cert = out.get("certificate")
    if isinstance(cert, dict) and ("merkleRoot" in cert or "proof" in cert):
        cert.pop("merkleRoot", None)
        cert.pop("proof", None)
        out["redacted"] = ["certificate.merkleRoot", "certificate.proof"]
    for key in ("revocation", "supersession"):
        if isinstance(out.get(key), dict) and "transactionHash" in out[key]:
            out[key].pop("transactionHash")
            out.setdefault("redacted", []).append(f"{key}.transactionHash")
    return out


def _may_see_content(request: Request, principal: Principal | None, target_hash: str) -> bool:
    """The disclosure rule for the certificate a text is about (None: the service's own use, all of it)."""
    if principal is None:
        return True
    record = load_record(service_of(request), target_hash)
    return record is not None and may_see_content(principal, record)


def _check_out(desk: CustomsDesk, c: CustomsCheck, now: int | None = None, content: bool = True) -> dict[str, Any]:
    now = desk.now() if now is None else now
    request_text = _redacted(desk.text(c.request_hash), content)
    cert = {
        "store": c.store,
        "targetHash": c.target_hash,
        "referenceNumber": c.reference_number,
        "issuingCountry": c.issuing_country,
        "importingCountry": c.requesting_country,
    }
    return {
        "id": c.id,
        "state": c.state,
        "overdue": c.state == "OPEN" and now > c.due_at,
        "certificate": cert,
        "reason": c.reason,
        "request": request_text,
        "requestHash": c.request_hash,
        "openedAt": c.opened_at,
        "dueAt": c.due_at,
        "openedBy": c.opened_by,
        "openedTransaction": c.opened_tx,
        "result": c.result,
        "findings": _redacted(desk.text(c.findings_hash), content),
        "findingsHash": c.findings_hash,
        "late": c.late,
        "revoked": c.revoked,
        "answeredAt": c.answered_at,
        "answeredBy": c.answered_by,
        "answeredTransaction": c.answered_tx,
        "closedBy": c.closed_by,
        "closedTransaction": c.closed_tx,
    }


def _mirror(request: Request, receipt: Any, *events: str) -> None:
    """Mirror a mined transaction's events at once when the chain is final at once (no confirmation depth);
    otherwise the follower does when it is deep enough."""
    if not service_of(request).settings.confirmations:
        _desk(request).mirror_receipt(receipt)


def _chain_check(request: Request, check_id: int) -> CustomsCheck:
    """The check as this service mirrors it, else read from the chain (not mirrored yet)."""
    desk = _desk(request)
    with desk.sessions() as s:
        row = s.get(CustomsCheck, check_id)
    if row is not None:
        return row
    c = desk.record().check(check_id)
    if c is None:
        raise Problem(404, "CHECK_NOT_FOUND", f"no retroactive check {check_id}")
    from certnet.api.customs import CHECK_REASON_NAMES

    return CustomsCheck(
        id=check_id,
        store=c.store,
        target_hash=c.document,
        requesting_country=c.country,
        issuing_country=desk.country_of_store(c.store) or "",
        reason=CHECK_REASON_NAMES.get(c.reason, str(c.reason)),
        request_hash=c.request_hash,
        state=c.state.name,
        opened_at=c.opened_at,
        due_at=c.due_at,
        opened_by=c.requester,
        opened_tx=None,
        opened_block=0,
        result=c.result.name if c.result != CheckResult.NONE else None,
        findings_hash=None if int(c.findings_hash, 16) == 0 else c.findings_hash,
        late=c.late,
        revoked=c.revoked,
        answered_at=c.answered_at or None,
        answered_by=c.answered_by,
        answered_tx=None,
        closed_by=None,
        closed_tx=None,
        reference_number=desk._reference(c.store, c.document),
    )


# ------------------------------------------------------------------ decisions


@router.post(
    "/decisions",
    status_code=201,
    response_model=DecisionOut,
    summary="Record (or amend) the customs decision on a received certificate: preference given or not",
    description="For customs keys, about certificates in their own inbox that name their country as the "
    "importing country. Signed with the country's customs keystore held by this service; the "
    "first decision or check on a certificate proves the importing country on chain from the "
    "document itself. A second decision is an amendment: a new version, every version kept. "
    "The note stays in this service (its hash goes on chain); the issuing side is notified.",
)
def decide(body: DecisionRequest, request: Request, principal: Principal = PrincipalDep) -> DecisionOut:
    require(principal, "customs")
    if body.preference == "GIVEN" and body.reason != "NONE":
        raise Problem(422, "REASON_WITH_PREFERENCE_GIVEN", "reason: a decision that gives preference has reason NONE")
    if body.preference == "NOT_GIVEN" and body.reason == "NONE":
        raise Problem(422, "REASON_REQUIRED", "reason: say why preference is not given (a Form D box 4 reason)")
    row = _received(request, principal, body.certificate)
    cert, proof = _importer_args(request, principal, row)
    desk = _desk(request)
    signer = _customs_signer(request, principal.country)
    note = None
    note_hash = None
    if body.note:
        note = {
            "kind": DECISION_NOTE,
            "certificate": {"store": cert["store"], "targetHash": cert["targetHash"]},
            "country": principal.country,
            "note": body.note,
        }
        note_hash = text_hash(note)
    receipt = _with_text(
        desk,
        note,
        DECISION_NOTE,
        cert["store"],
        cert["targetHash"],
        principal.country,
        lambda: desk.record(signer).record_decision(
            cert["store"],
            cert["merkleRoot"],
            cert["targetHash"],
            cert["proof"],
            principal.country,
            proof,
            Preference[body.preference],
            DECISION_REASONS[body.reason],
            note_hash,
        ),
    )
    ev = desk.record().events(receipt, "DecisionRecorded")[0]
    _mirror(request, receipt, "DecisionRecorded")
    at = service_of(request).w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    return DecisionOut(
        certificate=_public_cert(cert),
        version=ev["version"],
        preference=body.preference,
        reason=body.reason,
        note=body.note,
        noteHash=note_hash,
        by=signer.address,
        at=at,
        transactionHash=receipt["transactionHash"].to_0x_hex(),
        blockNumber=receipt["blockNumber"],
    )


@router.get(
    "/certificates/{target_hash:hash64}/decisions",
    response_model=list[DecisionOut],
    summary="Every version of the customs decisions on a certificate, oldest first",
    description="For customs keys of the importing country, the issuing authority's issuer keys and its "
    "country's admins, and auditors of either country: the decisions this service has seen on "
    "chain, with their notes where this service holds them.",
    responses={200: ex.json_example([DECISION_EXAMPLE], "The decisions on the certificate")},
)
def decisions(target_hash: TargetHash, request: Request, principal: Principal = PrincipalDep) -> list[DecisionOut]:
    th = target_hash.removeprefix("0x").lower()
    desk = _desk(request)
    with desk.sessions() as s:
        rows = list(
            s.scalars(
                select(CustomsDecision)
                .where(CustomsDecision.target_hash == th)
                .order_by(CustomsDecision.store, CustomsDecision.version)
            )
        )
    shown = [r for r in rows if _side(request, principal, r.store, r.country, r.issuing_country)]
    if not shown:
        raise Problem(404, "NO_DECISIONS", f"no customs decision on certificate {th} that this key may read")
    out = []
    for r in shown:
        note = desk.text(r.note_hash)
        out.append(
            DecisionOut(
                certificate={
                    "store": r.store,
                    "targetHash": r.target_hash,
                    "referenceNumber": r.reference_number,
                    "issuingCountry": r.issuing_country,
                    "importingCountry": r.country,
                },
                version=r.version,
                preference=r.preference,
                reason=r.reason,
                note=(note or {}).get("note"),
                noteHash=r.note_hash,
                by=r.by,
                at=r.at,
                transactionHash=r.tx_hash,
                blockNumber=r.block_number,
            )
        )
    return out


# ------------------------------------------------------------------ checks


@router.post(
    "/checks",
    status_code=201,
    response_model=RetroCheckOut,
    summary="Ask the issuing country for a retroactive check of a received certificate",
    description="For customs keys, about certificates in their own inbox that name their country as the "
    "importing country. Opens the check on chain (the answer is due within the network's "
    "answer period, 90 days by default) with the hash of the request (reason, questions, "
    "attachments' hashes); the request stays in this service, which serves it to the issuing "
    "side's service. A repeat while a check of this country on the certificate is open returns "
    "that check (200).",
    responses={200: ex.json_example(CHECK_EXAMPLE, "The check already open on this certificate")},
)
def open_check(body: RetroCheckRequest, request: Request, principal: Principal = PrincipalDep) -> Any:
    require(principal, "customs")
    row = _received(request, principal, body.certificate)
    cert, proof = _importer_args(request, principal, row)
    desk = _desk(request)
    existing = desk.record().open_check_of(cert["store"], cert["targetHash"], principal.country)
    if existing is not None:
        return JSONResponse(_check_out(desk, _chain_check(request, existing)), status_code=200)  # its own inbox
    signer = _customs_signer(request, principal.country)
    text = {
        "kind": CHECK_REQUEST,
        "certificate": {**_public_cert(cert), "merkleRoot": cert["merkleRoot"], "proof": cert["proof"]},
        "requestingCountry": principal.country,
        "reason": body.reason,
        "questions": body.questions,
        "attachments": [a.model_dump() for a in body.attachments],
        "askedAt": int(time.time()),
    }
    h = text_hash(text)
    receipt = _with_text(
        desk,
        text,
        CHECK_REQUEST,
        cert["store"],
        cert["targetHash"],
        principal.country,
        lambda: desk.record(signer).open_check(
            cert["store"],
            cert["merkleRoot"],
            cert["targetHash"],
            cert["proof"],
            principal.country,
            proof,
            CHECK_REASONS[body.reason],
            h,
        ),
    )
    check_id = desk.record().check_id(receipt)
    _mirror(request, receipt, "CheckOpened")
    out = _check_out(desk, _chain_check(request, check_id))
    out["openedTransaction"] = receipt["transactionHash"].to_0x_hex()
    return out


@router.get(
    "/checks",
    response_model=list[RetroCheckOut],
    summary="Retroactive checks, newest first",
    description="For customs keys: the checks their country asked for. For issuer keys: the checks on "
    "certificates of their authority (its inbox of checks, with their deadlines); for admin "
    "keys: on certificates of any authority of their country; for auditors: the checks either "
    "side of which is their country. `state=open` lists open checks, `overdue` those past their "
    "due time, `answered`, `closed`.",
    responses={200: ex.json_example([CHECK_EXAMPLE], "The open checks")},
)
def list_checks(
    request: Request,
    principal: Principal = PrincipalDep,
    state: Literal["open", "overdue", "answered", "closed", "all"] = Query(
        "all", description="which checks", openapi_examples=ex.param("open", "open checks")
    ),
    target_hash: str | None = Query(
        None,
        alias="targetHash",
        pattern=r"^(0x)?[0-9a-fA-F]{64}$",
        description="only the checks on this certificate",
        openapi_examples=ex.param(ex.TARGET_HASH, "a Vietnamese Form D"),
    ),
    limit: LimitQuery = 50,
    offset: OffsetQuery = 0,
) -> list[dict[str, Any]]:
    desk = _desk(request)
    now = desk.now()
    q = select(CustomsCheck)
    if principal.role == "customs":
        q = q.where(CustomsCheck.requesting_country == principal.country)
    elif principal.role == "admin":
        q = q.where(CustomsCheck.issuing_country == principal.country)
    elif principal.role == "auditor":
        q = q.where(
            or_(CustomsCheck.issuing_country == principal.country, CustomsCheck.requesting_country == principal.country)
        )
    else:
        store = (
            service_of(request)
            .deployment.issuer_registry_client(service_of(request).w3)
            .key_info(principal.issuer_account)
            .store
            if principal.issuer_account
            else None
        )
        q = q.where(CustomsCheck.store == (store or "none"), CustomsCheck.issuing_country == principal.country)
    if target_hash:
        q = q.where(CustomsCheck.target_hash == target_hash.removeprefix("0x").lower())
    if state in ("open", "overdue"):
        q = q.where(CustomsCheck.state == "OPEN")
    if state == "overdue":
        q = q.where(CustomsCheck.due_at < now)
    elif state in ("answered", "closed"):
        q = q.where(CustomsCheck.state == state.upper())
    order = CustomsCheck.due_at if state in ("open", "overdue") else CustomsCheck.id.desc()
    with desk.sessions() as s:
        rows = list(s.scalars(q.order_by(order).limit(limit).offset(offset)))
    content: dict[str, bool] = {}
    for c in rows:
        if c.target_hash not in content:
            content[c.target_hash] = _may_see_content(request, principal, c.target_hash)
    return [_check_out(desk, c, now, content[c.target_hash]) for c in rows]


def _entitled_check(request: Request, principal: Principal, check_id: int) -> tuple[CustomsCheck, str]:
    c = _chain_check(request, check_id)
    side = _side(request, principal, c.store, c.requesting_country, c.issuing_country)
    if side is None:
        raise Problem(404, "CHECK_NOT_FOUND", f"no retroactive check {check_id} that this key may read")
    return c, side


@router.get(
    "/checks/{check_id}",
    response_model=RetroCheckOut,
    summary="One retroactive check with its texts",
    description="For customs keys of the requesting country, the issuing authority's issuer keys and its "
    "country's admins (the check's two sides), and auditors of either country.",
)
def get_check(check_id: CheckId, request: Request, principal: Principal = PrincipalDep) -> dict[str, Any]:
    c, _ = _entitled_check(request, principal, check_id)
    return _check_out(_desk(request), c, content=_may_see_content(request, principal, c.target_hash))


def _wait_action(request: Request, action_id: int, timeout: float = 120.0) -> Any:
    from certnet.issuer.outbox import Action

    deadline = time.monotonic() + timeout
    while True:
        with service_of(request).sessions() as s:
            a = s.get(Action, action_id)
        assert a is not None  # the action this request queued
        if a.state == "DONE":
            return a
        if a.state == "FAILED":
            raise Problem(409, "ACTION_FAILED", f"the {a.kind.lower()} before the answer failed: {a.error}")
        if time.monotonic() > deadline:
            raise Problem(
                503,
                "ACTION_PENDING",
                f"the {a.kind.lower()} (action {a.id}) is not mined yet; answer "
                "again once it is (GET /v1/actions/{id})",
            )
        time.sleep(0.2)


def _certificate_proof(request: Request, c: CustomsCheck) -> tuple[str, list[str], int | None]:
    """(root, proof, outbox id or None) of the checked certificate: from this service's outbox, else from the
    request's text."""
    from certnet.issuer.outbox import Document

    with service_of(request).sessions() as s:
        d = s.scalar(
            select(Document).where(Document.target_hash == c.target_hash, Document.state == "ANCHORED").limit(1)
        )
    if d is not None and d.wrapped:
        sig = d.wrapped["signature"]
        return sig["merkleRoot"], list(sig["proof"]), d.id
    cert = (_desk(request).text(c.request_hash) or {}).get("certificate") or {}
    if cert.get("merkleRoot") is None:
        raise Problem(
            409,
            "CERTIFICATE_UNKNOWN_HERE",
            f"this service neither issued certificate {c.target_hash} nor "
            "holds the check's request yet: it cannot revoke it",
        )
    return cert["merkleRoot"], list(cert.get("proof") or []), None


@router.post(
    "/checks/{check_id}/answer",
    response_model=RetroCheckOut,
    summary="Answer a retroactive check",
    description="For issuer keys of the certificate's authority and admin keys of its country (signed with "
    "the keystore this service holds). CONFIRMED or NOT_CONFIRMED with findings (kept here, their "
    "hash on chain); optionally revoke the certificate or supersede it by a corrected one first "
    "(through the issuer's action pipeline, or directly for an admin), which the answer records. "
    "An answer after the due time is recorded as late. The requesting customs is notified.",
)
def answer_check(
    check_id: CheckId, body: AnswerRequest, request: Request, principal: Principal = PrincipalDep
) -> dict[str, Any]:
    require(principal, "issuer", "admin")
    service = service_of(request)
    desk = _desk(request)
    c = _chain_check(request, check_id)
    if _side(request, principal, c.store, c.requesting_country, c.issuing_country) != "issuing":
        raise Problem(
            403,
            "NOT_ISSUING_SIDE",
            f"check {check_id} is on a certificate of {c.issuing_country} store "
            f"{c.store}: only its authority's keys and that country's admins answer",
        )
    chain = desk.record().check(check_id)
    if chain is None or chain.state != CheckState.OPEN:
        raise Problem(
            409, "CHECK_NOT_OPEN", f"check {check_id} is {chain.state.name if chain else 'unknown'}, not open"
        )
    if principal.role == "issuer":
        signer = service.pipeline.signers.get(cast("ChecksumAddress", principal.issuer_account))
        if signer is None:
            raise Problem(503, "NO_ISSUER_KEY", f"this service holds no keystore for {principal.issuer_account}")
    else:
        signer = service.admins.get(principal.country)
        if signer is None:
            raise Problem(503, "NO_ADMIN_KEY", f"this service holds no admin keystore for {principal.country}")
    revocation = supersession = None
    if body.revoke is not None or body.supersede is not None:
        root, proof, outbox_id = _certificate_proof(request, c)
        store = service.deployment.store_client(service.w3, c.store)
        if body.revoke is not None:
            if store.is_revoked(c.target_hash):
                revocation = {"reason": body.revoke.reason, "transactionHash": None}
            elif principal.role == "issuer":
                a = service.pipeline.request_revocation_of(
                    signer.address, root, c.target_hash, proof, body.revoke.reason
                )
                done = _wait_action(request, a.id)
                revocation = {"reason": body.revoke.reason, "transactionHash": done.tx_hash}
            else:
                r = _mined(
                    lambda: service.deployment.store_client(service.w3, c.store, signer).revoke_document(
                        root, c.target_hash, proof, body.revoke.reason
                    )
                )
                revocation = {"reason": body.revoke.reason, "transactionHash": r["transactionHash"].to_0x_hex()}
        else:
            if principal.role != "issuer" or outbox_id is None:
                raise Problem(
                    409,
                    "SUPERSEDE_NOT_POSSIBLE",
                    "superseding as part of an answer needs an issuer key of this service that issued the certificate",
                )
            from certnet.issuer.outbox import Document

            with service.sessions() as s:
                new = s.get(Document, body.supersede.successorId)  # type: ignore[union-attr]  # revoke or supersede: the request has one
            if new is None or new.issuer != principal.issuer_account:
                raise Problem(404, "DOCUMENT_NOT_FOUND", f"no document {body.supersede.successorId} of this issuer")  # type: ignore[union-attr]  # revoke or supersede: the request has one
            a = service.pipeline.request_supersession(signer.address, outbox_id, new.id)
            done = _wait_action(request, a.id)
            supersession = {
                "successorId": new.id,
                "successorTargetHash": new.target_hash,
                "transactionHash": done.tx_hash,
            }
    text = {
        "kind": CHECK_FINDINGS,
        "checkId": check_id,
        "certificate": {"store": c.store, "targetHash": c.target_hash},
        "result": body.result,
        "findings": body.findings,
        "revocation": revocation,
        "supersession": supersession,
    }
    h = text_hash(text)
    receipt = _with_text(
        desk,
        text,
        CHECK_FINDINGS,
        c.store,
        c.target_hash,
        c.requesting_country,
        lambda: desk.record(signer).answer_check(check_id, CheckResult[body.result], h),
    )
    _mirror(request, receipt, "CheckAnswered")
    out = _check_out(desk, _chain_check(request, check_id), content=_may_see_content(request, principal, c.target_hash))
    if out["state"] == "OPEN":  # not mirrored yet (confirmation depth): what the receipt says
        ev = desk.record().events(receipt, "CheckAnswered")[0]
        out.update(
            state="ANSWERED",
            overdue=False,
            result=body.result,
            findings=_redacted(text, _may_see_content(request, principal, c.target_hash)),
            findingsHash=h,
            late=ev["late"],
            revoked=ev["revoked"],
            answeredBy=signer.address,
        )
    out["answeredTransaction"] = receipt["transactionHash"].to_0x_hex()
    return out


@router.post(
    "/checks/{check_id}/close",
    response_model=RetroCheckOut,
    summary="Close an answered retroactive check",
    description="For customs keys of the country that asked (signed with its customs keystore held by this "
    "service): closes an answered check; a new check on the certificate may then be opened.",
)
def close_check(check_id: CheckId, request: Request, principal: Principal = PrincipalDep) -> dict[str, Any]:
    require(principal, "customs")
    desk = _desk(request)
    c = _chain_check(request, check_id)
    if c.requesting_country != principal.country:
        raise Problem(404, "CHECK_NOT_FOUND", f"no retroactive check {check_id} of {principal.country}'s customs")
    signer = _customs_signer(request, principal.country)
    receipt = _mined(lambda: desk.record(signer).close_check(check_id))
    _mirror(request, receipt, "CheckClosed")
    out = _check_out(desk, _chain_check(request, check_id))  # the customs that received it
    out.update(
        state="CLOSED", overdue=False, closedBy=signer.address, closedTransaction=receipt["transactionHash"].to_0x_hex()
    )
    return out


# ------------------------------------------------------------------ texts for the other side's service


@router.get(
    "/customs-texts/{text_hash}",
    response_model=TextOut,
    summary="A decision note, check request or findings text, for the other side's service",
    description="Anyone may call it who signs for a chain key the CustomsRecord entitles to the text — a key "
    "of the certificate's issuing authority or an admin of its country, or a customs key of its "
    "importing country — with headers X-Certnet-Account, X-Certnet-Time (unix seconds, within "
    "5 minutes) and X-Certnet-Signature (EIP-191 signature of `certnet customs text <hash> "
    "<time>`). This is how the two countries' services exchange the texts whose hashes are on "
    "chain; no API key is needed.",
    openapi_extra={"security": []},
)
def customs_text(
    text_hash_: Annotated[
        str,
        Path(
            alias="text_hash",
            pattern=r"^[0-9a-f]{64}$",
            description="keccak256 of the text's canonical JSON",
            openapi_examples=ex.param(CHECK_EXAMPLE["requestHash"], "a check request"),
        ),
    ],
    request: Request,
) -> TextOut:
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        account = signer_of(text_hash_, headers)
    except ValueError as exc:
        raise Problem(401, "TEXT_SIGNATURE_INVALID", str(exc)) from None
    desk = _desk(request)
    with desk.sessions() as s:
        row = s.get(CustomsText, text_hash_)
    if row is None or not row.written_here or not desk.entitled_to_text(account, row):
        raise Problem(404, "TEXT_NOT_FOUND", f"no text {text_hash_} for {account} here")
    return TextOut(hash=row.hash, text=row.body)
