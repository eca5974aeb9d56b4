"""End-to-end bulk issuance benchmark: generate, wrap in batches, anchor each root, write the wrapped
documents — one million Form D documents by default — on a fresh anvil node.

    python -m scripts.bench_issue [--count 1000000] [--batch 10000] [--out DIR]

Stages run as a stream, one batch at a time, so memory does not grow with the count: the script prints the
resident memory after every tenth of the run. The documents come from a second process (the source of an
issuing authority's certificates, standing in for its own system) through a queue of at most two batches,
so that generating them overlaps wrapping. Anchoring transactions are signed and broadcast as each batch
is ready and their receipts collected at the end; the run is checked by counting the RootAnchored events.
Goal: one million documents in under 100 seconds.
"""

from __future__ import annotations

import argparse
import marshal
import multiprocessing
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from eth_account import Account

from issuer import samples
from issuer.envelope import issuer_block, network_block
from node.deploy import DeployConfig, Member, deploy
from node.engines import AnvilEngine
from node.tx import signer_for
from verifier.wrap import wrap_documents


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def produce(queue: "multiprocessing.Queue[bytes | None]", count: int, batch: int, block: dict, network: dict) -> None:
    """The document source: batches of generated Form D documents, marshalled, onto a bounded queue."""
    docs = samples.generate(count, seed=1, issuer_block=block, network=network)
    for lo in range(0, count, batch):
        queue.put(marshal.dumps([next(docs) for _ in range(min(batch, count - lo))]))
    queue.put(None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--out", help="keep the wrapped documents here (NDJSON, one file per batch)")
    args = ap.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="certnet-bench-issue-"))
    out = Path(args.out) if args.out else workdir / "wrapped"
    out.mkdir(parents=True, exist_ok=True)
    engine = AnvilEngine(workdir / "node").start()
    try:
        w3 = engine.w3
        funder = signer_for(w3, engine.keys[0])
        admin, issuer = Account.create(), Account.create()
        for a in (admin, issuer):
            funder.transfer(a.address, 10**21)
        d = deploy(w3, funder, DeployConfig("certnet bench", [Member("VN", [admin.address])]))
        d.issuer_registry_client(w3, signer_for(w3, admin)).register_issuer(issuer.address, "VCCI", ["FORM_D"])
        sender = signer_for(w3, issuer)
        store = d.certificate_registry_client(w3, sender)
        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue(maxsize=2)
        source = ctx.Process(target=produce, daemon=True,
                             args=(queue, args.count, args.batch, issuer_block(d, "VCCI"), network_block(d)))
        source.start()

        # Long-lived objects (a transaction hash, the sender's next nonce) made while a batch's documents are
        # alive each pin one of Python's 1 MiB memory arenas once the documents are freed, and RSS creeps up batch
        # after batch: so each batch's documents are written and freed before its root is anchored, and the
        # transaction hashes are kept as 32-byte runs in one buffer.
        tx_hashes = bytearray()
        batches = 0
        done = 0
        report_every = max(args.batch, args.count // 10)
        next_report = report_every
        t0 = time.perf_counter()
        t_wrap = t_write = t_gen = 0.0
        while done < args.count:
            n = min(args.batch, args.count - done)
            a = time.perf_counter()
            raw = marshal.loads(queue.get())
            b = time.perf_counter()
            root, wrapped = wrap_documents(raw, as_json=True)
            c = time.perf_counter()
            batches += 1
            with open(out / f"batch-{batches:05d}-{root}.ndjson", "wb") as f:
                f.writelines(w + b"\n" for w in wrapped)
            del raw, wrapped
            signed = sender.sign(store.function("anchor", bytes.fromhex(root), 1, n), "anchor")
            tx_hashes += bytes.fromhex(sender.broadcast(signed.raw).removeprefix("0x"))
            e = time.perf_counter()
            t_gen, t_wrap, t_write = t_gen + b - a, t_wrap + c - b, t_write + e - c
            done += n
            if done >= next_report:
                print(f"  {done:>9,} documents  {time.perf_counter() - t0:6.1f} s  RSS {rss_mib():6.0f} MiB", flush=True)
                next_report += report_every
        assert queue.get() is None
        source.join()
        for i in range(0, len(tx_hashes), 32):
            h = "0x" + tx_hashes[i:i + 32].hex()
            receipt = w3.eth.wait_for_transaction_receipt(h, timeout=120, poll_latency=0.05)
            assert receipt["status"] == 1, f"anchor transaction {h} failed"
        total = time.perf_counter() - t0
        anchored = store.contract.events.RootAnchored().get_logs(from_block=d.block)
        count = sum(log["args"]["documentCount"] for log in anchored)
        print(f"issued {count:,} documents in {len(anchored)} anchored batches of {args.batch:,} in {total:.1f} s "
              f"= {count / total:,.0f} documents/s end to end")
        print(f"  time in: waiting for documents {t_gen:.1f} s, wrapping {t_wrap:.1f} s, writing and anchoring {t_write:.1f} s")
        print(f"  wrapped output: {sum(f.stat().st_size for f in out.iterdir()) / 2**30:.2f} GiB in {out}")
        print(f"goal: 1,000,000 in under 100 s: {'met' if count >= 1_000_000 and total < 100 else 'not met'}"
              if args.count >= 1_000_000 else "")
    finally:
        engine.stop()
        if not args.out:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
