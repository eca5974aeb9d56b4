"""Optional issuer signature on a wrapped document (OpenAttestationSignature2018).

The issuer's key makes an EIP-191 ``personal_sign`` of the text ``"0x<merkleRoot>"`` (the
66-character string, as DESIGN.md says) and the document carries::

    "proof": [{"type": "OpenAttestationSignature2018", "proofPurpose": "assertionMethod",
               "verificationMethod": "did:ethr:<address>#controller", "signature": "0x<65 bytes>"}]

Note: the reference library's ``signDocument`` and the TradeTrust DID verifier sign and check
the root's 32 *bytes* instead of the text; ``encoding="bytes"`` produces and checks that form.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from eth_account import Account
from eth_account.messages import SignableMessage, encode_defunct

from .jsjson import ProofFormatError, short_repr
from .salting import is_hash_hex

__all__ = [
    "SIGNATURE_TYPE",
    "PROOF_PURPOSE",
    "signing_message",
    "sign_merkle_root",
    "sign_document",
    "recover_signer",
    "recover_signers",
    "verify_issuer_signature",
]

SIGNATURE_TYPE = "OpenAttestationSignature2018"
PROOF_PURPOSE = "assertionMethod"
Encoding = Literal["text", "bytes"]
_SIG = re.compile(r"0x[0-9a-fA-F]{130}\Z")


def _root_of(wrapped: Any) -> str:
    sig = wrapped.get("signature") if isinstance(wrapped, dict) else None
    root = sig.get("merkleRoot") if isinstance(sig, dict) else None
    if not is_hash_hex(root):
        raise ProofFormatError("signature.merkleRoot", "missing, or not 64 lowercase hex digits")
    return root


def signing_message(merkle_root: str, encoding: Encoding = "text") -> SignableMessage:
    """The EIP-191 message signed for ``merkle_root`` (hex, with or without 0x)."""
    root = merkle_root[2:] if merkle_root.startswith("0x") else merkle_root
    if not is_hash_hex(root):
        raise ProofFormatError("signature.merkleRoot", f"not 64 lowercase hex digits: {short_repr(merkle_root)}")
    if encoding == "text":
        return encode_defunct(text="0x" + root)
    if encoding == "bytes":
        return encode_defunct(primitive=bytes.fromhex(root))
    raise ValueError(f"encoding must be 'text' or 'bytes', not {encoding!r}")


def _sign(message: SignableMessage, key: Any) -> str:
    signer = key if hasattr(key, "sign_message") else Account.from_key(key)
    return "0x" + bytes(signer.sign_message(message).signature).hex()


def sign_merkle_root(merkle_root: str, key: Any, encoding: Encoding = "text") -> str:
    """``0x``-hex signature of a batch root by ``key`` (private key or an eth-account signer)."""
    return _sign(signing_message(merkle_root, encoding), key)


def sign_document(
    wrapped: dict[str, Any],
    key: Any,
    *,
    verification_method: str | None = None,
    encoding: Encoding = "text",
) -> dict[str, Any]:
    """A copy of ``wrapped`` with an issuer signature appended to its ``proof`` list.

    ``key`` is a private key (hex or bytes) or a signer object with ``sign_message`` and
    ``address`` (e.g. an eth-account LocalAccount). ``verification_method`` defaults to
    ``did:ethr:<address>#controller``.
    """
    root = _root_of(wrapped)
    signer = key if hasattr(key, "sign_message") else Account.from_key(key)
    if verification_method is None:
        verification_method = f"did:ethr:{signer.address}#controller"
    entry = {
        "type": SIGNATURE_TYPE,
        "proofPurpose": PROOF_PURPOSE,
        "verificationMethod": verification_method,
        "signature": _sign(signing_message(root, encoding), signer),
    }
    existing = wrapped.get("proof")
    out = dict(wrapped)
    out["proof"] = (list(existing) if isinstance(existing, list) else []) + [entry]
    return out


def _check_entry(entry: Any, i: int) -> str:
    where = f"proof.{i}"
    if not isinstance(entry, dict):
        raise ProofFormatError(where, "a signature proof must be an object")
    if entry.get("type") != SIGNATURE_TYPE:
        raise ProofFormatError(f"{where}.type", f"is {short_repr(entry.get('type'))}, expected {SIGNATURE_TYPE!r}")
    if entry.get("proofPurpose") != PROOF_PURPOSE:
        raise ProofFormatError(
            f"{where}.proofPurpose", f"is {short_repr(entry.get('proofPurpose'))}, expected {PROOF_PURPOSE!r}"
        )
    if not isinstance(entry.get("verificationMethod"), str):
        raise ProofFormatError(f"{where}.verificationMethod", "is missing or not a string")
    sig = entry.get("signature")
    if not isinstance(sig, str) or not _SIG.match(sig):
        raise ProofFormatError(f"{where}.signature", "is not a 65-byte 0x-hex signature")
    return sig


def recover_signers(wrapped: dict[str, Any], encoding: Encoding = "text") -> list[str]:
    """Checksum addresses recovered from every issuer signature in ``proof`` (may be empty).

    Raises :class:`ProofFormatError` naming the entry when a signature is malformed.
    """
    root = _root_of(wrapped)
    proofs = wrapped.get("proof", [])
    if proofs is None:
        proofs = []
    if not isinstance(proofs, list):
        raise ProofFormatError("proof", "must be a list of signatures")
    message = signing_message(root, encoding)
    out = []
    for i, entry in enumerate(proofs):
        sig = _check_entry(entry, i)
        try:
            out.append(Account.recover_message(message, signature=bytes.fromhex(sig[2:])))
        except Exception as e:  # invalid v / s values
            raise ProofFormatError(f"proof.{i}.signature", f"cannot be recovered ({e})") from None
    return out


def recover_signer(wrapped: dict[str, Any], encoding: Encoding = "text") -> str:
    """The signer of a document that carries exactly one issuer signature."""
    signers = recover_signers(wrapped, encoding)
    if len(signers) != 1:
        raise ProofFormatError("proof", f"expected exactly one issuer signature, found {len(signers)}")
    return signers[0]


def verify_issuer_signature(wrapped: dict[str, Any], address: str, encoding: Encoding = "text") -> bool:
    """True when the document carries a signature by ``address`` (case-insensitive compare)."""
    try:
        return any(s.lower() == address.lower() for s in recover_signers(wrapped, encoding))
    except ProofFormatError:
        return False
