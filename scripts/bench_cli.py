#!/usr/bin/env python3
"""Benchmark: the `certnet` command as a user runs it, each run a new process.

Three measurements, each repeated (median and worst shown):

* ``certnet --help``                          (goal: at most 200 ms)
* ``certnet verify --offline FILE``          (goal: at most 400 ms), FILE a wrapped Form D
* ``certnet wrap DIR --out DIR2``           of 20,000 Form D files (goal: at least 10,000 documents/s for the
  whole process, and at least 10 times the OpenAttestation library on the same documents in the same run:
  ``wrapDocuments`` of @govtechsg/open-attestation in node, timed inside node, reading and writing excluded)

The documents are `certnet samples` (realistic Form D), written once to a temporary directory.

    .venv/bin/python scripts/bench_cli.py                      # 20 runs of each command, 3 of wrap
    .venv/bin/python scripts/bench_cli.py --runs 5 --wrap-runs 1 --count 5000 --no-oa
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ORACLE = ROOT / "tests" / "oracle" / "oa.cjs"
CERTNET = [str(Path(sys.executable).with_name("certnet"))]  # the installed console script, as users run it


def timed(cmd: list[str], ok: tuple[int, ...] = (0,)) -> float:
    """Wall-clock seconds of one run of `cmd` (a new process); its exit code must be one of `ok`."""
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if r.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)}: exit {r.returncode}\n{r.stderr.decode(errors='replace')}")
    return dt


def summary(times: list[float]) -> tuple[float, float]:
    return statistics.median(times), max(times)


def oa_wrap_seconds(docs_file: Path) -> float:
    out = subprocess.run(
        ["node", str(ORACLE), "bench-wrap", str(docs_file), "--no-schema"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(json.loads(out.stdout)["seconds"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20, help="runs of --help and of verify --offline (default 20)")
    ap.add_argument("--wrap-runs", type=int, default=3, help="runs of wrap, and of OpenAttestation (default 3)")
    ap.add_argument("--count", type=int, default=20_000, help="documents to wrap (default 20,000)")
    ap.add_argument("--no-oa", action="store_true", help="leave out the OpenAttestation library")
    args = ap.parse_args(argv)
    if not Path(CERTNET[0]).exists():
        raise SystemExit(f"no {CERTNET[0]}: run this with the virtual environment's python")

    print(f"cpus: {os.cpu_count()}; load average before: {os.getloadavg()[0]:.2f}; python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="certnet-bench-cli-") as tmp_name:
        tmp = Path(tmp_name)
        raw = tmp / "raw"
        subprocess.run(
            [*CERTNET, "samples", "--count", str(args.count), "--out", str(raw)], check=True, stdout=subprocess.DEVNULL
        )
        files = sorted(raw.glob("*.json"))
        subprocess.run(
            [*CERTNET, "wrap", str(files[0]), "--out", str(tmp / "one")], check=True, stdout=subprocess.DEVNULL
        )
        wrapped_one = tmp / "one" / files[0].name

        timed([*CERTNET, "--help"])  # the first run writes the bytecode caches; not counted
        help_times = [timed([*CERTNET, "--help"]) for _ in range(args.runs)]
        verify = [*CERTNET, "verify", "--offline", str(wrapped_one)]
        timed(verify, ok=(18,))
        verify_times = [timed(verify, ok=(18,)) for _ in range(args.runs)]  # 18: INTEGRITY_ONLY, as offline gives

        wrap_times, oa_times = [], []
        docs_file = tmp / "docs.json"
        if not args.no_oa:  # the same documents, as one JSON array for the library
            docs_file.write_bytes(b"[" + b",".join(f.read_bytes() for f in files) + b"]")
        for i in range(args.wrap_runs):
            out = tmp / f"wrapped-{i}"
            wrap_times.append(timed([*CERTNET, "wrap", str(raw), "--out", str(out)]))
            if len(list(out.iterdir())) != len(files):
                raise SystemExit(f"wrap wrote {len(list(out.iterdir()))} files, not {len(files)}")
            shutil.rmtree(out)
            if not args.no_oa:
                oa_times.append(oa_wrap_seconds(docs_file))

    n = args.count
    rows = [
        ("certnet --help", *summary(help_times), "at most 0.200 s"),
        ("certnet verify --offline FILE", *summary(verify_times), "at most 0.400 s"),
    ]
    print(f"{'':34} {'median':>9} {'worst':>9}   goal")
    for name, med, worst, goal in rows:
        print(f"{name:34} {med:8.3f}s {worst:8.3f}s   {goal}")
    med, worst = summary(wrap_times)
    print(
        f"{'certnet wrap of ' + f'{n:,}' + ' files':34} {med:8.3f}s {worst:8.3f}s   "
        f"= {n / med:,.0f} documents/s (worst {n / worst:,.0f}); goal at least 10,000"
    )
    if oa_times:
        oa_med, oa_worst = summary(oa_times)
        print(
            f"{'OpenAttestation wrapDocuments':34} {oa_med:8.3f}s {oa_worst:8.3f}s   "
            f"= {n / oa_med:,.0f} documents/s, inside node, no file reading or writing"
        )
        ratio = [o / w for o, w in zip(oa_times, wrap_times, strict=True)]
        print(
            f"certnet wrap (whole process) against OpenAttestation, run by run: "
            f"median {statistics.median(ratio):.1f} times, worst {min(ratio):.1f} times; goal at least 10"
        )
    print(f"{args.runs} runs of each command, {args.wrap_runs} of wrap; load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
