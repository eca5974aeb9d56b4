#!/usr/bin/env python3
"""Benchmark: verifying certnet documents through the index, next to trustless verification.

A fresh anvil node: contracts deployed, ten Form D issuing authorities registered (each with its document store
and key), realistic Form D documents (``certnet.issuer.samples``) wrapped in batches with
``certnet.verifier.wrap.wrap_documents`` and anchored, the batches spread over the ten stores, a few documents
revoked (so that both verdict paths run). ``certnet.index.follower.Indexer.sync`` indexes the chain into an
SQLite file; then, over the same documents:

  index     ``Verifier(IndexedSource(sqlite, deployment)).verify_many``  (the API's mode=index)
  chain     ``Verifier(ChainSource(w3, deployment)).verify_many``        (the API's mode=chain, trustless)

and, to show what limits the index figure, its parts:

  integrity            ``check_integrity`` alone over the documents (pure CPU, one core)
  status (index)       ``IndexedSource.read(queries)``: the batched SQL status read, pinned to the indexed block
  status (chain)       ``ChainSource.read(queries)``: eth_call of IssuerRegistry.statusOf across the stores per
                       1,000 documents
  rest                 ``verify_many`` through the index with the integrity results precomputed (status read,
                       envelope reading, building the verdicts)
  N processes          the index verification split over N forked processes (one per core), wall time

Both modes must give the same verdicts (compared check by check, apart from the source's name).

    .venv/bin/python scripts/bench_verify_indexed.py                  # 5,000 documents, batches of 500, 10 stores
    .venv/bin/python scripts/bench_verify_indexed.py --docs 10000 --repeat 7 --profile

Goal: index verification >= 5,000 documents/second.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import multiprocessing
import os
import platform
import pstats
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from certnet.index import sqlite_url  # noqa: E402
from certnet.index.follower import Indexer  # noqa: E402
from certnet.index.source import IndexedSource  # noqa: E402
from certnet.issuer import samples  # noqa: E402
from certnet.issuer.envelope import issuer_block, network_block  # noqa: E402
from certnet.node.deploy import DeployConfig, Member, deploy  # noqa: E402
from certnet.node.engines import AnvilEngine  # noqa: E402
from certnet.node.tx import signer_for  # noqa: E402
from certnet.scripts.bench_verify import cpu_name, rate, say  # noqa: E402
from certnet.verifier import verify as verify_module  # noqa: E402
from certnet.verifier.integrity import check_integrity  # noqa: E402
from certnet.verifier.sources import ChainSource  # noqa: E402
from certnet.verifier.verify import Verifier  # noqa: E402
from certnet.verifier.wrap import wrap_documents  # noqa: E402

GOAL = 5_000
AUTHORITIES = 10


#: CPU seconds of this process for each timed run of `timed` (the last call's), beside the wall times
CPU_RUNS: list[float] = []


def timed(fn: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    """`repeat` timed runs after one untimed warm-up; (run seconds, last result). The CPU seconds of each
    run go to CPU_RUNS: on a shared machine they say more about the code than the wall time does."""
    result = fn()
    runs = []
    CPU_RUNS.clear()
    for _ in range(repeat):
        gc.collect()
        c0 = time.process_time()
        t0 = time.perf_counter()
        result = fn()
        runs.append(time.perf_counter() - t0)
        CPU_RUNS.append(time.process_time() - c0)
    return runs, result


def cpu_note(n: int) -> str:
    best = min(CPU_RUNS)
    return f"; CPU {best * 1e6 / n:,.1f} µs/doc -> {n / best:,.0f} docs/s per busy core"


def comparable(v: Any) -> dict:
    """A verdict without what names the source (its kind and, for the chain, the block hash it read)."""
    d = v.to_dict()
    d.pop("source")
    d.pop("block_hash")
    return d


def start_network(workdir: Path, authorities: int = AUTHORITIES) -> tuple[AnvilEngine, Any, list[tuple[str, Any]]]:
    """A fresh anvil node with the contracts deployed and `authorities` Form D issuing authorities of VN, each with
    its own store and a new funded key: (engine, deployment, [(store, key signer)])."""
    from eth_account import Account

    engine = AnvilEngine(workdir / "anvil").start()
    w3 = engine.w3
    deployer, admin = (signer_for(w3, k) for k in engine.keys[:2])
    deployment = deploy(
        w3,
        deployer,
        DeployConfig(name="certnet bench", members=[Member("VN", [admin.address])]),
        rpc_url=engine.rpc_url,
    )
    registry = deployment.issuer_registry_client(w3, admin)
    out = []
    for i in range(authorities):
        key = signer_for(w3, Account.create().key)
        deployer.transfer(key.address, 10**19)
        store = registry.store_from(
            registry.register_authority(f"VCCI bench office {i}", ["FORM_D"], first_key=key.address)
        )
        out.append((store, key))
    return engine, deployment, out


def issue(
    engine: AnvilEngine, deployment: Any, authorities: list[tuple[str, Any]], n: int, batch: int, seed: int
) -> tuple[list[dict], float, float]:
    """Generate, wrap and anchor n Form D documents, batch after batch over the authorities' stores in turn;
    (wrapped documents, wrap seconds, anchor seconds)."""
    wrapped: list[dict] = []
    wrap_s = anchor_s = 0.0
    for i, lo in enumerate(range(0, n, batch)):
        store, key = authorities[i % len(authorities)]
        block = issuer_block(deployment, f"VCCI bench office {i % len(authorities)}", store)
        raw = list(
            samples.generate(
                min(batch, n - lo),
                "FORM_D",
                seed=seed + i,
                issuer_block=block,
                network=network_block(deployment),
                issuing_country="VN",
            )
        )
        t0 = time.perf_counter()
        root, docs = wrap_documents(raw)
        t1 = time.perf_counter()
        deployment.store_client(engine.w3, store, key).anchor(root, "FORM_D", len(docs))
        anchor_s += time.perf_counter() - t1
        wrap_s += t1 - t0
        wrapped.extend(docs)
    return wrapped, wrap_s, anchor_s


def revoke_some(engine: Any, deployment: Any, authorities: list[tuple[str, Any]], docs: list[dict], every: int) -> int:
    """Revoke every `every`-th document individually (reason DATA_CORRECTED) in its store; the count revoked."""
    if every <= 0:
        return 0
    from certnet.index.audit import document_store

    keys = dict(authorities)
    n = 0
    for d in docs[::every]:
        sig = d["signature"]
        store = document_store(d)
        deployment.store_client(engine.w3, store, keys[store]).revoke_document(  # type: ignore[index]  # generated documents name their store
            sig["merkleRoot"], sig["targetHash"], sig["proof"], "DATA_CORRECTED"
        )
        n += 1
    return n


# ----------------------------------------------------------------------------------- several processes

_CHILD: dict[str, Any] = {}


def _child_init(url: str, deployment: Any, docs: list[dict]) -> None:
    # after the fork: a database engine of the process's own
    _CHILD["verifier"] = Verifier(IndexedSource(url, deployment))
    _CHILD["docs"] = docs


def _child_verify(span: tuple[int, int]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for v in _CHILD["verifier"].verify_many(_CHILD["docs"][span[0] : span[1]]):
        counts[v.status] = counts.get(v.status, 0) + 1
    return counts


def bench_processes(
    url: str, deployment: Any, docs: list[dict], processes: int, repeat: int, chunk: int
) -> tuple[list[float], dict[str, int]]:
    """Wall time of verifying all documents with `processes` forked workers, `chunk` documents per task."""
    ctx = multiprocessing.get_context("fork")
    spans = [(lo, min(lo + chunk, len(docs))) for lo in range(0, len(docs), chunk)]
    with ctx.Pool(processes, initializer=_child_init, initargs=(url, deployment, docs)) as pool:
        pool.map(_child_verify, spans)  # warm-up: every worker opens its database, imports settle
        runs = []
        total: dict[str, int] = {}
        for _ in range(repeat):
            t0 = time.perf_counter()
            parts = pool.map(_child_verify, spans, chunksize=1)
            runs.append(time.perf_counter() - t0)
            total = {}
            for p in parts:
                for k, c in p.items():
                    total[k] = total.get(k, 0) + c
    return runs, total


# ----------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=5000, help="documents issued and verified (default 5,000)")
    ap.add_argument("--batch", type=int, default=500, help="documents per anchored batch (default 500)")
    ap.add_argument(
        "--authorities",
        type=int,
        default=AUTHORITIES,
        help=f"issuing authorities, each with its store, the batches go to in turn (default {AUTHORITIES})",
    )
    ap.add_argument(
        "--revoke-every",
        type=int,
        default=100,
        help="revoke every N-th document individually (default 100: 1%%; 0: none)",
    )
    ap.add_argument("--repeat", type=int, default=5, help="timed runs of each measurement (after a warm-up)")
    ap.add_argument(
        "--processes",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes for the several-process figure (default: the CPU count; 0: skip)",
    )
    ap.add_argument(
        "--chain-chunk",
        type=int,
        default=500,
        help="documents per eth_call of the chain source (default 500; 0: the binding's own)",
    )
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--profile", action="store_true", help="print cProfile's top functions of one index verify_many")
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = ap.parse_args(argv)
    if not 0 < args.docs <= 10_000:
        ap.error("--docs must be between 1 and 10,000 (one verify_many call)")

    command = " ".join(
        shlex.quote(a)
        for a in [".venv/bin/python", "scripts/bench_verify_indexed.py", *(argv if argv is not None else sys.argv[1:])]
    )
    say(
        f"certnet verification through the index — {cpu_name()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    say(f"command: {command}")
    say(
        "load average before the run: "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg())
        + " (other processes on the machine make the figures noisy)"
    )
    say()
    n = args.docs
    figures: dict[str, Any] = {"documents": n, "batch": args.batch, "repeat": args.repeat}
    with tempfile.TemporaryDirectory(prefix="certnet-bench-indexed-") as tmp:
        workdir = Path(tmp)
        t0 = time.perf_counter()
        engine, deployment, authorities = start_network(workdir, args.authorities)
        try:
            docs, wrap_s, anchor_s = issue(engine, deployment, authorities, n, args.batch, args.seed)
            revoked = revoke_some(engine, deployment, authorities, docs, args.revoke_every)
            size = sum(len(json.dumps(d, ensure_ascii=False).encode()) for d in docs) / n
            say(
                f"fresh anvil node {engine.rpc_url} (chain {deployment.chain_id}); issued {n:,} Form D documents in "
                f"{-(-n // args.batch)} anchored batches over {len(authorities)} authorities' stores (wrap "
                f"{wrap_s:.2f} s, anchor {anchor_s:.2f} s), "
                f"{size / 1024:.1f} KiB of JSON each on average; {revoked} revoked individually"
            )

            url = sqlite_url(workdir / "index.db")
            indexer = Indexer(engine.w3, deployment, url)
            t1 = time.perf_counter()
            head = indexer.sync()
            say(
                f"indexed to block {head} into {workdir.name}/index.db (SQLite) in {time.perf_counter() - t1:.2f} s; "
                f"set-up {time.perf_counter() - t0:.1f} s in all"
            )
            indexer.close()
            say()

            index_source = IndexedSource(url, deployment)
            chain_source = ChainSource(engine.w3, deployment)
            if args.chain_chunk:
                # IssuerRegistry.statusOf answers MemoryOOG for 1,000 documents with 9-node proofs on anvil (60M gas
                # per call): until the binding's chunk (MAX_STATUS_QUERIES) fits, the chain reads smaller chunks
                chain_source.registry.MAX_STATUS_QUERIES = args.chain_chunk
                say(f"(the chain source reads {args.chain_chunk} documents per eth_call)")
            expected = {"VALID": n - revoked, **({"REVOKED": revoked} if revoked else {})}

            def counts(verdicts: list) -> dict[str, int]:
                c: dict[str, int] = {}
                for v in verdicts:
                    c[v.status] = c.get(v.status, 0) + 1
                return c

            # full verification, both modes -----------------------------------------------------
            say(
                f"full verification, verify_many over {n:,} documents, one process (best and median of "
                f"{args.repeat} runs after a warm-up)"
            )
            results: dict[str, dict] = {}
            verdicts_of: dict[str, list] = {}
            for mode, source in (("index", index_source), ("chain", chain_source)):
                runs, verdicts = timed(lambda s=source: Verifier(s).verify_many(docs), args.repeat)  # type: ignore[misc]  # s: the source of this round
                got = counts(verdicts)
                assert got == expected, f"{mode}: verdicts {got}, expected {expected}"
                verdicts_of[mode] = verdicts
                best, med = min(runs), statistics.median(runs)
                results[mode] = {"seconds": best, "docs_per_s": n / best, "median_docs_per_s": n / med, "runs": runs}
                goal = f"   (goal >= {GOAL:,} docs/s)" if mode == "index" else ""
                results[mode]["cpu_seconds"] = min(CPU_RUNS)
                say(f"  {mode:5} best  : {rate(n, best)}{goal}")
                say(
                    f"  {mode:5} CPU   : {min(CPU_RUNS) * 1e6 / n:,.1f} µs/doc of this process's CPU (best run) -> "
                    f"{n / min(CPU_RUNS):,.0f} docs/s per busy core"
                )
                say(f"  {mode:5} median: {rate(n, med)}")
            same = [
                comparable(a) == comparable(b) for a, b in zip(verdicts_of["index"], verdicts_of["chain"], strict=True)
            ]
            assert all(same), f"{same.count(False)} verdicts differ between index and chain"
            say(
                f"  index and chain verdicts identical for all {n:,} documents ({counts(verdicts_of['index'])}), "
                f"index at block {verdicts_of['index'][0].block_number}, chain at block "
                f"{verdicts_of['chain'][0].block_number}"
            )
            say(f"  index / chain: {results['index']['docs_per_s'] / results['chain']['docs_per_s']:.1f}x")
            figures["full"] = results

            # the parts -------------------------------------------------------------------------
            say()
            say("what the index figure is made of (same documents, best of the runs)")
            parts: dict[str, Any] = {}
            runs, ok = timed(lambda: sum(1 for d in docs if check_integrity(d).ok), args.repeat)
            assert ok == n
            parts["integrity"] = min(runs)
            say(f"  integrity alone (check_integrity)       : {rate(n, min(runs))}{cpu_note(n)}")
            from certnet.index.audit import document_store

            pairs: list[Any] = [
                (document_store(d), d["signature"]["merkleRoot"], d["signature"]["targetHash"], d["signature"]["proof"])
                for d in docs
            ]
            runs, _ = timed(lambda: index_source.read(pairs), args.repeat)
            parts["status_index"] = min(runs)
            say(f"  status read, index (IndexedSource.read) : {rate(n, min(runs))}{cpu_note(n)}")
            runs, _ = timed(lambda: chain_source.read(pairs), args.repeat)
            parts["status_chain"] = min(runs)
            say(f"  status read, chain (ChainSource.read)   : {rate(n, min(runs))}{cpu_note(n)}")

            precomputed = {id(d): check_integrity(d) for d in docs}
            real_check = verify_module.check_integrity
            verify_module.check_integrity = lambda d: precomputed[id(d)]  # type: ignore[assignment]  # this process only, for this figure
            try:
                runs, verdicts = timed(lambda: Verifier(index_source).verify_many(docs), args.repeat)
            finally:
                verify_module.check_integrity = real_check
            assert counts(verdicts) == expected
            parts["rest"] = min(runs)
            say(f"  verify_many (index), integrity precomputed: {rate(n, min(runs))}{cpu_note(n)}")
            share = parts["integrity"] / results["index"]["seconds"]
            say(
                f"  -> integrity is {share:.0%} of the index verification's time; without it the rest runs at "
                f"{n / parts['rest']:,.0f} docs/s"
            )
            figures["parts"] = {k: {"seconds": v, "docs_per_s": n / v} for k, v in parts.items()}

            # several processes -----------------------------------------------------------------
            if args.processes > 0:
                say()
                chunk = 500
                runs, total = bench_processes(url, deployment, docs, args.processes, args.repeat, chunk)
                assert total == expected, f"{args.processes} processes: {total}"
                best, med = min(runs), statistics.median(runs)
                figures["processes"] = {
                    "processes": args.processes,
                    "seconds": best,
                    "docs_per_s": n / best,
                    "median_docs_per_s": n / med,
                    "runs": runs,
                }
                say(f"index verification in {args.processes} forked processes ({chunk} documents per task), wall time:")
                say(f"  best  : {rate(n, best)}   (goal >= {GOAL:,} docs/s)")
                say(f"  median: {rate(n, med)}")

            if args.profile:
                say()
                say("cProfile of one index verify_many (cumulative time, top 25):")
                prof = cProfile.Profile()
                prof.enable()
                Verifier(index_source).verify_many(docs)
                prof.disable()
                out = io.StringIO()
                pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(25)
                say(out.getvalue())
                out = io.StringIO()
                pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(25)
                say(out.getvalue())
            index_source.index.close()
        finally:
            engine.stop()
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
        say(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
