"""QBFT (Besu) headers built in the tests: validator keys, headers sealed by a quorum, a validator set changed on the
way (used by tests/verifier/test_bundles_qbft.py and, for the page's JavaScript, tests/e2e/test_bundles_browser.py)."""

from __future__ import annotations

from eth_account import Account
from eth_utils import keccak

from certnet.verifier.chainproof import (
    EMPTY_TRIE_ROOT,
    EMPTY_UNCLE_HASH,
    Header,
    QbftExtra,
    qbft_block_hash,
    qbft_quorum,
    qbft_seal,
)


def qbft_keys(n: int) -> list:
    return sorted((Account.create() for _ in range(n)), key=lambda a: a.address.lower())


def qbft_header(number: int, parent: bytes, validators: list, round_: int = 0, t: int = 0) -> Header:
    extra = QbftExtra(b"\0" * 32, [bytes.fromhex(a.address[2:]) for a in validators], [], round_, []).encode()
    fields = [
        parent,
        EMPTY_UNCLE_HASH,
        b"\0" * 20,
        keccak(b"state%d" % number),
        EMPTY_TRIE_ROOT,
        EMPTY_TRIE_ROOT,
        b"\0" * 256,
        b"\x01",
        number.to_bytes(4, "big").lstrip(b"\0"),
        b"\x01\xc9\xc3\x80",
        b"",
        (1000 + t + number).to_bytes(4, "big"),
        extra,
        bytes.fromhex("63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"),
        b"\0" * 8,
        b"\x07",
    ]
    return Header.from_fields(fields)


def qbft_chain(keys: list, length: int, change_at: int | None = None, new: list | None = None) -> tuple[bytes, list]:
    genesis = qbft_header(0, b"\0" * 32, keys)
    parent, out, current = qbft_block_hash(genesis), [], keys
    for n in range(1, length + 1):
        listed = new if change_at is not None and n >= change_at else keys
        signers = current[: qbft_quorum(len(current))]
        if set(a.address for a in signers) - set(a.address for a in listed):
            signers = [a for a in current if a in listed][: qbft_quorum(len(listed))]
        h = qbft_seal(qbft_header(n, parent, listed, round_=n % 3), [a.key for a in signers])
        out.append(h)
        parent, current = qbft_block_hash(h), listed
    return qbft_block_hash(genesis), out
