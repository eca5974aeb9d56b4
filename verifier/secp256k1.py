"""Public-key recovery on secp256k1 (Ethereum's ``ecrecover``), in plain Python.

The same arithmetic as eth-keys' native backend (lifted from pybitcointools, MIT), which is what eth-account ran
here anyway (coincurve is not installed). It is its own module because importing eth-account costs a second
(eth-keyfile loads py_ecc's BLS pairing), most of what an offline ``certnet verify`` would otherwise spend.
Recovery only: nothing here touches a private key. ``tests/verifier/test_secp256k1.py`` checks it against eth-account.
"""

from __future__ import annotations

from .merkle import keccak256

P = 2**256 - 2**32 - 977
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_G = (
    0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,
    0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8,
    1,
)
_B = 7  # y^2 = x^3 + 7 (a = 0)

Jacobian = tuple[int, int, int]


class BadSignature(ValueError):
    """The signature recovers no public key (v, r or s out of range, r not on the curve)."""


def _double(p: Jacobian) -> Jacobian:
    if not p[1]:
        return (0, 0, 0)
    ysq = (p[1] ** 2) % P
    s = (4 * p[0] * ysq) % P
    m = (3 * p[0] ** 2) % P
    nx = (m**2 - 2 * s) % P
    ny = (m * (s - nx) - 8 * ysq**2) % P
    nz = (2 * p[1] * p[2]) % P
    return (nx, ny, nz)


def _add(p: Jacobian, q: Jacobian) -> Jacobian:
    if not p[1]:
        return q
    if not q[1]:
        return p
    u1 = (p[0] * q[2] ** 2) % P
    u2 = (q[0] * p[2] ** 2) % P
    s1 = (p[1] * q[2] ** 3) % P
    s2 = (q[1] * p[2] ** 3) % P
    if u1 == u2:
        if s1 != s2:
            return (0, 0, 1)
        return _double(p)
    h = u2 - u1
    r = s2 - s1
    h2 = (h * h) % P
    h3 = (h * h2) % P
    u1h2 = (u1 * h2) % P
    nx = (r**2 - h3 - 2 * u1h2) % P
    ny = (r * (u1h2 - nx) - s1 * h3) % P
    nz = (h * p[2] * q[2]) % P
    return (nx, ny, nz)


def _multiply(a: Jacobian, n: int) -> Jacobian:
    """n·a by double-and-add from the most significant bit (iterative; the same sums as eth-keys' recursion)."""
    n %= N
    if a[1] == 0 or n == 0:
        return (0, 0, 1)
    out = a
    for bit in bin(n)[3:]:
        out = _double(out)
        if bit == "1":
            out = _add(out, a)
    return out


def _affine(p: Jacobian) -> tuple[int, int]:
    z = pow(p[2], -1, P)
    return (p[0] * z**2) % P, (p[1] * z**3) % P


def recover_public_key(msg_hash: bytes, v: int, r: int, s: int) -> bytes:
    """The 64-byte uncompressed public key (x ‖ y) that signed ``msg_hash`` with (v, r, s), v the y parity 0 or 1."""
    if len(msg_hash) != 32:
        raise BadSignature("the message hash must be 32 bytes")
    if v not in (0, 1):
        raise BadSignature(f"value of v, aka y-parity, was {v}, must be either 0 or 1")
    if not (0 <= r < N and 0 <= s < N):
        raise BadSignature("r and s must be below the curve order")
    x = r
    alpha = (x * x * x + _B) % P
    beta = pow(alpha, (P + 1) // 4, P)
    y = beta if (v + 27) % 2 ^ beta % 2 else (P - beta)
    # r is no point's x coordinate when alpha is not a square: the signature is invalid
    if (alpha - y * y) % P != 0 or not r % N or not s % N:
        raise BadSignature("Invalid signature")
    z = int.from_bytes(msg_hash, "big")
    qr = _add(_multiply(_G, (N - z) % N), _multiply((x, y, 1), s))
    q = _multiply(qr, pow(r, -1, N))
    if q[1] == 0 or q[2] == 0:  # the point at infinity
        raise BadSignature("Invalid signature")
    qx, qy = _affine(q)
    return qx.to_bytes(32, "big") + qy.to_bytes(32, "big")


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
