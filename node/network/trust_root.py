"""The trust root of a network, computed from its files alone (no node is asked, so a node cannot lie about it):
the genesis hash from `genesis.json`, the genesis validators from its extraData, and the IssuerRegistry's code
hash from the committed artifacts and `deployment.json` (the DocumentStore implementation is the registry's
first contract creation, so its address and the registry's runtime code follow from the registry's address).

It is what an offline verifier pins (`certnet-trust-root` version 1, read by certnet.verifier.bundle.TrustRoot).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import rlp
from eth_utils import keccak, to_canonical_address, to_checksum_address
from trie import HexaryTrie

from certnet.node.artifacts import load_artifact
from certnet.node.network.genesis import GENESIS_FILE, NetworkConfig, NetworkError, decode_clique_extra_data

EMPTY_TRIE_ROOT = keccak(rlp.encode(b""))
EMPTY_CODE_HASH = keccak(b"")
EMPTY_UNCLE_HASH = keccak(rlp.encode([]))
#: geth's params.InitialBaseFee: the base fee of a genesis block with London active that names none.
INITIAL_BASE_FEE = 1_000_000_000


def create_address(sender: bytes, nonce: int) -> bytes:
    """The address of the contract `sender` creates with `nonce` (CREATE)."""
    return keccak(rlp.encode([sender, nonce]))[12:]


def runtime_code(contract: str, immutable: bytes) -> bytes:
    """A contract's runtime code as deployed: the artifact's deployed bytecode with `immutable` (32 bytes) written
    where the compiler left its one immutable (`immutableReferences`)."""
    art = load_artifact(contract)
    code = bytearray(bytes.fromhex(art["deployedBytecode"][2:]))
    refs = art.get("immutableReferences")
    if refs is None:
        raise NetworkError(f"the {contract} artifact has no immutableReferences: run python -m certnet.node.compiler")
    if len(refs) != 1:
        raise NetworkError(f"{contract} has {len(refs)} immutables; expected one")
    for ref in next(iter(refs.values())):
        code[ref["start"] : ref["start"] + ref["length"]] = immutable
    return bytes(code)


def registry_code(registry: str) -> tuple[bytes, bytes]:
    """(the IssuerRegistry's runtime code at `registry`, its DocumentStore implementation's address)."""
    impl = create_address(to_canonical_address(registry), 1)  # a contract's first CREATE uses nonce 1 (EIP-161)
    return runtime_code("IssuerRegistry", bytes(12) + impl), impl


def clone_code(implementation: bytes) -> bytes:
    """OpenZeppelin Clones.clone's runtime code (EIP-1167 minimal proxy)."""
    return bytes.fromhex("363d3d373d3d3d363d73") + implementation + bytes.fromhex("5af43d82803e903d91602b57fd5bf3")


def _q(value: Any) -> int:
    if isinstance(value, int):
        return value
    return int(value, 16) if isinstance(value, str) and value.startswith("0x") else int(value or 0)


def genesis_state_root(alloc: dict[str, Any]) -> bytes:
    """The state root of a genesis allocation of plain balances (no code, storage or nonce)."""
    t = HexaryTrie({})
    for address, acct in alloc.items():
        if set(acct) - {"balance"}:
            raise NetworkError(f"genesis alloc of {address} has more than a balance: not supported here")
        addr = bytes.fromhex(address.removeprefix("0x"))
        t.set(  # type: ignore[no-untyped-call]  # py-trie leaves HexaryTrie.set unannotated
            keccak(addr), rlp.encode([0, _q(acct.get("balance", 0)), EMPTY_TRIE_ROOT, EMPTY_CODE_HASH])
        )
    return t.root_hash


def clique_genesis_hash(genesis: dict[str, Any]) -> bytes:
    """The hash of a geth Clique genesis block with London active from block 0 (as certnet writes it)."""
    config = genesis["config"]
    if config.get("londonBlock") != 0 or "shanghaiTime" in config:
        raise NetworkError("only Clique genesis files with London from block 0 and no later fork are supported")
    fields = [
        bytes.fromhex(genesis.get("parentHash", "0x" + "00" * 32)[2:]),
        EMPTY_UNCLE_HASH,
        bytes.fromhex(genesis.get("coinbase", "0x" + "00" * 20)[2:]),
        genesis_state_root(genesis.get("alloc", {})),
        EMPTY_TRIE_ROOT,
        EMPTY_TRIE_ROOT,
        bytes(256),
        _q(genesis.get("difficulty", "0x1")),
        0,
        _q(genesis["gasLimit"]),
        0,
        _q(genesis.get("timestamp", 0)),
        bytes.fromhex(genesis["extraData"][2:]),
        bytes.fromhex(genesis.get("mixHash", "0x" + "00" * 32)[2:]),
        _q(genesis.get("nonce", 0)).to_bytes(8, "big"),
        _q(genesis.get("baseFeePerGas", INITIAL_BASE_FEE)),
    ]
    return keccak(rlp.encode(fields))


def trust_root(directory: str | Path, deployment: str | Path | None = None) -> dict[str, Any]:
    """The trust root of the geth network in `directory`, its registry from `deployment` (default
    DIR/deployment.json, written by `certnet network deploy`)."""
    d = Path(directory)
    config = NetworkConfig.load(d)
    if config.engine != "geth":
        raise NetworkError(
            f"{d} is a {config.engine} network: read its trust root from a node (`certnet trust-root --rpc URL`)"
        )
    genesis = json.loads((d / GENESIS_FILE).read_text())
    dep_path = Path(deployment) if deployment else d / "deployment.json"
    if not dep_path.is_file():
        raise NetworkError(f"no deployment at {dep_path}: deploy the contracts first (`certnet network deploy`)")
    dep = json.loads(dep_path.read_text())
    if int(dep["chain_id"]) != config.chain_id:
        raise NetworkError(f"{dep_path} is for chain {dep['chain_id']}, the network is chain {config.chain_id}")
    code, impl = registry_code(dep["issuer_registry"])
    clique = genesis["config"]["clique"]
    return {
        "format": "certnet-trust-root",
        "version": 1,
        "network": {
            "name": dep.get("name", "certnet"),
            "chainId": config.chain_id,
            "genesisHash": "0x" + clique_genesis_hash(genesis).hex(),
        },
        "consensus": {
            "engine": "clique",
            "epoch": int(clique["epoch"]),
            "period": int(clique["period"]),
            "validators": decode_clique_extra_data(genesis["extraData"]),
        },
        "issuerRegistry": {
            "address": to_checksum_address(dep["issuer_registry"]),
            "codeHash": "0x" + keccak(code).hex(),
            "storeImplementation": to_checksum_address(impl),
            "storeCodeHash": "0x" + keccak(clone_code(impl)).hex(),
        },
    }
