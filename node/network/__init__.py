"""Consortium network tooling: genesis, validator keys, and a multi-validator chain on loopback.

- `init_network(dir, validators, engine)` writes a network directory for geth (Clique, runnable here)
  or Besu (QBFT, configuration only).
- `GethNetwork(dir)` starts, stops and operates the geth nodes (`up`, `down`, `stop_node`,
  `start_node`, `rpc_url`, `w3`, `deployer_key`, `propose_validator`, `validators`, `partition`, ...).
- `load_network(dir)` reads `network.json`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from certnet.node.network.besu import init_besu_network
from certnet.node.network.genesis import (
    DEFAULT_CHAIN_ID,
    DEFAULT_PERIOD,
    NetworkConfig,
    NetworkError,
    NodeConfig,
    clique_extra_data,
    decode_clique_extra_data,
    decode_qbft_extra_data,
    qbft_extra_data,
)
from certnet.node.network.geth import GethNetwork, NodeStatus, deploy_contracts, geth_binary, init_geth_network
from certnet.node.options import NETWORK_ENGINES

ENGINES = NETWORK_ENGINES


def init_network(
    directory: str | Path,
    validators: int = 4,
    engine: str = "geth",
    chain_id: int = DEFAULT_CHAIN_ID,
    period: int = DEFAULT_PERIOD,
    passphrase: str | None = None,
    base_port: int | None = None,
    hosts: Sequence[str] | None = None,
    force: bool = False,
    epoch: int | None = None,
) -> NetworkConfig:
    """Write a new network directory for `engine` ("geth": Clique; "besu": QBFT)."""
    if engine == "geth":
        if hosts:
            raise NetworkError("a geth network runs on this machine only (127.0.0.1): --host is for besu")
        return init_geth_network(
            directory,
            validators,
            chain_id=chain_id,
            period=period,
            passphrase=passphrase,
            base_port=base_port,
            force=force,
            **({"epoch": epoch} if epoch else {}),
        )
    if engine == "besu":
        return init_besu_network(
            directory,
            validators,
            chain_id=chain_id,
            period=period,
            passphrase=passphrase,
            hosts=hosts,
            base_port=base_port,
            force=force,
        )
    raise NetworkError(f"unknown engine {engine!r}: one of {', '.join(ENGINES)}")


def load_network(directory: str | Path) -> NetworkConfig:
    return NetworkConfig.load(Path(directory))


__all__ = [
    "ENGINES",
    "GethNetwork",
    "NetworkConfig",
    "NetworkError",
    "NodeConfig",
    "NodeStatus",
    "clique_extra_data",
    "decode_clique_extra_data",
    "decode_qbft_extra_data",
    "deploy_contracts",
    "geth_binary",
    "init_network",
    "load_network",
    "qbft_extra_data",
]
