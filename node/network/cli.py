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

from certnet.node.deploy import ConfigError, load_config
from certnet.node.engines import EngineError
from certnet.node.keys import KeystoreError
from certnet.node.keys import passphrase as read_passphrase
from certnet.node.network import GethNetwork, NetworkError, init_network, load_network
from certnet.node.network.genesis import NETWORK_FILE
from certnet.node.options import add_network_parser

EXIT_USAGE = 2
EXIT_NOT_RUNNING = 3


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
    add_network_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return cmd_network(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
