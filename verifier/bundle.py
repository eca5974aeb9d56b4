"""Verification without a node: checkpoint bundles and the trust root they are checked against.

A **trust root** (`certnet-trust-root`, version 1; schema `verifier/schemas/trust-root.schema.json`) is the small
file an operator pins: the network (name, chain id, genesis hash), its consensus (Clique: epoch, period and the
genesis signers; QBFT: the genesis validators) and its IssuerRegistry (address, code hash, the DocumentStore
implementation and the code hash of the stores cloned from it). `certnet network trust-root DIR` writes it.

A **bundle** (`certnet-bundle`, version 1; schema `verifier/schemas/bundle.schema.json`) holds block headers
(RLP, hex) that carry the validator set from the trust root to a target block and show it sealed
(`certnet.verifier.chainproof`), and a pool of Merkle-Patricia trie nodes (RLP, hex, each addressed by its Keccak)
from `eth_getProof` at that block. Nothing else in it is believed: the verifier reads every storage slot it needs
through the nodes from the target header's state root, so a slot the bundle does not prove cannot be read and
gives ERROR, never VALID. The slots are the ones the contracts' own `statusOf` reads (`StateView` below mirrors
`IssuerRegistry._statusOne`, `DocumentStore.statusOf` and `IssuerRegistry.isAuthorisedAt`), at the positions the
compiler's storage layout gives them. The statuses then go through the same judging code as an online
verification (`certnet.verifier.verify.Verifier`, with `BundleSource` as its status source): the same verdict as
online at that block, plus the block's time and age. A bundle older than the allowed age never gives VALID.
"""

from __future__ import annotations

import functools
import json
import time as _time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from eth_utils import to_checksum_address as _to_checksum_address
from web3 import Web3

from certnet.node.artifacts import load_artifact
from certnet.node.contract_types import DocumentStatus, RevokedLevel, StatusQuery, to_bytes32
from certnet.node.contracts import checksummed
from certnet.node.countries import from_bytes2
from certnet.verifier.chainproof import (
    ChainProofError,
    CheckedChain,
    Header,
    ProvenState,
    check_clique_chain,
    check_qbft_chain,
    eip1167_code,
    qbft_block_hash,
)
from certnet.verifier.merkle import combine as _hash_pair
from certnet.verifier.merkle import keccak256 as keccak
from certnet.verifier.status import NetworkInfo, SourceError
from certnet.verifier.verdict import (
    DOCUMENT_STATUS,
    ERROR,
    INTEGRITY_ONLY,
    ISSUER_IDENTITY,
    NOT_ISSUED,
    SKIPPED,
    VALID,
    WRONG_NETWORK,
    Check,
    Verdict,
    overall_message,
    utc,
)

BUNDLE_FORMAT = "certnet-bundle"
TRUST_ROOT_FORMAT = "certnet-trust-root"
VERSION = 1
ENGINES = ("clique", "qbft")
#: A bundle older than this (by its block's time) gives no VALID verdict unless the caller allows more.
DEFAULT_MAX_AGE = 24 * 3600
SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
MAX_PROOF_LENGTH = 32


class BundleError(SourceError):
    """A bundle or trust root that cannot be used: malformed, or its headers or proofs do not check."""


# ------------------------------------------------------------------ hex and shape checks


def _hex(value: Any, where: str, size: int | None = None) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise BundleError(f"{where}: expected a 0x-prefixed hex string")
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError:
        raise BundleError(f"{where}: not hex") from None
    if size is not None and len(raw) != size:
        raise BundleError(f"{where}: expected {size} bytes, got {len(raw)}")
    return raw


def _address(value: Any, where: str) -> bytes:
    if not isinstance(value, str) or not Web3.is_address(value):
        raise BundleError(f"{where}: expected an 0x address")
    return bytes.fromhex(value[2:])


