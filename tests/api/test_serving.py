"""`certnet serve --workers N` (certnet.api.serving): N processes each listening on the port, so connections spread over
them; one rate limit per API key and per portal client across them; one set of metrics; a worker that dies is
started again; SIGTERM stops them all; a port already taken is refused."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from certnet.node.engines import free_port
from tests.support.processes import children, listening_sockets_of

pytestmark = pytest.mark.integration  # real engines, databases or processes (see tests/conftest.py)

ROOT = Path(__file__).resolve().parents[2]


def pid_app() -> object:
    """An app factory for these tests: answers with the pid of the process that served the request."""

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": str(os.getpid()).encode()})

    return app


def limited_app() -> object:
    """An app factory for these tests: /key is limited as one API key, /ip as the portal limits a client
    address; 10 requests each, refilled at one per 1,000 s."""
    from certnet.api.auth import RateLimiter
    from certnet.api.portal.limits import IpRateLimiter

    by_key, by_ip = RateLimiter(rate=0.001, burst=10), IpRateLimiter(rate=0.001, burst=10)

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        ok, _ = by_key.allow(7) if scope["path"] == "/key" else by_ip.allow(scope["client"][0])
        await send({"type": "http.response.start", "status": 200 if ok else 429, "headers": []})
        await send({"type": "http.response.body", "body": str(os.getpid()).encode()})

    return app


def broken_app() -> object:
    """An app factory for these tests that cannot build its app (a database that is not there, say)."""
    raise RuntimeError("no database")


def metrics_app() -> object:
    """An app factory for these tests: counts its requests in the service's metrics; /metrics renders them."""
    from certnet.api.metrics import Metrics

    metrics = Metrics()

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        if scope["path"] == "/metrics":
            body = metrics.render()
        else:
            metrics.requests.labels("GET", "/", "200").inc()
            body = str(os.getpid()).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    return app


def start(port: int, workers: int, tmp_dir: Path, factory: str = "pid_app") -> subprocess.Popen:
    app = f"tests.api.test_serving:{factory}"
    code = f"from certnet.api.serving import serve; serve('{app}', '127.0.0.1', {port}, {workers})"
    # its temporary files (the workers' metrics) under pytest's directory: a killed supervisor cannot remove them
    env = dict(os.environ, TMPDIR=str(tmp_dir))
    return subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )


def wait_for(cond, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def served_by(url: str, connections: int) -> set[int]:
    """The pids that answered `connections` separate connections opened together."""
    clients = [httpx.Client(base_url=url, timeout=10) for _ in range(connections)]
    try:
        return {int(c.get("/").text) for c in clients}
    finally:
        for c in clients:
            c.close()


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def serving(tmp_path: Path, factory: str = "pid_app") -> Iterator[tuple[subprocess.Popen, str]]:
    """Two workers serving `factory` on a free port, once both listen; stopped (SIGTERM, else SIGKILL) after."""
    port = free_port()
    proc = start(port, 2, tmp_path, factory)
    url = f"http://127.0.0.1:{port}"
    try:
        # both listening (a worker listens once its app is built); no request sent: the apps count them
        wait_for(lambda: proc.poll() is None and len(children(proc.pid)) == 2 and len(listening_sockets_of(port)) == 2)
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen, str]]:
    with serving(tmp_path) as s:
        yield s


def test_connections_spread_over_every_worker(served):
    proc, url = served
    workers = children(proc.pid)
    assert len(listening_sockets_of(int(url.rsplit(":", 1)[1]))) == 2  # one per worker (SO_REUSEPORT), not one shared
    wait_for(lambda: served_by(url, 24) == workers)  # each listens on its own socket: both take connections


@pytest.mark.parametrize("path", ["/key", "/ip"])  # an API key's limit, the portal's limit per client address
def test_a_rate_limit_holds_across_the_workers(tmp_path, path):
    with serving(tmp_path, "limited_app") as (_, url):
        statuses: dict[int, list[int]] = {}
        for _ in range(24):
            with httpx.Client(base_url=url, timeout=10) as c:
                r = c.get(path)
            statuses.setdefault(int(r.text), []).append(r.status_code)
        assert len(statuses) == 2  # both workers answered
        assert sum(codes.count(200) for codes in statuses.values()) == 10  # one bucket of 10, not 10 each


def test_metrics_are_summed_over_the_workers(tmp_path):
    with serving(tmp_path, "metrics_app") as (_, url):
        pids = set()
        for _ in range(30):
            with httpx.Client(base_url=url, timeout=10) as c:
                pids.add(int(c.get("/").text))
        assert len(pids) == 2
        line = 'certnet_http_requests_total{method="GET",route="/",status="200"} 30.0'
        for _ in range(8):  # whichever worker answers the scrape
            with httpx.Client(base_url=url, timeout=10) as c:
                assert line in c.get("/metrics").text.splitlines()


def test_a_dead_worker_is_started_again_and_sigterm_stops_all(served):
    proc, url = served
    first = children(proc.pid)
    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: len(children(proc.pid)) == 2 and victim not in children(proc.pid))
    replaced = children(proc.pid)
    wait_for(lambda: served_by(url, 24) == replaced)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    for pid in replaced:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    assert not answers(url)


def test_workers_die_with_a_killed_supervisor(served):
    proc, url = served
    workers = children(proc.pid)
    proc.kill()  # SIGKILL: no handler runs; the workers must not keep serving the port
    proc.wait()
    wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers))
    assert not answers(url)


def test_a_port_in_use_is_refused(served, tmp_path):
    _, url = served
    port = int(url.rsplit(":", 1)[1])
    other = start(port, 2, tmp_path)  # SO_REUSEPORT would let it join silently; it must refuse instead
    out, _ = other.communicate(timeout=60)
    assert other.returncode != 0 and f"cannot listen on 127.0.0.1:{port}" in out


def test_workers_that_keep_failing_at_start_stop_the_service(tmp_path):
    proc = start(free_port(), 2, tmp_path, "broken_app")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "keep exiting at start" in out and "no database" in out
