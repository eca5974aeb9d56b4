"""The running service: its configuration, connections and background workers (issuance pipeline, index
follower, notification dispatcher), shared by the API routes and the portal."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from certnet.api.auth import FAILED_AUTH, Authenticator, ClientAddress, RateLimiter
from certnet.api.models import ApiBase
from certnet.issuer.outbox import open_database
from certnet.issuer.pipeline import Pipeline, PipelineConfig
from certnet.node.deploy import Deployment
from certnet.node.engines import http_web3
from certnet.node.keys import load_key
from certnet.node.tx import Transactor
from certnet.verifier.sources import ChainSource, StatusSource
from certnet.verifier.verify import Verifier

log = logging.getLogger("certnet.api")


@dataclass
class Settings:
    """Service configuration (see `certnet serve --help`)."""

    data_dir: Path
    rpc_url: str
    deployment_file: Path
    db_url: str
    issuer_keystores: list[Path] = field(default_factory=list)
    admin_keystores: list[Path] = field(default_factory=list)
    passphrase: str | None = None
    confirmations: int = 0
    max_body_bytes: int = 16 * 1024 * 1024
    max_documents: int = 1000
    max_json_depth: int = 64  # arrays and objects nested in a request body, a document or an uploaded file
    # failed authentications (an unknown API key) per client address: a token bucket; when it is empty the
    # address gets 429 whatever key it sends
    auth_failure_rate: float = 0.1
    auth_failure_burst: int = 10
    # the portal's client address (rate limits) comes from this request header, as set by a reverse proxy, when
    # the connection comes from one of `trusted_proxies` (addresses or networks); else it is the socket's peer
    trusted_proxy_header: str | None = None
    trusted_proxies: list[str] = field(default_factory=lambda: ["127.0.0.1", "::1"])
    # links printed in QR codes start with this URL (e.g. https://certnet.customs.example); when unset, the
    # address this process listens on. Never the request's Host header.
    public_base_url: str | None = None
    # webhooks: targets must be public addresses unless this list (addresses or networks) names them
    webhook_allow: list[str] = field(default_factory=list)
    webhook_timeout: float = 3.0  # seconds for a whole delivery: connect, send, answer
    webhook_concurrency: int = 16
    max_subscriptions: int = 20  # active webhook subscriptions per API key
    webhook_resolver: Any = None  # (host, port) -> addresses; None: the system's resolver (tests give their own)
    rate_per_second: float = 2000.0
    rate_burst: int = 4000
    max_batch: int = 1000
    max_batch_age: float = 2.0
    start_workers: bool = True


class Service:
    """Everything the routes need. `start()` runs the background workers, `stop()` ends them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.w3 = http_web3(settings.rpc_url, timeout=15)
        self.deployment = Deployment.load(settings.deployment_file)
        self.sessions: sessionmaker[Session] = open_database(settings.db_url)
        ApiBase.metadata.create_all(self.sessions.kw["bind"])
        secret = settings.passphrase or ""
        issuers = {}
        for ks in settings.issuer_keystores:
            t = Transactor(self.w3, load_key(ks, secret))
            issuers[t.address] = t
        self.admins: dict[str, Transactor] = {}
        registry = self.deployment.issuer_registry_client(self.w3)
        for ks in settings.admin_keystores:
            t = Transactor(self.w3, load_key(ks, secret))
            country = registry.admin_country_of(t.address)
            if country:
                self.admins[country] = t
            else:
                log.warning("keystore %s is not an admin of any member country; ignored", ks)
        self.pipeline = Pipeline(self.sessions, self.w3, self.deployment, issuers, PipelineConfig(
            max_batch=settings.max_batch, max_age=settings.max_batch_age, confirmations=settings.confirmations))
        self.chain_source = ChainSource(self.w3, self.deployment, settings.confirmations)
        self.index_source: StatusSource | None = None
        self.indexer: Any = None
        self._setup_index()
        self.auth = Authenticator(self.sessions, RateLimiter(settings.rate_per_second, settings.rate_burst),
                                  failures=RateLimiter(settings.auth_failure_rate, settings.auth_failure_burst,
                                                       table=FAILED_AUTH),
                                  client_address=ClientAddress(settings.trusted_proxy_header, settings.trusted_proxies))
        from certnet.api.notify import Notifier
        from certnet.api.webhooks import Deliverer, WebhookSettings, parse_allow_list, system_resolver

        self.notifier = Notifier(self)
        self.webhooks = Deliverer(self, WebhookSettings(
            allow=parse_allow_list(settings.webhook_allow), timeout=settings.webhook_timeout,
            concurrency=settings.webhook_concurrency, resolve=settings.webhook_resolver or system_resolver))
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        from certnet.api.metrics import Metrics

        self.metrics = Metrics()

    def _setup_index(self) -> None:
        from certnet.api.index.follower import Indexer
        from certnet.api.indexed import IndexedSource

        self.indexer = Indexer(self.w3, self.deployment, self.settings.db_url,
                               confirmations=self.settings.confirmations)
        self.index_source = IndexedSource(self.settings.db_url, self.deployment)

    def verifier(self, mode: str = "chain") -> Verifier:
        if mode == "index":
            if self.index_source is None:
                from certnet.api.problems import Problem

                raise Problem(503, "INDEX_UNAVAILABLE", "this service runs without an index; use mode=chain")
            return Verifier(self.index_source)
        return Verifier(self.chain_source)

    # ------------------------------------------------------------------ workers

    def start(self) -> None:
        for account in self.pipeline.signers:  # learn the issuers' registrations while the node is up
            try:
                self.pipeline.issuer_info(account)
            except Exception as exc:
                log.warning("issuer %s not readable at start: %s", account, exc)
        if self.settings.start_workers:
            workers = [("issuance", lambda: self.pipeline.run_forever(self._stop)),
                       ("notifier", lambda: self.notifier.run_forever(self._stop)),
                       ("webhooks", lambda: self.webhooks.run_forever(self._stop))]
            if self.indexer is not None:
                workers.append(("indexer", lambda: self.indexer.run(self._stop, 0.5)))
        else:  # serving requests only: its server-sent event listeners still hear the chain
            workers = [("events", lambda: self.notifier.relay_forever(self._stop))]
        for name, target in workers:
            t = threading.Thread(target=target, name=f"certnet-{name}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=10)
        self._threads.clear()


def settings_from_data_dir(data_dir: Path, rpc_url: str | None = None, **overrides: Any) -> Settings:
    """Settings for the local system laid out by `certnet up` (keys, deployment, database in data_dir)."""
    from certnet.node.deploy import Deployment
    from certnet.node.keys import service_passphrase

    dfile = data_dir / "deployment.json"
    d = Deployment.load(dfile)
    keys = data_dir / "keys"
    rpc = rpc_url or d.rpc_url or "http://127.0.0.1:8545"
    issuer_ks, admin_ks = sorted(keys.glob("*-issuer.json")), sorted(keys.glob("*-admin.json"))
    # a production start (any chain but the local demo's) takes the passphrase from the environment only
    secret = service_passphrase(data_dir, d.chain_id, rpc) if issuer_ks or admin_ks else None
    return Settings(
        data_dir=data_dir, rpc_url=rpc, deployment_file=dfile,
        db_url=os.environ.get("CERTNET_DB_URL") or f"sqlite:///{data_dir / 'certnet.db'}",
        issuer_keystores=issuer_ks, admin_keystores=admin_ks, passphrase=secret, **overrides,
    )
