"""`certnet serve` and `certnet apikey`: running the service and managing its API keys."""

from __future__ import annotations

import argparse
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from certnet.cli.main import CliError
from certnet.node.paths import data_dir


def _home(args: argparse.Namespace) -> Path:
    return Path(args.data_dir) if getattr(args, "data_dir", None) else data_dir()


#: `certnet serve --workers N` hands its options to the worker processes through this variable
SERVE_ENV = "CERTNET_SERVE_SPEC"
#: service settings bounding waits and staleness, each a `certnet serve` option of the same name
BOUND_SETTINGS = ("rpc_timeout", "verify_timeout", "index_max_lag_blocks", "index_max_age", "stale_index")


def _service_app(spec: dict[str, Any]) -> Any:
    import logging

    from certnet.api.app import create_app
    from certnet.api.service import Service, settings_from_data_dir

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = settings_from_data_dir(
        Path(spec["data_dir"]),
        rpc_url=spec["rpc"],
        confirmations=spec["confirmations"],
        start_workers=spec["start_workers"],
        **spec.get("settings", {}),
    )
    if spec["db"]:
        settings.db_url = spec["db"]
    return create_app(Service(settings))


def take_lock(path: Path) -> bool:
    """True when this process now holds the exclusive lock on ``path``; it keeps it until it exits."""
    import fcntl

    f = open(path, "a")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        return False
    _HELD_LOCKS.append(f)
    return True


_HELD_LOCKS: list[Any] = []


def app_factory() -> Any:
    """The app of each process of `certnet serve`. The background workers (issuance, index, webhooks) run once
    per database: every process (of every `certnet serve` on the database, on any host) campaigns for them
    through the database (certnet.api.election) and the one elected runs them; the others serve requests (their
    server-sent event listeners still follow the notices) and take over when the leader dies."""
    return _service_app(json.loads(os.environ[SERVE_ENV]))


def _public_url(value: str | None) -> str | None:
    """The --public-url (or $CERTNET_PUBLIC_URL), checked: an absolute http(s) URL without query or fragment."""
    from urllib.parse import urlsplit

    value = value or os.environ.get("CERTNET_PUBLIC_URL") or None
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise CliError(
            f"--public-url {value!r}: give the service's absolute public URL, e.g. "
            "https://certnet.customs.example (no query, no fragment)",
            2,
        )
    return value.rstrip("/")


def cmd_serve(args: argparse.Namespace) -> int:
    from certnet.api.service import settings_from_data_dir
    from certnet.api.serving import ServeError, serve
    from certnet.api.webhooks import parse_allow_list
    from certnet.node.keys import KeystoreError

    if args.workers < 1:
        raise CliError(f"--workers must be at least 1, got {args.workers}", 2)
    from certnet.api.service import Settings

    bounds = {k: getattr(args, k) for k in BOUND_SETTINGS if getattr(args, k, None) is not None}
    try:  # refused here, with the option's name, rather than by every worker process at its start
        Settings(data_dir=Path("."), rpc_url="", deployment_file=Path("."), db_url="", **bounds)
    except ValueError as exc:
        raise CliError(f"certnet serve: {exc}", 2) from None
    listen = f"[{args.host}]" if ":" in args.host else args.host
    settings: dict[str, Any] = {
        "public_base_url": _public_url(args.public_url) or f"http://{listen}:{args.port}",
        "trusted_proxy_header": args.trusted_proxy_header,
        "webhook_allow": args.webhook_allow,
        "max_subscriptions": args.max_subscriptions,
        "max_json_depth": args.max_json_depth,
        "reconcile_interval": args.reconcile_interval,
        "reconcile_window": args.reconcile_window,
        **bounds,
    }
    if args.trusted_proxy:
        settings["trusted_proxies"] = args.trusted_proxy
    try:
        parse_allow_list(args.webhook_allow + (args.trusted_proxy or []))
    except ValueError as exc:
        raise CliError(str(exc), 2) from None
    try:  # refused before any process starts: a production start with a passphrase file, a missing deployment
        settings_from_data_dir(_home(args), rpc_url=args.rpc)
    except KeystoreError as exc:
        raise CliError(str(exc), 2) from None
    os.environ[SERVE_ENV] = json.dumps(
        {
            "data_dir": str(_home(args)),
            "rpc": args.rpc,
            "confirmations": args.confirmations,
            "db": args.db,
            "start_workers": not args.no_workers,
            "processes": args.workers,
            "settings": settings,
        }
    )
    try:
        serve("certnet.cli.service:app_factory", args.host, args.port, args.workers)
    except ServeError as exc:
        raise CliError(str(exc), 2) from None
    return 0


