"""Checking a chain with no node: block headers sealed by the validators, carried from a pinned trust root, and
Merkle-Patricia proofs of accounts and storage against a header's state root. Pure computation, no network.

Clique (geth): each header is sealed by one signer (65-byte secp256k1 signature at the end of extraData, over
the Keccak of the header's RLP without it). The signer set comes from the trust root (the genesis signers) and
changes only by votes (a header's coinbase and nonce) that a majority of the signers cast, or at an epoch
checkpoint, whose extraData lists the signers. `CliqueChecker` follows it:

- a *run* of headers that link by parentHash is replayed exactly as geth's snapshot does it: every signer must
  be in the set and not have signed within the last floor(N/2) blocks, the difficulty must say whether it was
  its turn, votes are tallied and applied, checkpoints reset the votes and must list the current set;
- a *jump* (a run that does not link to what came before) is accepted only when the signers of that run include
  a majority of the last set known before it: under Clique's own assumption (no majority of a validator set
  colludes) the jump lands on the chain those validators built. A jump landing on an epoch checkpoint takes
  the checkpoint's signer list as the set (votes reset there, so what follows replays exactly); a jump landing
  elsewhere keeps the last known set and may carry no vote (the tally before it is unknown);
- the target block (whose state the bundle proves) must be followed in its run by enough headers that a
  majority of the signers at the target sealed it or its descendants: one validator alone cannot make a
  verifier believe a forged state.

QBFT (Besu): every header carries the validator list and the commit seals of the validators that committed it
(each signs the Keccak of the header's RLP with the commit seals removed, round included); a header is accepted
when its seals include a quorum (ceil(2n/3)) of the last known set and a quorum of its own list; its list then
becomes the known set. The block hash leaves out the commit seals and the round.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import rlp
from eth_keys import keys as eth_keys
from eth_keys.exceptions import BadSignature
from eth_keys.exceptions import ValidationError as KeyValidationError
from eth_utils import to_checksum_address
from trie import HexaryTrie
from trie.exceptions import BadTrieProof, MissingTrieNode

from certnet import CertnetError
from certnet.verifier.merkle import keccak256 as keccak


class ChainProofError(CertnetError, ValueError):
    """A header, a seal or a state proof does not check; the message says which and why."""


# ------------------------------------------------------------------ headers

#: London header fields, in RLP order (geth 1.13 under Clique; Besu adds withdrawalsRoot etc. after baseFee).
HEADER_FIELDS = (
    "parentHash",
    "sha3Uncles",
    "miner",
    "stateRoot",
    "transactionsRoot",
    "receiptsRoot",
    "logsBloom",
    "difficulty",
    "number",
    "gasLimit",
    "gasUsed",
    "timestamp",
    "extraData",
    "mixHash",
    "nonce",
    "baseFeePerGas",
    "withdrawalsRoot",
    "blobGasUsed",
    "excessBlobGas",
    "parentBeaconBlockRoot",
    "requestsHash",
)
EMPTY_UNCLE_HASH = keccak(rlp.encode([]))
EMPTY_TRIE_ROOT = keccak(rlp.encode(b""))
EMPTY_CODE_HASH = keccak(b"")


def _int(raw: bytes) -> int:
    return int.from_bytes(raw, "big")


@dataclass(frozen=True)
class Header:
    """A block header as its RLP fields (bytes); `raw` is the RLP it was read from."""

    fields: tuple[bytes, ...]
    raw: bytes

    @classmethod
    def decode(cls, raw: bytes, where: str = "header") -> Header:
        try:
            items = rlp.decode(raw)
        except Exception as exc:
            raise ChainProofError(f"{where} is not valid RLP: {exc}") from None
        if (
            not isinstance(items, list)
            or not 15 <= len(items) <= len(HEADER_FIELDS)
            or any(not isinstance(i, bytes) for i in items)
        ):
            raise ChainProofError(
                f"{where} is not a block header (an RLP list of 15 to {len(HEADER_FIELDS)} byte strings)"
            )
        h = cls(tuple(items), raw)
        for name, size in (
            ("parentHash", 32),
            ("sha3Uncles", 32),
            ("miner", 20),
            ("stateRoot", 32),
            ("logsBloom", 256),
            ("mixHash", 32),
            ("nonce", 8),
        ):
            if len(h.field(name)) != size:
                raise ChainProofError(f"{where}: {name} must be {size} bytes, not {len(h.field(name))}")
        return h

    @classmethod
    def from_fields(cls, fields: Sequence[bytes]) -> Header:
        return cls(tuple(fields), rlp.encode(list(fields)))

    def field(self, name: str) -> bytes:
        return self.fields[HEADER_FIELDS.index(name)]

    def replace(self, **changes: bytes) -> Header:
        fields = list(self.fields)
        for name, value in changes.items():
            fields[HEADER_FIELDS.index(name)] = value
        return Header.from_fields(fields)

    @property
    def hash(self) -> bytes:
        return keccak(self.raw)

    @property
    def parent_hash(self) -> bytes:
        return self.fields[0]

    @property
    def coinbase(self) -> bytes:
        return self.fields[2]

    @property
    def state_root(self) -> bytes:
        return self.fields[3]

    @property
    def difficulty(self) -> int:
        return _int(self.fields[7])

    @property
    def number(self) -> int:
        return _int(self.fields[8])

    @property
    def time(self) -> int:
        return _int(self.fields[11])

    @property
    def extra(self) -> bytes:
        return self.fields[12]

    @property
    def nonce(self) -> bytes:
        return self.fields[14]


def _recover(message_hash: bytes, signature: bytes, what: str) -> bytes:
    """The address that made a 65-byte [r, s, v] secp256k1 signature (v 0 or 1) of `message_hash`."""
    if len(signature) != 65 or signature[64] not in (0, 1):
        raise ChainProofError(f"{what}: not a 65-byte [r, s, v] signature with v 0 or 1")
    signer = _recover_cached(message_hash, signature)
    if signer is None:
        raise ChainProofError(f"{what}: the signature cannot be recovered")
    return signer


@functools.lru_cache(maxsize=4096)
def _recover_cached(message_hash: bytes, signature: bytes) -> bytes | None:
    """Recovery is slow in pure Python (~20 ms): the same headers are checked again and again (every document
    of a batch, every verification of one bundle), so each (hash, signature) is recovered once."""
    try:
        sig = eth_keys.Signature(signature)
        return sig.recover_public_key_from_msg_hash(message_hash).to_canonical_address()
    except (BadSignature, KeyValidationError, ValueError):
        return None


def _sign(message_hash: bytes, private_key: bytes) -> bytes:
    return eth_keys.PrivateKey(private_key).sign_msg_hash(message_hash).to_bytes()


def _addr(a: bytes) -> str:
    return to_checksum_address(a)


# ------------------------------------------------------------------ Clique

EXTRA_VANITY = 32
EXTRA_SEAL = 65
NONCE_AUTH = b"\xff" * 8
NONCE_DROP = b"\x00" * 8
DIFF_IN_TURN = 2
DIFF_NO_TURN = 1


def clique_seal_hash(h: Header) -> bytes:
    """What a Clique signer signs: the header's RLP with the 65-byte seal cut from extraData."""
    if len(h.extra) < EXTRA_VANITY + EXTRA_SEAL:
        raise ChainProofError(f"block {h.number}: extraData of {len(h.extra)} bytes has no room for a Clique seal")
    fields = list(h.fields)
    fields[12] = h.extra[:-EXTRA_SEAL]
    return keccak(rlp.encode(fields))


