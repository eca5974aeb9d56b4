"""Serving the API from one process or several.

With several processes each one listens on its own socket bound to the same address with SO_REUSEPORT, so
the kernel spreads new connections over them evenly. (With one shared socket, as uvicorn's own multi-process
mode has it, the first process to wake accepts every connection waiting at that moment: a client that opens
four connections at once often lands all four on one process while the other idles.) The workers share their
per-key rate limits (certnet.api.auth.share_rate_limits) and their metrics (certnet.api.metrics). This process
supervises them: a worker that dies is started again, SIGTERM or SIGINT stops them all.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import tempfile
import time
from typing import Any

import uvicorn
from uvicorn.importer import import_from_string

from certnet.api.auth import share_rate_limits
from certnet.issuer.bulk import die_with_parent

log = logging.getLogger("certnet.serve")

#: a worker that exits sooner than this after its start counts as failing to start
STARTUP_GRACE = 10.0
#: consecutive failed starts after which the whole service stops
MAX_FAILED_STARTS = 3


class ServeError(RuntimeError):
    """The service cannot be served (address in use, workers that keep failing to start)."""


def listening_socket(host: str, port: int, reuse_port: bool) -> socket.socket:
    """A TCP socket bound to host:port. Created with protocol IPPROTO_TCP so that asyncio sets TCP_NODELAY on
    the connections it accepts (with protocol 0 it does not, and responses written in two parts wait ~40 ms
    for the client's delayed ACK)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


def uvicorn_config(app: Any, host: str, port: int, log_level: str = "warning") -> uvicorn.Config:
    """How certnet runs uvicorn. Its proxy-header handling is off: uvicorn would otherwise take the client address
    from X-Forwarded-For for any connection from 127.0.0.1; certnet reads a proxy's header itself, only the one
    configured and only from the proxies configured (Settings.trusted_proxy_header, certnet.api.auth.ClientAddress)."""
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=False, proxy_headers=False)


def _run(app: Any, sock: socket.socket, log_level: str) -> None:
    host, port = sock.getsockname()[:2]
    uvicorn.Server(uvicorn_config(app, host, port, log_level)).run(sockets=[sock])


def _worker(factory: str, host: str, port: int, log_level: str, parent: int) -> None:
    for sig in (signal.SIGTERM, signal.SIGHUP):  # not the supervisor's handlers (uvicorn sets its own later)
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    die_with_parent(parent)
    sock = listening_socket(host, port, reuse_port=True)
    _run(import_from_string(factory)(), sock, log_level)


def serve(factory: str, host: str, port: int, workers: int = 1, log_level: str = "warning") -> None:
    """Serve the app that `factory` ("module:function") builds, from `workers` processes."""
    if workers < 1:
        raise ServeError(f"workers must be at least 1, got {workers}")
    if workers == 1:
        sock = listening_socket(host, port, reuse_port=False)
        _run(import_from_string(factory)(), sock, log_level)
        return
    # SO_REUSEPORT lets any process of this user join the port: make sure nobody holds it before starting
    listening_socket(host, port, reuse_port=False).close()
    share_rate_limits()  # one rate per API key and per portal client across the workers
    with tempfile.TemporaryDirectory(prefix="certnet-metrics-") as metrics_dir:
        # metrics summed over the workers (certnet.api.metrics); prometheus_client reads it when first imported, so this
        # process must not import it before
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        Supervisor(factory, host, port, workers, log_level).run()


class Supervisor:
    """Starts the worker processes, starts again one that dies, stops them all on SIGTERM/SIGINT."""

    def __init__(self, factory: str, host: str, port: int, workers: int, log_level: str) -> None:
        self.args = (factory, host, port, log_level, os.getpid())
        self.count = workers
        self.ctx = multiprocessing.get_context("fork")  # nothing runs in this process but the supervision
        self.procs: list[Any] = []
        self.started: list[float] = []
        self.failed_starts = 0
        self.stopping = False

    def _start(self, slot: int) -> None:
        p = self.ctx.Process(target=_worker, args=self.args, name=f"certnet-serve-{slot}", daemon=False)
        p.start()
        if slot < len(self.procs):
            self.procs[slot], self.started[slot] = p, time.monotonic()
        else:
            self.procs.append(p)
            self.started.append(time.monotonic())

    def _stop(self, *_: Any) -> None:
        self.stopping = True

    def run(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._stop)
        for slot in range(self.count):
            self._start(slot)
        try:
            while not self.stopping:
                time.sleep(0.2)
                for slot, p in enumerate(self.procs):
                    if p.is_alive() or self.stopping:
                        continue
                    quick = time.monotonic() - self.started[slot] < STARTUP_GRACE
                    self.failed_starts = self.failed_starts + 1 if quick else 0
                    if self.failed_starts >= MAX_FAILED_STARTS:
                        raise ServeError(
                            f"worker processes keep exiting at start (last exit code {p.exitcode}); see the log above"
                        )
                    log.warning("worker %s (pid %s) exited with code %s; starting it again", slot, p.pid, p.exitcode)
                    self._start(slot)
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        for p in self.procs:
            if p.is_alive():
                p.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        deadline = time.monotonic() + 20
        for p in self.procs:
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
                p.join()
