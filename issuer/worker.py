"""The issuance worker process: opens the outbox, unlocks the issuer keystores, runs the pipeline.

    python -m certnet.issuer.worker --db sqlite:///certnet.db --rpc http://127.0.0.1:8545 \\
        --deployment deployment.json --keystore keys/vn-issuer.json [--until-idle]

The keystore passphrase comes from CERTNET_PASSPHRASE or CERTNET_PASSPHRASE_FILE (never an argument).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from certnet.issuer.outbox import OutboxLocked, open_database
from certnet.issuer.pipeline import Pipeline, PipelineConfig
from certnet.node.deploy import Deployment
from certnet.node.engines import connect
from certnet.node.keys import load_key, passphrase
from certnet.node.tx import Transactor


def build_pipeline(
    db_url: str,
    rpc_url: str,
    deployment_file: Path,
    keystores: list[Path],
    config: PipelineConfig,
    passphrase_file: str | None = None,
) -> Pipeline:
    w3 = connect(rpc_url)
    deployment = Deployment.load(deployment_file)
    secret = passphrase(passphrase_file) if keystores else ""
    signers = {}
    for ks in keystores:
        t = Transactor(w3, load_key(ks, secret))
        signers[t.address] = t
    return Pipeline(open_database(db_url), w3, deployment, signers, config)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="certnet.issuer.worker", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", required=True, help="SQLAlchemy URL of the outbox database")
    ap.add_argument("--rpc", required=True, help="JSON-RPC URL of the node")
    ap.add_argument("--deployment", required=True, type=Path, help="deployment.json of the network")
    ap.add_argument("--keystore", action="append", type=Path, default=[], help="issuer keystore (repeatable)")
    ap.add_argument("--passphrase-file")
    ap.add_argument("--max-batch", type=int, default=1000)
    ap.add_argument("--max-age", type=float, default=2.0, help="seconds a document may wait for its batch")
    ap.add_argument("--confirmations", type=int, default=0)
    ap.add_argument(
        "--reconcile-interval",
        type=float,
        default=30.0,
        help="seconds between checks that recently anchored batches are still on the chain",
    )
    ap.add_argument("--reconcile-window", type=int, default=5000, help="blocks back the periodic check goes")
    ap.add_argument(
        "--lock-wait",
        type=float,
        default=600.0,
        help="with --until-idle: seconds to wait for another pipeline writing the same outbox",
    )
    ap.add_argument("--until-idle", action="store_true", help="exit when every document is anchored")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config = PipelineConfig(
        max_batch=args.max_batch,
        max_age=args.max_age,
        confirmations=args.confirmations,
        reconcile_interval=args.reconcile_interval,
        reconcile_window=args.reconcile_window,
    )
    pipeline = build_pipeline(args.db, args.rpc, args.deployment, args.keystore, config, args.passphrase_file)
    if args.until_idle:
        try:
            pipeline.acquire_writer(wait=args.lock_wait)
        except OutboxLocked as exc:
            print(f"certnet.issuer.worker: {exc}", file=sys.stderr)
            return 3
        stats = pipeline.run_until_idle()
        print(
            f"anchored {stats.anchored} batches, {stats.actions_done} actions done, "
            f"{stats.actions_failed} failed" + (f", {stats.reanchored} anchored again" if stats.reanchored else "")
        )
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    pipeline.run_forever(stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
