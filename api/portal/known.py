"""Links and hashes as visitors paste them; which hashes this node knows (issued through its outbox,
certnet.issuer.outbox.Document, or received in a customs inbox, certnet.api.models.ReceivedDocument); and the
auditor's search over them (what certnet.api.disclosure lets the auditor see)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from web3 import Web3

from certnet.api.auth import Principal
from certnet.api.disclosure import issued_record, may_see_content, received_record
from certnet.api.models import ReceivedDocument
from certnet.api.problems import Problem
from certnet.index.audit import document_store
from certnet.issuer.outbox import ANCHORED, Batch, Document
from certnet.verifier.verdict import utc

HASH_RE = re.compile(r"^(?:0x)?([0-9a-fA-F]{64})$")
HASH_IN_TEXT = re.compile(r"(?<![0-9a-fA-F])([0-9a-fA-F]{64})(?![0-9a-fA-F])")


def normalise_hash(value: str) -> str | None:
    """64 lower-case hex digits from a hash with or without 0x; None when it is not one."""
    m = HASH_RE.match(value.strip()) if isinstance(value, str) else None
    return m.group(1).lower() if m else None


TOKEN_IN_LINK = re.compile(r"/portal/q/([A-Za-z0-9_-]{16,64})(?:[#?/]|$)")


def token_in_link(text: str) -> str | None:
    """The token of a pasted QR capability link (…/portal/q/<token>#<key>), or None."""
    m = TOKEN_IN_LINK.search((text or "").strip())
    return m.group(1) if m else None


def hash_in_link(text: str) -> str | None:
    """The targetHash in a pasted QR link (…/portal/v/<hash>) or a bare hash."""
    text = (text or "").strip()
    direct = normalise_hash(text)
    if direct:
        return direct
    m = re.search(r"/v/(?:0x)?([0-9a-fA-F]{64})(?![0-9a-fA-F])", text) or HASH_IN_TEXT.search(text)
    return m.group(1).lower() if m else None


def _root_of(wrapped: Any) -> str | None:
    sig = wrapped.get("signature") if isinstance(wrapped, dict) else None
    root = sig.get("merkleRoot") if isinstance(sig, dict) else None
    return root if isinstance(root, str) else None


def known_hashes(service: Any, hashes: list[str]) -> set[str]:
    """Which of these targetHashes this node can show (for links to successors)."""
    hashes = [h for h in hashes if h]
    if not hashes:
        return set()
    with service.sessions() as s:
        a = set(
            s.scalars(
                select(Document.target_hash).where(Document.target_hash.in_(hashes), Document.wrapped.is_not(None))
            )
        )
        b = set(s.scalars(select(ReceivedDocument.target_hash).where(ReceivedDocument.target_hash.in_(hashes))))
    return a | b


# ------------------------------------------------------------------ audit search

MAX_RESULTS = 500


def _day(value: str | None, name: str, end: bool = False) -> int | None:
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise Problem(422, "INVALID_DATE", f"{name} must be a date written YYYY-MM-DD, not {value[:40]!r}") from None
    if end:
        day += dt.timedelta(days=1)
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


@dataclass
class AuditQuery:
    country: str
    issuer: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    reference: str | None = None
    limit: int = 100

    def bounds(self) -> tuple[int | None, int | None]:
        lo, hi = _day(self.date_from, "from"), _day(self.date_to, "to", end=True)
        if lo is not None and hi is not None and hi <= lo:
            raise Problem(422, "INVALID_DATE_RANGE", "the end date is before the start date")
        return lo, hi

    def issuer_account(self) -> str | None:
        if not self.issuer:
            return None
        if not Web3.is_address(self.issuer.strip()):
            raise Problem(422, "INVALID_ISSUER", "the issuer account must be a 0x address of 40 hex digits")
        return Web3.to_checksum_address(self.issuer.strip())

    def as_dict(self) -> dict[str, Any]:
        return {
            "jurisdiction": self.country,
            "issuer": self.issuer or None,
            "from": self.date_from or None,
            "to": self.date_to or None,
            "reference": self.reference or None,
            "limit": self.limit,
        }


def audit_search(service: Any, q: AuditQuery, principal: Principal) -> dict[str, Any]:
    """Documents of the auditor's jurisdiction known to this node — those the auditor may see under
    certnet.api.disclosure: issued in that country, through this node or received by any customs here —
    filtered by issuer account, anchoring date and reference number, each with its on-chain events (block,
    time, transaction) and its Merkle proof: enough for anyone to re-check it against any node."""
    from certnet.api.portal.history import histories

    lo, hi = q.bounds()
    issuer = q.issuer_account()
    ref = (q.reference or "").strip()
    limit = max(1, min(q.limit, MAX_RESULTS))
    found: dict[str, dict[str, Any]] = {}
    with service.sessions() as s:
        query = (
            select(Document, Batch)
            .outerjoin(Batch, Document.batch_id == Batch.id)
            .where(Document.issuing_country == q.country, Document.target_hash.is_not(None))
        )
        if ref:
            query = query.where(Document.reference_number.contains(ref, autoescape=True))
        if issuer:
            query = query.where(Document.issuer == issuer)
        if lo is not None:
            query = query.where(Batch.anchored_at >= lo)
        if hi is not None:
            query = query.where(Batch.anchored_at < hi)
        for d, b in s.execute(query.order_by(Document.id.desc()).limit(limit + 1)):
            if not may_see_content(principal, issued_record(d)):
                continue
            found[d.target_hash] = {
                "targetHash": d.target_hash,
                "merkleRoot": _root_of(d.wrapped),
                "referenceNumber": d.reference_number,
                "issuingCountry": d.issuing_country,
                "documentType": d.document_type,
                "issuer": d.issuer,
                "pipelineState": d.state,
                "knownAs": ["issued through this node"],
                "proof": ((d.wrapped or {}).get("signature") or {}).get("proof"),
                "store": document_store(d.wrapped) if d.wrapped else None,
                "anchoredAt": b.anchored_at if b else None,
            }
        iq = select(ReceivedDocument).where(ReceivedDocument.issuing_country == q.country)
        if ref:
            iq = iq.where(ReceivedDocument.reference_number.contains(ref, autoescape=True))
        for r in s.scalars(iq.order_by(ReceivedDocument.id.desc()).limit(limit + 1)):
            if not may_see_content(principal, received_record(r)):
                continue
            entry = found.get(r.target_hash)
            label = f"received by the customs of {r.customs_country}"
            if entry is None:
                sig = (r.document or {}).get("signature") or {}
                entry = found[r.target_hash] = {
                    "targetHash": r.target_hash,
                    "merkleRoot": r.merkle_root,
                    "referenceNumber": r.reference_number,
                    "issuingCountry": r.issuing_country,
                    "documentType": None,
                    "issuer": None,
                    "pipelineState": None,
                    "knownAs": [],
                    "proof": sig.get("proof") if isinstance(sig, dict) else None,
                    "store": document_store(r.document) if r.document else None,
                    "anchoredAt": None,
                }
            if label not in entry["knownAs"]:
                entry["knownAs"].append(label)
    pairs = [(e["targetHash"], e["merkleRoot"], e["store"]) for e in found.values() if e["merkleRoot"]]
    expected = {
        e["targetHash"]: {"ANCHORED"} for e in found.values() if e["merkleRoot"] and e["pipelineState"] == ANCHORED
    }
    events, source = histories(service, pairs, expected)
    results = []
    for e in found.values():
        e["events"] = events.get(e["targetHash"], [])
        anchor = next((ev for ev in e["events"] if ev["kind"] == "ANCHORED"), None)
        if anchor is not None:
            e["issuer"] = anchor.get("actor") or e["issuer"]
            e["anchoredAt"] = anchor["time"]
            e["anchorTransaction"] = anchor["transactionHash"]
            e["anchorBlock"] = anchor["blockNumber"]
            if not e["documentType"]:
                e["documentType"] = anchor.get("documentTypeName")
        e["anchoredAtUtc"] = utc(e["anchoredAt"])
        kinds = {ev["kind"] for ev in e["events"]}
        e["chainStatus"] = (
            "REVOKED"
            if "REVOKED" in kinds
            else "SUPERSEDED"
            if "SUPERSEDED" in kinds
            else "ANCHORED"
            if anchor is not None
            else "NOT_ANCHORED"
        )
        if issuer and (e["issuer"] or "").lower() != issuer.lower():
            continue
        if lo is not None and (e["anchoredAt"] is None or e["anchoredAt"] < lo):
            continue
        if hi is not None and (e["anchoredAt"] is None or e["anchoredAt"] >= hi):
            continue
        results.append(e)
    results.sort(key=lambda e: (e["anchoredAt"] or 0, e["targetHash"]), reverse=True)
    truncated = len(results) > limit
    d = service.deployment
    return {
        "query": q.as_dict(),
        "network": {"name": d.name, "chainId": d.chain_id, "issuerRegistry": d.issuer_registry},
        "historySource": source,
        "truncated": truncated,
        "count": min(len(results), limit),
        "results": results[:limit],
    }
