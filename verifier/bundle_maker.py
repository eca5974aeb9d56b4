"""Making checkpoint bundles from a node (`eth_getBlockByNumber`, `eth_getProof`); see certnet.verifier.bundle.

Whoever makes a bundle is not trusted: the maker only gathers headers and proof nodes. It checks its own bundle
against a trust root read from the same node before handing it out (a bundle that would not check is a bug or a
node that lies, and is refused here rather than at the border post).

Which headers: the fewest that check. For a network whose validator set did not change since genesis, that is
the target block and the few after it that a majority of the validators sealed (a jump from the trust root).
When the set changed, the epoch checkpoints whose signer list differs from the one before each get a short run
(a majority of the earlier set sealing on top of it), then the target as before; when the target's epoch saw a
vote, the whole run from that epoch's checkpoint (or genesis) to the target follows, replayed exactly.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, cast

from eth_utils import keccak, to_checksum_address
from web3 import Web3
from web3.types import RPCEndpoint

from certnet import CertnetError
from certnet.node.contract_types import StatusQuery
from certnet.verifier.bundle import (
    BUNDLE_FORMAT,
    VERSION,
    Bundle,
    BundleError,
    StateView,
    TrustRoot,
    query_bytes,
    store_code_hash,
)
from certnet.verifier.chainproof import (
    HEADER_FIELDS,
    ChainProofError,
    Header,
    QbftExtra,
    check_clique_chain,
    clique_checkpoint_signers,
    qbft_block_hash,
)

MAX_HEADERS = 20_000
PROOF_KEYS_PER_CALL = 256
DEFAULT_EPOCH = 30_000


class MakerError(CertnetError, RuntimeError):
    """The node cannot give a bundle (no sealed chain, a block not yet deep enough, a lying node...)."""


def _rpc(w3: Web3, method: str, params: list[Any]) -> Any:
    resp = w3.provider.make_request(RPCEndpoint(method), params)
    if "error" in resp:
        raise MakerError(f"{method}: {resp['error'].get('message', resp['error'])}")
    return resp["result"]


def _b(h: str) -> bytes:
    return bytes.fromhex(h[2:])


def _q(h: str) -> bytes:
    """A JSON-RPC quantity as RLP wants it (big-endian, no leading zeros)."""
    n = int(h, 16)
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


_JSON_FIELDS = {
    "parentHash": _b,
    "sha3Uncles": _b,
    "miner": _b,
    "stateRoot": _b,
    "transactionsRoot": _b,
    "receiptsRoot": _b,
    "logsBloom": _b,
    "difficulty": _q,
    "number": _q,
    "gasLimit": _q,
    "gasUsed": _q,
    "timestamp": _q,
    "extraData": _b,
    "mixHash": _b,
    "nonce": _b,
    "baseFeePerGas": _q,
    "withdrawalsRoot": _b,
    "blobGasUsed": _q,
    "excessBlobGas": _q,
    "parentBeaconBlockRoot": _b,
    "requestsHash": _b,
}


class BundleMaker:
    """Bundles for documents of one network, read from one node."""

    def __init__(
        self, w3: Web3, issuer_registry: str, name: str = "certnet", epoch: int | None = None, period: int | None = None
    ) -> None:
        self.w3 = w3
        self.registry = _b(Web3.to_checksum_address(issuer_registry))
        self.name = name
        self._epoch = epoch
        self._period = period
        self._headers: dict[int, Header] = {}
        self._engine: str | None = None

    # -- the chain
    def header(self, number: int) -> Header:
        if number not in self._headers:
            block = _rpc(self.w3, "eth_getBlockByNumber", [hex(number), False])
            if block is None:
                raise MakerError(f"the node has no block {number}")
            fields = [conv(block[name]) for name, conv in _JSON_FIELDS.items() if name in block]
            names = [n for n in HEADER_FIELDS if n in block]
            if names != list(HEADER_FIELDS[: len(names)]):
                raise MakerError(f"block {number}: unexpected header fields {names}")
            h = Header.from_fields(fields)
            got = qbft_block_hash(h) if self.engine() == "qbft" else h.hash
            if "0x" + got.hex() != block["hash"]:
                raise MakerError(f"block {number}: its fields do not hash to the hash the node gives")
            self._headers[number] = h
        return self._headers[number]

    def engine(self) -> str:
        if self._engine is None:
            if "error" not in self.w3.provider.make_request(RPCEndpoint("clique_getSigners"), ["0x0"]):
                self._engine = "clique"
            elif "error" not in self.w3.provider.make_request(
                RPCEndpoint("qbft_getValidatorsByBlockNumber"),
                ["0x0"],
            ):
                self._engine = "qbft"
            else:
                raise MakerError(
                    "this node's chain is not sealed by validators (Clique or QBFT): a bundle needs "
                    "validator seals, anvil and the embedded chain have none"
                )
        return self._engine

    def _chain_config(self) -> tuple[int, int]:
        if self._epoch is None or self._period is None:
            epoch, period = DEFAULT_EPOCH, 0
            try:
                config = _rpc(self.w3, "admin_nodeInfo", [])["protocols"]["eth"]["config"]
                c = config.get("clique") or {}
                epoch, period = int(c.get("epoch", epoch)), int(c.get("period", period))
            except (MakerError, KeyError, TypeError):
                pass
            self._epoch = self._epoch or epoch
            self._period = self._period if self._period is not None else period
        return self._epoch, self._period

    def trust_root(self) -> TrustRoot:
        """The trust root as this node sees it (what `certnet network trust-root` pins, read from the node)."""
        genesis = self.header(0)
        engine = self.engine()
        if engine == "clique":
            validators = tuple(clique_checkpoint_signers(genesis))
        else:
            validators = tuple(QbftExtra.decode(genesis.extra, "genesis").validators)
        epoch, period = self._chain_config()
        code = _b(_rpc(self.w3, "eth_getCode", [to_checksum_address(self.registry), "latest"]))
        if not code:
            raise MakerError(f"no contract at issuer registry {to_checksum_address(self.registry)}")
        impl = self._store_implementation()
        return TrustRoot(
            name=self.name,
            chain_id=int(_rpc(self.w3, "eth_chainId", []), 16),
            genesis_hash=genesis.hash if engine == "clique" else qbft_block_hash(genesis),
            engine=engine,
            validators=validators,
            epoch=epoch,
            period=period,
            registry=self.registry,
            registry_code_hash=keccak(code),
            store_implementation=impl,
            store_code_hash=store_code_hash(impl),
        )

    def _store_implementation(self) -> bytes:
        selector = Web3.keccak(text="storeImplementation()")[:4]
        out = _rpc(
            self.w3, "eth_call", [{"to": to_checksum_address(self.registry), "data": "0x" + selector.hex()}, "latest"]
        )
        return _b(out)[12:32]

    def _signers_at(self, number: int) -> list[bytes]:
        """The Clique signers allowed to seal block `number` + 1 (the snapshot after `number`)."""
        return sorted(_b(a) for a in _rpc(self.w3, "clique_getSigners", [hex(number)]))

    # -- headers
    def _candidates(self, target: int, end: int) -> list[list[int]]:
        """Header selections to try, smallest first (see the module docstring). A selection that would leave the
        verifier believing another set than the node's at the target is not offered (it would check, but name the
        wrong validators)."""
        epoch, _ = self._chain_config()
        genesis_set = self._signers_at(0)
        checkpoint = target - target % epoch
        changed = []
        listed = genesis_set
        for c in range(epoch, checkpoint + 1, epoch):
            now = sorted(clique_checkpoint_signers(self.header(c)))
            if now != listed:
                changed.append(c)
            listed = now
        runs: set[int] = set()
        for c in changed:
            runs.update(range(c, min(c + 2 * len(listed) + 2, end + 1)))
        tail = set(range(target, end + 1))
        out = []
        if self._signers_at(target - 1) == listed:  # no vote passed between the last checkpoint and the target
            out.append(sorted(runs | tail))
        out.append(sorted(runs | set(range(max(checkpoint, 1), end + 1))))
        if end <= MAX_HEADERS:
            out.append(list(range(1, end + 1)))
        return out

    def _headers_for(self, trust: TrustRoot, target: int, end: int) -> list[Header]:
        if trust.engine == "qbft":
            # QBFT: every block is final and carries its validators: the target alone when the set never changed
            return [self.header(target)]
        errors = []
        for numbers in self._candidates(target, end):
            headers = [self.header(n) for n in numbers]
            try:
                check_clique_chain(headers, trust.genesis_hash, trust.validators, trust.epoch, trust.period, target)
                return headers
            except ChainProofError as exc:
                errors.append(str(exc))
        raise MakerError(f"no selection of headers carries the validator set to block {target}: {errors[-1]}")

    # -- state
    def _proofs(self, slots: dict[bytes, set[int]], block: int) -> tuple[dict[tuple[bytes, int], int], set[str]]:
        values: dict[tuple[bytes, int], int] = {}
        nodes: set[str] = set()
        for account, wanted in slots.items():
            keys = sorted(wanted)
            chunks = [keys[i : i + PROOF_KEYS_PER_CALL] for i in range(0, len(keys), PROOF_KEYS_PER_CALL)] or [[]]
            for chunk in chunks:
                res = _rpc(
                    self.w3,
                    "eth_getProof",
                    [to_checksum_address(account), ["0x" + k.to_bytes(32, "big").hex() for k in chunk], hex(block)],
                )
                nodes.update(n.lower() for n in res["accountProof"])
                for sp in res["storageProof"]:
                    values[(account, int(sp["key"], 16))] = int(sp["value"], 16)
                    nodes.update(n.lower() for n in sp["proof"])
        return values, nodes

    def _state(self, queries: Sequence[StatusQuery], signers: Sequence[Sequence[str]], block: int) -> list[str]:
        """The proof nodes of every slot the status derivation reads, found by running it until it asks for no
        slot it has not read (a slot not read yet reads as zero meanwhile)."""
        values: dict[tuple[bytes, int], int] = {}
        nodes: set[str] = set()
        parsed = [query_bytes(q) for q in queries]
        accounts = {self.registry} | {store for store, *_ in parsed}
        proven: set[bytes] = set()
        for _ in range(32):
            missing: dict[bytes, set[int]] = {}

            def read(account: bytes, slot: int, missing: dict[bytes, set[int]] = missing) -> int:
                if (account, slot) not in values:
                    missing.setdefault(account, set()).add(slot)
                    return 0
                return values[(account, slot)]

            view = StateView(read, self.registry)
            for i, (store, root, doc, proof) in enumerate(parsed):
                st = view.status_of(store, root, doc, proof)
                if st.store_registered:
                    view.store_name(store)
                for key in signers[i] if i < len(signers) else ():
                    if st.issued:
                        view.is_authorised_at(
                            _b(Web3.to_checksum_address(key)), store, st.document_type, st.anchored_at
                        )
            for a in accounts - proven:  # the account itself (its code hash), even with no slot read
                missing.setdefault(a, set())
            if not missing:
                return sorted(nodes)
            got, new_nodes = self._proofs(missing, block)
            values.update(got)
            nodes |= new_nodes
            proven |= set(missing)
        raise MakerError("the status derivation kept asking for new storage slots")

    # -- the bundle
    def make(
        self, queries: Sequence[StatusQuery], block: int | None = None, signers: Sequence[Sequence[str]] = ()
    ) -> dict[str, Any]:
        """A bundle proving the status of `queries` (store, root, targetHash, proof) at `block` (default: the
        latest block a majority of validators has sealed on top of). `signers[i]`: the keys that signed document i
        (their authorisation at its anchoring time is proven too)."""
        trust = self.trust_root()
        head = int(_rpc(self.w3, "eth_blockNumber", []), 16)
        if trust.engine == "qbft":
            target, end = (head if block is None else block), (head if block is None else block)
        else:
            n = len(self._signers_at(head))
            depth = n // 2 + 1
            target = head - depth if block is None else block
            end = min(head, target + depth + n)
            if target < 1 or end - target < n // 2:
                raise MakerError(
                    f"block {target} is not yet sealed over by a majority of the {n} validators "
                    f"(the head is block {head}): wait for {n // 2 - (end - target)} more blocks"
                )
        headers = self._headers_for(trust, target, end)
        nodes = self._state(queries, signers, target)
        docs = [
            {"store": to_checksum_address(s), "root": "0x" + r.hex(), "document": "0x" + d.hex()}
            for s, r, d, _ in (query_bytes(q) for q in queries)
        ]
        raw = {
            "format": BUNDLE_FORMAT,
            "version": VERSION,
            "network": {"chainId": trust.chain_id, "genesisHash": "0x" + trust.genesis_hash.hex()},
            "engine": trust.engine,
            "issuerRegistry": to_checksum_address(self.registry),
            "block": target,
            "headers": ["0x" + h.raw.hex() for h in headers],
            "nodes": nodes,
            "documents": docs,
            "createdAt": int(time.time()),
        }
        try:
            Bundle.from_json(raw).check(trust)
        except BundleError as exc:
            raise MakerError(f"the bundle made from this node does not check: {exc}") from None
        return raw


def queries_for(documents: Sequence[Any]) -> tuple[list[StatusQuery], list[list[str]], list[str | None]]:
    """The status queries of wrapped documents (those intact and naming a store), the keys that signed each, and
    for every document why it gets no query (None when it gets one)."""
    from certnet.verifier.jsjson import ProofFormatError
    from certnet.verifier.signature import recover_signers
    from certnet.verifier.verify import Verifier

    v = Verifier(None)
    queries: list[StatusQuery] = []
    signers: list[list[str]] = []
    skipped: list[str | None] = []
    for d in documents:
        wrapped, integ, env = v._prepare(d)
        if not integ.ok or env is None or not env.store or not Web3.is_address(env.store):
            skipped.append(integ.message if not integ.ok else "it names no document store")
            continue
        # integ.ok: the root and targetHash are there
        queries.append((env.store, cast(str, integ.merkle_root), cast(str, integ.target_hash), integ.proof))
        try:
            signers.append(recover_signers(wrapped) if isinstance(wrapped, dict) and wrapped.get("proof") else [])
        except ProofFormatError:
            signers.append([])
        skipped.append(None)
    return queries, signers, skipped
