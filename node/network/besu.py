"""Configuration of a Hyperledger Besu QBFT network (nothing runs here: Besu is for production hosts).

Layout written by `init_besu_network`:

    network.json, genesis.json, passphrase, deployer.json      as for geth
    node<i>/                          self-contained: copy it to the validator's host
      key, key.pub                    node key (the QBFT validator key: Besu signs blocks with it)
      genesis.json                    a copy of the network genesis
      static-nodes.json               the other validators' enode URLs
      permissions_config.toml         nodes-allowlist: only the consortium's nodes may connect
      config.toml                     Besu options; run from this directory: besu --config-file=config.toml

The validator address of a node is the address of its node key. QBFT tolerates f faulty validators
out of 3f+1, so at least 4 validators are required.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from certnet.node.keys import create_keystore
from certnet.node.network.genesis import (
    DEFAULT_CHAIN_ID,
    DEFAULT_EPOCH,
    DEFAULT_GAS_LIMIT,
    DEFAULT_PERIOD,
    DEPLOYER_BALANCE_WEI,
    GENESIS_FILE,
    PASSPHRASE_FILE,
    VALIDATOR_BALANCE_WEI,
    NetworkConfig,
    NetworkError,
    NodeConfig,
    NodeKey,
    check_counts,
    check_new_directory,
    new_passphrase,
    qbft_genesis,
    write_secret,
)

#: QBFT runs the EVM of the forks activated in the genesis: up to Cancun, like the committed artifacts.
QBFT_EVM_VERSION = "cancun"
DEFAULT_P2P_PORT = 30303
DEFAULT_HTTP_PORT = 8545
RPC_APIS = ["ETH", "NET", "WEB3", "QBFT", "ADMIN", "TXPOOL"]
NODE_FILES = ("key", "key.pub", "genesis.json", "static-nodes.json", "permissions_config.toml", "config.toml")


def _toml_list(items: Sequence[str]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def _config_toml(node: NodeConfig, rpc_host: str) -> str:
    return "\n".join(
        [
            f"# Besu QBFT validator {node.name} ({node.validator}), written by certnet.",
            "# Run from this directory: besu --config-file=config.toml",
            'data-path="data"',
            'genesis-file="genesis.json"',
            'node-private-key-file="key"',
            "",
            "# p2p: only the consortium's nodes, no discovery",
            f'p2p-host="{node.host}"',
            f"p2p-port={node.p2p_port}",
            "discovery-enabled=false",
            'static-nodes-file="static-nodes.json"',
            "permissions-nodes-config-file-enabled=true",
            'permissions-nodes-config-file="permissions_config.toml"',
            "",
            "# JSON-RPC for the certnet services of this member",
            "rpc-http-enabled=true",
            f'rpc-http-host="{rpc_host}"',
            f"rpc-http-port={node.http_port}",
            f"rpc-http-api={_toml_list(RPC_APIS)}",
            f"host-allowlist={_toml_list(list(dict.fromkeys(['localhost', '127.0.0.1', rpc_host])))}",
            "",
            "# keep every historical state: verifications are answered as of a named block",
            'data-storage-format="FOREST"',
            'sync-mode="FULL"',
            "",
        ]
    )


def init_besu_network(
    directory: str | Path,
    validators: int = 4,
    chain_id: int = DEFAULT_CHAIN_ID,
    period: int = DEFAULT_PERIOD,
    passphrase: str | None = None,
    hosts: Sequence[str] | None = None,
    base_port: int | None = None,
    gas_limit: int = DEFAULT_GAS_LIMIT,
    force: bool = False,
) -> NetworkConfig:
    """Write the files of a QBFT network of `validators` Besu nodes into a new `directory`.

    `hosts` gives each node's IP address (default: all on 127.0.0.1). Nodes sharing a host get
    consecutive ports from `base_port` (p2p 30303+i, JSON-RPC 8545+i by default); nodes on their own
    host use the standard ports."""
    check_counts(validators, "besu")
    if period < 1:
        raise NetworkError("the QBFT block period must be at least 1 second")
    host_list = list(hosts) if hosts else ["127.0.0.1"] * validators
    if len(host_list) != validators:
        raise NetworkError(f"{len(host_list)} hosts given for {validators} validators")
    shared = len(set(host_list)) < len(host_list)
    d = check_new_directory(Path(directory), force)
    secret = passphrase or new_passphrase()
    write_secret(d / PASSPHRASE_FILE, secret + "\n")

    keys = [NodeKey.generate() for _ in range(validators)]
    nodes = []
    for i, (key, host) in enumerate(zip(keys, host_list, strict=True)):
        off = i if shared else 0
        p2p = (base_port + 100 + i) if base_port else DEFAULT_P2P_PORT + off
        http = (base_port + i) if base_port else DEFAULT_HTTP_PORT + off
        nodes.append(
            NodeConfig(
                index=i,
                name=f"node{i}",
                host=host,
                http_port=http,
                p2p_port=p2p,
                authrpc_port=0,
                validator=key.address,
                enode=key.enode(host, p2p),
            )
        )
    config = NetworkConfig(
        engine="besu",
        chain_id=chain_id,
        period=period,
        epoch=DEFAULT_EPOCH,
        gas_limit=gas_limit,
        evm_version=QBFT_EVM_VERSION,
        deployer="",
        nodes=nodes,
    )
    config.deployer = create_keystore(d / config.deployer_keystore, secret)
    balances = {n.validator: VALIDATOR_BALANCE_WEI for n in nodes}
    balances[config.deployer] = DEPLOYER_BALANCE_WEI
    genesis_text = (
        json.dumps(qbft_genesis(chain_id, period, [n.validator for n in nodes], balances, gas_limit), indent=2) + "\n"
    )
    (d / GENESIS_FILE).write_text(genesis_text)

    allowlist = [n.enode for n in nodes]
    for node, key in zip(nodes, keys, strict=True):
        nd = d / node.name
        nd.mkdir()
        write_secret(nd / "key", "0x" + key.private_key.hex())
        (nd / "key.pub").write_text("0x" + key.public_key)
        (nd / GENESIS_FILE).write_text(genesis_text)
        (nd / "static-nodes.json").write_text(json.dumps([e for e in allowlist if e != node.enode], indent=2) + "\n")
        (nd / "permissions_config.toml").write_text(f"nodes-allowlist={_toml_list(allowlist)}\n")
        (nd / "config.toml").write_text(_config_toml(node, node.host))
    config.save(d)
    return config
