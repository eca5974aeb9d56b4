"""Defaults and command-line options of certnet.node's commands, importable without web3 or eth-account.

The `certnet` parser (`certnet.cli.parser`) is built from these at every start, `certnet --help` included; the
modules that use them (`node/local.py`, `node/network/`) take them from here.
"""

from __future__ import annotations

import argparse
from typing import Any, cast

#: JSON-RPC port of the local anvil node
LOCAL_PORT = 8545
#: consortium network engines: geth (Clique, run here) or besu (QBFT, files written)
NETWORK_ENGINES = ("geth", "besu")
#: chain id of a new consortium network
NETWORK_CHAIN_ID = 39393
#: Clique block period of a new network, in seconds
NETWORK_PERIOD = 2


def add_network_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add `network` and its actions to the `certnet` sub-parsers; the handler is `cmd_network`."""
    p = subparsers.add_parser(
        "network",
        help="a consortium network: geth Clique on loopback, Besu QBFT files",
        description="Create and run a multi-validator consortium network.",
    )
    sub = p.add_subparsers(dest="network_action", required=True, metavar="ACTION")

    s = sub.add_parser("init", help="write a new network directory (genesis, keys, peers, ports)")
    s.add_argument("dir")
    s.add_argument("--validators", type=int, default=4, help="number of validators (default 4)")
    s.add_argument(
        "--engine", choices=NETWORK_ENGINES, default="geth", help="geth (Clique, runs here) or besu (QBFT files)"
    )
    s.add_argument("--chain-id", type=int, default=NETWORK_CHAIN_ID, help=f"chain id (default {NETWORK_CHAIN_ID})")
    s.add_argument(
        "--period", type=int, default=NETWORK_PERIOD, help=f"block period in seconds (default {NETWORK_PERIOD})"
    )
    s.add_argument(
        "--base-port",
        type=int,
        help="node i gets JSON-RPC base+i, p2p base+100+i, authrpc base+200+i "
        "(default: free ports for geth, 8545+i/30303+i for besu)",
    )
    s.add_argument(
        "--host",
        action="append",
        dest="hosts",
        metavar="IP",
        help="besu: the IP address of each node, once per node in order (default 127.0.0.1)",
    )
    s.add_argument(
        "--passphrase-file", help="keystore passphrase (default: a fresh random one, written to DIR/passphrase)"
    )
    s.add_argument(
        "--epoch",
        type=int,
        help="geth: blocks between Clique checkpoints, where votes reset and the signers are listed (default 30000)",
    )

    for action, text in (
        ("up", "start every geth node of the network"),
        ("down", "stop every node (cleanly, then killed after a timeout)"),
        ("status", "per node: running, block, peers, sealing"),
        ("signers", "the authorised Clique signers (clique_getSigners)"),
        ("unstick", "break a Clique fork deadlock: rewind nodes on a sibling branch to the fork"),
        ("add-node", "create and start one more node (vote it in with `propose`)"),
    ):
        s = sub.add_parser(action, help=text)
        s.add_argument("dir")
        if action == "status":
            s.add_argument("--json", action="store_true", help="machine-readable output")
        if action == "signers":
            s.add_argument("--node", type=int, default=0)

    s = sub.add_parser("logs", help="the tail of a node's log")
    s.add_argument("dir")
    s.add_argument("--node", type=int, help="node index (default: every node)")
    s.add_argument("--lines", type=int, default=40)

    s = sub.add_parser("propose", help="vote to add (or --drop) a validator through Clique")
    s.add_argument("dir")
    s.add_argument("address")
    s.add_argument(
        "--node",
        type=int,
        action="append",
        dest="nodes",
        help="voting node (repeatable; default: every running node that is a signer)",
    )
    s.add_argument("--drop", action="store_true", help="vote to remove the validator instead")

    s = sub.add_parser(
        "trust-root",
        help="write the trust root an offline verifier pins (genesis hash, validators, "
        "issuer registry), computed from the network's files",
    )
    s.add_argument("dir")
    s.add_argument("--deployment", help="deployment.json (default DIR/deployment.json)")
    s.add_argument("--out", help="where to write it (default: standard output)")

    s = sub.add_parser("deploy", help="deploy the contracts through a node, from the network's deployer account")
    s.add_argument("dir")
    s.add_argument("--config", required=True, help="JSON file: {name, members: [{country, admins: [...]}]}")
    s.add_argument("--node", type=int, default=0)
    s.add_argument("--out", help="where to write the deployment (default DIR/deployment.json)")
    return cast("argparse.ArgumentParser", p)
