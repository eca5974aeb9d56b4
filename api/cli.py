"""The `certnet` command. Each command group lives in a small function; errors are printed as one clear
line naming what is wrong, with a non-zero exit code."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from certnet.api import cli_bundles, cli_customs, cli_documents, cli_keys, cli_service
from certnet.node import local
from certnet.node.deploy import ConfigError, deploy, load_config
from certnet.node.engines import EngineError, connect, dev_keys
from certnet.node.keys import KeystoreError, load_key, passphrase
from certnet.node.network import cli as network_cli
from certnet.node.paths import data_dir
from certnet.node.tx import Transactor

EXIT_USAGE = 2


class CliError(Exception):
    """A user-facing error: printed as `certnet: <message>` with exit code `code`."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def _data_dir(args: argparse.Namespace) -> Path:
    return Path(args.data_dir) if args.data_dir else data_dir()


# ------------------------------------------------------------------ node


def cmd_node(args: argparse.Namespace) -> int:
    d = _data_dir(args)
    if args.action == "up":
        info = local.up(d, port=args.port)
        print(
            f"anvil running on {info.rpc_url} (chain id {info.chain_id}, pid {info.pid}); state in {local.node_dir(d)}"
        )
    elif args.action == "down":
        print("stopped" if local.down(d) else "not running")
    else:
        info, block = local.status(d)
        if info is None:
            print("not running (never started here)")
            return 3
        if block is None:
            print(f"not running (last at {info.rpc_url})")
            return 3
        print(f"running on {info.rpc_url}, chain id {info.chain_id}, pid {info.pid}, block {block}")
    return 0


# ------------------------------------------------------------------ deploy


def _rpc_url(args: argparse.Namespace) -> str:
    if getattr(args, "rpc", None):
        return args.rpc
    info, block = local.status(_data_dir(args))
    if info is None or block is None:
        raise CliError("no node: start one with `certnet node up` or pass --rpc URL")
    return info.rpc_url


def _loopback(url: str) -> bool:
    return url.startswith(("http://127.0.0.1:", "http://localhost:", "http://[::1]:"))


def cmd_deploy(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        raise CliError(f"deploy config: {exc}", EXIT_USAGE) from None
    url = _rpc_url(args)
    w3 = connect(url)
    if args.keystore:
        account = load_key(Path(args.keystore), passphrase(args.passphrase_file))
    elif _loopback(url) and w3.eth.chain_id == 31337:
        account = dev_keys(1)[0]  # the local development node's funded account
    else:
        raise CliError("--keystore is required to deploy on a node that is not the local development node")
    deployment = deploy(w3, Transactor(w3, account), config, rpc_url=url)
    out = Path(args.out) if args.out else _data_dir(args) / "deployment.json"
    deployment.save(out)
    print(
        json.dumps(
            {
                "IssuerRegistry": deployment.issuer_registry,
                "DocumentStoreImplementation": deployment.issuer_registry_client(w3).store_implementation(),
                "chainId": deployment.chain_id,
                "block": deployment.block,
                "written": str(out),
            },
            indent=2,
        )
    )
    return 0


# ------------------------------------------------------------------ whole system


def cmd_up(args: argparse.Namespace) -> int:
    from certnet.system.local import bring_up, issue_samples

    home = _data_dir(args)
    system = bring_up(home, port=args.port)
    from certnet.node.keys import keystore_address

    issuers = {c: keystore_address(system.key_files[k]) for c, k in (("VN", "vn-issuer"), ("TH", "th-issuer"))}
    keys = cli_service.demo_keys(home, issuers)
    url = cli_service.start_service(home, args.api_port, workers=args.api_workers)
    print(f"service: {url}  (API docs {url}/v1/docs, portal {url}/portal)")
    issue_samples(home, url, keys)
    print(f"demo API keys: {home / 'api-keys.json'}")
    print(f"certnet is up: node {system.rpc_url}, registry {system.deployment.issuer_registry}, service {url}")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    from certnet.system.local import bring_down

    home = _data_dir(args)
    print("service: stopped" if cli_service.stop_service(home) else "service: not running")
    bring_down(home)
    return 0


# ------------------------------------------------------------------ parser

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "node": cmd_node,
    "deploy": cmd_deploy,
    "up": cmd_up,
    "down": cmd_down,
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="certnet", description="Verification network for trade e-certificates.")
    p.add_argument("--data-dir", help="data directory (default $CERTNET_HOME or .certnet in the project)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("up", help="bring up the local system: node, contracts, issuers, service, samples")
    s.add_argument("--port", type=int, default=local.DEFAULT_PORT, help="JSON-RPC port of the local node")
    s.add_argument("--api-port", type=int, default=8000, help="port of the API service and portal")
    s.add_argument(
        "--api-workers",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="processes serving the API (default: up to 2, one per core)",
    )
    sub.add_parser("down", help="stop the local system (state is kept)")

    s = sub.add_parser("node", help="the local anvil node: up, down, status")
    s.add_argument("action", choices=["up", "down", "status"])
    s.add_argument("--port", type=int, default=local.DEFAULT_PORT)

    s = sub.add_parser(
        "deploy", help="deploy the IssuerRegistry (document stores are created per authority) from a members config"
    )
    s.add_argument("--config", required=True, help="JSON file: {name, members: [{country, admins: [...]}]}")
    s.add_argument("--rpc", help="JSON-RPC URL (default: the local node)")
    s.add_argument("--keystore", help="deployer's encrypted keystore (not needed on the local node)")
    s.add_argument("--passphrase-file", help="file holding the keystore passphrase (else $CERTNET_PASSPHRASE)")
    s.add_argument("--out", help="where to write the deployment (default <data dir>/deployment.json)")

    COMMANDS.update(cli_documents.add_parsers(sub))
    COMMANDS.update(cli_service.add_parsers(sub))
    COMMANDS.update(cli_keys.add_parsers(sub))
    COMMANDS.update(cli_bundles.add_parsers(sub))
    COMMANDS.update(cli_customs.add_parsers(sub))
    network_cli.add_parser(sub)
    COMMANDS["network"] = network_cli.cmd_network
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except CliError as exc:
        print(f"certnet: {exc}", file=sys.stderr)
        return exc.code
    except (EngineError, KeystoreError, FileNotFoundError, cli_documents.DocumentInputError) as exc:
        print(f"certnet: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # python -m certnet.api.cli: run the module's own copy, whose CliError the commands raise
    from certnet.api.cli import main as _main

    sys.exit(_main())
