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

from certnet.api.auth import Authenticator, RateLimiter
from certnet.api.models import ApiBase
from certnet.issuer.outbox import open_database
from certnet.issuer.pipeline import Pipeline, PipelineConfig
from certnet.node.deploy import Deployment
from certnet.node.engines import http_web3
from certnet.node.signers import SignerConfig, load_signer_config, open_signers
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
    #: issuer and admin accounts whose keys are in an external signer (Clef), not in a keystore here
    signer: SignerConfig | None = None
    confirmations: int = 0
    max_body_bytes: int = 16 * 1024 * 1024
    max_documents: int = 1000
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
        for signer in open_signers(settings.issuer_keystores, secret, settings.signer, "issuer"):
            t = Transactor(self.w3, signer)
            issuers[t.address] = t
        self.admins: dict[str, Transactor] = {}
        registry = self.deployment.issuer_registry_client(self.w3)
        for signer in open_signers(settings.admin_keystores, secret, settings.signer, "admin"):
            t = Transactor(self.w3, signer)
            country = registry.admin_country_of(t.address)
            if country:
                self.admins[country] = t
            else:
                log.warning("%r is not an admin of any member country; ignored", signer)
        self.pipeline = Pipeline(self.sessions, self.w3, self.deployment, issuers, PipelineConfig(
            max_batch=settings.max_batch, max_age=settings.max_batch_age, confirmations=settings.confirmations))
        self.chain_source = ChainSource(self.w3, self.deployment, settings.confirmations)
        self.index_source: StatusSource | None = None
        self.indexer: Any = None
        self._setup_index()
        self.auth = Authenticator(self.sessions, RateLimiter(settings.rate_per_second, settings.rate_burst))
        from certnet.api.notify import Notifier

        self.notifier = Notifier(self)
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
                       ("notifier", lambda: self.notifier.run_forever(self._stop))]
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
    from certnet.api.system import local_passphrase
    from certnet.node.deploy import Deployment

    dfile = data_dir / "deployment.json"
    d = Deployment.load(dfile)
    keys = data_dir / "keys"
    return Settings(
        data_dir=data_dir, rpc_url=rpc_url or d.rpc_url or "http://127.0.0.1:8545", deployment_file=dfile,
        db_url=os.environ.get("CERTNET_DB_URL") or f"sqlite:///{data_dir / 'certnet.db'}",
        issuer_keystores=sorted(keys.glob("*-issuer.json")), admin_keystores=sorted(keys.glob("*-admin.json")),
        passphrase=local_passphrase(data_dir), signer=load_signer_config(data_dir), **overrides,
    )
