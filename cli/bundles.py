"""`certnet bundle`, `certnet trust-root` and `certnet verify --bundle`: verification without a node.

certnet trust-root --rpc URL [--deployment D] [--out trust-root.json]     (or `certnet network trust-root DIR`)
certnet bundle FILE|DIR... --out bundle.json [--rpc URL] [--deployment D] [--block N]
certnet verify --bundle bundle.json --trust-root trust-root.json FILE... [--max-age 24h]   (no network)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from certnet.cli.documents import DocumentInputError, _home, collect_files


def _deployment(args: argparse.Namespace) -> Any:
    from certnet.node.deploy import Deployment

    return Deployment.load(Path(args.deployment) if args.deployment else _home(args) / "deployment.json")


def _maker(args: argparse.Namespace) -> Any:
    from certnet.node.engines import http_web3
    from certnet.verifier.bundle_maker import BundleMaker

    d = _deployment(args)
    rpc = args.rpc or d.rpc_url
    if not rpc:
        raise DocumentInputError("no node: pass --rpc URL")
    return BundleMaker(http_web3(rpc, timeout=30), d.issuer_registry, name=d.name)


def _write(out: str | None, obj: Any, what: str) -> None:
    text = json.dumps(obj, indent=1 if what == "bundle" else 2) + "\n"
    if out:
        Path(out).write_text(text)
        print(f"{what} written to {out} ({len(text.encode()):,} bytes)", file=sys.stderr)
    else:
        sys.stdout.write(text)


def cmd_trust_root(args: argparse.Namespace) -> int:
    from certnet.verifier.bundle_maker import MakerError

    try:
        _write(args.out, _maker(args).trust_root().to_json(), "trust root")
    except MakerError as exc:
        raise DocumentInputError(str(exc)) from None
    return 0


def cmd_bundle(args: argparse.Namespace) -> int:
    from certnet.verifier.bundle_maker import MakerError, queries_for

    files = collect_files(args.sources)
    docs = [f.read_bytes() for f in files]
    queries, signers, skipped = queries_for(docs)
    for f, why in zip(files, skipped, strict=True):
        if why:
            print(f"certnet: {f}: left out of the bundle: {why}", file=sys.stderr)
    if not queries:
        raise DocumentInputError("no document to make a bundle for")
    try:
        bundle = _maker(args).make(queries, block=args.block, signers=signers)
    except MakerError as exc:
        raise DocumentInputError(str(exc)) from None
    _write(args.out, bundle, "bundle")
    return 0


def verify_with_bundle_cli(args: argparse.Namespace, inputs: list[tuple[str, Any]]) -> int:
    """`certnet verify --bundle`: no network is read."""
    from certnet.verifier.bundle import Bundle, BundleError, TrustRoot, verdict_json, verify_with_bundle
    from certnet.verifier.verdict import EXIT_CODES, OVERALL

    if not args.trust_root:
        raise DocumentInputError("--bundle needs --trust-root FILE (the network's pinned trust root)")
    try:
        trust = TrustRoot.load(args.trust_root)
        bundle = Bundle.load(args.bundle)
    except BundleError as exc:
        raise DocumentInputError(str(exc)) from None
    verdicts = verify_with_bundle([c for _, c in inputs], bundle, trust, max_age=args.max_age)
    worst = max((v.status for v in verdicts), key=lambda s: (s != "VALID", OVERALL.index(s)))
    if args.json:
        results = [{"file": name, **verdict_json(v)} for (name, _), v in zip(inputs, verdicts, strict=True)]
        print(json.dumps(results[0] if len(results) == 1 else {"status": worst, "results": results}, indent=2))
    else:
        for (name, _), v in zip(inputs, verdicts, strict=True):
            print(f"{name}: {v.status}")
            print(f"  {v.message}")
            for c in v.checks:
                print(f"  [{c.status:<7}] {c.type}: {c.message}")
            info = getattr(v, "bundle", None)
            if info:
                print(
                    f"  (proven by a bundle of chain {info['chainId']} at block {info['block']}, "
                    f"{info['blockTimeUtc']}, sealed by {len(info['sealedBy'])} of {len(info['validators'])} "
                    "validators; no network was read)"
                )
    return EXIT_CODES[worst]
