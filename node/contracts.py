"""Python bindings for the IssuerRegistry and the authorities' DocumentStores: one method per contract function.

Country codes are plain strings ("VN"), hashes are hex strings (with or without 0x) or bytes, times are
unix seconds. Transactions go through a `Transactor` and return the receipt; reverts raise the named
exceptions of `certnet.node.errors`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from web3 import Web3
from web3.contract import Contract
from web3.types import TxReceipt

from certnet.node.artifacts import load_artifact

# re-exported: the codes and records live in contract_types, which imports no web3
from certnet.node.contract_types import CHECK_REASONS as CHECK_REASONS
from certnet.node.contract_types import DECISION_REASONS as DECISION_REASONS
from certnet.node.contract_types import DOCUMENT_TYPE_NAMES as DOCUMENT_TYPE_NAMES
from certnet.node.contract_types import (
    DOCUMENT_TYPES,
    REVOCATION_REASONS,
    ZERO_ADDRESS,
    AnchorRecord,
    AuthorityRecord,
    CheckResult,
    CheckState,
    DocumentStatus,
    KeyRecord,
    KeyStatus,
    Preference,
    Proposal,
    ProposalKind,
    ProposalState,
    RevocationRecord,
    RevokedLevel,
    StatusQuery,
    SupersessionRecord,
    mask_types,
    to_bytes32,
    type_mask,
)
from certnet.node.contract_types import REVOCATION_REASON_NAMES as REVOCATION_REASON_NAMES
from certnet.node.countries import from_bytes2, to_bytes2
from certnet.node.tx import REVERTS, Transactor, revert_from


def checksummed(address: str) -> str:
    """`address` in its EIP-55 form. Mixed case must carry a valid checksum (it catches mistyped addresses);
    all lower or all upper case is taken as it is. ValueError says what is wrong."""
    digits = address[2:] if address[:2] in ("0x", "0X") else ""
    mixed = digits != digits.lower() and digits != digits.upper()
    if not Web3.is_address(address) or not digits or (mixed and not Web3.is_checksum_address(address)):
        raise ValueError("not an 0x address: 40 hex digits, in lower case or with a valid EIP-55 checksum")
    return Web3.to_checksum_address(address)


def _addr(a: str) -> str | None:
    return None if int(a, 16) == 0 else Web3.to_checksum_address(a)


class _Client:
    artifact: str = ""

    def __init__(self, w3: Web3, address: str, signer: Transactor | None = None) -> None:
        self.w3 = w3
        self.address = Web3.to_checksum_address(address)
        self.contract: Contract = w3.eth.contract(address=self.address, abi=load_artifact(self.artifact)["abi"])
        self.signer = signer

    def as_signer(self, signer: Transactor) -> _Client:
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

        return [
            dict(e["args"]) for e in getattr(self.contract.events, event)().process_receipt(receipt, errors=DISCARD)
        ]

    def supports_interface(self, interface_id: str | bytes) -> bool:
        iid = (
            bytes.fromhex(
                interface_id[2:] if isinstance(interface_id, str) and interface_id.startswith("0x") else interface_id
            )
            if isinstance(interface_id, str)
            else interface_id
        )
        return cast("bool", self._call("supportsInterface", iid))


class IssuerRegistryClient(_Client):
    """Members, admins, customs keys, membership votes, issuing authorities and their keys, and the batched
    status view across document stores."""

    artifact = "IssuerRegistry"

    # -- admins, customs keys and votes
    def add_admin(self, admin: str) -> TxReceipt:
        return self._send("addAdmin", admin)

    def remove_admin(self, admin: str) -> TxReceipt:
        return self._send("removeAdmin", admin)

    def add_customs_key(self, key: str) -> TxReceipt:
        return self._send("addCustomsKey", key)

    def remove_customs_key(self, key: str) -> TxReceipt:
        return self._send("removeCustomsKey", key)

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
        return cast("int", self.events(receipt, "ProposalCreated")[0]["id"])

    def vote(self, proposal_id: int, support: bool) -> TxReceipt:
        return self._send("vote", proposal_id, support)

    def decide(self, proposal_id: int) -> TxReceipt:
        """Decide an open proposal again from the votes that count now, or close it as expired."""
        return self._send("decide", proposal_id)

    # -- issuing authorities and keys
    def register_authority(
        self,
        name: str,
        document_types: Iterable[str | int],
        valid_from: int = 0,
        valid_until: int = 0,
        first_key: str | None = None,
    ) -> TxReceipt:
        """Register an authority of the signer's country; its new store is `store_from(receipt)`."""
        return self._send(
            "registerAuthority", name, type_mask(document_types), valid_from, valid_until, first_key or ZERO_ADDRESS
        )

    def store_from(self, receipt: TxReceipt) -> str:
        """The store a `register_authority` transaction created."""
        return Web3.to_checksum_address(self.events(receipt, "AuthorityRegistered")[0]["store"])

    def add_key(self, store: str, key: str, valid_from: int = 0, valid_until: int = 0) -> TxReceipt:
        return self._send("addKey", store, key, valid_from, valid_until)

    def suspend_key(self, key: str) -> TxReceipt:
        return self._send("suspendKey", key)

    def reinstate_key(self, key: str) -> TxReceipt:
        return self._send("reinstateKey", key)

    def retire_key(self, key: str) -> TxReceipt:
        return self._send("retireKey", key)

    def rotate_key(self, previous: str, successor: str) -> TxReceipt:
        return self._send("rotateKey", previous, successor)

    def mark_compromised(self, key: str, since: int) -> TxReceipt:
        return self._send("markCompromised", key, since)

    # -- views
    def store_implementation(self) -> str:
        return cast("str", self._call("storeImplementation"))

    def authority(self, store: str) -> AuthorityRecord | None:
        """The authority owning `store` (None when it is not a registered store)."""
        r = self._call("authority", store)
        if r[1] == 0:
            return None
        return AuthorityRecord(
            store=Web3.to_checksum_address(store),
            country=from_bytes2(r[0]),
            epoch=r[1],
            document_types=mask_types(r[2]),
            valid_from=r[3],
            valid_until=r[4],
            name=DocumentStoreClient(self.w3, store).name(),
        )

    def country_of_store(self, store: str) -> str | None:
        return from_bytes2(self._call("countryOfStore", store)) or None

    def stores_of(self, country: str) -> list[str]:
        return list(self._call("storesOf", to_bytes2(country)))

    def key_info(self, key: str) -> KeyRecord:
        r = self._call("keyInfo", key)
        return KeyRecord(
            key=Web3.to_checksum_address(key),
            store=_addr(r[0]),
            status=KeyStatus(r[1]),
            valid_from=r[2],
            valid_until=r[3],
            compromised_since=r[4],
            successor=_addr(r[5]),
        )

    def store_of_key(self, key: str) -> str | None:
        return self.key_info(key).store

    def key_status_at(self, key: str, time: int) -> KeyStatus:
        return KeyStatus(self._call("keyStatusAt", key, time))

    def is_authorised_at(self, key: str, store: str, document_type: str | int, time: int) -> bool:
        return cast("bool", self._call("isAuthorisedAt", key, store, _type_code(document_type), time))

    def counts_at(self, account: str, time: int) -> bool:
        return cast("bool", self._call("countsAt", account, time))

    def is_admin_of(self, account: str, country: str) -> bool:
        return cast("bool", self._call("isAdminOf", account, to_bytes2(country)))

    def admin_country_of(self, account: str) -> str | None:
        return from_bytes2(self._call("adminCountryOf", account)) or None

    def is_customs_key_of(self, key: str, country: str) -> bool:
        return cast("bool", self._call("isCustomsKeyOf", key, to_bytes2(country)))

    def is_member(self, country: str) -> bool:
        return cast("bool", self._call("isMember", to_bytes2(country)))

    def was_member_at(self, country: str, time: int) -> bool:
        return cast("bool", self._call("wasMemberAt", to_bytes2(country), time))

    def member(self, country: str) -> dict[str, Any]:
        active, epoch, admins, joined = self._call("member", to_bytes2(country))
        return {"country": country, "active": active, "epoch": epoch, "adminCount": admins, "joinedAt": joined}

    def countries(self) -> list[str]:
        return [from_bytes2(c) for c in self._call("countries")]

    def member_count(self) -> int:
        return cast("int", self._call("memberCount"))

    def proposal_count(self) -> int:
        return cast("int", self._call("proposalCount"))

    def proposal(self, proposal_id: int) -> Proposal:
        r = self._call("proposal", proposal_id)
        return Proposal(
            id=proposal_id,
            kind=ProposalKind(r[0]),
            state=ProposalState(r[1]),
            country=from_bytes2(r[2]),
            admin=_addr(r[3]),
            deadline=r[4],
            yes=r[5],
            no=r[6],
        )

    def has_voted(self, proposal_id: int, country: str) -> bool:
        return cast("bool", self._call("hasVoted", proposal_id, to_bytes2(country)))

    # -- the batched status view
    #: Documents per call: the view copies each store's answer into memory, and at 1,000 documents with deep proofs
    #: a call runs out of gas for memory on anvil (60M gas per eth_call), so calls are smaller than the contract's cap.
    MAX_STATUS_QUERIES = 250
    _STATUS_SELECTOR = Web3.keccak(text="statusOf(address[],bytes32[],bytes32[],uint256[],bytes32[])")[:4]
    _STATUS_WORDS = 20  # words per DocumentStatus in the answer (3 + the store's 17)

    def status_of(self, queries: Sequence[StatusQuery], block: Any = "latest") -> list[DocumentStatus]:
        """The batched status view for many (store, root, document, proof) queries across stores (split into calls
        of at most 1000).

        One raw eth_call per chunk: the call data is built and the answer (a static tuple array, 20 words per
        status) read directly, several times faster than web3's generic machinery for a thousand queries."""
        from web3.exceptions import BadFunctionCallOutput

        word = 32
        out: list[DocumentStatus] = []
        cache: dict[bytes, str] = {}

        def addr(raw: bytes) -> str | None:
            if raw == bytes(20):
                return None
            a = cache.get(raw)
            if a is None:
                a = cache[raw] = Web3.to_checksum_address(raw)
            return a

        words: dict[str, bytes] = {}

        def store_word(address: str) -> bytes:
            w = words.get(address)
            if w is None:
                w = words[address] = bytes(12) + bytes.fromhex(checksummed(address)[2:])
            return w

        for start in range(0, len(queries), self.MAX_STATUS_QUERIES):
            chunk = queries[start : start + self.MAX_STATUS_QUERIES]
            n = len(chunk)
            stores = [store_word(q[0]) for q in chunk]
            roots = [to_bytes32(q[1]) for q in chunk]
            docs = [to_bytes32(q[2]) for q in chunk]
            proofs = [[to_bytes32(p) for p in q[3]] for q in chunk]
            nodes = [p for proof in proofs for p in proof]
            count = n.to_bytes(word, "big")
            lengths = [len(p).to_bytes(word, "big") for p in proofs]
            heads = [5 * word]
            for size in (n, n, n, n):
                heads.append(heads[-1] + (1 + size) * word)
            data = b"".join(
                (
                    self._STATUS_SELECTOR,
                    *(h.to_bytes(word, "big") for h in heads),
                    count,
                    *stores,
                    count,
                    *roots,
                    count,
                    *docs,
                    count,
                    *lengths,
                    len(nodes).to_bytes(word, "big"),
                    *nodes,
                )
            )
            try:
                raw = bytes(self.w3.eth.call({"to": self.address, "data": data}, block_identifier=block))
            except REVERTS as exc:
                raise revert_from(exc, "statusOf") from None
            size = self._STATUS_WORDS * word
            if (
                len(raw) != 2 * word + n * size
                or int.from_bytes(raw[:word], "big") != word
                or int.from_bytes(raw[word : 2 * word], "big") != n
            ):
                raise BadFunctionCallOutput(
                    f"IssuerRegistry.statusOf at {self.address} answered {len(raw)} bytes for {n} queries, not "
                    f"{2 * word + n * size}: is the contract deployed there at block {block}?"
                )
            for i in range(n):
                base = 2 * word + i * size
                w = [raw[p : p + word] for p in range(base, base + size, word)]
                num = [int.from_bytes(x, "big") for x in w]
                key = addr(w[3][12:])
                superseded = num[18] != 0
                level = RevokedLevel(num[9])
                out.append(
                    DocumentStatus(
                        store=addr(stores[i][12:]) or "",
                        root=roots[i].hex(),
                        document=docs[i].hex(),
                        store_registered=num[0] != 0,
                        country=from_bytes2(w[1][:2]) or None,
                        issued=key is not None,
                        issuer=key,
                        document_type=num[4],
                        document_count=num[5],
                        anchored_at=num[6],
                        anchored_block=num[7],
                        issuer_authorised=num[2] != 0,
                        proof_valid=num[8] != 0,
                        revoked=level != RevokedLevel.NONE,
                        root_revoked=level == RevokedLevel.ROOT,
                        revoked_level=level,
                        revoked_hash=w[10].hex() if level else None,
                        revocation_reason=num[11],
                        revoked_at=num[12],
                        revoked_block=num[13],
                        revoked_by=addr(w[14][12:]),
                        superseded=superseded,
                        successor_store=addr(w[15][12:]),
                        successor_root=w[16].hex() if superseded else None,
                        successor_document=w[17].hex() if superseded else None,
                        superseded_at=num[18],
                        superseded_by=addr(w[19][12:]),
                    )
                )
        return out


