"""DOCUMENT_INTEGRITY: does a wrapped document hash to its targetHash, and its proof to the root?

:func:`check_integrity` never raises on document content and never says ``ok`` about data it
could not read: anything malformed (missing or mistyped fields, wrong version, bad hex, values
that are not salted) gives ``ok=False`` with code ``MALFORMED`` and a message naming the field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

import certnet_native

from .jsjson import ProofFormatError, short_repr
from .jsonlimits import MAX_DEPTH, JsonTooDeep, check_depth
from .merkle import verify_proof
from .salting import is_hash_hex, target_hash, unsalt_and_hash
from .wrap import PROOF_TYPE, SCHEMA_V2

__all__ = [
    "IntegrityResult",
    "check_integrity",
    "parse_document",
    "VALID",
    "MALFORMED",
    "TARGET_HASH_MISMATCH",
    "MERKLE_PROOF_INVALID",
]

VALID = "VALID"
MALFORMED = "MALFORMED"
TARGET_HASH_MISMATCH = "TARGET_HASH_MISMATCH"
MERKLE_PROOF_INVALID = "MERKLE_PROOF_INVALID"


@dataclass(frozen=True)
class IntegrityResult:
    """Outcome of the integrity check.

    ``code`` is VALID, MALFORMED, TARGET_HASH_MISMATCH or MERKLE_PROOF_INVALID; ``message`` is a
    sentence for a person. ``target_hash`` and ``merkle_root`` are the values the document
    claims (when readable), so that a caller can look the root up on chain.
    """

    ok: bool
    code: str
    message: str
    target_hash: str | None = None
    merkle_root: str | None = None
    proof: tuple[str, ...] = ()  # the Merkle proof, when the document is intact

    @property
    def status(self) -> str:
        """Verdict word: VALID, MALFORMED, or TAMPERED (hash or proof mismatch)."""
        if self.ok:
            return VALID
        return MALFORMED if self.code == MALFORMED else "TAMPERED"


class _Malformed(Exception):
    pass


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d: dict[str, Any] = {}
    for k, v in pairs:
        if k in d:
            raise ValueError(f"the key {short_repr(k)} appears twice in one object")
        d[k] = v
    return d


def parse_document(text: str | bytes | bytearray, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON strictly (UTF-8, no NaN/Infinity, no repeated keys, nested at most `max_depth` deep);
    raises ValueError (JsonTooDeep for the depth, checked before parsing)."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8")
    check_depth(text, max_depth, "the document")
    return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)


def _need(cond: bool, message: str) -> None:
    if not cond:
        raise _Malformed(message)


def _hex_field(value: Any, name: str) -> str:
    if value is None:
        raise _Malformed(f"{name} is missing")
    if not isinstance(value, str):
        raise _Malformed(f"{name} must be a string of 64 hex digits, found {type(value).__name__}")
    if not is_hash_hex(value):  # (messages are formatted only on failure: this runs for every proof step)
        raise _Malformed(f"{name} is not 64 lowercase hex digits without 0x: {short_repr(value)}")
    return value


def _malformed(message: str, th: str | None = None, root: str | None = None) -> IntegrityResult:
    return IntegrityResult(False, MALFORMED, "The document is malformed: " + message, th, root)


def check_integrity(wrapped: Any) -> IntegrityResult:
    """Recompute targetHash from ``data`` and ``privacy.obfuscatedData`` and fold the proof.

    ``wrapped`` is a parsed document (dict) or its JSON text (str/bytes).
    """
    try:
        return _check(wrapped)
    except RecursionError:
        return _malformed("the document is nested too deeply to read")
    except Exception as e:  # defensive: content must never escape as an exception
        return _malformed(f"the document could not be read ({type(e).__name__}: {e})")


def _check(wrapped: Any) -> IntegrityResult:
    if isinstance(wrapped, (str, bytes, bytearray)):
        try:
            wrapped = parse_document(wrapped)
        except JsonTooDeep as e:
            return _malformed(str(e))
        except (ValueError, UnicodeDecodeError) as e:
            return _malformed(f"it is not valid JSON ({e})")
    th: str | None = None
    root: str | None = None
    try:
        _need(isinstance(wrapped, dict), f"a wrapped document is a JSON object, found {type(wrapped).__name__}")
        version = wrapped.get("version")
        _need(version is not None, "version is missing")
        if version != SCHEMA_V2:
            raise _Malformed(f"version is {short_repr(version)}, expected {SCHEMA_V2!r}")
        sig = wrapped.get("signature")
        _need(sig is not None, "signature is missing")
        _need(isinstance(sig, dict), f"signature must be an object, found {type(sig).__name__}")
        if sig.get("type") != PROOF_TYPE:
            raise _Malformed(f"signature.type is {short_repr(sig.get('type'))}, expected {PROOF_TYPE!r}")
        th_value = sig.get("targetHash")
        root_value = sig.get("merkleRoot")
        th = th_value if is_hash_hex(th_value) else None
        root = root_value if is_hash_hex(root_value) else None
        _hex_field(th_value, "signature.targetHash")
        _hex_field(root_value, "signature.merkleRoot")
        proof = sig.get("proof")
        _need(proof is not None, "signature.proof is missing")
        _need(isinstance(proof, list), f"signature.proof must be a list, found {type(proof).__name__}")
        for i, p in enumerate(proof):
            if not (isinstance(p, str) and is_hash_hex(p)):
                _hex_field(p, f"signature.proof.{i}")
        data = wrapped.get("data")
        _need(data is not None, "data is missing")
        _need(isinstance(data, dict), f"data must be an object, found {type(data).__name__}")
        obfuscated: list[str] = []
        if "privacy" in wrapped:
            privacy = wrapped["privacy"]
            _need(isinstance(privacy, dict), f"privacy must be an object, found {type(privacy).__name__}")
            if "obfuscatedData" in privacy:
                od = privacy["obfuscatedData"]
                _need(isinstance(od, list), f"privacy.obfuscatedData must be a list, found {type(od).__name__}")
                for i, h in enumerate(od):
                    _hex_field(h, f"privacy.obfuscatedData.{i}")
                obfuscated = od
        # Every leaf must be a readable salted value. The native core checks and hashes the common
        # case; anything it hands back goes through the Python reference, which names the path.
        computed = certnet_native.salted_digest(data, obfuscated)
        if computed is None:
            try:
                _, hashes = unsalt_and_hash(data)
            except ProofFormatError as e:
                raise _Malformed(f"data.{e.path}: {e.reason}" if e.path else f"data: {e.reason}") from None
            computed = target_hash([*hashes, *obfuscated])
    except _Malformed as e:
        return _malformed(str(e), th, root)
    if computed != th:
        return IntegrityResult(
            False,
            TARGET_HASH_MISMATCH,
            "The document has been tampered with: its contents do not match its targetHash "
            f"(computed {computed}, document says {th}).",
            th,
            root,
        )
    if not verify_proof(cast(str, th), proof, cast(str, root)):  # both hashes: _hex_field raised otherwise
        return IntegrityResult(
            False,
            MERKLE_PROOF_INVALID,
            "The document has been tampered with: its Merkle proof does not lead from the "
            f"targetHash to the merkleRoot {root}.",
            th,
            root,
        )
    hidden = f", {len(obfuscated)} field(s) hidden" if obfuscated else ""
    return IntegrityResult(
        True,
        VALID,
        f"The document is intact: its contents match targetHash {th} and its proof leads to merkleRoot {root}{hidden}.",
        th,
        root,
        tuple(proof),
    )
