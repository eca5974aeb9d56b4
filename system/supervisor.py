"""A process supervisor: N worker processes forked from this one; a worker that dies is started again (and the
whole stops when they keep dying at start); SIGTERM, SIGINT or SIGHUP stops them all. `certnet serve --workers N`
runs the API's uvicorn workers under it (certnet.api.serving)."""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import time
from collections.abc import Callable
from typing import Any

from certnet import CertnetError

log = logging.getLogger("certnet.serve")

#: a worker that exits sooner than this after its start counts as failing to start
STARTUP_GRACE = 10.0
#: consecutive failed starts after which the whole service stops
MAX_FAILED_STARTS = 3


class ServeError(CertnetError, RuntimeError):
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


class Supervisor:
    """Starts the worker processes, starts again one that dies, stops them all on SIGTERM/SIGINT."""

    def __init__(self, target: Callable[..., None], args: tuple[Any, ...], workers: int) -> None:
        self.target, self.args = target, args
        self.count = workers
        self.ctx = multiprocessing.get_context("fork")  # nothing runs in this process but the supervision
        self.procs: list[Any] = []
        self.started: list[float] = []
        self.failed_starts = 0
        self.stopping = False

    def _start(self, slot: int) -> None:
        p = self.ctx.Process(target=self.target, args=self.args, name=f"certnet-serve-{slot}", daemon=False)
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
