#!/usr/bin/env python3
"""Benchmark: how fast the chain-event index catches up.

Two measurements, both through the follower's own code (`certnet.index.follower.Indexer.sync`):

1. **real** - a fresh anvil (without its state file), N anchors (default 100,000) sent as unsigned
   `eth_sendTransaction` batches from anvil's unlocked development accounts and mined several hundred per
   block; then a fresh index catches up from the deployment block: `eth_getLogs` over HTTP, header
   fetches, decoding, SQL writes, checkpoints. Events per second is measured, and the time for a million
   events extrapolated from it.
2. **synthetic** - one million events (an authority's registration, then RootAnchored with 1%
   RevocationRecorded in its document store, 800 per block) fed through
   the same `Indexer.sync` with the node replaced by an in-memory chain that hands over the logs as the
   JSON-RPC reader does (hex strings): this measures range planning, consistency checks, decoding and
   database writes for exactly one million events, without the node's share (serving and parsing the
   JSON). The time to generate the logs is measured apart and left out.

    .venv/bin/python scripts/bench_index.py                         # both, SQLite
    .venv/bin/python scripts/bench_index.py --real 20000 --synthetic 0
    .venv/bin/python scripts/bench_index.py --db postgresql+psycopg://user@host/db   # drops its idx_* tables

Goal: one million events in under 60 seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from eth_utils import keccak  # noqa: E402
from sqlalchemy import text  # noqa: E402

from certnet.index import VERSION_TABLE, make_engine, sqlite_url  # noqa: E402
from certnet.index.follower import Header, Indexer, RawLog, topic_of  # noqa: E402
from certnet.index.models import Base  # noqa: E402
from certnet.index.queries import IndexStatusSource  # noqa: E402
from certnet.node.deploy import DeployConfig, Member, deploy  # noqa: E402
from certnet.node.engines import AnvilEngine  # noqa: E402
from certnet.node.tx import signer_for  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Sequence

    from eth_typing import ChecksumAddress

    from certnet.node.deploy import Deployment

ANCHOR_SELECTOR = keccak(text="anchor(bytes32,uint8,uint32)")[:4].hex()
MILLION = 1_000_000


def _rpc(w3, method, params=None):
    resp = w3.provider.make_request(method, params or [])
    if resp.get("error"):
        raise RuntimeError(f"{method}: {resp['error']}")
    return resp["result"]


def _db_url(arg: str | None, workdir: Path, name: str) -> str:
    if arg is None:
        return sqlite_url(workdir / f"{name}.db")
    return arg


def _reset(url: str) -> None:
    """Drop the index's own tables in a database given with --db (SQLite files here are fresh anyway)."""
    if url.startswith("sqlite"):
        return
    engine = make_engine(url)
    Base.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {VERSION_TABLE}"))
    engine.dispose()


# ------------------------------------------------------------------ 1. real: anvil over HTTP


class BenchAnvil(AnvilEngine):
    """anvil without its state file: dumping a state of 100k anchors every second would compete with the
    indexer for the CPU and measure the node's persistence, not the index."""

    def command(self) -> list[str]:
        cmd = super().command()
        for flag, has_value in (("--state", True), ("--state-interval", True), ("--preserve-historical-states", False)):
            i = cmd.index(flag)
            del cmd[i : i + 1 + has_value]
        return cmd


