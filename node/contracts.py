"""Python bindings for IssuerRegistry and CertificateRegistry: one method per contract function.

Country codes are plain strings ("VN"), hashes are hex strings (with or without 0x) or bytes, times are
unix seconds. Transactions go through a `Transactor` and return the receipt; reverts raise the named
exceptions of `certnet.node.errors`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from web3 import Web3
from web3.contract import Contract
from web3.types import TxReceipt

from certnet.node.artifacts import load_artifact
from certnet.node.countries import from_bytes2, to_bytes2
from certnet.node.tx import REVERTS, Transactor, revert_from

ZERO_ADDRESS = "0x" + "00" * 20

#: On-chain document type codes (bit positions in an issuer's allowed-types mask).
DOCUMENT_TYPES: dict[str, int] = {"ECERT": 0, "FORM_D": 1, "EPHYTO": 2}
DOCUMENT_TYPE_NAMES: dict[int, str] = {v: k for k, v in DOCUMENT_TYPES.items()}

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


class IssuerStatus(enum.IntEnum):
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


def checksummed(address: str) -> str:
    """`address` in its EIP-55 form. Mixed case must carry a valid checksum (it catches mistyped addresses);
    all lower or all upper case is taken as it is. ValueError says what is wrong."""
    digits = address[2:] if address[:2] in ("0x", "0X") else ""
    mixed = digits != digits.lower() and digits != digits.upper()
    if not Web3.is_address(address) or not digits or (mixed and not Web3.is_checksum_address(address)):
        raise ValueError("not an 0x address: 40 hex digits, in lower case or with a valid EIP-55 checksum")
    return Web3.to_checksum_address(address)


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
class IssuerRecord:
    account: str
    country: str
    status: IssuerStatus
    valid_from: int
    valid_until: int
    compromised_since: int
    document_types: list[str | int]
    successor: str | None
    name: str


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
    issuer: str
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
    successor_root: str
    successor_document: str
    by: str
    superseded_at: int
    block_number: int


@dataclass(frozen=True)
class DocumentStatus:
    """The batched status view's answer for one (root, document) pair. Hashes are hex without 0x."""

    root: str
    document: str
    issued: bool
    issuer: str | None
    country: str | None
    document_type: int
    document_count: int
    anchored_at: int
    anchored_block: int
    issuer_authorised: bool
    revoked: bool
    root_revoked: bool
    revocation_reason: int
    revoked_at: int
    revoked_block: int
    superseded: bool
    successor_root: str | None
    successor_document: str | None
    superseded_at: int


def _addr(a: str) -> str | None:
    return None if int(a, 16) == 0 else Web3.to_checksum_address(a)


class _Client:
    artifact: str = ""

    def __init__(self, w3: Web3, address: str, signer: Transactor | None = None) -> None:
        self.w3 = w3
        self.address = Web3.to_checksum_address(address)
        self.contract: Contract = w3.eth.contract(address=self.address, abi=load_artifact(self.artifact)["abi"])
        self.signer = signer

    def as_signer(self, signer: Transactor) -> "_Client":
        """The same contract, sending from another account."""
        return type(self)(self.w3, self.address, signer)

    def function(self, name: str, *args: Any, signature: str | None = None) -> Any:
        """The bound contract function (for callers that sign and send it themselves, like the outbox)."""
        if signature:
            return self.contract.get_function_by_signature(signature)(*args)
        return getattr(self.contract.functions, name)(*args)

    def _call(self, name: str, *args: Any, signature: str | None = None, block: Any = "latest") -> Any:
        try:
            return self.function(name, *args, signature=signature).call(block_identifier=block)
        except REVERTS as exc:
            raise revert_from(exc, name) from None

    def _send(self, name: str, *args: Any, signature: str | None = None) -> TxReceipt:
        if self.signer is None:
            raise RuntimeError(f"{self.artifact}.{name} sends a transaction: this client has no signer")
        return self.signer.send(self.function(name, *args, signature=signature), context=f"{self.artifact}.{name}")

    def events(self, receipt: TxReceipt, event: str) -> list[dict[str, Any]]:
        """Decoded `event` logs of this contract in `receipt`."""
        from web3.logs import DISCARD

        return [dict(e["args"]) for e in getattr(self.contract.events, event)().process_receipt(receipt, errors=DISCARD)]

    def supports_interface(self, interface_id: str | bytes) -> bool:
        iid = bytes.fromhex(interface_id[2:] if isinstance(interface_id, str) and interface_id.startswith("0x")
                            else interface_id) if isinstance(interface_id, str) else interface_id
        return self._call("supportsInterface", iid)


