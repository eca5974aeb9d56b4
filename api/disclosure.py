"""Who may see a document's content: the one rule every endpoint and portal page follows.

A certificate carries an exporter's commercial data (parties, goods, quantities, values). Only hashes are
public. Content — the document data, the wrapped document, its Merkle root and proof — goes only to:

* whoever presents the document itself (a verify call, the portal's verification, a QR capability link):
  the answer is built from what was presented, never from a copy this service keeps, so fields hidden by
  selective disclosure stay hidden;
* the issuing authority: an issuer key bound to the account that issued it through this service's outbox;
* the importing customs that received it: a customs key of the country whose inbox holds it (and it sees
  the copy it received, obfuscated or not, not the issuer's);
* auditors of the issuing country.

Anyone else — no key, another role, another country — learns at most the status of a hash (issued,
revoked with reason and time, superseded by which document), never a root, proof, transaction or field.

The rule is written in terms of the service's own records (outbox documents with their issuer and issuing
country, inbox entries with the receiving country), not chain calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from certnet.api.auth import Principal
from certnet.api.models import ReceivedDocument
from certnet.issuer.outbox import ANCHORED, Batch, Document


@dataclass(frozen=True)
class IssuedCopy:
    """The issuing authority's record in this service's outbox."""

    issuer: str  # the issuer account (checksummed)
    issuing_country: str
    wrapped: dict[str, Any] | None  # None for a batch root, or before wrapping
    document_id: int | None = None
    state: str | None = None
    reference_number: str | None = None
    document_type: str | None = None


@dataclass(frozen=True)
class ReceivedCopy:
    """A customs inbox entry: the copy that country's customs received (possibly obfuscated)."""

    country: str  # the receiving (importing) customs
    issuing_country: str | None
    wrapped: dict[str, Any]
    reference_number: str | None = None


@dataclass
class DocumentRecord:
    """What this service keeps about one hash (a targetHash, or a batch's Merkle root)."""

    hash: str
    merkle_root: str | None = None
    issued: IssuedCopy | None = None
    received: list[ReceivedCopy] = field(default_factory=list)
    is_root: bool = False  # the hash is a batch's root, not a document's targetHash

    @property
    def issuing_country(self) -> str | None:
        if self.issued is not None:
            return self.issued.issuing_country
        return next((r.issuing_country for r in self.received if r.issuing_country), None)

    @property
    def received_by(self) -> list[str]:
        return sorted({r.country for r in self.received})


def may_see_content(principal: Principal | None, record: DocumentRecord) -> bool:
    """The rule: may this caller (None: no key) see the document's content?"""
    if principal is None:
        return False
    if principal.role == "issuer":
        return (
            record.issued is not None
            and principal.issuer_account is not None
            and record.issued.issuer.lower() == principal.issuer_account.lower()
        )
    if principal.role == "customs":
        return any(r.country == principal.country for r in record.received)
    if principal.role == "auditor":
        return record.issuing_country is not None and record.issuing_country == principal.country
    return False


def visible_copy(principal: Principal | None, record: DocumentRecord) -> dict[str, Any] | None:
    """The wrapped document this caller may see, or None: the issuer's own copy for the issuing authority
    (and the issuing country's auditors), the received copy for the customs that received it."""
    if not may_see_content(principal, record):
        return None
    assert principal is not None
    if principal.role == "customs":
        return next(r.wrapped for r in record.received if r.country == principal.country)
    if record.issued is not None and record.issued.wrapped is not None:
        return record.issued.wrapped
    if principal.role == "auditor":
        return next((r.wrapped for r in record.received), None)
    return None


def issued_record(d: Document) -> DocumentRecord:
    """The record of one outbox document (what the issuer's own endpoints hold in hand)."""
    return DocumentRecord(
        d.target_hash or "",
        _root_of(d.wrapped),
        IssuedCopy(d.issuer, d.issuing_country, d.wrapped, d.id, d.state, d.reference_number, d.document_type),
    )


def received_record(r: ReceivedDocument) -> DocumentRecord:
    """The record of one inbox entry."""
    return DocumentRecord(r.target_hash, r.merkle_root, received=[_received(r)])


def _received(r: ReceivedDocument) -> ReceivedCopy:
    return ReceivedCopy(r.customs_country, r.issuing_country, r.document, r.reference_number)


def _root_of(wrapped: Any) -> str | None:
    sig = wrapped.get("signature") if isinstance(wrapped, dict) else None
    root = sig.get("merkleRoot") if isinstance(sig, dict) else None
    return root if isinstance(root, str) else None


def load_record(service: Any, h: str) -> DocumentRecord | None:
    """This service's record of a targetHash (its outbox copy, preferring the anchored one, and every inbox
    entry), or else of a batch root (the batch's issuer and country; inbox entries of that root). None when
    the service keeps nothing about the hash."""
    with service.sessions() as s:
        d = s.scalar(
            select(Document)
            .where(Document.target_hash == h, Document.wrapped.is_not(None))
            .order_by((Document.state == ANCHORED).desc(), Document.id.desc())
            .limit(1)
        )
        received = list(
            s.scalars(select(ReceivedDocument).where(ReceivedDocument.target_hash == h).order_by(ReceivedDocument.id))
        )
        if d is not None or received:
            record = issued_record(d) if d is not None else DocumentRecord(h, received[0].merkle_root)
            record.received = [_received(r) for r in received]
            return record
        batch = s.scalar(select(Batch).where(Batch.merkle_root == h))
        country = (
            s.scalar(select(Document.issuing_country).where(Document.batch_id == batch.id).limit(1))
            if batch is not None
            else None
        )
        by_root = list(
            s.scalars(select(ReceivedDocument).where(ReceivedDocument.merkle_root == h).order_by(ReceivedDocument.id))
        )
    if batch is None and not by_root:
        return None
    record = DocumentRecord(h, h, received=[_received(r) for r in by_root], is_root=True)
    if batch is not None and country is not None:
        record.issued = IssuedCopy(batch.issuer, country, None, state=batch.state, document_type=batch.document_type)
    return record


# ------------------------------------------------------------------ what the others get: status only

#: event fields that are status (kind, when, by which registered account, why, the successor's targetHash);
#: everything else (roots, proofs, transactions, block hashes, batch sizes) ties the hash to content
STATUS_EVENT_FIELDS = (
    "kind",
    "blockNumber",
    "time",
    "country",
    "actor",
    "documentType",
    "documentTypeName",
    "scope",
    "reason",
    "reasonName",
    "oldDocument",
    "newDocument",
    # customs decisions and checks: their codes are on chain in clear (the texts are not here)
    "issuingCountry",
    "preference",
    "version",
    "checkId",
    "dueAt",
    "result",
    "late",
    "revoked",
)


def status_event(event: dict[str, Any]) -> dict[str, Any]:
    """A history event as those not entitled to the content see it."""
    return {k: event[k] for k in STATUS_EVENT_FIELDS if k in event}
