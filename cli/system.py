"""`certnet up | down | node | deploy`: the local system, its node, and deploying the contracts."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from certnet.cli import service as cli_service
from certnet.cli.main import EXIT_USAGE, CliError
from certnet.node import local
from certnet.node.deploy import ConfigError, deploy, load_config
from certnet.node.engines import connect, dev_keys
from certnet.node.keys import keystore_address, load_key, passphrase
from certnet.node.paths import data_dir
from certnet.node.tx import Transactor
from certnet.system.local import bring_down, bring_up, issue_samples

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount


def _data_dir(args: argparse.Namespace) -> Path:
    return Path(args.data_dir) if args.data_dir else data_dir()


# ------------------------------------------------------------------ node


def cmd_node(args: argparse.Namespace) -> int:
    d = _data_dir(args)
    info: local.NodeInfo | None
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
    account: LocalAccount | str
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
    home = _data_dir(args)
    system = bring_up(home, port=args.port)
    issuers = {c: keystore_address(system.key_files[k]) for c, k in (("VN", "vn-issuer"), ("TH", "th-issuer"))}
    keys = cli_service.demo_keys(home, issuers)
    url = cli_service.start_service(home, args.api_port, workers=args.api_workers)
    print(f"service: {url}  (API docs {url}/v1/docs, portal {url}/portal)")
    issue_samples(home, url, keys)
    print(f"demo API keys: {home / 'api-keys.json'}")
    print(f"certnet is up: node {system.rpc_url}, registry {system.deployment.issuer_registry}, service {url}")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    home = _data_dir(args)
    print("service: stopped" if cli_service.stop_service(home) else "service: not running")
    bring_down(home)
    return 0