class IssuerRegistryClient(_Client):
    """Members, admins, membership votes and issuers."""

    artifact = "IssuerRegistry"

    # -- admins and votes
    def add_admin(self, admin: str) -> TxReceipt:
        return self._send("addAdmin", admin)

    def remove_admin(self, admin: str) -> TxReceipt:
        return self._send("removeAdmin", admin)

    def propose_member(self, country: str, admin: str) -> int:
        """Propose a member; returns the proposal id (the proposer's vote is cast)."""
        return self.proposal_id(self.propose_member_tx(country, admin))

    def propose_removal(self, country: str) -> int:
        return self.proposal_id(self.propose_removal_tx(country))

    def propose_member_tx(self, country: str, admin: str) -> TxReceipt:
        return self._send("proposeMember", to_bytes2(country), admin)

    def propose_removal_tx(self, country: str) -> TxReceipt:
        return self._send("proposeRemoval", to_bytes2(country))

    def proposal_id(self, receipt: TxReceipt) -> int:
        """The id of the proposal a propose transaction created."""
        return self.events(receipt, "ProposalCreated")[0]["id"]

    def vote(self, proposal_id: int, support: bool) -> TxReceipt:
        return self._send("vote", proposal_id, support)

    # -- issuers
    def register_issuer(self, account: str, name: str, document_types: Iterable[str | int],
                        valid_from: int = 0, valid_until: int = 0) -> TxReceipt:
        return self._send("registerIssuer", account, name, type_mask(document_types), valid_from, valid_until)

    def suspend_issuer(self, account: str) -> TxReceipt:
        return self._send("suspendIssuer", account)

    def reinstate_issuer(self, account: str) -> TxReceipt:
        return self._send("reinstateIssuer", account)

    def retire_issuer(self, account: str) -> TxReceipt:
        return self._send("retireIssuer", account)

    def rotate_issuer(self, previous: str, successor: str) -> TxReceipt:
        return self._send("rotateIssuer", previous, successor)

    def mark_compromised(self, account: str, since: int) -> TxReceipt:
        return self._send("markCompromised", account, since)

    # -- views
    def authorised_country(self, account: str, document_type: str | int) -> str | None:
        raw = self._call("authorisedCountry", account, _type_code(document_type))
        return from_bytes2(raw) or None

    def is_authorised_at(self, account: str, document_type: str | int, time: int) -> bool:
        return self._call("isAuthorisedAt", account, _type_code(document_type), time)

    def issuer(self, account: str) -> IssuerRecord:
        r = self._call("issuer", account)
        return IssuerRecord(
            account=Web3.to_checksum_address(account), country=from_bytes2(r[0]), status=IssuerStatus(r[1]),
            valid_from=r[2], valid_until=r[3], compromised_since=r[4], document_types=mask_types(r[5]),
            successor=_addr(r[6]), name=r[7],
        )

    def country_of(self, account: str) -> str | None:
        return from_bytes2(self._call("countryOf", account)) or None

    def is_compromised(self, account: str) -> bool:
        return self._call("isCompromised", account)

    def issuer_status_at(self, account: str, time: int) -> IssuerStatus:
        return IssuerStatus(self._call("issuerStatusAt", account, time))

    def issuers_of(self, country: str) -> list[str]:
        return list(self._call("issuersOf", to_bytes2(country)))

    def is_admin_of(self, account: str, country: str) -> bool:
        return self._call("isAdminOf", account, to_bytes2(country))

    def admin_country_of(self, account: str) -> str | None:
        return from_bytes2(self._call("adminCountryOf", account)) or None

    def is_member(self, country: str) -> bool:
        return self._call("isMember", to_bytes2(country))

    def was_member_at(self, country: str, time: int) -> bool:
        return self._call("wasMemberAt", to_bytes2(country), time)

    def member(self, country: str) -> dict[str, Any]:
        active, admins, joined = self._call("member", to_bytes2(country))
        return {"country": country, "active": active, "adminCount": admins, "joinedAt": joined}

    def countries(self) -> list[str]:
        return [from_bytes2(c) for c in self._call("countries")]

    def member_count(self) -> int:
        return self._call("memberCount")

    def proposal_count(self) -> int:
        return self._call("proposalCount")

    def proposal(self, proposal_id: int) -> Proposal:
        r = self._call("proposal", proposal_id)
        return Proposal(id=proposal_id, kind=ProposalKind(r[0]), state=ProposalState(r[1]),
                        country=from_bytes2(r[2]), admin=_addr(r[3]), deadline=r[4], yes=r[5], no=r[6])

    def has_voted(self, proposal_id: int, country: str) -> bool:
        return self._call("hasVoted", proposal_id, to_bytes2(country))