def clique_signer(h: Header) -> bytes:
    return _recover(clique_seal_hash(h), h.extra[-EXTRA_SEAL:], f"block {h.number}: the Clique seal")


def clique_seal(h: Header, private_key: bytes) -> Header:
    """`h` sealed by `private_key` (tests build and forge headers with it)."""
    unsealed = h.replace(extraData=h.extra[:-EXTRA_SEAL] + b"\x00" * EXTRA_SEAL)
    return unsealed.replace(extraData=h.extra[:-EXTRA_SEAL] + _sign(clique_seal_hash(unsealed), private_key))


def clique_checkpoint_signers(h: Header) -> list[bytes]:
    body = h.extra[EXTRA_VANITY : len(h.extra) - EXTRA_SEAL]
    if len(h.extra) < EXTRA_VANITY + EXTRA_SEAL or len(body) % 20:
        raise ChainProofError(f"block {h.number}: a checkpoint's extraData must be vanity, signers and seal")
    return [body[i : i + 20] for i in range(0, len(body), 20)]


@dataclass
class _Vote:
    signer: bytes
    block: int
    address: bytes
    authorize: bool


@dataclass
class CliqueSnapshot:
    """geth's clique.Snapshot: the signers, who signed recently, the open votes and their tally."""

    signers: set[bytes]
    recents: dict[int, bytes] = field(default_factory=dict)
    votes: list[_Vote] = field(default_factory=list)
    tally: dict[bytes, list[Any]] = field(default_factory=dict)  # address -> [authorize, votes]

    def sorted_signers(self) -> list[bytes]:
        return sorted(self.signers)

    def inturn(self, number: int, signer: bytes) -> bool:
        signers = self.sorted_signers()
        return signer in self.signers and number % len(signers) == signers.index(signer)

    def _valid_vote(self, address: bytes, authorize: bool) -> bool:
        signer = address in self.signers
        return (signer and not authorize) or (not signer and authorize)

    def _cast(self, address: bytes, authorize: bool) -> bool:
        if not self._valid_vote(address, authorize):
            return False
        if address in self.tally:
            self.tally[address][1] += 1
        else:
            self.tally[address] = [authorize, 1]
        return True

    def _uncast(self, address: bytes, authorize: bool) -> bool:
        t = self.tally.get(address)
        if t is None or t[0] != authorize:
            return False
        if t[1] > 1:
            t[1] -= 1
        else:
            del self.tally[address]
        return True

    def apply(self, h: Header, signer: bytes, epoch: int) -> None:
        """geth's Snapshot.apply for one header whose seal recovered to `signer`."""
        number = h.number
        if number % epoch == 0:
            self.votes, self.tally = [], {}
        limit = len(self.signers) // 2 + 1
        if number >= limit:
            self.recents.pop(number - limit, None)
        if signer not in self.signers:
            raise ChainProofError(f"block {number} is sealed by {_addr(signer)}, not a validator at that block")
        if signer in self.recents.values():
            raise ChainProofError(
                f"block {number}: validator {_addr(signer)} signed recently (Clique allows one block in {limit})"
            )
        self.recents[number] = signer
        for i, v in enumerate(self.votes):
            if v.signer == signer and v.address == h.coinbase:
                self._uncast(v.address, v.authorize)
                del self.votes[i]
                break
        if h.nonce == NONCE_AUTH:
            authorize = True
        elif h.nonce == NONCE_DROP:
            authorize = False
        else:
            raise ChainProofError(f"block {number}: nonce {h.nonce.hex()} is not a Clique vote")
        if self._cast(h.coinbase, authorize):
            self.votes.append(_Vote(signer, number, h.coinbase, authorize))
        t = self.tally.get(h.coinbase)
        if t is not None and t[1] > len(self.signers) // 2:
            if t[0]:
                self.signers.add(h.coinbase)
            else:
                self.signers.discard(h.coinbase)
                limit = len(self.signers) // 2 + 1
                if number >= limit:
                    self.recents.pop(number - limit, None)
                self.votes_by(h.coinbase)
            self.votes = [v for v in self.votes if v.address != h.coinbase]
            self.tally.pop(h.coinbase, None)

    def votes_by(self, signer: bytes) -> None:
        """Discard every vote a removed signer cast."""
        kept = []
        for v in self.votes:
            if v.signer == signer:
                self._uncast(v.address, v.authorize)
            else:
                kept.append(v)
        self.votes = kept


