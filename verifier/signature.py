"""Optional issuer signature on a wrapped document (OpenAttestationSignature2018).

The issuer's key makes an EIP-191 ``personal_sign`` of the text ``"0x<merkleRoot>"`` (the
66-character string, as DESIGN.md says) and the document carries::

    "proof": [{"type": "OpenAttestationSignature2018", "proofPurpose": "assertionMethod",
               "verificationMethod": "did:ethr:<address>#controller", "signature": "0x<65 bytes>"}]

Note: the reference library's ``signDocument`` and the TradeTrust DID verifier sign and check
the root's 32 *bytes* instead of the text; ``encoding="bytes"`` produces and checks that form.

Checking needs no eth-account (`certnet.verifier.secp256k1` recovers the signer); signing is in
`certnet.verifier.signing`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from .jsjson import ProofFormatError, short_repr
from .salting import is_hash_hex
from .secp256k1 import eip191_hash, recover_address

__all__ = [
    "SIGNATURE_TYPE",
    "PROOF_PURPOSE",
    "signed_payload",
    "message_hash",
    "recover_signer",
    "recover_signers",
    "verify_issuer_signature",
]

SIGNATURE_TYPE = "OpenAttestationSignature2018"
PROOF_PURPOSE = "assertionMethod"
Encoding = Literal["text", "bytes"]
_SIG = re.compile(r"0x[0-9a-fA-F]{130}\Z")


def root_of(wrapped: Any) -> str:
    sig = wrapped.get("signature") if isinstance(wrapped, dict) else None
    root = sig.get("merkleRoot") if isinstance(sig, dict) else None
    if not is_hash_hex(root):
        raise ProofFormatError("signature.merkleRoot", "missing, or not 64 lowercase hex digits")
    return root


def signed_payload(merkle_root: str, encoding: Encoding = "text") -> bytes:
    """What the issuer's key signs (EIP-191 ``personal_sign``) for ``merkle_root`` (hex, with or without 0x): the
    text ``0x<root>`` or the root's 32 bytes."""
    root = merkle_root[2:] if merkle_root.startswith("0x") else merkle_root
    if not is_hash_hex(root):
        raise ProofFormatError("signature.merkleRoot", f"not 64 lowercase hex digits: {short_repr(merkle_root)}")
    if encoding == "text":
        return ("0x" + root).encode()
    if encoding == "bytes":
        return bytes.fromhex(root)
    raise ValueError(f"encoding must be 'text' or 'bytes', not {encoding!r}")


def message_hash(merkle_root: str, encoding: Encoding = "text") -> bytes:
    """The EIP-191 hash the signature over ``merkle_root`` is made on."""
    return eip191_hash(signed_payload(merkle_root, encoding))


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
    root = root_of(wrapped)
    proofs = wrapped.get("proof", [])
    if proofs is None:
        proofs = []
    if not isinstance(proofs, list):
        raise ProofFormatError("proof", "must be a list of signatures")
    digest = message_hash(root, encoding)
    out = []
    for i, entry in enumerate(proofs):
        sig = _check_entry(entry, i)
        try:
            out.append(recover_address(digest, bytes.fromhex(sig[2:])))
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
