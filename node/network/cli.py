"""`certnet network ...`: create and run a consortium network.

    certnet network init DIR --validators 4 --engine geth|besu [--chain-id ID] [--period S]
    certnet network up|down|status|logs DIR          (geth networks; Besu runs on the members' hosts)
    certnet network signers|propose|add-node|deploy DIR ...

Hooked into the `certnet` parser by `add_parser(subparsers)`; the handler is `cmd_network(args)`.
Also runnable alone: `python -m certnet.node.network.cli ...`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, cast

from certnet.node.deploy import ConfigError, load_config
from certnet.node.engines import EngineError
from certnet.node.keys import KeystoreError
from certnet.node.keys import passphrase as read_passphrase
from certnet.node.network import ENGINES, GethNetwork, NetworkError, init_network, load_network
from certnet.node.network.genesis import DEFAULT_CHAIN_ID, DEFAULT_PERIOD, NETWORK_FILE

EXIT_USAGE = 2
EXIT_NOT_RUNNING = 3


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
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
    s.add_argument("--engine", choices=ENGINES, default="geth", help="geth (Clique, runs here) or besu (QBFT files)")
    s.add_argument("--chain-id", type=int, default=DEFAULT_CHAIN_ID, help=f"chain id (default {DEFAULT_CHAIN_ID})")
    s.add_argument(
        "--period", type=int, default=DEFAULT_PERIOD, help=f"block period in seconds (default {DEFAULT_PERIOD})"
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


def _geth(directory: str) -> GethNetwork:
    config = load_network(directory)
    if config.engine != "geth":
        raise NetworkError(
            f"{directory} is a {config.engine} network: certnet does not run it; copy each node<i>/ "
            "to its host and run `besu --config-file=config.toml` there"
        )
    return GethNetwork(directory)


def _init(args: argparse.Namespace) -> int:
    secret = read_passphrase(args.passphrase_file) if args.passphrase_file else None
    config = init_network(
        args.dir,
        args.validators,
        args.engine,
        chain_id=args.chain_id,
        period=args.period,
        passphrase=secret,
        base_port=args.base_port,
        hosts=args.hosts,
        epoch=args.epoch,
    )
    print(
        f"{config.engine} network written to {args.dir} ({NETWORK_FILE}): chain id {config.chain_id}, "
        f"{len(config.nodes)} validators, period {config.period}s, EVM {config.evm_version}"
    )
    for n in config.nodes:
        print(f"  {n.name}  validator {n.validator}  rpc {n.rpc_url}  p2p {n.host}:{n.p2p_port}")
    print(f"  deployer {config.deployer} (keystore {config.deployer_keystore})")
    return 0


def _status(net: GethNetwork, as_json: bool) -> int:
    statuses = net.status()
    if as_json:
        print(json.dumps([s.as_dict() for s in statuses], indent=2))
    else:
        for s in statuses:
            if not s.running:
                state = "stopped"
            elif not s.answering:
                state = f"running (pid {s.pid}) but not answering on {s.rpc_url}"
            else:
                seal = "sealing" if s.sealing else ("not a signer" if s.mining and not s.signer else "not sealing")
                head = (s.head or "")[:18]
                state = f"running (pid {s.pid}) block {s.block} {head}.. peers {s.peers} {seal} rpc {s.rpc_url}"
            print(f"{s.name}  {s.validator}  {state}")
    return 0 if all(s.running and s.answering for s in statuses) else EXIT_NOT_RUNNING


def cmd_network(args: argparse.Namespace) -> int:
    """The `certnet network` handler: errors are printed as one line, with a non-zero exit code."""
    try:
        return _dispatch(args)
    except ConfigError as exc:
        print(f"certnet: deploy config: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (NetworkError, EngineError, KeystoreError) as exc:
        print(f"certnet: {exc}", file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace) -> int:
    action = args.network_action
    if action == "init":
        return _init(args)
    if action == "trust-root":
        from certnet.node.network.trust_root import trust_root

        text = json.dumps(trust_root(args.dir, args.deployment), indent=2) + "\n"
        if args.out:
            Path(args.out).write_text(text)
            print(f"trust root written to {args.out}")
        else:
            sys.stdout.write(text)
        return 0
    net = _geth(args.dir)
    if action == "up":
        net.up()
        _status(net, as_json=False)
        return 0
    if action == "down":
        stopped = net.down()
        print(f"stopped {', '.join(net.node(i).name for i in stopped)}" if stopped else "not running")
        return 0
    if action == "status":
        return _status(net, args.json)
    if action == "logs":
        indexes = [args.node] if args.node is not None else range(len(net.nodes))
        for i in indexes:
            if args.node is None:
                print(f"==> {net.log_file(i)} <==")
            print(net.tail(i, args.lines))
        return 0
    if action == "signers":
        for a in net.validators(args.node):
            print(a)
        return 0
    if action == "unstick":
        rewound = net.unstick()
        print(
            f"rewound {', '.join(net.node(i).name for i in rewound)} to the branch the others hold; they sync "
            "and seal on it"
            if rewound
            else "every running node is on one branch: nothing to do"
        )
        return 0
    if action == "propose":
        voters = args.nodes
        if not voters:
            voters = [s.index for s in net.status() if s.sealing]
        for i in voters:
            net.propose_validator(i, args.address, authorize=not args.drop)
        verb = "remove" if args.drop else "add"
        print(
            f"nodes {voters} vote to {verb} {args.address}; a majority of signers must vote "
            f"(`certnet network signers {args.dir}` shows the result)"
        )
        return 0
    if action == "add-node":
        i = net.add_node()
        n = net.node(i)
        print(
            f"{n.name} started: validator {n.validator}, rpc {n.rpc_url}; vote it in with "
            f"`certnet network propose {args.dir} {n.validator}`"
        )
        return 0
    if action == "deploy":
        config = load_config(args.config)
        deployment = net.deploy(config, node=args.node)
        out = Path(args.out) if args.out else net.directory / "deployment.json"
        deployment.save(out)
        print(
            json.dumps(
                {
                    "IssuerRegistry": deployment.issuer_registry,
                    "chainId": deployment.chain_id,
                    "block": deployment.block,
                    "written": str(out),
                },
                indent=2,
            )
        )
        return 0
    raise NetworkError(f"unknown action {action}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="certnet")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return cmd_network(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
