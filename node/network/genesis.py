"""Genesis files, node keys and the `network.json` description of a consortium network.

Two consensus engines:

- Clique (geth v1.13.15): the signers sit in the genesis `extraData` as 32 zero bytes of vanity, the
  signer addresses (sorted ascending, 20 bytes each) and 65 zero bytes for the (absent) seal.
- QBFT (Besu): `extraData` is the RLP list `[vanity (32 zero bytes), [validator addresses], votes ([]),
  round (0, an empty string), seals ([])]`, as Besu's `rlp encode --type=QBFT_EXTRA_DATA` writes it.

Nothing here starts a process: see certnet.node.network.geth and certnet.node.network.besu.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

import rlp
from eth_account import Account
from eth_keys import keys as eth_keys
from eth_utils import is_hex_address, to_canonical_address, to_checksum_address

from certnet import CertnetError
from certnet.node.options import NETWORK_CHAIN_ID, NETWORK_PERIOD

#: Default chain id of a consortium network (any id not used by a public chain; not anvil's 31337).
DEFAULT_CHAIN_ID = NETWORK_CHAIN_ID
#: Block gas limit: room for large anchoring batches and contract deployment, like mainnet.
DEFAULT_GAS_LIMIT = 30_000_000
DEFAULT_PERIOD = NETWORK_PERIOD
#: Blocks after which Clique votes are reset (and QBFT epoch length).
DEFAULT_EPOCH = 30_000
VALIDATOR_BALANCE_WEI = 1_000 * 10**18
DEPLOYER_BALANCE_WEI = 1_000_000 * 10**18

NETWORK_FILE = "network.json"
GENESIS_FILE = "genesis.json"
PASSPHRASE_FILE = "passphrase"
DEPLOYER_KEYSTORE = "deployer.json"

VANITY = b"\x00" * 32
CLIQUE_SEAL_LENGTH = 65
#: Besu's documented mixHash for IBFT 2.0 / QBFT blocks ("ctical byzantine fault tolerance").
BFT_MIX_HASH = "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"
ZERO_HASH = "0x" + "00" * 32
ZERO_ADDRESS = "0x" + "00" * 20


class NetworkError(CertnetError, RuntimeError):
    """A network directory is missing, malformed, or an operation on it failed."""


# ------------------------------------------------------------------ keys


@dataclass(frozen=True)
class NodeKey:
    """A secp256k1 key pair used as a devp2p node key (and, for Besu, as the validator key)."""

    private_key: bytes

    @classmethod
    def generate(cls) -> NodeKey:
        return cls(bytes(Account.create().key))

    @property
    def public_key(self) -> str:
        """64-byte uncompressed public key, hex without 0x (the enode id)."""
        return eth_keys.PrivateKey(self.private_key).public_key.to_bytes().hex()

    @property
    def address(self) -> str:
        return eth_keys.PrivateKey(self.private_key).public_key.to_checksum_address()

    def enode(self, host: str, port: int) -> str:
        return enode_url(self.public_key, host, port)


def enode_url(public_key: str, host: str, port: int) -> str:
    return f"enode://{public_key.removeprefix('0x')}@{host}:{port}"


def address_of_public_key(public_key: str) -> str:
    raw = bytes.fromhex(public_key.removeprefix("0x"))
    return eth_keys.PublicKey(raw).to_checksum_address()


def write_secret(path: Path, text: str) -> None:
    """Write a file readable only by its owner (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def new_passphrase() -> str:
    return secrets.token_urlsafe(24)


# ------------------------------------------------------------------ extraData


def _addresses(addresses: Iterable[str]) -> list[bytes]:
    out: list[bytes] = []
    for a in addresses:
        if not isinstance(a, str) or not is_hex_address(a):
            raise ValueError(f"not an address: {a!r}")
        out.append(to_canonical_address(a))
    if len(set(out)) != len(out):
        raise ValueError("duplicate validator address")
    if not out:
        raise ValueError("at least one validator is needed")
    return out


def clique_extra_data(signers: Iterable[str]) -> str:
    """Clique genesis extraData: vanity, the signers sorted ascending, an empty seal."""
    raw = sorted(_addresses(signers))
    return "0x" + (VANITY + b"".join(raw) + b"\x00" * CLIQUE_SEAL_LENGTH).hex()


def decode_clique_extra_data(extra: str) -> list[str]:
    """The signer addresses in a Clique genesis extraData."""
    raw = bytes.fromhex(extra.removeprefix("0x"))
    body = raw[len(VANITY) : len(raw) - CLIQUE_SEAL_LENGTH]
    if len(raw) < len(VANITY) + CLIQUE_SEAL_LENGTH or len(body) % 20:
        raise ValueError("not a Clique genesis extraData (vanity + n*20 bytes + seal)")
    return [to_checksum_address(body[i : i + 20]) for i in range(0, len(body), 20)]


def qbft_extra_data(validators: Iterable[str]) -> str:
    """QBFT genesis extraData: RLP([32-byte vanity, [validators], [] (no vote), 0 (round), [] (no seals)]).

    Validators keep the given order (Besu sorts them itself when it builds the validator set)."""
    return cast("str", "0x" + rlp.encode([VANITY, _addresses(validators), [], b"", []]).hex())


@dataclass(frozen=True)
class QbftExtraData:
    vanity: bytes
    validators: list[str]
    vote: list[Any]
    round: int
    seals: list[bytes]


def decode_qbft_extra_data(extra: str) -> QbftExtraData:
    """Decode a QBFT extraData (the inverse of `qbft_extra_data`)."""
    items = rlp.decode(bytes.fromhex(extra.removeprefix("0x")))
    if not isinstance(items, list) or len(items) != 5:
        raise ValueError("QBFT extraData must be an RLP list of 5 items")
    vanity, validators, vote, round_, seals = items
    if not isinstance(vanity, bytes) or len(vanity) != 32:
        raise ValueError("QBFT extraData: the vanity must be 32 bytes")
    if not isinstance(validators, list) or any(not isinstance(v, bytes) or len(v) != 20 for v in validators):
        raise ValueError("QBFT extraData: validators must be a list of 20-byte addresses")
    return QbftExtraData(
        vanity=vanity,
        validators=[to_checksum_address(v) for v in validators],
        vote=list(vote) if isinstance(vote, list) else [vote],
        round=int.from_bytes(round_, "big"),
        seals=list(seals),
    )


# ------------------------------------------------------------------ genesis


def _alloc(balances: dict[str, int]) -> dict[str, dict[str, str]]:
    return {to_checksum_address(a).removeprefix("0x").lower(): {"balance": hex(w)} for a, w in balances.items()}


def clique_genesis(
    chain_id: int,
    period: int,
    signers: list[str],
    balances: dict[str, int],
    gas_limit: int = DEFAULT_GAS_LIMIT,
    epoch: int = DEFAULT_EPOCH,
) -> dict[str, Any]:
    """A geth 1.13 Clique genesis with every fork up to London active from block 0.

    geth 1.13.15's Clique refuses Shanghai and Cancun ("clique does not support shanghai fork"), so the
    EVM of this chain is London: no PUSH0, no MCOPY, no transient storage."""
    forks = [
        "homesteadBlock",
        "eip150Block",
        "eip155Block",
        "eip158Block",
        "byzantiumBlock",
        "constantinopleBlock",
        "petersburgBlock",
        "istanbulBlock",
        "muirGlacierBlock",
        "berlinBlock",
        "londonBlock",
        "arrowGlacierBlock",
        "grayGlacierBlock",
    ]
    return {
        "config": {"chainId": chain_id, **{f: 0 for f in forks}, "clique": {"period": period, "epoch": epoch}},
        "nonce": "0x0",
        "timestamp": "0x0",
        "extraData": clique_extra_data(signers),
        "gasLimit": hex(gas_limit),
        "difficulty": "0x1",
        "mixHash": ZERO_HASH,
        "coinbase": ZERO_ADDRESS,
        "alloc": _alloc(balances),
        "number": "0x0",
        "gasUsed": "0x0",
        "parentHash": ZERO_HASH,
    }


def qbft_genesis(
    chain_id: int,
    period: int,
    validators: list[str],
    balances: dict[str, int],
    gas_limit: int = DEFAULT_GAS_LIMIT,
    epoch: int = DEFAULT_EPOCH,
    request_timeout: int | None = None,
) -> dict[str, Any]:
    """A Besu QBFT genesis (block-header validator selection) with forks up to Cancun from block 0."""
    forks = [
        "homesteadBlock",
        "eip150Block",
        "eip155Block",
        "eip158Block",
        "byzantiumBlock",
        "constantinopleBlock",
        "petersburgBlock",
        "istanbulBlock",
        "muirGlacierBlock",
        "berlinBlock",
        "londonBlock",
    ]
    return {
        "config": {
            "chainId": chain_id,
            **{f: 0 for f in forks},
            "shanghaiTime": 0,
            "cancunTime": 0,
            "qbft": {
                "blockperiodseconds": period,
                "epochlength": epoch,
                "requesttimeoutseconds": request_timeout or max(4, 2 * period),
            },
        },
        "nonce": "0x0",
        "timestamp": "0x0",
        "extraData": qbft_extra_data(validators),
        "gasLimit": hex(gas_limit),
        "difficulty": "0x1",
        "mixHash": BFT_MIX_HASH,
        "coinbase": ZERO_ADDRESS,
        "alloc": _alloc(balances),
    }


# ------------------------------------------------------------------ network.json


@dataclass
class NodeConfig:
    """One node of a network: where it listens and which validator account it holds."""

    index: int
    name: str
    host: str
    http_port: int
    p2p_port: int
    authrpc_port: int
    validator: str
    enode: str
    genesis_validator: bool = True

    @property
    def rpc_url(self) -> str:
        return f"http://{self.host}:{self.http_port}"


@dataclass
class NetworkConfig:
    """What `network.json` records about a network directory."""

    engine: str
    chain_id: int
    period: int
    epoch: int
    gas_limit: int
    evm_version: str
    deployer: str
    nodes: list[NodeConfig] = field(default_factory=list)
    deployer_keystore: str = DEPLOYER_KEYSTORE
    passphrase_file: str = PASSPHRASE_FILE

    def save(self, directory: Path) -> None:
        raw = asdict(self)
        tmp = Path(directory) / (NETWORK_FILE + ".tmp")
        tmp.write_text(json.dumps(raw, indent=2) + "\n")
        tmp.replace(Path(directory) / NETWORK_FILE)

    @classmethod
    def load(cls, directory: Path) -> NetworkConfig:
        path = Path(directory) / NETWORK_FILE
        if not path.is_file():
            raise NetworkError(
                f"{directory} is not a network directory (no {NETWORK_FILE}): create one with `certnet network init`"
            )
        try:
            raw = json.loads(path.read_text())
            raw["nodes"] = [NodeConfig(**n) for n in raw["nodes"]]
            return cls(**raw)
        except (ValueError, TypeError, KeyError) as exc:
            raise NetworkError(f"{path} is malformed: {exc}") from None

    @property
    def validators(self) -> list[str]:
        """The validators written into the genesis block."""
        return [n.validator for n in self.nodes if n.genesis_validator]


def check_new_directory(directory: Path, force: bool = False) -> Path:
    d = Path(directory)
    if d.exists() and not d.is_dir():
        raise NetworkError(f"{d} exists and is not a directory")
    if d.is_dir() and any(d.iterdir()) and not force:
        raise NetworkError(f"{d} is not empty: choose a new directory for the network")
    d.mkdir(parents=True, exist_ok=True)
    return d


def check_counts(validators: int, engine: str) -> None:
    if validators < 1:
        raise NetworkError("a network needs at least one validator")
    if engine == "besu" and validators < 4:
        raise NetworkError(f"QBFT needs at least 4 validators to tolerate one fault (got {validators})")
