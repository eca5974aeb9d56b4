"""QBFT (Besu) commit seals, checked as Besu's QbftExtraDataCodec and BftBlockHashing define them, on headers built
here: validator keys made in the test, headers sealed by a quorum, the set carried from genesis through a change;
tampering and too few or foreign seals are refused. Also the whole offline verification refuses a QBFT bundle whose
seals do not check."""

from __future__ import annotations

import pytest
import rlp
from eth_account import Account

from certnet.node.network.genesis import decode_qbft_extra_data, qbft_extra_data
from certnet.verifier.chainproof import (
    ChainProofError,
    Header,
    QbftExtra,
    check_qbft_chain,
    qbft_block_hash,
    qbft_commit_hash,
    qbft_committers,
    qbft_seal,
)
from tests.support.qbft import qbft_chain as _chain
from tests.support.qbft import qbft_header as _header
from tests.support.qbft import qbft_keys as _keys


def test_extra_data_codec_matches_the_genesis_writer() -> None:
    keys = _keys(4)
    raw = bytes.fromhex(qbft_extra_data([a.address for a in keys])[2:])
    extra = QbftExtra.decode(raw, "genesis")
    assert extra.encode() == raw and extra.round == 0 and extra.seals == []
    assert [a.lower() for a in decode_qbft_extra_data("0x" + raw.hex()).validators] == [
        "0x" + v.hex() for v in extra.validators
    ]


def test_commit_seals_sign_the_header_without_seals_round_included() -> None:
    keys = _keys(4)
    h = qbft_seal(_header(5, b"\1" * 32, keys, round_=2), [a.key for a in keys[:3]])
    extra, committers = qbft_committers(h)
    assert committers == [bytes.fromhex(a.address[2:]) for a in keys[:3]]
    assert len(extra.seals) == 3 and extra.round == 2
    # what is signed keeps the round but not the seals; the block hash drops both
    unsealed = rlp.decode(h.replace(extraData=extra.encode(seals=False)).extra)
    assert unsealed[3] == b"\x02" and unsealed[4] == []
    assert qbft_commit_hash(h, extra) != qbft_block_hash(h)
    assert qbft_block_hash(h) == qbft_block_hash(
        h.replace(extraData=QbftExtra(extra.vanity, extra.validators, extra.vote, 0, []).encode())
    )


def test_a_chain_with_a_quorum_checks_and_follows_a_validator_change() -> None:
    keys = _keys(4)
    genesis, headers = _chain(keys, 6)
    got = check_qbft_chain(headers, genesis, [bytes.fromhex(a.address[2:]) for a in keys], 6)
    assert got.number == 6 and len(got.endorsed_by) == 3
    # a jump (only some headers): still a quorum of the known set
    assert check_qbft_chain([headers[5]], genesis, [bytes.fromhex(a.address[2:]) for a in keys], 6).number == 6
    # the set changes at block 4 (one validator replaced): followed header by header
    extra = Account.create()
    new = sorted(keys[:3] + [extra], key=lambda a: a.address.lower())
    genesis, headers = _chain(keys, 6, change_at=4, new=new)
    got = check_qbft_chain(headers, genesis, [bytes.fromhex(a.address[2:]) for a in keys], 6)
    assert sorted(got.validators) == sorted(a.address for a in new)


def test_tampered_or_underseal_headers_are_refused() -> None:
    keys = _keys(4)
    vals = [bytes.fromhex(a.address[2:]) for a in keys]
    genesis, headers = _chain(keys, 3)
    target = headers[2]
    for i in range(0, len(target.raw), 3):
        raw = bytearray(target.raw)
        raw[i] ^= 1
        try:
            h = Header.decode(bytes(raw))
            check_qbft_chain(headers[:2] + [h], genesis, vals, 3)
        except ChainProofError:
            continue
        pytest.fail(f"byte {i} of the header changed and it still checks")
    two = qbft_seal(_header(3, qbft_block_hash(headers[1]), keys), [a.key for a in keys[:2]])
    with pytest.raises(ChainProofError, match="2 of the 4"):
        check_qbft_chain(headers[:2] + [two], genesis, vals, 3)
    outsiders = [Account.create() for _ in range(3)]
    foreign = qbft_seal(_header(3, qbft_block_hash(headers[1]), keys), [a.key for a in outsiders])
    with pytest.raises(ChainProofError):
        check_qbft_chain(headers[:2] + [foreign], genesis, vals, 3)
    # a header listing a new set of its own, sealed only by that new set: not a quorum of the known set
    mine = _keys(4)
    usurper = qbft_seal(_header(3, qbft_block_hash(headers[1]), mine), [a.key for a in mine])
    with pytest.raises(ChainProofError, match="known before it"):
        check_qbft_chain(headers[:2] + [usurper], genesis, vals, 3)
    with pytest.raises(ChainProofError, match="does not link"):
        check_qbft_chain(
            [headers[0], qbft_seal(headers[1].replace(parentHash=b"\5" * 32), [a.key for a in keys[:3]])],
            genesis,
            vals,
            2,
        )