def cmd_apikey(args: argparse.Namespace) -> int:
    from certnet.api.auth import create_api_key
    from certnet.api.models import ApiBase, ApiKey
    from certnet.issuer.outbox import open_database

    home = _home(args)
    sessions = open_database(args.db or os.environ.get("CERTNET_DB_URL") or f"sqlite:///{home / 'certnet.db'}")
    ApiBase.metadata.create_all(sessions.kw["bind"])
    k: ApiKey | None
    if args.action == "create":
        try:
            key, rec = create_api_key(sessions, args.name, args.role, args.country, args.issuer_account)
        except ValueError as exc:
            raise CliError(str(exc), 2) from None
        print(key)
        print(f"(key {rec.prefix}… for {args.role} {args.country}; shown once, stored hashed)", file=sys.stderr)
    elif args.action == "list":
        from sqlalchemy import select

        with sessions() as s:
            for k in s.scalars(select(ApiKey).order_by(ApiKey.id)):
                print(
                    f"{k.id}\t{k.prefix}…\t{k.role}\t{k.country}\t{k.issuer_account or '-'}\t"
                    f"{'revoked' if k.revoked else 'active'}\t{k.name}"
                )
    else:
        with sessions.begin() as s:
            k = s.get(ApiKey, args.id)
            if k is None:
                raise CliError(f"no API key {args.id}", 2)
            k.revoked = True
        print(f"revoked key {args.id}")
    return 0


# ------------------------------------------------------------------ the service as a background process


def service_pid_file(home: Path) -> Path:
    return home / "service.json"


def start_service(home: Path, port: int, workers: int = 1, log=print) -> str:
    """Start `certnet serve --workers N` detached unless it already answers; return its URL."""
    pid_file = service_pid_file(home)
    if pid_file.is_file():
        info = json.loads(pid_file.read_text())
        try:
            if httpx.get(f"{info['url']}/healthz", timeout=2).status_code == 200:
                return info["url"]
        except httpx.HTTPError:
            pass
    url = f"http://127.0.0.1:{port}"
    logf = open(home / "service.log", "ab")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "certnet.cli.main",
            "--data-dir",
            str(home),
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        stdout=logf,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    logf.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the service exited with code {proc.returncode}; see {home / 'service.log'}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                pid_file.write_text(json.dumps({"pid": proc.pid, "url": url}))
                return url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"the service did not answer on {url}; see {home / 'service.log'}")


def stop_service(home: Path) -> bool:
    pid_file = service_pid_file(home)
    if not pid_file.is_file():
        return False
    pid = json.loads(pid_file.read_text())["pid"]
    pid_file.unlink()
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    return True


def demo_keys(home: Path, issuers: dict[str, str]) -> dict[str, Any]:
    """API keys for the local demo, created once into <home>/api-keys.json (mode 0600)."""
    f = home / "api-keys.json"
    if f.is_file():
        return json.loads(f.read_text())
    from certnet.api.auth import create_api_key
    from certnet.api.models import ApiBase
    from certnet.issuer.outbox import open_database

    sessions = open_database(os.environ.get("CERTNET_DB_URL") or f"sqlite:///{home / 'certnet.db'}")
    ApiBase.metadata.create_all(sessions.kw["bind"])
    keys: dict[str, Any] = {}
    for country, account in issuers.items():
        keys[f"issuer-{country}"] = create_api_key(sessions, f"demo issuer {country}", "issuer", country, account)[0]
    keys["customs-TH"] = create_api_key(sessions, "demo customs TH", "customs", "TH")[0]
    keys["customs-VN"] = create_api_key(sessions, "demo customs VN", "customs", "VN")[0]
    keys["auditor-VN"] = create_api_key(sessions, "demo auditor VN", "auditor", "VN")[0]
    keys["admin-VN"] = create_api_key(sessions, "demo admin VN", "admin", "VN")[0]
    fd = os.open(f, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "w") as out:
        json.dump(keys, out, indent=2)
    return keys


def cmd_audit(args: argparse.Namespace) -> int:
    from certnet.index.audit import check_export
    from certnet.node.engines import connect

    path = Path(args.export)
    if not path.is_file():
        raise CliError(f"{path}: no such export file", 2)
    with path.open() as f:
        report = check_export(f, connect(args.rpc))
    for p in report.problems:
        print(f"PROBLEM {p}")
    print(
        f"{report.events_checked} events and {report.documents_checked} documents checked against {args.rpc}: "
        f"{'all confirmed' if report.ok else f'{len(report.problems)} problem(s)'}"
    )
    return 0 if report.ok else 1
