"""Signing a wrapped document's batch root for the optional issuer signature (OpenAttestationSignature2018).

Apart from `certnet.verifier.signature`, which checks signatures, because signing takes eth-account, whose import
alone costs about a second; checking needs none of it.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import SignableMessage, encode_defunct

from .signature import PROOF_PURPOSE, SIGNATURE_TYPE, Encoding, root_of, signed_payload

__all__ = ["signing_message", "sign_merkle_root", "sign_document"]


def signing_message(merkle_root: str, encoding: Encoding = "text") -> SignableMessage:
    """The EIP-191 message signed for ``merkle_root`` (hex, with or without 0x)."""
    return encode_defunct(primitive=signed_payload(merkle_root, encoding))


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
    root = root_of(wrapped)
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
