"""Chain engines: embedded py-evm (in-process) and a managed anvil node on 127.0.0.1.

Both give a `Web3` connection and a set of funded development keys. The anvil node keeps its state in
a data directory (dumped every second and on shutdown) so that a restart keeps every anchored root.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from eth_account import Account
from web3 import Web3
from web3.types import RPCEndpoint, RPCResponse

from certnet import CertnetError
from certnet.node.paths import NODE_MODULES
from certnet.node.rpc import DEFAULT_TIMEOUT, BoundedHTTPProvider, describe_failure

DEFAULT_CHAIN_ID = 31337
ANVIL_DEV_MNEMONIC = "test test test test test test test test test test test junk"


class EngineError(CertnetError, RuntimeError):
    """An engine could not be found, started or reached."""


def anvil_binary() -> Path:
    """The anvil executable from the pinned npm package (installed by the project's set-up)."""
    candidates = [
        NODE_MODULES / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil",
        NODE_MODULES / "@foundry-rs" / "anvil-linux-arm64" / "bin" / "anvil",
    ]
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    raise EngineError(
        "anvil is not installed: run the set-up (make setup) to install the npm package @foundry-rs/anvil"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return cast("int", s.getsockname()[1])


def port_is_free(port: int) -> bool:
    """No process listens on 127.0.0.1:port (a port in TIME_WAIT after a restart counts as free)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def dev_keys(count: int = 10) -> list[str]:
    """The well-known anvil development keys (hex). For local engines only: never fund them elsewhere."""
    Account.enable_unaudited_hdwallet_features()
    return [
        Account.from_mnemonic(ANVIL_DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}").key.hex() for i in range(count)
    ]


@dataclass
class Engine:
    """A running chain: its JSON-RPC web3 connection and funded development keys."""

    name: str
    w3: Web3
    keys: list[str] = field(default_factory=list)
    rpc_url: str | None = None

    def advance_time(self, seconds: int) -> None:
        """Move the chain clock forward and mine a block (tests of time-dependent rules)."""
        raise EngineError(f"the {self.name} engine cannot move its clock")

    def stop(self) -> None:
        """Release the engine (no-op for the embedded one)."""


class EmbeddedEngine(Engine):
    """py-evm through eth-tester, in-process. State is lost when the process exits."""

    def __init__(self, accounts: int = 10) -> None:
        from eth_tester import EthereumTester, PyEVMBackend
        from web3 import EthereumTesterProvider

        class _SerialProvider(EthereumTesterProvider):
            """py-evm is not thread-safe: one request at a time."""

            _lock = threading.RLock()

            def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
                with self._lock:
                    return super().make_request(RPCEndpoint(method), params)

        backend = PyEVMBackend(genesis_parameters=PyEVMBackend.generate_genesis_params({"gas_limit": 60_000_000}))
        tester = EthereumTester(backend=backend)
        w3 = Web3(_SerialProvider(tester))
        keys = [k.to_hex() if hasattr(k, "to_hex") else str(k) for k in backend.account_keys[:accounts]]
        super().__init__(name="embedded", w3=w3, keys=keys)
        self.tester = tester

    def advance_time(self, seconds: int) -> None:
        now = self.w3.eth.get_block("latest")["timestamp"]
        self.tester.time_travel(now + seconds)
        self.tester.mine_blocks(1)


class AnvilEngine(Engine):
    """A managed anvil process on 127.0.0.1 with its state kept in `data_dir`."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        chain_id: int = DEFAULT_CHAIN_ID,
        block_time: float | None = None,
        persist: bool = True,
    ) -> None:
        """`persist=False` keeps the chain in memory only: a restart starts from genesis, but nothing is dumped
        every second (the dump of every historical state grows with the chain and costs a long test session a
        core)."""
        self.data_dir = Path(data_dir)
        self.persist = persist
        self.port = port or free_port()
        self.chain_id = chain_id
        self.block_time = block_time
        self.proc: subprocess.Popen[bytes] | None = None
        url = f"http://127.0.0.1:{self.port}"
        super().__init__(name="anvil", w3=http_web3(url), keys=dev_keys(), rpc_url=url)

    @property
    def state_file(self) -> Path:
        return self.data_dir / "anvil-state.json"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "anvil.log"

    def command(self) -> list[str]:
        cmd = [
            str(anvil_binary()),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--chain-id",
            str(self.chain_id),
            "--mnemonic",
            ANVIL_DEV_MNEMONIC,
            "--gas-limit",
            "60000000",
            "--balance",
            "100000000",  # a long test session funds thousands of keys from the first account
            "--hardfork",
            "cancun",
        ]
        if self.persist:
            cmd += ["--state", str(self.state_file), "--state-interval", "1", "--preserve-historical-states"]
        if self.block_time:
            cmd += ["--block-time", str(self.block_time)]
        return cmd

    def start(self, timeout: float = 30.0, detach: bool = False) -> AnvilEngine:
        """Start anvil and wait until it answers JSON-RPC. `detach` leaves it running after we exit."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not port_is_free(self.port):
            raise EngineError(f"port {self.port} on 127.0.0.1 is already in use by another process")
        if self.state_file.exists() and self.state_file.stat().st_size == 0:
            self.state_file.unlink()  # an interrupted first dump; nothing to load
        log = open(self.log_file, "ab")
        self.proc = subprocess.Popen(
            self.command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=detach,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise EngineError(f"anvil exited with code {self.proc.returncode}; see {self.log_file}")
            try:
                if self.w3.is_connected() and self.w3.eth.chain_id == self.chain_id and self.proc.poll() is None:
                    return self
            except Exception:
                pass
            time.sleep(0.05)
        self.stop()
        raise EngineError(f"anvil did not answer on {self.rpc_url} within {timeout}s; see {self.log_file}")

    def advance_time(self, seconds: int) -> None:
        self.w3.provider.make_request(RPCEndpoint("evm_increaseTime"), [seconds])
        self.w3.provider.make_request(RPCEndpoint("evm_mine"), [])

    def stop(self, timeout: float = 20.0) -> None:
        """Stop anvil cleanly (SIGTERM lets it write its state), killing it if it hangs."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def kill(self) -> None:
        """Kill anvil without letting it write its state (crash tests)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def http_web3(rpc_url: str, timeout: float = DEFAULT_TIMEOUT) -> Web3:
    """A web3 connection over HTTP that also accepts proof-of-authority block headers (Clique's 97-byte
    extraData); harmless on other engines. Each request times out after `timeout` seconds (and within any
    :func:`certnet.node.rpc.deadline` around it); only refused connections are retried (see node/rpc.py)."""
    from web3.middleware import ExtraDataToPOAMiddleware

    w3 = Web3(BoundedHTTPProvider(rpc_url, timeout=timeout))
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0, name="certnet_poa")
    return w3


def connect(rpc_url: str, timeout: float = DEFAULT_TIMEOUT) -> Web3:
    """A web3 connection to any JSON-RPC endpoint, checked to answer."""
    w3 = http_web3(rpc_url, timeout)
    try:
        _ = w3.eth.chain_id  # a first request: is a node answering there?
    except Exception as exc:
        raise EngineError(
            f"no Ethereum JSON-RPC node answers at {rpc_url}: {describe_failure(exc, 'the node')}"
        ) from exc
    return w3


def write_node_file(path: Path, engine: AnvilEngine) -> None:
    """Record a detached node's pid and URL so `certnet node down|status` can find it."""
    path.write_text(
        json.dumps(
            {
                "pid": engine.proc.pid if engine.proc else None,
                "rpc": engine.rpc_url,
                "port": engine.port,
                "chainId": engine.chain_id,
            }
        )
    )
