"""Public-key recovery on secp256k1 (Ethereum's ``ecrecover``) with libsecp256k1 (coincurve).

Its own module because importing eth-account costs a second (eth-keyfile loads py_ecc's BLS pairing), most of what
an offline ``certnet verify`` would otherwise spend; coincurve imports in milliseconds (and eth-keys uses it too
once installed, so header seals of offline bundles are recovered by libsecp256k1 as well). Recovery only: nothing
here touches a private key. ``tests/verifier/test_secp256k1.py`` checks it against eth-account.
"""

from __future__ import annotations

from coincurve import PublicKey

from certnet import CertnetError

from .merkle import keccak256

#: the order of secp256k1's group
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


class BadSignature(CertnetError, ValueError):
    """The signature recovers no public key (v, r or s out of range, r not on the curve)."""


def recover_public_key(msg_hash: bytes, v: int, r: int, s: int) -> bytes:
    """The 64-byte uncompressed public key (x ‖ y) that signed ``msg_hash`` with (v, r, s), v the y parity 0 or 1."""
    if len(msg_hash) != 32:
        raise BadSignature("the message hash must be 32 bytes")
    if v not in (0, 1):
        raise BadSignature(f"value of v, aka y-parity, was {v}, must be either 0 or 1")
    if not (0 < r < N and 0 < s < N):
        raise BadSignature("r and s must be between 1 and the curve order")
    try:
        key = PublicKey.from_signature_and_message(
            r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v]), msg_hash, hasher=None
        )
    except Exception as exc:  # libsecp256k1 refuses: r is no point's x coordinate, or the point at infinity
        raise BadSignature("Invalid signature") from exc
    return key.format(compressed=False)[1:]


def checksum_address(raw: bytes) -> str:
    """EIP-55 form of a 20-byte address."""
    digits = raw.hex()
    hashed = keccak256(digits.encode()).hex()
    return "0x" + "".join(c.upper() if int(h, 16) >= 8 else c for c, h in zip(digits, hashed[:40], strict=True))


def public_key_address(public_key: bytes) -> str:
    """The checksummed address of a 64-byte public key: the last 20 bytes of its keccak256."""
    return checksum_address(keccak256(public_key)[-20:])


def eip191_hash(message: bytes) -> bytes:
    """keccak256 of an EIP-191 version-E (``personal_sign``) message."""
    return keccak256(b"\x19Ethereum Signed Message:\n" + str(len(message)).encode() + message)


def standard_v(v: int) -> int:
    """The y parity (0 or 1) of a signature's last byte, read as eth-account reads it: 0/1, 27/28, or EIP-155
    (35 + 2·chain id + parity)."""
    if v >= 35:
        return (v - 35) % 2
    if v in (27, 28):
        return v - 27
    if v in (0, 1):
        return v
    raise BadSignature(f"invalid signature v value {v}")


def recover_address(msg_hash: bytes, signature: bytes) -> str:
    """The checksummed address that made the 65-byte signature r ‖ s ‖ v of ``msg_hash``."""
    if len(signature) != 65:
        raise BadSignature(f"a signature is 65 bytes, got {len(signature)}")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    return public_key_address(recover_public_key(msg_hash, standard_v(signature[64]), r, s))
