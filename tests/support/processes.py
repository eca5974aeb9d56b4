"""Shared test helpers (processes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def children(pid: int) -> set[int]:
    return {int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def listening_sockets_of(port: int) -> list[str]:
    """The sockets listening on 127.0.0.1:port (/proc/net/tcp: state 0A is LISTEN)."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return [r for r in rows if r.split()[1] == f"0100007F:{port:04X}" and r.split()[3] == "0A"]


PASS = "replica-test-passphrase"


def serve(data_dir: Path, rpc: str, db: str, port: int, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, CERTNET_PASSPHRASE=PASS, TMPDIR=str(data_dir))
    cmd = [
        sys.executable,
        "-m",
        "certnet.cli.main",
        "--data-dir",
        str(data_dir),
        "serve",
        "--rpc",
        rpc,
        "--db",
        db,
        "--port",
        str(port),
        *extra,
    ]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(data_dir / "serve.log", "w"))


def wait_ready(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"`certnet serve` exited with {proc.returncode}: {log.read_text()[-3000:]}"
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not come up: {log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