def _type_code(t: str | int) -> int:
    return DOCUMENT_TYPES[t] if isinstance(t, str) else int(t)


class DocumentStoreClient(_Client):
    """One issuing authority's document store: anchoring, revocation, supersession and status."""

    artifact = "DocumentStore"

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

    def revoke_document(
        self, root: str | bytes, document: str | bytes, proof: Sequence[str | bytes], reason: str | int = 0
    ) -> TxReceipt:
        return self._send(
            "revokeDocument",
            to_bytes32(root),
            to_bytes32(document),
            [to_bytes32(p) for p in proof],
            reason_code(reason),
        )

    def revoke_with_proof(self, root: str | bytes, document: str | bytes, proof: Sequence[str | bytes]) -> TxReceipt:
        """OpenAttestation batchable `revoke(root, document, proof)`."""
        return self._send(
            "revoke",
            to_bytes32(root),
            to_bytes32(document),
            [to_bytes32(p) for p in proof],
            signature="revoke(bytes32,bytes32,bytes32[])",
        )

    def supersede(
        self,
        old_root: str | bytes,
        old_document: str | bytes,
        old_proof: Sequence[str | bytes],
        new_root: str | bytes,
        new_document: str | bytes,
        new_proof: Sequence[str | bytes],
        new_store: str | None = None,
    ) -> TxReceipt:
        """Replace a document of this store by one anchored in `new_store` (default: this store)."""
        return self._send(
            "supersede",
            to_bytes32(old_root),
            to_bytes32(old_document),
            [to_bytes32(p) for p in old_proof],
            new_store or self.address,
            to_bytes32(new_root),
            to_bytes32(new_document),
            [to_bytes32(p) for p in new_proof],
        )

    # -- OpenAttestation views
    def name(self) -> str:
        return cast("str", self._call("name"))

    def registry(self) -> str:
        return cast("str", self._call("registry"))

    def is_issued(
        self,
        root: str | bytes,
        document: str | bytes | None = None,
        proof: Sequence[str | bytes] | None = None,
        block: Any = "latest",
    ) -> bool:
        if document is None:
            return cast("bool", self._call("isIssued", to_bytes32(root), signature="isIssued(bytes32)", block=block))
        return cast(
            "bool",
            self._call(
                "isIssued",
                to_bytes32(root),
                to_bytes32(document),
                [to_bytes32(p) for p in proof or []],
                signature="isIssued(bytes32,bytes32,bytes32[])",
                block=block,
            ),
        )

    def is_revoked(
        self,
        root: str | bytes,
        document: str | bytes | None = None,
        proof: Sequence[str | bytes] | None = None,
        block: Any = "latest",
    ) -> bool:
        if document is None:
            return cast("bool", self._call("isRevoked", to_bytes32(root), signature="isRevoked(bytes32)", block=block))
        return cast(
            "bool",
            self._call(
                "isRevoked",
                to_bytes32(root),
                to_bytes32(document),
                [to_bytes32(p) for p in proof or []],
                signature="isRevoked(bytes32,bytes32,bytes32[])",
                block=block,
            ),
        )

    def is_active(
        self,
        root: str | bytes,
        document: str | bytes | None = None,
        proof: Sequence[str | bytes] | None = None,
        block: Any = "latest",
    ) -> bool:
        if document is None:
            return cast("bool", self._call("isActive", to_bytes32(root), signature="isActive(bytes32)", block=block))
        return cast(
            "bool",
            self._call(
                "isActive",
                to_bytes32(root),
                to_bytes32(document),
                [to_bytes32(p) for p in proof or []],
                signature="isActive(bytes32,bytes32,bytes32[])",
                block=block,
            ),
        )

    # -- certnet views
    def anchor_of(self, root: str | bytes, block: Any = "latest") -> AnchorRecord | None:
        r = self._call("anchorOf", to_bytes32(root), block=block)
        if int(r[0], 16) == 0:
            return None
        return AnchorRecord(
            root=to_bytes32(root).hex(),
            key=r[0],
            document_type=r[1],
            document_count=r[2],
            anchored_at=r[3],
            block_number=r[4],
        )

    def anchoring_tx(self, root: str | bytes, block_number: int) -> str | None:
        """The hash of the transaction that anchored `root` in `block_number` (from its RootAnchored log)."""
        logs = self.contract.events.RootAnchored.get_logs(
            argument_filters={"root": to_bytes32(root)}, from_block=block_number, to_block=block_number
        )
        return logs[0]["transactionHash"].to_0x_hex() if logs else None

    def revocation_of(self, h: str | bytes) -> RevocationRecord | None:
        """The revocation record of a hash; it may be one that does not count (see `is_revoked`)."""
        r = self._call("revocationOf", to_bytes32(h))
        if r[2] == 0:
            return None
        return RevocationRecord(hash=to_bytes32(h).hex(), by=r[0], reason=r[1], revoked_at=r[2], block_number=r[3])

    def supersession_of(self, document: str | bytes) -> SupersessionRecord | None:
        """The supersession record of a document; it may be one that does not count (see `is_revoked`)."""
        r = self._call("supersessionOf", to_bytes32(document))
        if r[1] == 0:
            return None
        return SupersessionRecord(
            document=to_bytes32(document).hex(),
            successor_store=r[0],
            superseded_at=r[1],
            block_number=r[2],
            by=r[3],
            successor_root=r[4].hex(),
            successor_document=r[5].hex(),
        )


