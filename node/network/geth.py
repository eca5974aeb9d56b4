"""A multi-validator geth (v1.13.15, Clique proof of authority) network on 127.0.0.1.

Layout of a network directory (written by `init_geth_network`):

    network.json          engine, chain id, period, per node: ports, validator address, enode
    genesis.json          Clique genesis (signers in extraData, validators and deployer prefunded)
    passphrase            keystore passphrase (0600); geth reads it to unlock its validator key
    deployer.json         encrypted keystore of the prefunded deployer account
    node<i>/
      keystore/validator.json   the node's validator key (encrypted, Web3 Secret Storage v3)
      nodekey                   devp2p node key (0600)
      config.toml               static peers (the other nodes, over 127.0.0.1; no discovery)
      data/                     geth data directory (created at first start)
      geth.log, geth.pid        while running

Every node seals (`--mine`); the p2p layer is confined to loopback (`--nodiscover`, `--netrestrict
127.0.0.0/8`, `--nat none`), and the HTTP JSON-RPC answers on 127.0.0.1 only.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3 import Web3
from web3.types import BlockIdentifier, RPCEndpoint

from certnet.node.deploy import DeployConfig, Deployment, deploy
from certnet.node.engines import EngineError, connect, free_port, http_web3
from certnet.node.keys import create_keystore, load_key
from certnet.node.local import process_alive
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
    clique_genesis,
    new_passphrase,
    write_secret,
)
from certnet.node.paths import PROJECT_ROOT
from certnet.node.tx import Transactor

GETH_VERSION = "1.13.15"
GETH_ENV = "CERTNET_GETH"
#: geth 1.13.15's Clique refuses Shanghai and Cancun, so contracts must not use PUSH0/MCOPY/TSTORE.
CLIQUE_EVM_VERSION = "london"
log = logging.getLogger("certnet.network")

HTTP_APIS = "eth,net,web3,clique,admin,txpool,miner,debug"  # debug: setHead, to break a fork deadlock
# A new network must reach this block on every node within this time after sealing starts, or it starts again.
#: heads unchanged this long while waiting for blocks: look for a fork deadlock (`GethNetwork.unstick`)
STALL_SECONDS = 8.0
FRESH_START_BLOCKS = 4
FRESH_START_SECONDS = 30.0
FRESH_START_ATTEMPTS = 3
LOOPBACK = "127.0.0.1"


# ------------------------------------------------------------------ the binary


def _version_of(path: Path) -> str | None:
    try:
        out = subprocess.run([str(path), "version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in out.splitlines():
        if line.startswith("Version:"):
            return line.split()[1].split("-")[0]
    return None


@functools.cache
def geth_binary() -> Path:
    """The geth v1.13.15 executable: $CERTNET_GETH, else .tools/bin/geth (installed by the set-up)."""
    candidates = [Path(os.environ[GETH_ENV])] if os.environ.get(GETH_ENV) else []
    candidates.append(PROJECT_ROOT / ".tools" / "bin" / "geth")
    found = []
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            version = _version_of(c)
            if version == GETH_VERSION:
                return c
            found.append(f"{c} is version {version or 'unknown'}")
    detail = f" ({'; '.join(found)})" if found else ""
    raise EngineError(
        f"geth {GETH_VERSION} is not installed{detail}: run the set-up (scripts/setup.sh, which runs "
        f"scripts/setup.d/geth.sh to `go install` it into .tools/bin), or set ${GETH_ENV}"
    )


# ------------------------------------------------------------------ contracts


def deploy_contracts(
    w3: Web3, signer: Transactor, config: DeployConfig, evm_version: str, rpc_url: str | None = None
) -> Deployment:
    """Deploy the contracts: the committed artifacts target London, which every engine runs."""
    return deploy(w3, signer, config, rpc_url=rpc_url)


# ------------------------------------------------------------------ init


class _Ports:
    """Distinct free loopback ports (or consecutive ones from a base)."""

    def __init__(self, base: int | None, taken: Iterable[int] = ()) -> None:
        self.base = base
        self.taken = set(taken)

    def take(self, offset: int) -> int:
        if self.base:
            port = self.base + offset
        else:
            port = free_port()
            while port in self.taken:
                port = free_port()
        self.taken.add(port)
        return port


def _new_node(directory: Path, index: int, secret: str, ports: _Ports, genesis_validator: bool) -> NodeConfig:
    name = f"node{index}"
    node_dir = directory / name
    validator = create_keystore(node_dir / "keystore" / "validator.json", secret)
    key = NodeKey.generate()
    write_secret(node_dir / "nodekey", key.private_key.hex())
    http, p2p, auth = ports.take(index), ports.take(100 + index), ports.take(200 + index)
    return NodeConfig(
        index=index,
        name=name,
        host=LOOPBACK,
        http_port=http,
        p2p_port=p2p,
        authrpc_port=auth,
        validator=validator,
        enode=key.enode(LOOPBACK, p2p),
        genesis_validator=genesis_validator,
    )


def _write_static_nodes(directory: Path, config: NetworkConfig) -> None:
    """config.toml per node: the other nodes as static peers (geth 1.13 ignores static-nodes.json)."""
    for n in config.nodes:
        peers = [m.enode for m in config.nodes if m.index != n.index]
        body = (
            "# written by certnet: the other validators, dialled over loopback (discovery is off)\n"
            "[Node.P2P]\n"
            f"StaticNodes = {json.dumps(peers)}\n"
        )
        (directory / n.name / "config.toml").write_text(body)


def init_geth_network(
    directory: str | Path,
    validators: int = 4,
    chain_id: int = DEFAULT_CHAIN_ID,
    period: int = DEFAULT_PERIOD,
    passphrase: str | None = None,
    base_port: int | None = None,
    gas_limit: int = DEFAULT_GAS_LIMIT,
    force: bool = False,
    epoch: int = DEFAULT_EPOCH,
) -> NetworkConfig:
    """Write a Clique network of `validators` geth nodes into a new `directory` (nothing is started); Clique
    resets its votes and lists the signers every `epoch` blocks."""
    check_counts(validators, "geth")
    if period < 0:
        raise NetworkError("the block period must be 0 (seal on demand) or more seconds")
    if epoch < 1:
        raise NetworkError("the Clique epoch must be at least 1 block")
    d = check_new_directory(Path(directory), force)
    secret = passphrase or new_passphrase()
    write_secret(d / PASSPHRASE_FILE, secret + "\n")
    ports = _Ports(base_port)
    nodes = [_new_node(d, i, secret, ports, True) for i in range(validators)]
    config = NetworkConfig(
        engine="geth",
        chain_id=chain_id,
        period=period,
        epoch=epoch,
        gas_limit=gas_limit,
        evm_version=CLIQUE_EVM_VERSION,
        deployer="",
        nodes=nodes,
    )
    config.deployer = create_keystore(d / config.deployer_keystore, secret)
    balances = {n.validator: VALIDATOR_BALANCE_WEI for n in nodes}
    balances[config.deployer] = DEPLOYER_BALANCE_WEI
    genesis = clique_genesis(chain_id, period, [n.validator for n in nodes], balances, gas_limit, epoch=epoch)
    (d / GENESIS_FILE).write_text(json.dumps(genesis, indent=2) + "\n")
    _write_static_nodes(d, config)
    config.save(d)
    return config


# ------------------------------------------------------------------ processes


def _cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


@dataclass
class NodeStatus:
    index: int
    name: str
    rpc_url: str
    validator: str
    running: bool
    pid: int | None = None
    answering: bool = False
    block: int | None = None
    head: str | None = None
    peers: int | None = None
    mining: bool | None = None
    signer: bool | None = None

    @property
    def sealing(self) -> bool:
        """Running, sealing enabled, and its validator is an authorised signer now."""
        return bool(self.answering and self.mining and self.signer)

    def as_dict(self) -> dict[str, Any]:
        return {
            "node": self.index,
            "name": self.name,
            "rpc": self.rpc_url,
            "validator": self.validator,
            "running": self.running,
            "pid": self.pid,
            "block": self.block,
            "head": self.head,
            "peers": self.peers,
            "sealing": self.sealing,
        }


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    """Poll `predicate` until it returns a true value (returned); NetworkError naming `what` on timeout."""
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # nodes restarting, RPC not up yet
            last_exc = exc
        if time.monotonic() > deadline:
            extra = f" (last error: {last_exc})" if last_exc else ""
            raise NetworkError(f"timed out after {timeout:.0f}s waiting for {what}{extra}")
        time.sleep(interval)


def _unlocked(w3: Web3, account: str) -> bool:
    """Whether the node can sign with `account` now (eth_sign of one byte)."""
    resp = w3.provider.make_request(RPCEndpoint("eth_sign"), [account, "0x00"])
    return "error" not in resp


class GethNetwork:
    """Start, stop and operate the geth nodes of a network directory."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory).resolve()
        self.config = NetworkConfig.load(self.directory)
        if self.config.engine != "geth":
            raise NetworkError(f"{self.directory} is a {self.config.engine} network: only geth networks run here")
        self._procs: dict[int, subprocess.Popen[bytes]] = {}
        self._w3: dict[int, Web3] = {}

    def __repr__(self) -> str:
        return f"GethNetwork({str(self.directory)!r}, {len(self.config.nodes)} nodes)"

    def reload(self) -> None:
        self.config = NetworkConfig.load(self.directory)

    # -- paths
    @property
    def nodes(self) -> list[NodeConfig]:
        return self.config.nodes

    def node(self, i: int) -> NodeConfig:
        try:
            return self.config.nodes[i]
        except IndexError:
            raise NetworkError(f"no node {i}: the network has nodes 0..{len(self.config.nodes) - 1}") from None

    def node_dir(self, i: int) -> Path:
        return self.directory / self.node(i).name

    def data_dir(self, i: int) -> Path:
        return self.node_dir(i) / "data"

    def log_file(self, i: int) -> Path:
        return self.node_dir(i) / "geth.log"

    def pid_file(self, i: int) -> Path:
        return self.node_dir(i) / "geth.pid"

    @property
    def passphrase_file(self) -> Path:
        return self.directory / self.config.passphrase_file

    def rpc_url(self, i: int) -> str:
        return self.node(i).rpc_url

    def w3(self, i: int) -> Web3:
        """A web3 connection to node i (raises EngineError when it does not answer), able to read
        Clique headers (whose extraData is longer than 32 bytes)."""
        if i not in self._w3:
            self._w3[i] = connect(self.rpc_url(i), timeout=10)
        return self._w3[i]

    def deployer_key(self) -> LocalAccount:
        """The prefunded deployer account, decrypted from its keystore."""
        return load_key(self.directory / self.config.deployer_keystore, self._secret())

    def validator_key(self, i: int) -> LocalAccount:
        return load_key(self.node_dir(i) / "keystore" / "validator.json", self._secret())

    def _secret(self) -> str:
        return self.passphrase_file.read_text().rstrip("\n")

    # -- geth
    def command(self, i: int, mine: bool = True) -> list[str]:
        n = self.node(i)
        nd = self.node_dir(i)
        return [
            str(geth_binary()),
            "--config",
            str(nd / "config.toml"),
            "--datadir",
            str(self.data_dir(i)),
            "--networkid",
            str(self.config.chain_id),
            "--syncmode",
            "full",
            "--gcmode",
            "archive",
            "--cache",
            "128",
            "--port",
            str(n.p2p_port),
            "--nodekey",
            str(nd / "nodekey"),
            "--nodiscover",
            "--netrestrict",
            "127.0.0.0/8",
            "--nat",
            "none",
            "--maxpeers",
            "50",
            "--http",
            "--http.addr",
            LOOPBACK,
            "--http.port",
            str(n.http_port),
            "--http.api",
            HTTP_APIS,
            "--http.vhosts",
            "localhost,127.0.0.1",
            "--authrpc.addr",
            LOOPBACK,
            "--authrpc.port",
            str(n.authrpc_port),
            "--ipcdisable",
            "--keystore",
            str(nd / "keystore"),
            "--unlock",
            n.validator,
            "--password",
            str(self.passphrase_file),
            "--allow-insecure-unlock",
            "--miner.etherbase",
            n.validator,
            "--miner.gaslimit",
            str(self.config.gas_limit),
            "--verbosity",
            "3",
        ] + (["--mine"] if mine else [])

    def _init_datadir(self, i: int) -> None:
        if (self.data_dir(i) / "geth" / "chaindata").is_dir():
            return
        result = subprocess.run(
            [str(geth_binary()), "--datadir", str(self.data_dir(i)), "init", str(self.directory / GENESIS_FILE)],
            capture_output=True,
            text=True,
            timeout=120,
            env=self._env(),
        )
        if result.returncode != 0:
            raise NetworkError(f"geth init of {self.node(i).name} failed: {result.stderr.strip()[-2000:]}")

    @staticmethod
    def _env() -> dict[str, str]:
        return {k: v for k, v in os.environ.items() if not k.startswith("GETH_")}

    def pid(self, i: int) -> int | None:
        """The pid of node i's geth if it runs (checked against its command line)."""
        proc = self._procs.get(i)
        if proc is not None and proc.poll() is not None:
            self._procs.pop(i, None)
        f = self.pid_file(i)
        if not f.is_file():
            return None
        try:
            pid = int(f.read_text().strip())
        except ValueError:
            return None
        if not process_alive(pid):
            return None
        cmd = _cmdline(pid)
        if cmd and str(self.data_dir(i)) not in cmd:
            return None  # the pid was reused by another process
        return pid

    def is_running(self, i: int) -> bool:
        return self.pid(i) is not None

    def start_node(self, i: int, timeout: float = 60.0) -> None:
        """Start node i (no-op when it runs) and wait until it answers JSON-RPC."""
        if self.is_running(i):
            return
        self._init_datadir(i)
        self._start_process(i)
        self._wait_answering(i, timeout)

    def _wait_answering(self, i: int, timeout: float) -> None:
        proc = self._procs.get(i)
        deadline = time.monotonic() + timeout
        w3 = http_web3(self.rpc_url(i), timeout=5)
        while True:
            if proc is not None and proc.poll() is not None:
                raise NetworkError(f"geth {self.node(i).name} exited with code {proc.returncode}: {self.tail(i, 5)}")
            try:
                # Geth answers RPC a moment before it unlocks the validator account: a miner started in between
                # fails its first block ("authentication needed") and never retries it, and the network stalls.
                if w3.eth.chain_id == self.config.chain_id and _unlocked(w3, self.node(i).validator):
                    return
            except Exception:
                pass
            if time.monotonic() > deadline:
                raise NetworkError(
                    f"geth {self.node(i).name} does not answer (with its account unlocked) on "
                    f"{self.rpc_url(i)} after "
                    f"{timeout:.0f}s; see {self.log_file(i)}"
                )
            time.sleep(0.1)

    def stop_node(self, i: int, timeout: float = 30.0) -> bool:
        """Stop node i cleanly (SIGINT, then SIGKILL after `timeout`). False when it was not running."""
        return bool(self._stop([i], timeout))

    def kill_node(self, i: int) -> bool:
        """Kill node i at once (crash tests)."""
        pid = self.pid(i)
        if pid is None:
            return False
        os.kill(pid, signal.SIGKILL)
        self._reap(i, pid, 10)
        return True

    def _stop(self, indexes: Sequence[int], timeout: float) -> list[int]:
        maybe = {i: self.pid(i) for i in indexes}
        pids = {i: p for i, p in maybe.items() if p is not None}
        for pid in pids.values():
            try:
                os.kill(pid, signal.SIGINT)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        for i, pid in pids.items():
            self._reap(i, pid, max(0.0, deadline - time.monotonic()))
        for i in indexes:
            self.pid_file(i).unlink(missing_ok=True)
        return list(pids)

    def _reap(self, i: int, pid: int, timeout: float) -> None:
        proc = self._procs.pop(i, None)
        deadline = time.monotonic() + timeout
        while True:
            if proc is not None:
                if proc.poll() is not None:
                    break
            elif not process_alive(pid):
                break
            if time.monotonic() > deadline:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                if proc is not None:
                    proc.wait(10)
                else:
                    wait_until(lambda: not process_alive(pid), 10, f"pid {pid} to die")
                break
            time.sleep(0.05)
        self.pid_file(i).unlink(missing_ok=True)

    def up(self, timeout: float = 90.0, wait_peers: bool = True) -> None:
        """Start every node that is not running and wait until they answer and see each other."""
        for i in range(len(self.nodes)):
            self._init_datadir(i)
        # Sealing starts only once the validators see each other: Clique signers that seal alone at first
        # each make their own block 1 and can then wait on each other for ever ("signed recently").
        started = [i for i in range(len(self.nodes)) if not self.is_running(i)]
        for i in started:
            self._start_process(i, mine=not wait_peers)
        deadline = time.monotonic() + timeout
        for i in range(len(self.nodes)):
            self._wait_answering(i, max(1.0, deadline - time.monotonic()))
        if not wait_peers:
            return
        fresh = len(started) == len(self.nodes) and all(self.block_number(i) == 0 for i in started)
        for attempt in range(1, FRESH_START_ATTEMPTS + 1):
            self.wait_connected(timeout=max(1.0, deadline - time.monotonic()))
            for i in self._miner_start_order(started):
                self._rpc(i, "miner_start", [])
            if not fresh:
                return
            # Clique signers that start together can each seal competing first blocks and then all wait on each
            # other ("signed recently") for ever. A new network holds nothing yet: if it does not get going, it
            # starts again from genesis.
            try:
                wait_until(
                    lambda: min(self.block_number(i) for i in started) >= FRESH_START_BLOCKS,
                    FRESH_START_SECONDS,
                    f"every node to reach block {FRESH_START_BLOCKS}",
                )
                return
            except NetworkError:
                if attempt == FRESH_START_ATTEMPTS:
                    raise
            log.warning("the new network stalled at its first blocks; starting it again from genesis (%d)", attempt)
            self._stop(started, 30.0)
            for i in started:
                shutil.rmtree(self.data_dir(i) / "geth", ignore_errors=True)
                self._init_datadir(i)
                self._start_process(i, mine=False)
            for i in started:
                self._wait_answering(i, 60.0)
            deadline = time.monotonic() + timeout

    def _miner_start_order(self, nodes: list[int]) -> list[int]:
        """`nodes` with the in-turn signer of the next block last. A node whose miner has not started yet counts
        as syncing and discards propagated blocks: were it to drop the in-turn (heavier) block, it would keep its
        own out-of-turn one, and signers that each hold a block of their own wait on each other for ever."""
        head = self.block_number(nodes[0])
        signers = sorted(self.validators(nodes[0]), key=str.lower)  # Clique's order: by address
        in_turn = signers[(head + 1) % len(signers)] if signers else None
        return sorted(nodes, key=lambda i: self.node(i).validator.lower() == (in_turn or "").lower())

    def _start_process(self, i: int, mine: bool = True) -> None:
        log = open(self.log_file(i), "ab")
        try:
            proc = subprocess.Popen(
                self.command(i, mine),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=self._env(),
                cwd=self.node_dir(i),
            )
        finally:
            log.close()
        self._procs[i] = proc
        self.pid_file(i).write_text(f"{proc.pid}\n")

    def down(self, timeout: float = 30.0) -> list[int]:
        """Stop every node (all at once, cleanly); returns the indexes that were running."""
        return self._stop(range(len(self.nodes)), timeout)

    # -- chain state
    def _rpc(self, i: int, method: str, params: list[Any] | None = None) -> Any:
        resp = self.w3(i).provider.make_request(RPCEndpoint(method), params or [])
        if "error" in resp:
            raise NetworkError(f"{self.node(i).name} {method}: {resp['error'].get('message', resp['error'])}")
        return resp["result"]

    def block_number(self, i: int) -> int:
        return self.w3(i).eth.block_number

    def block_hash(self, i: int, number: BlockIdentifier = "latest") -> str:
        return self.w3(i).eth.get_block(number)["hash"].to_0x_hex()

    def peer_ids(self, i: int) -> set[str]:
        """The node ids (hex public keys, as in enode URLs) of node i's peers."""
        return {p["enode"].removeprefix("enode://").split("@")[0] for p in self._rpc(i, "admin_peers")}

    def peer_count(self, i: int) -> int:
        return len(self._rpc(i, "admin_peers"))

    def node_id(self, i: int) -> str:
        """The enode id (hex public key) of node i, from its enode URL."""
        return self.node(i).enode.removeprefix("enode://").split("@")[0]

    def validators(self, i: int = 0, block: int | str = "latest") -> list[str]:
        """The authorised Clique signers as node i sees them (clique_getSigners)."""
        arg = hex(block) if isinstance(block, int) else block
        return [to_checksum_address(a) for a in self._rpc(i, "clique_getSigners", [arg])]

    def propose_validator(self, voter: int, address: str, authorize: bool = True) -> None:
        """Have node `voter` vote to add (or remove) `address` in the blocks it seals (clique_propose)."""
        self._rpc(voter, "clique_propose", [to_checksum_address(address), authorize])

    def discard_proposal(self, voter: int, address: str) -> None:
        self._rpc(voter, "clique_discard", [to_checksum_address(address)])

    def sealer_activity(self, i: int = 0) -> dict[str, int]:
        """Blocks sealed per signer over the last 64 blocks, as node i sees them (clique_status)."""
        return {to_checksum_address(a): n for a, n in self._rpc(i, "clique_status")["sealerActivity"].items()}

    def proposals(self, voter: int) -> dict[str, bool]:
        return {to_checksum_address(a): v for a, v in self._rpc(voter, "clique_proposals").items()}

    def status(self) -> list[NodeStatus]:
        out = []
        for n in self.nodes:
            pid = self.pid(n.index)
            s = NodeStatus(
                index=n.index, name=n.name, rpc_url=n.rpc_url, validator=n.validator, running=pid is not None, pid=pid
            )
            if pid is not None:
                try:
                    w3 = http_web3(n.rpc_url, timeout=3)
                    block = w3.eth.get_block("latest")
                    s.block, s.head = block["number"], block["hash"].to_0x_hex()
                    s.peers = len(w3.provider.make_request(RPCEndpoint("admin_peers"), [])["result"])
                    s.mining = bool(w3.provider.make_request(RPCEndpoint("eth_mining"), []).get("result"))
                    signers = w3.provider.make_request(RPCEndpoint("clique_getSigners"), ["latest"])["result"]
                    s.signer = n.validator.lower() in {a.lower() for a in signers}
                    s.answering = True
                except Exception:
                    s.answering = False
            out.append(s)
        return out

    def tail(self, i: int, lines: int = 50) -> str:
        f = self.log_file(i)
        if not f.is_file():
            return ""
        with open(f, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 200 * (lines + 1)))
            text = fh.read().decode(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    # -- waiting
    def running_nodes(self) -> list[int]:
        return [n.index for n in self.nodes if self.is_running(n.index)]

    def wait_connected(self, nodes: Sequence[int] | None = None, timeout: float = 60.0) -> None:
        """Wait until each of `nodes` (default: the running ones) is peered with all the others."""
        group = list(nodes if nodes is not None else self.running_nodes())

        def meshed() -> bool:
            for i in group:
                want = {self.node_id(j) for j in group if j != i}
                if not want <= self.peer_ids(i):
                    return False
            return True

        wait_until(meshed, timeout, f"nodes {group} to connect to each other")

    def wait_block(self, i: int, number: int, timeout: float = 60.0) -> int:
        """Wait until node i's head is at least `number`; returns the head."""
        return cast(
            "int",
            wait_until(
                lambda: (b := self.block_number(i)) >= number and b,
                timeout,
                f"{self.node(i).name} to reach block {number}",
            ),
        )

    def wait_blocks(self, count: int, nodes: Sequence[int] | None = None, timeout: float = 60.0) -> None:
        """Wait until each of `nodes` has advanced `count` blocks from now."""
        group = list(nodes if nodes is not None else self.running_nodes())
        start = {i: self.block_number(i) for i in group}
        self._wait_sealing(
            group,
            lambda heads: all(heads[i][0] >= start[i] + count for i in group) or None,
            timeout,
            f"nodes {group} to advance {count} blocks",
        )

    def _wait_sealing(
        self, group: list[int], done: Callable[[dict[int, tuple[int, str]]], Any], timeout: float, what: str
    ) -> Any:
        """Wait until `done(heads)` gives a result. A fork deadlock on the way is broken (`unstick`) once the
        heads have not moved for STALL_SECONDS; a timeout describes every node's head."""
        deadline = time.monotonic() + timeout
        heads, moved = self._heads(group), time.monotonic()
        while (result := done(heads)) is None:
            if time.monotonic() > deadline:
                raise NetworkError(f"timed out after {timeout:.0f}s waiting for {what}; {self.describe_heads()}")
            time.sleep(0.25)
            now = self._heads(group)
            if now != heads:
                heads, moved = now, time.monotonic()
            elif time.monotonic() - moved > STALL_SECONDS and self.unstick(group):
                moved = time.monotonic()
        return result

    def _heads(self, group: Sequence[int]) -> dict[int, tuple[int, str]]:
        out: dict[int, tuple[int, str]] = {}
        for i in group:
            block = self.w3(i).eth.get_block("latest")
            out[i] = (block["number"], block["hash"].to_0x_hex())
        return out

    def unstick(self, nodes: Sequence[int] | None = None) -> list[int]:
        """Break a Clique fork deadlock among `nodes` (default: the running ones); returns the nodes rewound.

        Out-of-turn signers racing for one height (typically while links drop or come back) can leave linked
        nodes on sibling blocks of equal difficulty: geth keeps its own block on a tie, and every signer
        allowed to seal the next block sits on the other branch while it "signed recently" on its own, so
        nobody seals again. Rewinding the nodes off the branch most nodes hold, to the last block they share
        with it (debug_setHead), lets them take that branch from their peers and seal on it. Only nodes whose
        head is not an ancestor of that branch are touched; their blocks beyond the fork are dropped (their
        transactions are sent again by whoever sent them: certnet's outbox re-signs a transaction that does not
        get mined)."""
        group = list(nodes if nodes is not None else self.running_nodes())
        heads = self._heads(group)
        # branches: a node joins the branch whose tip has the node's head in its chain (an ancestor or itself)
        branches: list[list[int]] = []
        for i in sorted(group, key=lambda j: -heads[j][0]):
            number, h = heads[i]
            home = next((b for b in branches if self.block_hash(b[0], number) == h), None)
            if home is None:
                branches.append([i])
            else:
                home.append(i)
        if len(branches) < 2:
            return []
        # the branch most nodes hold (a tie goes to the longer, then to the lower hash: every caller picks the same)
        best = min(branches, key=lambda b: (-len(b), -heads[b[0]][0], heads[b[0]][1]))
        tip = best[0]
        rewound = []
        for i in group:
            if i in best:
                continue
            fork = min(heads[i][0], heads[tip][0])
            while fork > 0 and self.block_hash(i, fork) != self.block_hash(tip, fork):
                fork -= 1
            log.warning(
                "unstick: %s is on a sibling branch at #%d; rewinding it to #%d", self.node(i).name, heads[i][0], fork
            )
            # not sealing meanwhile: rewound, it could seal another sibling before it fetches the branch
            self._rpc(i, "miner_stop", [])
            self._rpc(i, "debug_setHead", [hex(fork)])
            rewound.append(i)
        for i in rewound:  # re-link, so that the handshake shows the heavier branch and the node syncs it now
            for j in best:
                self._rpc(i, "admin_removePeer", [self.node(j).enode])
                self._rpc(i, "admin_addPeer", [self.node(j).enode])
        for i in rewound:

            def on_branch(i: int = i) -> bool:
                return self.block_number(i) > heads[i][0] - 1 and self.block_hash(
                    tip, self.block_number(i)
                ) == self.block_hash(i)

            try:
                wait_until(
                    on_branch,
                    30.0,
                    f"{self.node(i).name} to take the branch of {self.node(tip).name}",
                    interval=0.5,
                )
            except NetworkError as exc:
                log.warning("unstick: %s", exc)
            finally:
                self._rpc(i, "miner_start", [])
        return rewound

    def describe_heads(self) -> str:
        """Each running node's head and peers, for the message of a network that does not move."""
        parts = []
        for i in self.running_nodes():
            try:
                block = self.w3(i).eth.get_block("latest")
                parts.append(
                    f"{self.node(i).name} at #{block['number']} {block['hash'].to_0x_hex()[:10]} "
                    f"(difficulty {block['difficulty']}) with {len(self.peer_ids(i))} peers"
                )
            except Exception as exc:  # a node not answering is part of the picture
                parts.append(f"{self.node(i).name} not answering ({type(exc).__name__})")
        return "; ".join(parts)

    def wait_converged(
        self, nodes: Sequence[int] | None = None, timeout: float = 60.0, at_least: int = 0
    ) -> tuple[int, str]:
        """Wait until `nodes` have heads within two blocks of each other, at `at_least` or beyond, and
        agree on the hash of the lowest head; returns (that number, its hash)."""
        group = list(nodes if nodes is not None else self.running_nodes())

        def agree(heads: dict[int, tuple[int, str]]) -> tuple[int, str] | None:
            number = min(n for n, _ in heads.values())
            if number < at_least or max(n for n, _ in heads.values()) - number > 2:
                return None
            hashes = {self.block_hash(i, number) for i in group}
            return (number, hashes.pop()) if len(hashes) == 1 else None

        return cast(
            "tuple[int, str]", self._wait_sealing(group, agree, timeout, f"nodes {group} to agree on the chain head")
        )

    def wait_signers(
        self, expected: Iterable[str], nodes: Sequence[int] | None = None, timeout: float = 90.0
    ) -> list[str]:
        want: list[str] = sorted(to_checksum_address(a) for a in expected)
        group = list(nodes if nodes is not None else self.running_nodes())
        wait_until(
            lambda: all(sorted(self.validators(i)) == want for i in group), timeout, f"the signers to become {want}"
        )
        return want

    # -- topology
    def disconnect(self, a: int, b: int) -> None:
        """Drop the link between nodes a and b and stop them re-dialling each other."""
        self._rpc(a, "admin_removePeer", [self.node(b).enode])
        self._rpc(b, "admin_removePeer", [self.node(a).enode])

    def connect(self, a: int, b: int) -> None:
        self._rpc(a, "admin_addPeer", [self.node(b).enode])
        self._rpc(b, "admin_addPeer", [self.node(a).enode])

    def _link_all(self, group: Sequence[int]) -> None:
        """admin_addPeer between every two nodes of `group`, both ways."""
        for a in group:
            for b in group:
                if a != b:
                    self._rpc(a, "admin_addPeer", [self.node(b).enode])

    def partition(self, *groups: Sequence[int], timeout: float = 30.0) -> None:
        """Split the running nodes into `groups` that cannot talk to each other (admin_removePeer), each
        group fully linked inside.

        Later groups drop their links first: their dial history stays clear, so `heal` reconnects at
        once (geth waits 35 s before re-dialling a node it dialled recently)."""
        pairs = [(a, b) for gi, g in enumerate(groups) for h in groups[gi + 1 :] for a in g for b in h]

        def split() -> bool:
            linked = False
            for a, b in pairs:
                if self.node_id(a) in self.peer_ids(b) or self.node_id(b) in self.peer_ids(a):
                    linked = True
                    self._rpc(b, "admin_removePeer", [self.node(a).enode])
                    self._rpc(a, "admin_removePeer", [self.node(b).enode])
            return not linked

        def settled() -> bool:  # a dial started before (by a recent heal) can link two nodes again just after
            if not split():
                return False
            time.sleep(1.0)
            return split()

        wait_until(settled, timeout, f"the partition {[list(g) for g in groups]}", interval=0.5)
        # and each group whole inside: a node a restart left linked only to the other side would be cut off alone
        for group in groups:
            self._link_all(group)
        for group in groups:
            if len(group) > 1:
                self.wait_connected(list(group), timeout)

    def heal(self, timeout: float = 60.0, full_mesh: bool = False) -> None:
        """Reconnect every running node with every other (admin_addPeer both ways) and wait until the
        peer graph is connected again (or, with `full_mesh`, until every pair is linked: geth waits up
        to 35 s before re-dialling a node it dialled recently, so a full mesh can take that long)."""
        group = self.running_nodes()
        self._link_all(group)
        if full_mesh:
            self.wait_connected(group, timeout)
            return
        ids = {self.node_id(i): i for i in group}

        def connected() -> bool:
            seen, todo = {group[0]}, [group[0]]
            while todo:
                for pid in self.peer_ids(todo.pop()):
                    j = ids.get(pid)
                    if j is not None and j not in seen:
                        seen.add(j)
                        todo.append(j)
            return len(seen) == len(group)

        wait_until(connected, timeout, f"nodes {group} to reconnect")

    # -- membership
    def add_node(self, start: bool = True) -> int:
        """Create one more node (not yet a signer: vote it in with `propose_validator`); returns its index.

        Existing nodes get it as a static peer in their config.toml (for their next start) and, when
        running, at once through admin_addPeer."""
        secret = self._secret()
        taken = [p for n in self.nodes for p in (n.http_port, n.p2p_port, n.authrpc_port)]
        index = len(self.nodes)
        node = _new_node(self.directory, index, secret, _Ports(None, taken), genesis_validator=False)
        self.config.nodes.append(node)
        _write_static_nodes(self.directory, self.config)
        self.config.save(self.directory)
        if start:
            self.start_node(index)
            for j in self.running_nodes():
                if j != index:
                    self._rpc(j, "admin_addPeer", [node.enode])
        return index

    # -- contracts
    def deploy(self, config: DeployConfig, node: int = 0, signer: Transactor | None = None) -> Deployment:
        """Deploy the IssuerRegistry (with its DocumentStore implementation) through `node` from the deployer account,
        built for this chain's EVM (London under Clique)."""
        w3 = self.w3(node)
        return deploy_contracts(
            w3,
            signer or Transactor(w3, self.deployer_key()),
            config,
            self.config.evm_version,
            rpc_url=self.rpc_url(node),
        )


def geth_available() -> bool:
    try:
        geth_binary()
        return True
    except EngineError:
        return False
