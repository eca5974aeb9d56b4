"""End-to-end bulk issuance benchmark: `certnet issue-bulk` of one million Form D documents (by default) on a
fresh anvil node — read from NDJSON, wrapped in batches, every batch written to disk, each root anchored.

    python -m certnet.scripts.bench_issue [--count 1000000] [--batch 10000] [--out DIR]

The NDJSON source is written first (not timed). Timed: `certnet.issuer.bulk.bulk_issue`, the code of the command — a
reader process parses the lines while this one wraps, writes (fsync'd) and anchors; the run ends when every
anchoring receipt is in. The resident memory is printed after every tenth of the run; the result is checked
by counting the RootAnchored events. Goal: one million documents in under 100 seconds.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from certnet.issuer import samples
from certnet.issuer.bulk import bulk_issue
from certnet.node.deploy import DeployConfig, Deployment, Member, deploy
from certnet.node.engines import AnvilEngine, Engine
from certnet.node.tx import signer_for
from certnet.verifier.jsjson import dump_bytes


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def deploy_with_issuer(
    engine: Engine, types: tuple[str, ...] = ("FORM_D",), name: str = "certnet bench"
) -> tuple[Deployment, LocalAccount]:
    """The contracts on a fresh node, with one VN issuer ("VCCI", for `types`) funded and registered."""
    w3 = engine.w3
    funder = signer_for(w3, engine.keys[0])
    admin, issuer = Account.create(), Account.create()
    for a in (admin, issuer):
        funder.transfer(a.address, 10**21)
    d = deploy(w3, funder, DeployConfig(name, [Member("VN", [admin.address])]))
    d.issuer_registry_client(w3, signer_for(w3, admin)).register_authority(
        "VCCI", list(types), first_key=issuer.address
    )
    return d, issuer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--out", help="keep the wrapped documents here (one NDJSON file per batch)")
    args = ap.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="certnet-bench-issue-"))
    out = Path(args.out) if args.out else workdir / "wrapped"
    engine = AnvilEngine(workdir / "node").start()
    try:
        w3 = engine.w3
        d, issuer = deploy_with_issuer(engine)
        source = workdir / "certificates.ndjson"
        with open(source, "wb") as f:  # raw documents: the command fills in issuers and network
            for doc in samples.generate(args.count, seed=1):
                del doc["issuers"], doc["network"]
                f.write(dump_bytes(doc) + b"\n")
        print(f"{args.count:,} documents in {source.stat().st_size / 2**30:.2f} GiB of NDJSON; issuing", flush=True)
        report_every = max(args.batch, args.count // 10)
        marks = [report_every]
        t0 = time.perf_counter()

        def progress(done: int) -> None:
            if done >= marks[0]:
                print(
                    f"  {done:>9,} documents  {time.perf_counter() - t0:6.1f} s  RSS {rss_mib():6.0f} MiB", flush=True
                )
                marks[0] += report_every

        result = bulk_issue(source, out, d, signer_for(w3, issuer), batch=args.batch, progress=progress)
        total = time.perf_counter() - t0
        store = d.store_client(w3, d.issuer_registry_client(w3).key_info(issuer.address).store)  # type: ignore[arg-type]  # the issuer was just registered: its store is known
        anchored = store.contract.events.RootAnchored().get_logs(from_block=d.block)
        count = sum(log["args"]["documentCount"] for log in anchored)
        assert count == result.documents == args.count, (count, result.documents)
        print(
            f"issued {count:,} documents in {len(anchored)} anchored batches of {args.batch:,} in {total:.1f} s "
            f"= {count / total:,.0f} documents/s end to end"
        )
        print(f"  wrapped output: {sum(f.stat().st_size for f in out.iterdir()) / 2**30:.2f} GiB in {out}")
        if args.count >= 1_000_000:
            print(f"goal: 1,000,000 in under 100 s: {'met' if total < 100 else 'not met'}")
    finally:
        engine.stop()
        if not args.out:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
