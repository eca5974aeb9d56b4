"""Keccak-256 and the batch Merkle tree of the OpenAttestation v2 proof format.

Leaves (targetHashes, 32 bytes) are sorted bytewise; each parent is
``keccak256(min(a, b) || max(a, b))``; the last node of an odd layer moves up unchanged.
A proof is the list of siblings from the leaf up; checking it folds the same pair hash.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from typing import Any, cast

__all__ = [
    "keccak256",
    "keccak256_hex",
    "KECCAK_BACKEND",
    "MerkleTree",
    "merkle_root",
    "verify_proof",
    "combine",
]

try:  # safe-pysha3: C implementation, the fastest here
    from sha3 import keccak_256 as _keccak_new

    KECCAK_BACKEND = "pysha3"
except ImportError:  # pragma: no cover - fallback
    from Crypto.Hash import keccak as _ck

    def _keccak_new(data: bytes = b"") -> Any:
        return _ck.new(data=data, digest_bits=256)

    KECCAK_BACKEND = "pycryptodome"

# The constructor: keccak_new(data).digest() / .hexdigest(). Hot loops bind it locally.
keccak_new = _keccak_new


def keccak256(data: bytes) -> bytes:
    """Ethereum Keccak-256 digest (32 bytes)."""
    return cast("bytes", _keccak_new(data).digest())


def keccak256_hex(data: bytes) -> str:
    """Ethereum Keccak-256 as lowercase hex without ``0x``."""
    return cast("str", _keccak_new(data).hexdigest())


def combine(a: bytes, b: bytes) -> bytes:
    """Parent of two nodes: keccak256 of the pair sorted bytewise."""
    return cast("bytes", _keccak_new(a + b if a <= b else b + a).digest())


def _as_bytes32(value: bytes | str, what: str = "hash") -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        b = bytes(value)
    elif isinstance(value, str):
        h = value[2:] if value[:2] in ("0x", "0X") else value
        if len(h) != 64:
            raise ValueError(f"{what} must be 32 bytes of hex, got {repr(value)[:80]}")
        try:
            b = bytes.fromhex(h)
        except ValueError:
            raise ValueError(f"{what} is not hex: {repr(value)[:80]}") from None
    else:
        raise TypeError(f"{what} must be bytes or a hex string, got {type(value).__name__}")
    if len(b) != 32:
        raise ValueError(f"{what} must be 32 bytes, got {len(b)}")
    return b


def _next_layer(layer: list[bytes]) -> list[bytes]:
    k = _keccak_new
    it = iter(layer)
    nxt = [k(a + b if a <= b else b + a).digest() for a, b in zip(it, it, strict=False)]
    if len(layer) & 1:
        nxt.append(layer[-1])
    return nxt


class MerkleTree:
    """Merkle tree over 32-byte leaves (bytes or hex strings); leaves are sorted bytewise."""

    __slots__ = ("layers", "_hex_layers")

    def __init__(self, leaves: Iterable[bytes | str]) -> None:
        first = [_as_bytes32(x, "leaf") for x in leaves]
        if not first:
            raise ValueError("a Merkle tree needs at least one leaf")
        first.sort()
        layers = [first]
        while len(layers[-1]) > 1:
            layers.append(_next_layer(layers[-1]))
        self.layers: list[list[bytes]] = layers
        self._hex_layers: list[list[str]] | None = None

    @classmethod
    def from_sorted(cls, sorted_leaves: list[bytes]) -> MerkleTree:
        """Build from leaves already sorted bytewise and known to be 32 bytes (no copy, no checks)."""
        self = cls.__new__(cls)
        layers = [sorted_leaves]
        while len(layers[-1]) > 1:
            layers.append(_next_layer(layers[-1]))
        self.layers = layers
        self._hex_layers = None
        return self

    def __len__(self) -> int:
        return len(self.layers[0])

    @property
    def leaves(self) -> list[bytes]:
        """The leaves in tree (sorted) order."""
        return self.layers[0]

    @property
    def root(self) -> bytes:
        return self.layers[-1][0]

    @property
    def root_hex(self) -> str:
        return self.layers[-1][0].hex()

    def index_of(self, leaf: bytes | str) -> int:
        """Position of ``leaf`` in sorted order; KeyError when it is not a leaf."""
        b = _as_bytes32(leaf, "leaf")
        i = bisect_left(self.layers[0], b)
        if i == len(self.layers[0]) or self.layers[0][i] != b:
            raise KeyError(f"not a leaf of this tree: {b.hex()}")
        return i

    def proof_at(self, index: int) -> list[bytes]:
        """Siblings from the leaf at sorted position ``index`` up to the root."""
        proof = []
        i = index
        for layer in self.layers[:-1]:
            j = i ^ 1
            if j < len(layer):
                proof.append(layer[j])
            i >>= 1
        return proof

    def proof(self, leaf: bytes | str) -> list[bytes]:
        """Merkle proof (siblings, leaf to root) of ``leaf``."""
        return self.proof_at(self.index_of(leaf))

    def proof_hex_at(self, index: int) -> list[str]:
        """Like :meth:`proof_at`, as lowercase hex strings (hex computed once per node)."""
        hl = self._hex_layers
        if hl is None:
            hl = self._hex_layers = [[h.hex() for h in layer] for layer in self.layers[:-1]]
        proof = []
        i = index
        for layer in hl:
            j = i ^ 1
            if j < len(layer):
                proof.append(layer[j])
            i >>= 1
        return proof

    def proof_hex(self, leaf: bytes | str) -> list[str]:
        return self.proof_hex_at(self.index_of(leaf))


def merkle_root(leaves: Iterable[bytes | str]) -> bytes:
    """Root of the batch tree over ``leaves``."""
    return MerkleTree(leaves).root


def verify_proof(leaf: bytes | str, proof: Sequence[bytes | str], root: bytes | str) -> bool:
    """True when folding ``proof`` onto ``leaf`` gives ``root``. Malformed input gives False."""
    k = _keccak_new
    fromhex = bytes.fromhex
    try:
        h = _as_bytes32(leaf)
        r = _as_bytes32(root)
        for p in proof:
            # the common case inline (64 hex digits, as documents carry them); anything else through _as_bytes32.
            # (fromhex skips whitespace, so the length is checked on the bytes.)
            b = fromhex(p) if type(p) is str and len(p) == 64 else _as_bytes32(p)
            if len(b) != 32:
                return False
            h = k(h + b if h <= b else b + h).digest()
    except (ValueError, TypeError):
        return False
    return bool(h == r)