@dataclass(frozen=True)
class DecisionRecord:
    preference: Preference
    reason: int
    at: int
    by: str
    note_hash: str


@dataclass(frozen=True)
class CheckRecord:
    id: int
    state: CheckState
    result: CheckResult
    late: bool
    revoked: bool
    country: str
    reason: int
    opened_at: int
    due_at: int
    answered_at: int
    store: str
    requester: str
    answered_by: str | None
    document: str
    request_hash: str
    findings_hash: str


class CustomsRecordClient(_Client):
    """Customs decisions and retroactive checks on certificates (store, targetHash)."""

    artifact = "CustomsRecord"

    @staticmethod
    def _cert(store: str, root: str | bytes, document: str | bytes, proof: Sequence[str | bytes]) -> tuple[Any, ...]:
        return (store, to_bytes32(root), to_bytes32(document), [to_bytes32(p) for p in proof])

    @staticmethod
    def _country_proof(proof: Any | None) -> tuple[list[bytes], int, str]:
        """A verifier.fields.FieldProof of `importingCountry` as the contract takes it (empty: already proven)."""
        if proof is None:
            return ([], 0, "")
        return ([to_bytes32(h) for h in proof.leaves], proof.index, proof.salt)

    def record_decision(
        self,
        store: str,
        root: str | bytes,
        document: str | bytes,
        proof: Sequence[str | bytes],
        country: str,
        country_proof: Any | None,
        preference: Preference,
        reason: int,
        note_hash: str | bytes | None = None,
    ) -> TxReceipt:
        return self._send(
            "recordDecision",
            *self._cert(store, root, document, proof),
            to_bytes2(country),
            self._country_proof(country_proof),
            int(preference),
            reason,
            to_bytes32(note_hash) if note_hash else bytes(32),
        )

    def open_check(
        self,
        store: str,
        root: str | bytes,
        document: str | bytes,
        proof: Sequence[str | bytes],
        country: str,
        country_proof: Any | None,
        reason: int,
        request_hash: str | bytes,
    ) -> TxReceipt:
        return self._send(
            "openCheck",
            *self._cert(store, root, document, proof),
            to_bytes2(country),
            self._country_proof(country_proof),
            reason,
            to_bytes32(request_hash),
        )

    def check_id(self, receipt: TxReceipt) -> int:
        return cast("int", self.events(receipt, "CheckOpened")[0]["id"])

    def answer_check(self, check_id: int, result: CheckResult, findings_hash: str | bytes) -> TxReceipt:
        return self._send("answerCheck", check_id, int(result), to_bytes32(findings_hash))

    def close_check(self, check_id: int) -> TxReceipt:
        return self._send("closeCheck", check_id)

    def answer_period(self) -> int:
        return cast("int", self._call("answerPeriod"))

    def importing_country_of(self, store: str, document: str | bytes) -> str | None:
        return from_bytes2(self._call("importingCountryOf", store, to_bytes32(document))) or None

    def decisions_of(self, store: str, document: str | bytes) -> list[DecisionRecord]:
        return [
            DecisionRecord(Preference(d[0]), d[1], d[2], d[3], d[4].hex())
            for d in self._call("decisionsOf", store, to_bytes32(document))
        ]

    def check(self, check_id: int) -> CheckRecord | None:
        c = self._call("check", check_id)
        if c[0] == 0:
            return None
        return CheckRecord(
            id=check_id,
            state=CheckState(c[0]),
            result=CheckResult(c[1]),
            late=c[2],
            revoked=c[3],
            country=from_bytes2(c[4]),
            reason=c[5],
            opened_at=c[6],
            due_at=c[7],
            answered_at=c[8],
            store=c[9],
            requester=c[10],
            answered_by=_addr(c[11]),
            document=c[12].hex(),
            request_hash=c[13].hex(),
            findings_hash=c[14].hex(),
        )

    def open_check_of(self, store: str, document: str | bytes, country: str) -> int | None:
        return self._call("openCheckOf", store, to_bytes32(document), to_bytes2(country)) or None


def reason_code(r: str | int) -> int:
    """A revocation reason by name or code, checked."""
    if isinstance(r, str):
        if r not in REVOCATION_REASONS:
            raise ValueError(f"unknown revocation reason {r!r}; one of {', '.join(REVOCATION_REASONS)}")
        return REVOCATION_REASONS[r]
    if not 0 <= r <= 255:
        raise ValueError(f"revocation reason code out of range 0..255: {r}")
    return r
