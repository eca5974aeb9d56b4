"""The plain-Python signer recovery (verifier/secp256k1.py) against eth-account, the library it replaces in
signature checks: the same address for every valid signature, and an error wherever eth-account has one."""

from __future__ import annotations

import os

from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_defunct
from eth_keys.exceptions import BadSignature as KeysBadSignature
from eth_utils import to_checksum_address

from certnet.verifier.secp256k1 import BadSignature, N, checksum_address, eip191_hash, recover_address
from certnet.verifier.signature import message_hash
from certnet.verifier.signing import signing_message


def _theirs(message, sig: bytes) -> str | None:
    try:
        return Account.recover_message(message, signature=sig)
    except (ValueError, KeysBadSignature, AssertionError):
        return None


def _mine(digest: bytes, sig: bytes) -> str | None:
    try:
        return recover_address(digest, sig)
    except BadSignature:
        return None


def test_recovers_what_eth_account_signed() -> None:
    for i in range(40):
        acct = Account.create()
        payload = os.urandom(i + 1)
        message = encode_defunct(primitive=payload)
        sig = bytes(acct.sign_message(message).signature)
        assert _mine(eip191_hash(payload), sig) == acct.address
        # the same signature with v as 0/1 and as EIP-155 (chain 5): eth-account accepts both, and so do we
        for v in (sig[64] - 27, sig[64] - 27 + 35 + 2 * 5):
            variant = sig[:64] + bytes([v])
            assert _mine(eip191_hash(payload), variant) == _theirs(message, variant) == acct.address


def test_message_hash_is_what_signing_signs() -> None:
    root = os.urandom(32).hex()
    for encoding in ("text", "bytes"):
        m = signing_message(root, encoding)
        assert message_hash(root, encoding) == _hash_eip191_message(m)


def test_bad_signatures_fail_where_eth_account_fails() -> None:
    acct = Account.create()
    payload = b"0x" + os.urandom(32).hex().encode()
    message = encode_defunct(primitive=payload)
    good = bytes(acct.sign_message(message).signature)
    r, s = good[:32], good[32:64]
    cases = (
        [good[:64] + bytes([v]) for v in (2, 26, 29, 34)]
        + [  # v out of range
            bytes(32) + s + good[64:],  # r = 0
            r + bytes(32) + good[64:],  # s = 0
            N.to_bytes(32, "big") + s + good[64:],  # r = N
            r + N.to_bytes(32, "big") + good[64:],  # s = N
            (2**256 - 1).to_bytes(32, "big") + s + good[64:],  # r not a field element
            (5).to_bytes(32, "big") + s + good[64:],  # r = 5 is no point's x (x^3 + 7 not a square)
            r + (N - int.from_bytes(s, "big")).to_bytes(32, "big") + good[64:],  # high s: another key, not an error
            r + s + bytes([55 - good[64]]),  # the other parity (27 <-> 28): another key
        ]
    )
    for sig in cases:
        mine, theirs = _mine(eip191_hash(payload), sig), _theirs(message, sig)
        assert mine == theirs, sig.hex()
        assert mine != acct.address
    assert sum(_theirs(message, sig) is None for sig in cases) == 10  # all but the last two are errors on both sides


def test_checksum_address_is_eip55() -> None:
    for _ in range(200):
        raw = os.urandom(20)
        assert checksum_address(raw) == to_checksum_address(raw)
    # the EIP-55 test vectors
    for addr in (
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    ):
        assert checksum_address(bytes.fromhex(addr[2:])) == addr