def generate_on_anvil(engine: AnvilEngine, n: int, per_block: int = 700) -> tuple[Deployment, float]:
    """Deploy, register eight authorities (their first keys anvil's unlocked dev accounts 2..9, each with its own
    document store) and anchor `n` roots, spread over the stores."""
    w3 = engine.w3
    accounts: Sequence[ChecksumAddress] = w3.eth.accounts  # (web3 types it as a 1-tuple)
    deployer = signer_for(w3, engine.keys[0])
    admin = signer_for(w3, engine.keys[1])
    deployment = deploy(w3, deployer, DeployConfig(name="bench", members=[Member("VN", [accounts[1]])]))
    registry = deployment.issuer_registry_client(w3, admin)
    issuers = accounts[2:10]
    stores = {}
    for i, acct in enumerate(issuers):
        stores[acct] = registry.store_from(
            registry.register_authority(f"bench authority {i}", ["FORM_D", "ECERT"], first_key=acct)
        )
    nonces: dict[ChecksumAddress, int] = {a: w3.eth.get_transaction_count(a, "pending") for a in issuers}
    _rpc(w3, "evm_setAutomine", [False])
    start = time.perf_counter()
    try:
        sent = 0
        while sent < n:
            k = min(per_block, n - sent)
            calls = []
            for j in range(k):
                root = os.urandom(32).hex()
                data = "0x" + ANCHOR_SELECTOR + root + f"{1:064x}" + f"{(sent + j) % 50 + 1:064x}"
                sender = issuers[(sent + j) % len(issuers)]
                calls.append(
                    (
                        "eth_sendTransaction",
                        [
                            {
                                "from": sender,
                                "to": stores[sender],
                                "data": data,
                                "gas": hex(150_000),
                                "nonce": hex(nonces[sender]),
                            }
                        ],
                    )
                )
                nonces[sender] += 1
            for resp in w3.provider.make_batch_request(calls):  # type: ignore[attr-defined]  # the HTTPProvider has it
                if resp.get("error"):
                    raise RuntimeError(f"eth_sendTransaction: {resp['error']}")
            _rpc(w3, "evm_mine")
            sent += k
            if sent % 20_000 < per_block:
                print(f"  anchored {sent:,} / {n:,}", flush=True)
        while int(_rpc(w3, "eth_getBlockTransactionCountByNumber", ["pending"]) or "0x0", 16):
            _rpc(w3, "evm_mine")
    finally:
        _rpc(w3, "evm_setAutomine", [True])
    return deployment, time.perf_counter() - start


def bench_real(n: int, db: str | None, workdir: Path) -> float:
    print(f"real: anvil, {n:,} anchors")
    engine = BenchAnvil(workdir / "anvil").start()
    try:
        deployment, took = generate_on_anvil(engine, n)
        head = engine.w3.eth.block_number
        print(f"  generated in {took:.1f}s; chain head {head:,}")
        url = _db_url(db, workdir, "real")
        _reset(url)
        indexer = Indexer(engine.w3, deployment, url)
        start = time.perf_counter()
        indexer.sync()
        took = time.perf_counter() - start
        events = indexer.stats.events
        rate = events / took
        source = IndexStatusSource(url, engine.w3.eth.chain_id)
        with indexer.engine.connect() as conn:
            anchors = conn.execute(text("SELECT count(*) FROM idx_anchors")).scalar()
        assert anchors == n, f"indexed {anchors} anchors, expected {n}"
        assert source.indexed_block().number == head
        source.close()
        indexer.close()
        print(
            f"  caught up {events:,} events ({indexer.stats.ranges} ranges) in {took:.2f}s: "
            f"{rate:,.0f} events/s -> one million in {MILLION / rate:.1f}s (extrapolated)"
        )
        return rate
    finally:
        engine.stop()


# ------------------------------------------------------------------ 2. synthetic: the same path, node in memory