@dataclass(frozen=True)
class CheckedChain:
    """What the headers prove: the target header, the validator set at it and who sealed it or its descendants."""

    target: Header
    validators: list[str]
    endorsed_by: list[str]
    headers: int

    @property
    def number(self) -> int:
        return self.target.number

    @property
    def state_root(self) -> bytes:
        return self.target.state_root

    @property
    def time(self) -> int:
        return self.target.time


def _runs(headers: Sequence[Header]) -> list[list[Header]]:
    runs: list[list[Header]] = []
    for h in headers:
        if runs and h.parent_hash == runs[-1][-1].hash and h.number == runs[-1][-1].number + 1:
            runs[-1].append(h)
        else:
            if runs and h.number <= runs[-1][-1].number:
                raise ChainProofError(
                    f"block {h.number} comes after block {runs[-1][-1].number}: headers must be in ascending order"
                )
            runs.append([h])
    return runs


def check_clique_chain(
    headers: Sequence[Header], genesis_hash: bytes, validators: Iterable[bytes], epoch: int, period: int, target: int
) -> CheckedChain:
    """Carry the signer set from the genesis `validators` through `headers` to block `target` (see the module
    docstring); ChainProofError says where it breaks."""
    if epoch <= 0:
        raise ChainProofError("the Clique epoch must be positive")
    snap = CliqueSnapshot(set(validators))
    if not snap.signers:
        raise ChainProofError("the trust root names no validators")
    tip_hash, tip_number, tip_time = genesis_hash, 0, None
    runs = _runs(headers)
    if not runs:
        raise ChainProofError("the bundle holds no block header")
    target_run: list[Header] | None = None
    target_set: set[bytes] = set()
    endorsed: list[bytes] = []
    for run in runs:
        first = run[0]
        jump = not (first.parent_hash == tip_hash and first.number == tip_number + 1)
        before = set(snap.signers)
        if jump:
            if first.number <= tip_number:
                raise ChainProofError(f"block {first.number} does not follow block {tip_number}")
            if first.number % epoch == 0:
                listed = clique_checkpoint_signers(first)
                if not listed or len(set(listed)) != len(listed):
                    raise ChainProofError(f"checkpoint block {first.number} lists no or duplicate signers")
                snap = CliqueSnapshot(set(listed))
            else:
                snap = CliqueSnapshot(set(snap.signers))
            tip_time = None
        signers_in_run: list[bytes] = []
        for h in run:
            if target_run is None and h.number == target:
                target_run, target_set = run, set(snap.signers)
            signer = _check_clique_header(
                h, snap, epoch, period, tip_time, landed_mid_epoch=jump and first.number % epoch != 0
            )
            snap.apply(h, signer, epoch)
            signers_in_run.append(signer)
            if target_run is run and h.number >= target:
                endorsed.append(signer)
            tip_time = h.time
        if jump:
            backing = {s for s in signers_in_run if s in before}
            if len(backing) <= len(before) // 2:
                raise ChainProofError(
                    f"the headers from block {first.number} follow a gap after block {tip_number} and are sealed by "
                    f"{len(backing)} of the {len(before)} validators known before it: a majority is needed"
                )
        tip_hash, tip_number = run[-1].hash, run[-1].number
    if target_run is None:
        raise ChainProofError(f"the bundle holds no header of block {target}")
    if target_run is not runs[-1]:
        raise ChainProofError(f"block {target} is not in the last run of headers")
    distinct = {s for s in endorsed if s in target_set}
    if len(distinct) <= len(target_set) // 2:
        raise ChainProofError(
            f"block {target} and the headers after it are sealed by {len(distinct)} of the {len(target_set)} "
            "validators at that block: a majority must have sealed it or built on it"
        )
    target_header = next(h for h in target_run if h.number == target)
    return CheckedChain(
        target_header, sorted(_addr(s) for s in target_set), sorted(_addr(s) for s in distinct), len(headers)
    )