def _uint(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BundleError(f"{where}: expected a non-negative integer")
    return value


def _obj(value: Any, where: str, keys: Iterable[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BundleError(f"{where}: expected an object")
    missing = [k for k in keys if k not in value]
    if missing:
        raise BundleError(f"{where}: {missing[0]} is missing")
    return value


def _h(b: bytes) -> str:
    return "0x" + b.hex()


# ------------------------------------------------------------------ trust root


@dataclass(frozen=True)
class TrustRoot:
    """What an offline verifier trusts: the network's genesis, its first validators and its IssuerRegistry."""

    name: str
    chain_id: int
    genesis_hash: bytes
    engine: str
    validators: tuple[bytes, ...]
    epoch: int
    period: int
    registry: bytes
    registry_code_hash: bytes
    store_implementation: bytes
    store_code_hash: bytes

    @classmethod
    def from_json(cls, raw: Any, where: str = "trust root") -> TrustRoot:
        t = _obj(raw, where, ("format", "version", "network", "consensus", "issuerRegistry"))
        if t["format"] != TRUST_ROOT_FORMAT or t["version"] != VERSION:
            raise BundleError(f"{where}: not a {TRUST_ROOT_FORMAT} version {VERSION} file")
        net = _obj(t["network"], f"{where}.network", ("name", "chainId", "genesisHash"))
        con = _obj(t["consensus"], f"{where}.consensus", ("engine", "validators"))
        reg = _obj(
            t["issuerRegistry"],
            f"{where}.issuerRegistry",
            ("address", "codeHash", "storeImplementation", "storeCodeHash"),
        )
        if con["engine"] not in ENGINES:
            raise BundleError(f"{where}.consensus.engine: one of {', '.join(ENGINES)}")
        if not isinstance(con["validators"], list) or not con["validators"]:
            raise BundleError(f"{where}.consensus.validators: a non-empty list of addresses")
        if not isinstance(net["name"], str):
            raise BundleError(f"{where}.network.name: a string")
        validators = tuple(_address(v, f"{where}.consensus.validators.{i}") for i, v in enumerate(con["validators"]))
        if len(set(validators)) != len(validators):
            raise BundleError(f"{where}.consensus.validators: a validator appears twice")
        epoch = _uint(con.get("epoch", 30000), f"{where}.consensus.epoch")
        if con["engine"] == "clique" and epoch == 0:
            raise BundleError(f"{where}.consensus.epoch: must be positive")
        return cls(
            name=net["name"],
            chain_id=_uint(net["chainId"], f"{where}.network.chainId"),
            genesis_hash=_hex(net["genesisHash"], f"{where}.network.genesisHash", 32),
            engine=con["engine"],
            validators=validators,
            epoch=epoch,
            period=_uint(con.get("period", 0), f"{where}.consensus.period"),
            registry=_address(reg["address"], f"{where}.issuerRegistry.address"),
            registry_code_hash=_hex(reg["codeHash"], f"{where}.issuerRegistry.codeHash", 32),
            store_implementation=_address(reg["storeImplementation"], f"{where}.issuerRegistry.storeImplementation"),
            store_code_hash=_hex(reg["storeCodeHash"], f"{where}.issuerRegistry.storeCodeHash", 32),
        )

    @classmethod
    def load(cls, path: str | Path) -> TrustRoot:
        p = Path(path)
        try:
            raw = json.loads(p.read_text())
        except OSError as exc:
            raise BundleError(f"trust root {p}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise BundleError(f"trust root {p} is not JSON: {exc.msg} at line {exc.lineno}") from None
        return cls.from_json(raw, f"trust root {p.name}")

    def to_json(self) -> dict[str, Any]:
        return {
            "format": TRUST_ROOT_FORMAT,
            "version": VERSION,
            "network": {"name": self.name, "chainId": self.chain_id, "genesisHash": _h(self.genesis_hash)},
            "consensus": {
                "engine": self.engine,
                "epoch": self.epoch,
                "period": self.period,
                "validators": [to_checksum_address(v) for v in self.validators],
            },
            "issuerRegistry": {
                "address": to_checksum_address(self.registry),
                "codeHash": _h(self.registry_code_hash),
                "storeImplementation": to_checksum_address(self.store_implementation),
                "storeCodeHash": _h(self.store_code_hash),
            },
        }

    def network_info(self) -> NetworkInfo:
        return NetworkInfo(self.chain_id, self.name, to_checksum_address(self.registry))


def store_code_hash(implementation: bytes) -> bytes:
    return keccak(eip1167_code(implementation))


# ------------------------------------------------------------------ storage layout


def _struct_name(type_id: str) -> str:
    return type_id.split("(", 1)[1].split(")", 1)[0]


@functools.cache
def storage_layout() -> dict[str, Any]:
    """The slots and struct fields offline verification reads, from the compiler's storage layout in the committed
    artifacts: {"DocumentStore": {var: slot}, "IssuerRegistry": {var: slot}, "structs": {name: {member: [slot
    offset, byte offset, bytes]}}} (also given to the portal's JavaScript)."""
    out: dict[str, Any] = {"structs": {}}
    wanted = {
        "DocumentStore": ("_name", "_anchors", "_revocations", "_supersessions"),
        "IssuerRegistry": ("_membership", "_authorities", "_keys", "_keyStatus"),
    }
    for contract, names in wanted.items():
        layout = load_artifact(contract).get("storageLayout")
        if not layout:
            raise RuntimeError(f"the {contract} artifact has no storage layout: run python -m certnet.node.compiler")
        types = layout["types"]
        slots = {s["label"]: int(s["slot"]) for s in layout["storage"]}
        out[contract] = {n: slots[n] for n in names}
        for type_id, t in types.items():
            if t.get("encoding") == "inplace" and "members" in t:
                out["structs"][_struct_name(type_id)] = {
                    m["label"]: [int(m["slot"]), int(m["offset"]), int(types[m["type"]]["numberOfBytes"])]
                    for m in t["members"]
                }
    return out


@functools.lru_cache(maxsize=65536)
def to_checksum_address(a: bytes | str) -> str:
    return _to_checksum_address(a)


@functools.lru_cache(maxsize=65536)
def mapping_slot(key32: bytes, slot: int) -> int:
    return int.from_bytes(keccak(key32 + slot.to_bytes(32, "big")), "big")


def _addr_key(a: bytes) -> bytes:
    return bytes(12) + a


def _bytes2_key(c: bytes) -> bytes:
    return c + bytes(30)


# ------------------------------------------------------------------ the contracts' status logic on proven storage

Reader = Callable[[bytes, int], int]


class StateView:
    """The IssuerRegistry's and DocumentStores' views computed from storage, as the contracts compute them; `read`
    gives a storage word (proven from a bundle, or read from a node while making one)."""

    def __init__(self, read: Reader, registry: bytes) -> None:
        self.read = read
        self.registry = registry
        self.layout = storage_layout()
        self.s = self.layout["structs"]
        self._revocations: dict[tuple[bytes, bytes], tuple[bytes, int, int, int] | None] = {}
        self._pairs: dict[tuple[bytes, bytes], bytes] = {}

    def _member(self, account: bytes, base: int, struct: str, member: str) -> int:
        slot, offset, size = self.s[struct][member]
        return cast("int", (self.read(account, base + slot) >> (8 * offset)) & ((1 << (8 * size)) - 1))

    def _reg(self, var: str) -> int:
        return cast("int", self.layout["IssuerRegistry"][var])

    # -- IssuerRegistry
    def authority(self, store: bytes) -> dict[str, int | bytes]:
        base = mapping_slot(_addr_key(store), self._reg("_authorities"))
        word = self.read(self.registry, base)
        f = self.s["Authority"]

        def get(m: str) -> int:
            _, off, size = f[m]
            return cast("int", (word >> (8 * off)) & ((1 << (8 * size)) - 1))

        return {
            "country": get("country").to_bytes(2, "big"),
            "epoch": get("epoch"),
            "documentTypes": get("documentTypes"),
            "validFrom": get("validFrom"),
            "validUntil": get("validUntil"),
        }

    def _key_base(self, key: bytes) -> int:
        return mapping_slot(_addr_key(key), self._reg("_keys"))

    def compromised_since(self, key: bytes) -> int:
        return self._member(self.registry, self._key_base(key), "Key", "compromisedSince")

    def counts_at(self, account: bytes, t: int) -> bool:
        since = self.compromised_since(account)
        return since == 0 or t < since

    def _counts(self, by: bytes, t: int) -> bool:
        """DocumentStore._counts: a record that exists and counts."""
        return t != 0 and self.counts_at(by, t)

    def upper_lookup(self, base: int, t: int) -> int:
        """OpenZeppelin Checkpoints.Trace208.upperLookup: the value of the last checkpoint at or before `t` (the
        same binary search, so the same slots are read)."""
        length = self.read(self.registry, base)
        data = int.from_bytes(keccak(base.to_bytes(32, "big")), "big")
        low, high = 0, length
        key_of = self.s["Checkpoint208"]["_key"]
        while low < high:
            mid = (low & high) + ((low ^ high) >> 1)
            word = self.read(self.registry, data + mid)
            if (word >> (8 * key_of[1])) & ((1 << (8 * key_of[2])) - 1) > t:
                high = mid
            else:
                low = mid + 1
        if high == 0:
            return 0
        _, off, size = self.s["Checkpoint208"]["_value"]
        return cast("int", (self.read(self.registry, data + high - 1) >> (8 * off)) & ((1 << (8 * size)) - 1))

    def is_authorised_at(self, key: bytes, store: bytes, document_type: int, t: int) -> bool:
        kb = self._key_base(key)
        status = self._member(self.registry, kb, "Key", "status")
        if status == 0 or self._member(self.registry, kb, "Key", "store").to_bytes(20, "big") != store:
            return False
        a = self.authority(store)
        if document_type > 63 or (int(a["documentTypes"]) >> document_type) & 1 == 0:
            return False
        valid_from = self._member(self.registry, kb, "Key", "validFrom")
        valid_until = self._member(self.registry, kb, "Key", "validUntil")
        if t < valid_from or t > valid_until or t < int(a["validFrom"]) or t > int(a["validUntil"]):
            return False
        since = self.compromised_since(key)
        if since != 0 and t >= since:
            return False
        if self.upper_lookup(mapping_slot(_addr_key(key), self._reg("_keyStatus")), t) != 1:  # KeyStatus.Active
            return False
        membership = mapping_slot(_bytes2_key(cast(bytes, a["country"])), self._reg("_membership"))
        return self.upper_lookup(membership, t) == a["epoch"]

    # -- DocumentStore
    def _store(self, var: str) -> int:
        return cast("int", self.layout["DocumentStore"][var])

    def store_name(self, store: bytes) -> str:
        """A Solidity `string` in storage: short ones in the slot itself, long ones at keccak(slot)."""
        slot = self._store("_name")
        word = self.read(store, slot)
        if word & 1 == 0:
            length = (word & 0xFF) // 2
            raw = word.to_bytes(32, "big")[:length]
        else:
            length = (word - 1) // 2
            if length > 4096:
                raise ChainProofError("the store's name is implausibly long")
            data = int.from_bytes(keccak(slot.to_bytes(32, "big")), "big")
            raw = b"".join(self.read(store, data + i).to_bytes(32, "big") for i in range((length + 31) // 32))[:length]
        return raw.decode("utf-8", errors="replace")

    def _revocation(self, store: bytes, h: bytes) -> tuple[bytes, int, int, int] | None:
        """(by, reason, revokedAt, block) of a revocation record that counts (a batch's documents share their root
        and upper proof nodes: each is looked up once per view)."""
        key = (store, h)
        if key not in self._revocations:
            self._revocations[key] = self._read_revocation(store, h)
        return self._revocations[key]

    def _pair(self, a: bytes, b: bytes) -> bytes:
        key = (a, b)
        got = self._pairs.get(key)
        if got is None:
            got = self._pairs[key] = _hash_pair(a, b)
        return got

    def _read_revocation(self, store: bytes, h: bytes) -> tuple[bytes, int, int, int] | None:
        base = mapping_slot(h, self._store("_revocations"))
        word = self.read(store, base)
        f = self.s["Revocation"]

        def get(m: str) -> int:
            return cast("int", (word >> (8 * f[m][1])) & ((1 << (8 * f[m][2])) - 1))

        by = get("by").to_bytes(20, "big")
        if not self._counts(by, get("revokedAt")):
            return None
        return by, get("reason"), get("revokedAt"), get("blockNumber")

    def status_of(self, store: bytes, root: bytes, document: bytes, proof: Sequence[bytes]) -> DocumentStatus:
        """The batched status view's answer for one query (IssuerRegistry._statusOne)."""
        a = self.authority(store)
        store_cs = to_checksum_address(store)
        if a["epoch"] == 0:
            return _status(store_cs, root, document)
        if len(proof) > MAX_PROOF_LENGTH:
            raise ChainProofError(f"a proof of {len(proof)} nodes is longer than the store accepts")
        ab = mapping_slot(root, self._store("_anchors"))
        word = self.read(store, ab)
        f = self.s["Anchor"]

        def get(m: str) -> int:
            return cast("int", (word >> (8 * f[m][1])) & ((1 << (8 * f[m][2])) - 1))

        key = get("key").to_bytes(20, "big")
        level, revoked_hash, rec = 0, None, None
        rec = self._revocation(store, root)
        if rec is not None:
            level, revoked_hash = RevokedLevel.ROOT, root
        else:
            rec = self._revocation(store, document)
            if rec is not None:
                level, revoked_hash = RevokedLevel.DOCUMENT, document
            else:
                node = document
                for sibling in proof[:-1]:
                    node = self._pair(node, sibling)
                    rec = self._revocation(store, node)
                    if rec is not None:
                        level, revoked_hash = RevokedLevel.PROOF_NODE, node
                        break
        node = document
        for sibling in proof:
            node = self._pair(node, sibling)
        proof_valid = node == root
        sb = mapping_slot(document, self._store("_supersessions"))
        sup = self.s["Supersession"]
        superseded_at = self._member(store, sb, "Supersession", "supersededAt")
        succ: dict[str, Any] = {}
        if superseded_at:
            by = self._member(store, sb, "Supersession", "by").to_bytes(20, "big")
            if self._counts(by, superseded_at):
                succ = {
                    "store": self._member(store, sb, "Supersession", "successorStore").to_bytes(20, "big"),
                    "root": self.read(store, sb + sup["successorRoot"][0]).to_bytes(32, "big"),
                    "document": self.read(store, sb + sup["successorDocument"][0]).to_bytes(32, "big"),
                    "at": superseded_at,
                    "by": by,
                }
        issued = key != bytes(20)
        # as the registry's batched view: the store checked the key when it anchored; only the key being marked
        # compromised since then undoes it
        authorised = (
            issued
            and self._member(self.registry, self._key_base(key), "Key", "store").to_bytes(20, "big") == store
            and self.counts_at(key, get("anchoredAt"))
        )
        revoker = rec[0] if rec else None
        return DocumentStatus(
            store=store_cs,
            root=root.hex(),
            document=document.hex(),
            store_registered=True,
            country=from_bytes2(cast(bytes, a["country"])) or None,
            issued=issued,
            issuer=to_checksum_address(key) if issued else None,
            document_type=get("documentType"),
            document_count=get("documentCount"),
            anchored_at=get("anchoredAt"),
            anchored_block=get("blockNumber"),
            issuer_authorised=authorised,
            proof_valid=proof_valid,
            revoked=level != 0,
            root_revoked=level == RevokedLevel.ROOT,
            revoked_level=RevokedLevel(level),
            revoked_hash=revoked_hash.hex() if revoked_hash else None,
            revocation_reason=rec[1] if rec else 0,
            revoked_at=rec[2] if rec else 0,
            revoked_block=rec[3] if rec else 0,
            revoked_by=to_checksum_address(revoker) if revoker else None,
            superseded=bool(succ),
            successor_store=to_checksum_address(succ["store"]) if succ else None,
            successor_root=succ["root"].hex() if succ else None,
            successor_document=succ["document"].hex() if succ else None,
            superseded_at=succ.get("at", 0),
            superseded_by=to_checksum_address(succ["by"]) if succ else None,
        )


def _status(store: str, root: bytes, document: bytes) -> DocumentStatus:
    """The answer for a store that is not registered: nothing else is read."""
    return DocumentStatus(
        store=store,
        root=root.hex(),
        document=document.hex(),
        store_registered=False,
        country=None,
        issued=False,
        issuer=None,
        document_type=0,
        document_count=0,
        anchored_at=0,
        anchored_block=0,
        issuer_authorised=False,
        proof_valid=False,
        revoked=False,
        root_revoked=False,
        revoked_level=RevokedLevel.NONE,
        revoked_hash=None,
        revocation_reason=0,
        revoked_at=0,
        revoked_block=0,
        revoked_by=None,
        superseded=False,
        successor_store=None,
        successor_root=None,
        successor_document=None,
        superseded_at=0,
        superseded_by=None,
    )


@functools.lru_cache(maxsize=4096)
def _store_bytes(store: str) -> bytes:
    return bytes.fromhex(checksummed(store)[2:])


def query_bytes(q: StatusQuery) -> tuple[bytes, bytes, bytes, list[bytes]]:
    return (_store_bytes(q[0]), to_bytes32(q[1]), to_bytes32(q[2]), [to_bytes32(p) for p in q[3]])


# ------------------------------------------------------------------ the bundle


@dataclass
class Bundle:
    """A parsed bundle (shape only: nothing in it is believed until `check` runs)."""

    chain_id: int
    genesis_hash: bytes
    engine: str
    registry: bytes
    block: int
    headers: list[Header]
    nodes: list[bytes]
    raw: dict[str, Any]

    @classmethod
    def from_json(cls, raw: Any, where: str = "bundle") -> Bundle:
        b = _obj(raw, where, ("format", "version", "network", "engine", "issuerRegistry", "block", "headers", "nodes"))
        if b["format"] != BUNDLE_FORMAT:
            raise BundleError(f"{where}: not a {BUNDLE_FORMAT} file")
        if b["version"] != VERSION:
            raise BundleError(f"{where}: version {b['version']!r}; this verifier reads version {VERSION}")
        net = _obj(b["network"], f"{where}.network", ("chainId", "genesisHash"))
        if b["engine"] not in ENGINES:
            raise BundleError(f"{where}.engine: one of {', '.join(ENGINES)}")
        for k in ("headers", "nodes"):
            if not isinstance(b[k], list):
                raise BundleError(f"{where}.{k}: expected a list")
        headers = []
        for i, h in enumerate(b["headers"]):
            try:
                headers.append(Header.decode(_hex(h, f"{where}.headers.{i}"), f"{where}.headers.{i}"))
            except ChainProofError as exc:
                raise BundleError(str(exc)) from None
        return cls(
            chain_id=_uint(net["chainId"], f"{where}.network.chainId"),
            genesis_hash=_hex(net["genesisHash"], f"{where}.network.genesisHash", 32),
            engine=b["engine"],
            registry=_address(b["issuerRegistry"], f"{where}.issuerRegistry"),
            block=_uint(b["block"], f"{where}.block"),
            headers=headers,
            nodes=[_hex(n, f"{where}.nodes.{i}") for i, n in enumerate(b["nodes"])],
            raw=b,
        )

    @classmethod
    def load(cls, path: str | Path) -> Bundle:
        p = Path(path)
        try:
            raw = json.loads(p.read_bytes())
        except OSError as exc:
            raise BundleError(f"bundle {p}: {exc.strerror}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BundleError(f"bundle {p} is not JSON: {exc}") from None
        return cls.from_json(raw, f"bundle {p.name}")

    def network_problem(self, trust: TrustRoot) -> str | None:
        """Why this bundle is about another network than the trust root's (None: the same one)."""
        if self.chain_id != trust.chain_id:
            return f"the bundle is for chain {self.chain_id}, the trust root for chain {trust.chain_id} ({trust.name})"
        if self.genesis_hash != trust.genesis_hash:
            return (
                f"the bundle is for a network with genesis {_h(self.genesis_hash)[:18]}..., the trust root's "
                f"({trust.name}) starts at {_h(trust.genesis_hash)[:18]}..."
            )
        if self.engine != trust.engine:
            return f"the bundle is sealed by {self.engine}, the trust root's network by {trust.engine}"
        if self.registry != trust.registry:
            return (
                f"the bundle proves issuer registry {to_checksum_address(self.registry)}, the trust root's is "
                f"{to_checksum_address(trust.registry)}"
            )
        return None

    def check(self, trust: TrustRoot) -> CheckedBundle:
        """Check the headers from the trust root and the registry's code; BundleError says what fails."""
        try:
            if trust.engine == "clique":
                chain = check_clique_chain(
                    self.headers, trust.genesis_hash, trust.validators, trust.epoch, trust.period, self.block
                )
                block_hash = chain.target.hash
            else:
                chain = check_qbft_chain(self.headers, trust.genesis_hash, trust.validators, self.block)
                block_hash = qbft_block_hash(chain.target)
            state = ProvenState(chain.state_root, self.nodes)
            reg = state.account(trust.registry)
            if reg is None or reg[3] != trust.registry_code_hash:
                raise ChainProofError(
                    f"the account of issuer registry {to_checksum_address(trust.registry)} does not "
                    "hold the registry code the trust root names"
                )
        except ChainProofError as exc:
            raise BundleError(f"the bundle does not check: {exc}") from None
        return CheckedBundle(self, trust, chain, block_hash, state)


@dataclass
class CheckedBundle:
    bundle: Bundle
    trust: TrustRoot
    chain: CheckedChain
    block_hash: bytes
    state: ProvenState

    def view(self) -> StateView:
        return StateView(self.state.storage, self.trust.registry)


class _Unproven:
    """Stands for a status the bundle does not prove: reading it raises SourceError, so that this document (and
    only this one) gets ERROR from the judging code."""

    def __init__(self, reason: str) -> None:
        self._reason = reason

    def __getattr__(self, name: str) -> Any:
        raise SourceError(self._reason)


class BundleSource:
    """A StatusSource that answers from a bundle checked against a trust root: no network."""

    kind = "bundle"

    def __init__(self, bundle: Bundle, trust: TrustRoot) -> None:
        self.bundle = bundle
        self.trust = trust
        self._checked: CheckedBundle | None = None
        self._error: str | None = None

    def checked(self) -> CheckedBundle:
        if self._error is not None:
            raise SourceError(self._error)
        if self._checked is None:
            try:
                self._checked = self.bundle.check(self.trust)
            except BundleError as exc:
                self._error = str(exc)
                raise
        return self._checked

    def network(self) -> NetworkInfo:
        self.checked()
        return self.trust.network_info()

    def read(self, queries: Sequence[StatusQuery]) -> tuple[int, str | None, list[DocumentStatus]]:
        c = self.checked()
        view = c.view()
        out: list[Any] = []
        store_code: dict[bytes, str | None] = {}
        for q in queries:
            try:
                store, root, doc, proof = query_bytes(q)
                st = view.status_of(store, root, doc, proof)
                if st.store_registered:
                    if store not in store_code:
                        acct = c.state.account(store)
                        store_code[store] = (
                            None
                            if acct and acct[3] == self.trust.store_code_hash
                            else (
                                f"the document store {to_checksum_address(store)} does not hold the code of a certnet "
                                "store"
                            )
                        )
                    if store_code[store]:
                        raise ChainProofError(store_code[store])
                out.append(st)
            except ChainProofError as exc:
                out.append(_Unproven(f"the bundle does not prove this document's status ({exc})"))
        return c.chain.number, _h(c.block_hash), out

    def authority_name(self, store: str) -> str | None:
        try:
            return self.checked().view().store_name(bytes.fromhex(checksummed(store)[2:])) or None
        except ChainProofError as exc:
            raise SourceError(f"the bundle does not prove the authority's name ({exc})") from None

    def key_authorised(self, key: str, store: str, document_type: int, time: int) -> bool:
        try:
            return (
                self.checked()
                .view()
                .is_authorised_at(
                    bytes.fromhex(checksummed(key)[2:]), bytes.fromhex(checksummed(store)[2:]), document_type, time
                )
            )
        except ChainProofError as exc:
            raise SourceError(f"the bundle does not prove the signing key's authorisation ({exc})") from None


# ------------------------------------------------------------------ verification


def bundle_info(c: CheckedBundle, now: float, max_age: float) -> dict[str, Any]:
    age = int(now) - c.chain.time
    return {
        "block": c.chain.number,
        "blockHash": _h(c.block_hash),
        "blockTime": c.chain.time,
        "blockTimeUtc": utc(c.chain.time),
        "ageSeconds": age,
        "maxAgeSeconds": int(max_age),
        "stale": age > max_age,
        "engine": c.trust.engine,
        "validators": c.chain.validators,
        "sealedBy": c.chain.endorsed_by,
        "network": c.trust.name,
        "chainId": c.trust.chain_id,
    }


def _age_text(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def verify_with_bundle(
    documents: Sequence[Any],
    bundle: Bundle,
    trust: TrustRoot,
    max_age: float = DEFAULT_MAX_AGE,
    now: float | None = None,
) -> list[Verdict]:
    """Verify documents against a bundle with no network: the same judging as online, as of the bundle's block.
    Each verdict gets a `bundle` attribute (block, time, age, validators) when the bundle checks."""
    from certnet.verifier.verify import Verifier

    now = _time.time() if now is None else now
    problem = bundle.network_problem(trust)
    if problem is not None:
        return [_other_network(v, problem) for v in Verifier(None).verify_many(documents)]
    source = BundleSource(bundle, trust)
    verdicts = Verifier(source).verify_many(documents)
    info = bundle_info(source._checked, now, max_age) if source._checked is not None else None
    for v in verdicts:
        v.bundle = info  # type: ignore[attr-defined]  # an extra of bundle verdicts (getattr in the CLI)
        if info is None:
            continue
        age = _age_text(max(0, info["ageSeconds"]))
        st = v.check(DOCUMENT_STATUS)
        if st is not None:
            st.details.update(blockTimeUtc=info["blockTimeUtc"], bundleAgeSeconds=info["ageSeconds"])
        if info["stale"] and v.status in (VALID, NOT_ISSUED):
            text = (
                f"The bundle's block {info['block']} is {age} old ({info['blockTimeUtc']}), older than the "
                f"{_age_text(int(max_age))} allowed: what it proves may have changed since. Get a newer bundle."
            )
            v.status = ERROR
            if st is not None:
                st.status, st.code, st.message = ERROR, "BUNDLE_TOO_OLD", text
            v.message = text
        else:
            v.message = (
                overall_message(v.status, v) + f" (as of block {info['block']}, {info['blockTimeUtc']}, "
                f"{age} ago, from a bundle sealed by the validators)"
            )
    return verdicts


def _other_network(v: Verdict, problem: str) -> Verdict:
    """An offline (integrity-only) verdict turned into WRONG_NETWORK: the bundle says nothing about this network."""
    v.source = "bundle"
    v.bundle = None  # type: ignore[attr-defined]  # an extra of bundle verdicts (getattr in the CLI)
    if v.status != INTEGRITY_ONLY:
        return v  # tampered or malformed whatever the bundle
    msg = f"Not checked: {problem}."
    v.checks = [c for c in v.checks if c.type not in (DOCUMENT_STATUS, ISSUER_IDENTITY)]
    v.checks[1:1] = [
        Check(DOCUMENT_STATUS, SKIPPED, "BUNDLE_OTHER_NETWORK", msg),
        Check(ISSUER_IDENTITY, SKIPPED, "BUNDLE_OTHER_NETWORK", msg),
    ]
    v.status = WRONG_NETWORK
    v.message = f"The bundle belongs to another network than the trust root: {problem}. Its status is unknown here."
    return v


def verdict_json(v: Verdict) -> dict[str, Any]:
    """A verdict as JSON, with the bundle it was checked against."""
    return {**v.to_dict(), "bundle": getattr(v, "bundle", None)}
