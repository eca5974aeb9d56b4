"""The local single-machine node: a detached anvil process whose state lives in <data dir>/node/."""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from certnet.node.engines import DEFAULT_CHAIN_ID, AnvilEngine, EngineError, connect
from certnet.node.options import LOCAL_PORT

DEFAULT_PORT = LOCAL_PORT


@dataclass
class NodeInfo:
    pid: int
    rpc_url: str
    chain_id: int


def node_dir(data_dir: Path) -> Path:
    return data_dir / "node"


def _info_file(data_dir: Path) -> Path:
    return node_dir(data_dir) / "node.json"


def process_alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child is not alive
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def read_info(data_dir: Path) -> NodeInfo | None:
    f = _info_file(data_dir)
    if not f.is_file():
        return None
    raw = json.loads(f.read_text())
    return NodeInfo(pid=raw["pid"], rpc_url=raw["rpc"], chain_id=raw["chainId"])


def status(data_dir: Path) -> tuple[NodeInfo | None, int | None]:
    """(node info, current block) — block is None when the node does not answer."""
    info = read_info(data_dir)
    if info is None or not process_alive(info.pid):
        return info, None
    try:
        return info, connect(info.rpc_url, timeout=3).eth.block_number
    except EngineError:
        return info, None


def up(data_dir: Path, port: int = DEFAULT_PORT, chain_id: int = DEFAULT_CHAIN_ID) -> NodeInfo:
    """Start the local anvil node (detached) unless it already runs; return where it answers."""
    info, block = status(data_dir)
    if info is not None and block is not None:
        return info
    engine = AnvilEngine(node_dir(data_dir), port=port, chain_id=chain_id)
    engine.start(detach=True)
    assert engine.proc is not None
    info = NodeInfo(pid=engine.proc.pid, rpc_url=engine.rpc_url or "", chain_id=chain_id)
    _info_file(data_dir).write_text(json.dumps({"pid": info.pid, "rpc": info.rpc_url, "chainId": chain_id}))
    return info


def down(data_dir: Path, timeout: float = 20.0) -> bool:
    """Stop the local node cleanly (it writes its state on the way out). False when it was not running."""
    info = read_info(data_dir)
    if info is None or not process_alive(info.pid):
        return False
    os.kill(info.pid, signal.SIGINT)
    deadline = time.monotonic() + timeout
    while process_alive(info.pid):
        if time.monotonic() > deadline:
            os.kill(info.pid, signal.SIGKILL)
            break
        time.sleep(0.05)
    return True
