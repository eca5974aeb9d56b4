"""Serving the API from one process or several.

With several processes each one listens on its own socket bound to the same address with SO_REUSEPORT, so
the kernel spreads new connections over them evenly. (With one shared socket, as uvicorn's own multi-process
mode has it, the first process to wake accepts every connection waiting at that moment: a client that opens
four connections at once often lands all four on one process while the other idles.) The workers share their
per-key rate limits (certnet.api.auth.share_rate_limits) and their metrics (certnet.api.metrics). This process
supervises them (certnet.system.supervisor): a worker that dies is started again, SIGTERM or SIGINT stops them all.
"""

from __future__ import annotations

import os
import signal
import socket
import tempfile
from typing import Any

import uvicorn
from uvicorn.importer import import_from_string

from certnet.api.auth import share_rate_limits
from certnet.issuer.bulk import die_with_parent
from certnet.system.supervisor import ServeError, Supervisor, listening_socket

__all__ = ["ServeError", "serve", "uvicorn_config"]


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
        Supervisor(_worker, (factory, host, port, log_level, os.getpid()), workers).run()
