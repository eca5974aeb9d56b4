"""Durable issuance benchmark: what `certnet issue SRC --out DIR` does, on a fresh anvil node.

    python -m certnet.scripts.bench_outbox [--count 100000] [--batch 10000]

N sample Form D files are written first (not timed). Then, timed, through the same code as `certnet issue`
(`certnet.cli.documents.issue_files`): every file read and validated, each chunk accepted into the SQLite outbox
(synchronous writes: a document is on disk before it counts as accepted), batches wrapped and stored, each
root anchored, every wrapped document read back and written under its file name. Prints documents per
second and the resident memory. Compare `python -m certnet.scripts.bench_issue`, the streaming path without the outbox.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from certnet.cli.documents import issue_files
from certnet.issuer import samples
from certnet.issuer.envelope import issuer_block, network_block
from certnet.issuer.outbox import open_database
from certnet.issuer.pipeline import Pipeline, PipelineConfig
from certnet.node.engines import AnvilEngine
from certnet.node.tx import signer_for
from certnet.scripts.bench_issue import deploy_with_issuer, rss_mib
from certnet.verifier.jsjson import dump_bytes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=10_000, help="documents per anchored batch")
    args = ap.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="certnet-bench-outbox-"))
    engine = AnvilEngine(workdir / "node").start()
    try:
        w3 = engine.w3
        d, issuer = deploy_with_issuer(engine)
        src, out = workdir / "src", workdir / "out"
        src.mkdir()
        files = []
        store = d.issuer_registry_client(w3).key_info(issuer.address).store
        assert store is not None, "the issuer's key belongs to no authority"
        docs = samples.generate(
            args.count, seed=1, issuer_block=issuer_block(d, "VCCI", store), network=network_block(d)
        )
        for i, doc in enumerate(docs):
            files.append(src / f"formd-{i:07d}.json")
            files[-1].write_bytes(dump_bytes(doc, indent=True))
        pipeline = Pipeline(
            open_database(f"sqlite:///{workdir / 'outbox.db'}"),
            w3,
            d,
            {issuer.address: signer_for(w3, issuer)},
            PipelineConfig(max_batch=args.batch, max_age=0.0),
        )
        print(f"{args.count:,} sample files written; issuing them through the outbox", flush=True)
        t0 = time.perf_counter()
        lines = issue_files(pipeline, issuer.address, files, None, out)
        total = time.perf_counter() - t0
        anchored = sum(int(line.split()[1]) for line in lines)
        written = sum(1 for _ in out.iterdir())
        assert anchored == written == args.count, (anchored, written)
        print(
            f"issued {anchored:,} documents in {len(lines)} anchored batches in {total:.1f} s = "
            f"{anchored / total:,.0f} documents/s (files in, outbox, anchoring, files out); RSS {rss_mib():.0f} MiB"
        )
    finally:
        engine.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