def _check_clique_header(
    h: Header, snap: CliqueSnapshot, epoch: int, period: int, parent_time: int | None, landed_mid_epoch: bool
) -> bytes:
    """The header's own rules (geth's verifyHeader and verifySeal); returns its signer."""
    n = h.number
    checkpoint = n % epoch == 0
    if h.fields[1] != EMPTY_UNCLE_HASH:
        raise ChainProofError(f"block {n}: Clique blocks have no uncles")
    if h.field("mixHash") != b"\x00" * 32:
        raise ChainProofError(f"block {n}: Clique blocks have a zero mixHash")
    if len(h.extra) < EXTRA_VANITY + EXTRA_SEAL:
        raise ChainProofError(f"block {n}: extraData too short for a Clique vanity and seal")
    if checkpoint:
        if h.coinbase != b"\x00" * 20 or h.nonce != NONCE_DROP:
            raise ChainProofError(f"checkpoint block {n} carries a vote")
        if clique_checkpoint_signers(h) != snap.sorted_signers():
            raise ChainProofError(f"checkpoint block {n} lists signers that are not the validators at that block")
    else:
        if len(h.extra) != EXTRA_VANITY + EXTRA_SEAL:
            raise ChainProofError(f"block {n} lists signers though it is not a checkpoint")
        if landed_mid_epoch and h.coinbase != b"\x00" * 20:
            raise ChainProofError(
                f"block {n} carries a vote after a gap: the votes before it are unknown "
                "(the bundle must hold the headers from the last checkpoint)"
            )
    signer = clique_signer(h)
    want = DIFF_IN_TURN if snap.inturn(n, signer) else DIFF_NO_TURN
    if signer in snap.signers and h.difficulty != want:
        raise ChainProofError(f"block {n}: difficulty {h.difficulty}, Clique wants {want} for its signer")
    if parent_time is not None and h.time < parent_time + period:
        raise ChainProofError(f"block {n}: sealed {h.time - parent_time} s after its parent, the period is {period} s")
    return signer


