"""Proving one field of a wrapped document to someone who holds only its targetHash (a contract, say): the field's
salted value and every leaf hash of the document, which recompute the targetHash."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from certnet.verifier.jsjson import ProofFormatError
from certnet.verifier.salting import leaf_hash, leaf_hashes


@dataclass(frozen=True)
class FieldProof:
    """`leaves`: every leaf hash (fields and obfuscated), ascending, hex without 0x; `index`: the field's leaf;
    `salt`: the field's salt (a UUID); `value`: its text."""

    leaves: list[str]
    index: int
    salt: str
    value: str


def prove_field(wrapped: dict[str, Any], path: str) -> FieldProof:
    """The proof that top-level string field `path` of `wrapped` has its value. ProofFormatError when the field is
    missing, hidden, not a top-level string, or the document is malformed."""
    data = wrapped.get("data") if isinstance(wrapped, dict) else None
    if not isinstance(data, dict):
        raise ProofFormatError("data", "the document has no data object")
    salted = data.get(path)
    if not isinstance(salted, str):
        raise ProofFormatError(path, "missing or hidden: it cannot be proven")
    salt, _, rest = salted.partition(":")
    kind, _, value = rest.partition(":")
    if len(salt) != 36 or kind != "string":
        raise ProofFormatError(path, "not a salted string value")
    given = wrapped.get("privacy")
    privacy = given if isinstance(given, dict) else {}
    obfuscated = [h for h in privacy.get("obfuscatedData", []) if isinstance(h, str)]
    leaves = sorted([*leaf_hashes(data), *obfuscated])
    return FieldProof(leaves=leaves, index=leaves.index(leaf_hash(path, salted)), salt=salt, value=value)