def _type_code(t: str | int) -> int:
    return DOCUMENT_TYPES[t] if isinstance(t, str) else int(t)


class CertificateRegistryClient(_Client):
    """Anchoring, revocation, supersession and status of certificate batches."""

    artifact = "CertificateRegistry"

    # -- transactions
    def anchor(self, root: str | bytes, document_type: str | int, document_count: int) -> TxReceipt:
        return self._send("anchor", to_bytes32(root), _type_code(document_type), document_count)

    def issue(self, root: str | bytes) -> TxReceipt:
        """OpenAttestation `issue(root)`: a generic (type 0) batch of one."""
        return self._send("issue", to_bytes32(root))

    def revoke_root(self, root: str | bytes, reason: str | int = 0) -> TxReceipt:
        return self._send("revokeRoot", to_bytes32(root), reason_code(reason))

    def revoke(self, root: str | bytes) -> TxReceipt:
        """OpenAttestation `revoke(root)`."""
        return self._send("revoke", to_bytes32(root), signature="revoke(bytes32)")

    def revoke_document(self, root: str | bytes, document: str | bytes, proof: Sequence[str | bytes],
                        reason: str | int = 0) -> TxReceipt:
        return self._send("revokeDocument", to_bytes32(root), to_bytes32(document),
                          [to_bytes32(p) for p in proof], reason_code(reason))

    def revoke_with_proof(self, root: str | bytes, document: str | bytes, proof: Sequence[str | bytes]) -> TxReceipt:
        """OpenAttestation batchable `revoke(root, document, proof)`."""
        return self._send("revoke", to_bytes32(root), to_bytes32(document), [to_bytes32(p) for p in proof],
                          signature="revoke(bytes32,bytes32,bytes32[])")

    def supersede(self, old_root: str | bytes, old_document: str | bytes, old_proof: Sequence[str | bytes],
                  new_root: str | bytes, new_document: str | bytes, new_proof: Sequence[str | bytes]) -> TxReceipt:
        return self._send("supersede", to_bytes32(old_root), to_bytes32(old_document),
                          [to_bytes32(p) for p in old_proof], to_bytes32(new_root), to_bytes32(new_document),
                          [to_bytes32(p) for p in new_proof])

    # -- OpenAttestation views
    def name(self) -> str:
        return self._call("name")

    def is_issued(self, root: str | bytes, document: str | bytes | None = None,
                  proof: Sequence[str | bytes] | None = None, block: Any = "latest") -> bool:
        if document is None:
            return self._call("isIssued", to_bytes32(root), signature="isIssued(bytes32)", block=block)
        return self._call("isIssued", to_bytes32(root), to_bytes32(document), [to_bytes32(p) for p in proof or []],
                          signature="isIssued(bytes32,bytes32,bytes32[])", block=block)

    def is_revoked(self, root: str | bytes, document: str | bytes | None = None,
                   proof: Sequence[str | bytes] | None = None, block: Any = "latest") -> bool:
        if document is None:
            return self._call("isRevoked", to_bytes32(root), signature="isRevoked(bytes32)", block=block)
        return self._call("isRevoked", to_bytes32(root), to_bytes32(document), [to_bytes32(p) for p in proof or []],
                          signature="isRevoked(bytes32,bytes32,bytes32[])", block=block)

    def is_active(self, root: str | bytes, document: str | bytes | None = None,
                  proof: Sequence[str | bytes] | None = None, block: Any = "latest") -> bool:
        if document is None:
            return self._call("isActive", to_bytes32(root), signature="isActive(bytes32)", block=block)
        return self._call("isActive", to_bytes32(root), to_bytes32(document), [to_bytes32(p) for p in proof or []],
                          signature="isActive(bytes32,bytes32,bytes32[])", block=block)

    # -- certnet views
    def issuer_registry(self) -> str:
        return self._call("issuerRegistry")

    def anchor_of(self, root: str | bytes) -> AnchorRecord | None:
        r = self._call("anchorOf", to_bytes32(root))
        if int(r[0], 16) == 0:
            return None
        return AnchorRecord(root=to_bytes32(root).hex(), issuer=r[0], document_type=r[1], document_count=r[2],
                            anchored_at=r[3], block_number=r[4])

    def anchoring_tx(self, root: str | bytes, block_number: int) -> str | None:
        """The hash of the transaction that anchored `root` in `block_number` (from its RootAnchored log)."""
        logs = self.contract.events.RootAnchored.get_logs(argument_filters={"root": to_bytes32(root)},
                                                          from_block=block_number, to_block=block_number)
        return logs[0]["transactionHash"].to_0x_hex() if logs else None

    def revocation_of(self, h: str | bytes) -> RevocationRecord | None:
        r = self._call("revocationOf", to_bytes32(h))
        if r[2] == 0:
            return None
        return RevocationRecord(hash=to_bytes32(h).hex(), by=r[0], reason=r[1], revoked_at=r[2], block_number=r[3])

    def supersession_of(self, document: str | bytes) -> SupersessionRecord | None:
        r = self._call("supersessionOf", to_bytes32(document))
        if r[3] == 0:
            return None
        return SupersessionRecord(document=to_bytes32(document).hex(), successor_root=r[0].hex(),
                                  successor_document=r[1].hex(), by=r[2], superseded_at=r[3], block_number=r[4])

    MAX_STATUS_QUERIES = 1000

    def status_of(self, pairs: Sequence[tuple[str | bytes, str | bytes]], block: Any = "latest") -> list[DocumentStatus]:
        """The batched status view for many (root, document) pairs (split into calls of at most 1000).

        One raw eth_call per chunk: the call data is built and the answer (a static tuple array, 14 words per
        status) read directly, which is several times faster than web3's generic contract-call machinery
        for a thousand pairs and gives the same values (addresses checksummed, hashes hex without 0x)."""
        from web3.exceptions import BadFunctionCallOutput

        word = 32
        fields = 14  # words per DocumentStatus in the answer
        selector = Web3.keccak(text="statusOf(bytes32[],bytes32[])")[:4]
        zero20 = bytes(20)
        checksummed: dict[bytes, str] = {}
        out: list[DocumentStatus] = []
        for start in range(0, len(pairs), self.MAX_STATUS_QUERIES):
            chunk = pairs[start:start + self.MAX_STATUS_QUERIES]
            n = len(chunk)
            roots = [to_bytes32(r) for r, _ in chunk]
            docs = [to_bytes32(d) for _, d in chunk]
            count = n.to_bytes(word, "big")
            data = b"".join((selector, (2 * word).to_bytes(word, "big"), ((3 + n) * word).to_bytes(word, "big"),
                             count, *roots, count, *docs))
            try:
                raw = bytes(self.w3.eth.call({"to": self.address, "data": data}, block_identifier=block))
            except REVERTS as exc:
                raise revert_from(exc, "statusOf") from None
            size = fields * word
            if (len(raw) != 2 * word + n * size or int.from_bytes(raw[:word], "big") != word
                    or int.from_bytes(raw[word:2 * word], "big") != n):
                raise BadFunctionCallOutput(
                    f"CertificateRegistry.statusOf at {self.address} answered {len(raw)} bytes for {n} pairs, not "
                    f"{2 * word + n * size}: is the contract deployed there at block {block}?")
            for i in range(n):
                w = [int.from_bytes(raw[p:p + word], "big")
                     for p in range(2 * word + i * size, 2 * word + (i + 1) * size, word)]
                base = 2 * word + i * size
                account = raw[base + 12:base + word]
                issued = account != zero20
                issuer = None
                if issued:
                    issuer = checksummed.get(account)
                    if issuer is None:
                        issuer = checksummed[account] = Web3.to_checksum_address(account)
                superseded = w[13] != 0
                out.append(DocumentStatus(
                    root=roots[i].hex(), document=docs[i].hex(), issued=issued, issuer=issuer,
                    country=from_bytes2(raw[base + word:base + word + 2]) or None, document_type=w[2],
                    document_count=w[3], anchored_at=w[4], anchored_block=w[5], issuer_authorised=w[6] != 0,
                    revoked=w[9] != 0, root_revoked=w[7] != 0, revocation_reason=w[8], revoked_at=w[9],
                    revoked_block=w[10], superseded=superseded,
                    successor_root=raw[base + 11 * word:base + 12 * word].hex() if superseded else None,
                    successor_document=raw[base + 12 * word:base + 13 * word].hex() if superseded else None,
                    superseded_at=w[13],
                ))
        return out

def reason_code(r: str | int) -> int:
    """A revocation reason by name or code, checked."""
    if isinstance(r, str):
        if r not in REVOCATION_REASONS:
            raise ValueError(f"unknown revocation reason {r!r}; one of {', '.join(REVOCATION_REASONS)}")
        return REVOCATION_REASONS[r]
    if not 0 <= r <= 255:
        raise ValueError(f"revocation reason code out of range 0..255: {r}")
    return r