# ------------------------------------------------------------------ QBFT (Besu)


@dataclass(frozen=True)
class QbftExtra:
    vanity: bytes
    validators: list[bytes]
    vote: list[Any]
    round: int
    seals: list[bytes]

    @classmethod
    def decode(cls, extra: bytes, where: str) -> QbftExtra:
        try:
            items = rlp.decode(extra)
        except Exception as exc:
            raise ChainProofError(f"{where}: the QBFT extraData is not RLP ({exc})") from None
        if not isinstance(items, list) or len(items) != 5:
            raise ChainProofError(f"{where}: the QBFT extraData must be RLP [vanity, validators, vote, round, seals]")
        vanity, validators, vote, round_, seals = items
        if (
            not isinstance(vanity, bytes)
            or not isinstance(validators, list)
            or not isinstance(vote, list)
            or not isinstance(round_, bytes)
            or not isinstance(seals, list)
            or any(not isinstance(v, bytes) or len(v) != 20 for v in validators)
            or any(not isinstance(s, bytes) for s in seals)
            or (round_ and round_[0] == 0)
            or len(round_) > 4
        ):
            raise ChainProofError(f"{where}: malformed QBFT extraData")
        return cls(vanity, validators, vote, _int(round_), seals)

    def encode(self, seals: bool = True, round_: bool = True) -> bytes:
        """Besu's QbftExtraDataCodec: ALL, EXCLUDE_COMMIT_SEALS (seals = []), or also round 0 for the block hash."""
        rnd = self.round if round_ else 0
        return cast("bytes", rlp.encode([self.vanity, self.validators, self.vote, rnd, self.seals if seals else []]))


def qbft_commit_hash(h: Header, extra: QbftExtra) -> bytes:
    """What each QBFT validator signs in its commit seal: the header with the seals removed, the round kept."""
    return keccak(h.replace(extraData=extra.encode(seals=False)).raw)


def qbft_block_hash(h: Header) -> bytes:
    """A QBFT block's hash: the header with the commit seals removed and the round set to 0."""
    extra = QbftExtra.decode(h.extra, f"block {h.number}")
    return keccak(h.replace(extraData=extra.encode(seals=False, round_=False)).raw)


def qbft_seal(h: Header, private_keys: Sequence[bytes]) -> Header:
    """`h` with the commit seals of `private_keys` (tests build headers with it)."""
    extra = QbftExtra.decode(h.extra, f"block {h.number}")
    digest = qbft_commit_hash(h, extra)
    seals = [_sign(digest, k) for k in private_keys]
    return h.replace(extraData=QbftExtra(extra.vanity, extra.validators, extra.vote, extra.round, seals).encode())


