"""The contracts' data as plain Python: type and reason codes, statuses, and the records the bindings return.

Kept apart from `certnet.node.contracts` (the web3 bindings) so that code which only judges statuses — offline
verification, the command line — reads them without importing web3.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

ZERO_ADDRESS = "0x" + "00" * 20

#: On-chain document type codes (bit positions in an issuer's allowed-types mask).
DOCUMENT_TYPES: dict[str, int] = {"ECERT": 0, "FORM_D": 1, "EPHYTO": 2}
DOCUMENT_TYPE_NAMES: dict[int, str] = {v: k for k, v in DOCUMENT_TYPES.items()}

#: Form D box 4 reasons a customs gives with its decision, recorded on chain.
DECISION_REASONS: dict[str, int] = {
    "NONE": 0,
    "ORIGIN_CRITERION_NOT_MET": 1,
    "HS_CODE_MISMATCH": 2,
    "LATE_PRESENTATION": 3,
    "SIGNATURE_OR_SEAL_MISMATCH": 4,
    "THIRD_COUNTRY_INVOICING_NOT_DECLARED": 5,
    "OTHER": 6,  # said in the decision's note
}
#: Reasons a customs gives when it asks for a retroactive check (ATIGA Operational Certification Procedures).
CHECK_REASONS: dict[str, int] = {
    "RANDOM": 0,
    "DOUBT_ORIGIN": 1,
    "DOUBT_AUTHENTICITY": 2,
    "DOUBT_HS_CLASSIFICATION": 3,
    "DOUBT_VALUE_CONTENT": 4,
    "DOUBT_CONSIGNMENT": 5,
    "RISK_PROFILE": 6,
    "OTHER": 7,
}

#: Revocation reason codes recorded on chain.
REVOCATION_REASONS: dict[str, int] = {
    "UNSPECIFIED": 0,
    "ISSUED_IN_ERROR": 1,
    "DATA_CORRECTED": 2,
    "FRAUDULENT": 3,
    "KEY_COMPROMISED": 4,
    "GOODS_NOT_SHIPPED": 5,
    "DUPLICATE": 6,
    "REQUESTED_BY_EXPORTER": 7,
    "REJECTED_BY_IMPORTING_CUSTOMS": 8,
}
REVOCATION_REASON_NAMES: dict[int, str] = {v: k for k, v in REVOCATION_REASONS.items()}


class KeyStatus(enum.IntEnum):
    """Lifecycle of an issuing authority's signing key (retired is final)."""

    NONE = 0
    ACTIVE = 1
    SUSPENDED = 2
    RETIRED = 3


class ProposalKind(enum.IntEnum):
    ADD_MEMBER = 0
    REMOVE_MEMBER = 1


class ProposalState(enum.IntEnum):
    NONE = 0
    OPEN = 1
    PASSED = 2
    REJECTED = 3
    EXPIRED = 4
    FAILED = 5  # passed, but could no longer take effect


class Preference(enum.IntEnum):
    NONE = 0
    GIVEN = 1
    NOT_GIVEN = 2


class CheckState(enum.IntEnum):
    NONE = 0
    OPEN = 1
    ANSWERED = 2
    CLOSED = 3


class CheckResult(enum.IntEnum):
    NONE = 0
    CONFIRMED = 1
    NOT_CONFIRMED = 2


class RevokedLevel(enum.IntEnum):
    """Which hash of a document's proof path a counting revocation was found on."""

    NONE = 0
    ROOT = 1
    DOCUMENT = 2
    PROOF_NODE = 3


def to_bytes32(h: str | bytes) -> bytes:
    """A 32-byte hash from hex (with or without 0x) or bytes; anything else is refused."""
    if isinstance(h, (bytes, bytearray)):
        raw = bytes(h)
    else:
        s = h[2:] if h.startswith(("0x", "0X")) else h
        try:
            raw = bytes.fromhex(s)
        except ValueError:
            raise ValueError(f"not a hex hash: {h!r}") from None
    if len(raw) != 32:
        raise ValueError(f"a hash must be 32 bytes, got {len(raw)}: {h!r}")
    return raw


def type_mask(types: Iterable[str | int]) -> int:
    mask = 0
    for t in types:
        code = DOCUMENT_TYPES[t] if isinstance(t, str) else int(t)
        if not 0 <= code <= 63:
            raise ValueError(f"document type code out of range 0..63: {code}")
        mask |= 1 << code
    return mask


def mask_types(mask: int) -> list[str | int]:
    return [DOCUMENT_TYPE_NAMES.get(i, i) for i in range(64) if mask >> i & 1]


@dataclass(frozen=True)
class AuthorityRecord:
    """An issuing authority, named by its document store."""

    store: str
    country: str
    epoch: int
    document_types: list[str | int]
    valid_from: int
    valid_until: int
    name: str


@dataclass(frozen=True)
class KeyRecord:
    """A signing key of an issuing authority."""

    key: str
    store: str | None
    status: KeyStatus
    valid_from: int
    valid_until: int
    compromised_since: int
    successor: str | None


@dataclass(frozen=True)
class Proposal:
    id: int
    kind: ProposalKind
    state: ProposalState
    country: str
    admin: str | None
    deadline: int
    yes: int
    no: int


@dataclass(frozen=True)
class AnchorRecord:
    root: str
    key: str
    document_type: int
    document_count: int
    anchored_at: int
    block_number: int


@dataclass(frozen=True)
class RevocationRecord:
    hash: str
    by: str
    reason: int
    revoked_at: int
    block_number: int


@dataclass(frozen=True)
class SupersessionRecord:
    document: str
    successor_store: str
    successor_root: str
    successor_document: str
    by: str
    superseded_at: int
    block_number: int


#: One document to ask the batched status view about: (store, root, targetHash, Merkle proof).
StatusQuery = tuple[str, "str | bytes", "str | bytes", Sequence["str | bytes"]]


@dataclass(frozen=True)
class DocumentStatus:
    """The batched status view's answer for one document. Hashes are hex without 0x. Records made by a key after
    its compromised-since time do not count and do not appear here."""

    store: str
    root: str
    document: str
    store_registered: bool  # the store is a registered authority's store of this network
    country: str | None  # the store's authority's country
    issued: bool
    issuer: str | None  # the key that anchored the root
    document_type: int
    document_count: int
    anchored_at: int
    anchored_block: int
    issuer_authorised: bool  # the key was authorised for the store and type at the anchoring time
    proof_valid: bool
    revoked: bool
    root_revoked: bool
    revoked_level: RevokedLevel
    revoked_hash: str | None
    revocation_reason: int
    revoked_at: int
    revoked_block: int
    revoked_by: str | None
    superseded: bool
    successor_store: str | None
    successor_root: str | None
    successor_document: str | None
    superseded_at: int
    superseded_by: str | None