class SyntheticChain:
    """A chain of `n_events` events, `per_block` per block, served like ChainReader (raw hex logs)."""

    def __init__(self, registry: str, store: str, start: int, n_events: int, per_block: int = 800) -> None:
        self.registry, self.store = registry.lower(), store.lower()
        self.start, self.n, self.per_block = start, n_events, per_block
        self.head = start + (n_events + per_block - 1) // per_block
        self.t_anchor = topic_of("DocumentStore", "RootAnchored")
        self.t_revoke = topic_of("DocumentStore", "RevocationRecorded")
        self.t_registered = topic_of("IssuerRegistry", "AuthorityRegistered")
        self.issuer = "0x" + "00" * 12 + "5b38da6a701c568545dcfcb03fcb875f56beddc4"
        self.country = "0x" + b"VN".hex() + "00" * 30
        self.generation = 0.0
        self.recent_roots: list[str] = []

    def block_number(self) -> int:
        return self.head

    def chain_id(self) -> int:
        return 31337

    @staticmethod
    def _hash(n: int) -> str:
        return "0x" + keccak(n.to_bytes(8, "big")).hex()

    def headers(self, numbers, batch: int = 200):
        return {
            n: Header(n, self._hash(n), self._hash(n - 1), 1_800_000_000 + n) if n <= self.head else None
            for n in numbers
        }

    def header(self, number: int):
        return self.headers([number])[number]

    def _registration(self) -> RawLog:
        """The store's AuthorityRegistered, the first event of the first block (the store's logs count after it)."""
        name = b"synthetic authority"
        data = (
            "0x"
            + f"{5 * 32:064x}"
            + f"{2:064x}"
            + f"{1:064x}"
            + f"{2**40 - 1:064x}"
            + "00" * 12
            + "ab" * 20
            + f"{len(name):064x}"
            + name.hex().ljust(64, "0")
        )
        return RawLog(
            self.registry,
            [self.t_registered, "0x" + "00" * 12 + self.store[2:], self.country],
            data,
            self.start + 1,
            self._hash(self.start + 1),
            "0x" + "ee" * 32,
            0,
        )

    def logs(self, a: int, b: int, addresses, topics):
        t0 = time.perf_counter()
        wanted = None if addresses is None else set(addresses)
        out = []
        if a <= self.start + 1 <= b and (wanted is None or self.registry in wanted):
            out.append(self._registration())
        if wanted is not None and self.store not in wanted:
            self.generation += time.perf_counter() - t0
            return out
        data_anchor = "0x" + f"{1:064x}" + f"{8:064x}"
        data_revoke = "0x" + f"{2:064x}"
        by = "0x" + "00" * 12 + "ab" * 20
        for block in range(max(a, self.start + 1), b + 1):
            first = (block - self.start - 1) * self.per_block
            bh = self._hash(block)
            for i in range(first, min(first + self.per_block, self.n)):
                tx = "0x" + keccak(i.to_bytes(8, "big")).hex()
                if i % 100 == 99 and self.recent_roots:  # 1% revocations of earlier roots
                    root = self.recent_roots.pop()
                    out.append(
                        RawLog(self.store, [self.t_revoke, root, root, by], data_revoke, block, bh, tx, i - first + 1)
                    )
                else:
                    root = "0x" + os.urandom(32).hex()
                    if i % 50 == 0:
                        self.recent_roots.append(root)
                    out.append(
                        RawLog(
                            self.store, [self.t_anchor, root, self.issuer], data_anchor, block, bh, tx, i - first + 1
                        )
                    )
        self.generation += time.perf_counter() - t0
        return out


def bench_synthetic(n: int, db: str | None, workdir: Path) -> float:
    print(f"synthetic: {n:,} events through Indexer.sync (node in memory)")
    from certnet.node.deploy import Deployment

    deployment = Deployment(
        chain_id=31337, issuer_registry="0x" + "11" * 20, customs_record="0x" + "33" * 20, block=1, name="synthetic"
    )
    url = _db_url(db, workdir, "synthetic")
    _reset(url)

    chain = SyntheticChain(deployment.issuer_registry, "0x" + "22" * 20, 1, n)
    indexer = Indexer(None, deployment, url, start_block=1, reader=chain)  # type: ignore[arg-type]
    start = time.perf_counter()
    indexer.sync()
    total = time.perf_counter() - start
    took = total - chain.generation
    events = indexer.stats.events
    assert events == n + 1, (events, n)  # and the registration
    rate = events / took
    print(
        f"  {events:,} events ({indexer.stats.ranges} ranges) in {took:.2f}s (+{chain.generation:.2f}s generating "
        f"the logs, not counted): {rate:,.0f} events/s -> one million in {MILLION / rate:.1f}s"
    )
    indexer.close()
    return rate


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--real", type=int, default=100_000, help="anchors to generate on anvil (0: skip)")
    p.add_argument("--synthetic", type=int, default=MILLION, help="synthetic events (0: skip)")
    p.add_argument(
        "--db",
        help="SQLAlchemy URL of a database (default: SQLite files in a temporary directory); "
        "the index's own tables in it are dropped first",
    )
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="certnet-bench-index-") as tmp:
        workdir = Path(tmp)
        rates = {}
        if args.real:
            rates["real"] = bench_real(args.real, args.db, workdir)
        if args.synthetic:
            rates["synthetic"] = bench_synthetic(args.synthetic, args.db, workdir)
    print()
    ok = True
    for name, rate in rates.items():
        secs = MILLION / rate
        ok &= secs < 60
        print(
            f"{name:>9}: {rate:>10,.0f} events/s   one million events: {secs:5.1f}s   "
            f"{'(goal < 60s met)' if secs < 60 else '(goal < 60s MISSED)'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