def qbft_quorum(n: int) -> int:
    """Besu's BftHelpers.calculateRequiredValidatorQuorum: ceil(2n/3)."""
    return -(-2 * n // 3)


def qbft_committers(h: Header) -> tuple[QbftExtra, list[bytes]]:
    extra = QbftExtra.decode(h.extra, f"block {h.number}")
    digest = qbft_commit_hash(h, extra)
    out = [_recover(digest, s, f"block {h.number}: commit seal {i}") for i, s in enumerate(extra.seals)]
    if len(set(out)) != len(out):
        raise ChainProofError(f"block {h.number}: a validator's commit seal appears twice")
    return extra, out


def check_qbft_chain(
    headers: Sequence[Header], genesis_hash: bytes, validators: Iterable[bytes], target: int
) -> CheckedChain:
    """Carry the QBFT validator set from the trust root to block `target`: every header needs commit seals from a
    quorum of the last known set and of its own list; its list becomes the known set."""
    known = sorted(set(validators))
    if not known:
        raise ChainProofError("the trust root names no validators")
    tip_hash, tip_number = genesis_hash, 0
    found: tuple[Header, list[bytes], list[bytes]] | None = None
    if not headers:
        raise ChainProofError("the bundle holds no block header")
    for h in headers:
        if h.number <= tip_number:
            raise ChainProofError(f"block {h.number} comes after block {tip_number}: headers must be ascending")
        if h.number == tip_number + 1 and h.parent_hash != tip_hash:
            raise ChainProofError(f"block {h.number} does not link to block {tip_number} (parentHash)")
        extra, committers = qbft_committers(h)
        listed = sorted(extra.validators)
        for who, group in (("the validators known before it", known), ("its own validator list", listed)):
            signed = {c for c in committers if c in set(group)}
            if len(signed) < qbft_quorum(len(group)):
                raise ChainProofError(
                    f"block {h.number} carries commit seals of {len(signed)} of the {len(group)} "
                    f"validators of {who}: {qbft_quorum(len(group))} are needed"
                )
        stray = [c for c in committers if c not in set(listed)]
        if stray:
            raise ChainProofError(f"block {h.number} carries a commit seal of {_addr(stray[0])}, not a validator")
        if h.number == target:
            found = (h, listed, committers)
        known = listed
        tip_hash, tip_number = qbft_block_hash(h), h.number
    if found is None:
        raise ChainProofError(f"the bundle holds no header of block {target}")
    h, listed, committers = found
    return CheckedChain(h, [_addr(v) for v in listed], sorted(_addr(c) for c in committers), len(headers))


# ------------------------------------------------------------------ Merkle-Patricia proofs


class Unproven(ChainProofError):
    """A value needed for the verdict is not covered by the proof nodes the bundle holds."""


class ProvenState:
    """Accounts and storage read through a pool of trie nodes against one state root. Every node is addressed
    by its Keccak, so only values that the nodes prove can be read; anything else raises Unproven."""

    def __init__(self, state_root: bytes, nodes: Iterable[bytes]) -> None:
        self.state_root = state_root
        self.db: dict[bytes, bytes] = {keccak(n): n for n in nodes}
        self._accounts: dict[bytes, tuple[int, int, bytes, bytes] | None] = {}
        self._storage: dict[tuple[bytes, int], int] = {}

    def _get(self, root: bytes, key: bytes, what: Callable[[], str]) -> bytes:
        if root == EMPTY_TRIE_ROOT:
            return b""
        try:
            return HexaryTrie(self.db, root_hash=root).get(key)
        except MissingTrieNode:
            raise Unproven(f"the bundle does not prove {what()}") from None
        except (BadTrieProof, rlp.DecodingError, ValueError, IndexError, TypeError) as exc:
            raise ChainProofError(f"the proof of {what()} is malformed ({type(exc).__name__})") from None

    def account(self, address: bytes) -> tuple[int, int, bytes, bytes] | None:
        """(nonce, balance, storageRoot, codeHash), None for an account that does not exist."""
        if address not in self._accounts:
            raw = self._get(self.state_root, keccak(address), lambda: f"account {_addr(address)}")
            if not raw:
                self._accounts[address] = None
            else:
                try:
                    nonce, balance, root, code = rlp.decode(raw)
                except Exception:
                    raise ChainProofError(f"account {_addr(address)} is not an RLP account") from None
                if len(root) != 32 or len(code) != 32:
                    raise ChainProofError(f"account {_addr(address)} is not an RLP account")
                self._accounts[address] = (_int(nonce), _int(balance), root, code)
        return self._accounts[address]

    def storage(self, address: bytes, slot: int) -> int:
        key = (address, slot)
        if key not in self._storage:
            acct = self.account(address)
            if acct is None:
                self._storage[key] = 0
            else:
                raw = self._get(
                    acct[2], keccak(slot.to_bytes(32, "big")), lambda: f"storage slot {hex(slot)} of {_addr(address)}"
                )
                try:
                    self._storage[key] = _int(rlp.decode(raw)) if raw else 0
                except Exception:
                    raise ChainProofError(
                        f"storage slot {hex(slot)} of {_addr(address)} is not an RLP integer"
                    ) from None
        return self._storage[key]


def eip1167_code(implementation: bytes) -> bytes:
    """The runtime code of an OpenZeppelin `Clones.clone(implementation)` (EIP-1167 minimal proxy)."""
    return bytes.fromhex("363d3d373d3d3d363d73") + implementation + bytes.fromhex("5af43d82803e903d91602b57fd5bf3")
