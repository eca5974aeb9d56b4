"""Verdicts: the checks a verification made, each with a machine code and a sentence a customs officer
understands, and one overall status."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class CheckType(StrEnum):
    """What one check of a verification looked at."""

    DOCUMENT_INTEGRITY = "DOCUMENT_INTEGRITY"
    DOCUMENT_STATUS = "DOCUMENT_STATUS"
    ISSUER_IDENTITY = "ISSUER_IDENTITY"
    ISSUER_SIGNATURE = "ISSUER_SIGNATURE"


class CheckStatus(StrEnum):
    """The outcome of one check."""

    VALID = "VALID"
    INVALID = "INVALID"
    ERROR = "ERROR"
    SKIPPED = "SKIPPED"


class Status(StrEnum):
    """A verdict's overall status, in the order `certnet verify` ranks them (after VALID, the first is the worst)."""

    VALID = "VALID"
    TAMPERED = "TAMPERED"
    NOT_ISSUED = "NOT_ISSUED"
    REVOKED = "REVOKED"
    SUPERSEDED = "SUPERSEDED"
    UNAUTHORIZED_ISSUER = "UNAUTHORIZED_ISSUER"
    WRONG_NETWORK = "WRONG_NETWORK"
    MALFORMED = "MALFORMED"
    ERROR = "ERROR"
    #: offline verification only: the document is intact, nothing was read from a network
    INTEGRITY_ONLY = "INTEGRITY_ONLY"


# the members under their plain names (StrEnum: each equals its string, in code, JSON and the database)
DOCUMENT_INTEGRITY, DOCUMENT_STATUS, ISSUER_IDENTITY, ISSUER_SIGNATURE = CheckType
VALID, INVALID, ERROR, SKIPPED = CheckStatus
TAMPERED, NOT_ISSUED, REVOKED, SUPERSEDED = Status.TAMPERED, Status.NOT_ISSUED, Status.REVOKED, Status.SUPERSEDED
UNAUTHORIZED_ISSUER, WRONG_NETWORK, MALFORMED = Status.UNAUTHORIZED_ISSUER, Status.WRONG_NETWORK, Status.MALFORMED
INTEGRITY_ONLY = Status.INTEGRITY_ONLY

OVERALL = tuple(Status)

#: `certnet verify` exit codes, one per overall status.
EXIT_CODES: dict[str, int] = {
    VALID: 0,
    TAMPERED: 10,
    NOT_ISSUED: 11,
    REVOKED: 12,
    SUPERSEDED: 13,
    UNAUTHORIZED_ISSUER: 14,
    WRONG_NETWORK: 15,
    MALFORMED: 16,
    ERROR: 17,
    INTEGRITY_ONLY: 18,
}

#: What each revocation reason means, for the verdict's sentence.
REASON_SENTENCES = {
    "UNSPECIFIED": "no reason was given",
    "ISSUED_IN_ERROR": "it was issued in error",
    "DATA_CORRECTED": "its data had to be corrected",
    "FRAUDULENT": "it was found to be fraudulent",
    "KEY_COMPROMISED": "the issuing key was compromised",
    "GOODS_NOT_SHIPPED": "the goods were not shipped",
    "DUPLICATE": "it duplicates another certificate",
    "REQUESTED_BY_EXPORTER": "the exporter asked for it",
    "REJECTED_BY_IMPORTING_CUSTOMS": "the importing customs rejected it",
}


@functools.lru_cache(maxsize=4096)  # a batch's documents share their times: formatting each again is costly
@functools.lru_cache(maxsize=4096)  # a batch's documents share their times: format each once
def utc(ts: int | None) -> str | None:
    if not ts:
        return None
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass
class Check:
    type: str
    status: str
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Verdict:
    """The outcome of verifying one document, as of `chain_id` and `block_number` (None offline)."""

    status: str
    checks: list[Check]
    message: str
    chain_id: int | None = None
    block_number: int | None = None
    block_hash: str | None = None
    source: str = "chain"
    document: dict[str, Any] = field(default_factory=dict)
    issuer: dict[str, Any] | None = None
    revocation: dict[str, Any] | None = None
    successor: dict[str, Any] | None = None

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def check(self, check_type: str) -> Check | None:
        return next((c for c in self.checks if c.type == check_type), None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def overall_message(status: str, v: Verdict) -> str:
    """One sentence for the overall status."""
    ref = v.document.get("referenceNumber")
    what = f"Certificate {ref}" if ref else "This document"
    if status == VALID:
        who = f" by {v.issuer['name']} ({v.issuer['country']})" if v.issuer and v.issuer.get("name") else ""
        return f"{what} is valid: intact, issued{who}, not revoked."
    if status == TAMPERED:
        return f"{what} has been altered after it was issued. Do not accept it."
    if status == NOT_ISSUED:
        return f"{what} was never issued on this network. Do not accept it."
    if status == REVOKED:
        r = v.revocation or {}
        return f"{what} was revoked by its issuer on {r.get('revokedAtUtc')}: {r.get('reasonText')}. Do not accept it."
    if status == SUPERSEDED:
        return (
            f"{what} was replaced by another certificate on {(v.successor or {}).get('supersededAtUtc')}. "
            "Ask for the replacement."
        )
    if status == UNAUTHORIZED_ISSUER:
        return f"{what} was not issued by an authority authorised to issue it at the time. Do not accept it."
    if status == WRONG_NETWORK:
        return f"{what} belongs to another network than the one this verifier reads; its status is unknown here."
    if status == MALFORMED:
        return "The file is not a readable certnet / OpenAttestation v2 document."
    if status == INTEGRITY_ONLY:
        return f"{what} is intact; its issuance and revocation status were not checked (offline)."
    return (
        f"The status of {what.lower() if ref is None else what} could not be read. "
        "Do not accept it until it can be checked."
    )
