"""The running service: its configuration, connections and background workers (issuance pipeline, index
follower, notification dispatcher), shared by the API routes and the portal."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from certnet.api import customs as customs_tables
from certnet.api.auth import FAILED_AUTH, Authenticator, ClientAddress, RateLimiter
from certnet.api.models import ApiBase
from certnet.issuer.outbox import open_database
from certnet.issuer.pipeline import Pipeline, PipelineConfig
from certnet.node.deploy import Deployment
from certnet.node.engines import http_web3
from certnet.node.rpc import deadline, log_failure
from certnet.node.signers import SignerConfig, load_signer_config, open_signers
from certnet.node.tx import Transactor
from certnet.verifier.sources import ChainSource, NetworkInfo, SourceError
from certnet.verifier.verify import Verifier

if TYPE_CHECKING:
    from certnet.index.source import IndexedSource

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
    customs_keystores: list[Path] = field(default_factory=list)  # <cc>-customs.json: a customs key of country cc
    peers: dict[str, str] = field(default_factory=dict)  # member country -> its service's URL (customs texts)
    passphrase: str | None = None
    #: issuer and admin accounts whose keys are in an external signer (Clef), not in a keystore here
    signer: SignerConfig | None = None
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
    #: seconds between the pipeline's checks of recently anchored batches against the chain, and how many
    #: blocks back they go (a node that lost blocks or a reorg is checked at once, whatever these say)
    reconcile_interval: float = 30.0
    reconcile_window: int = 5000
    start_workers: bool = True
    #: seconds one JSON-RPC request of the background workers (issuance, index, notices) may take
    rpc_timeout: float = 30.0
    #: seconds one verification (every node call it makes) may take before its verdict is ERROR
    verify_timeout: float = 5.0
    #: index mode answers only while the index is at most this many blocks behind the confirmed head ...
    index_max_lag_blocks: int = 20
    #: ... and its follower completed a sync at most this many seconds ago
    index_max_age: float = 30.0
    #: what index mode does beyond those bounds: "chain" (read the node instead) or "error" (verdict ERROR)
    stale_index: str = "chain"

    def __post_init__(self) -> None:
        for name in ("rpc_timeout", "verify_timeout", "index_max_age"):
            if not getattr(self, name) > 0:
                raise ValueError(f"setting {name} must be a positive number of seconds, got {getattr(self, name)!r}")
        if self.index_max_lag_blocks < 0:
            raise ValueError(f"setting index_max_lag_blocks must be 0 or more, got {self.index_max_lag_blocks!r}")
        if self.stale_index not in ("chain", "error"):
            raise ValueError(f"setting stale_index must be 'chain' or 'error', got {self.stale_index!r}")


class BoundedVerifier:
    """A verifier whose every node call, together, ends within `seconds` (then the verdict is ERROR). `choose`
    picks the verifier inside that bound (index mode reads the chain's head to measure the index's lag)."""

    def __init__(self, choose: Callable[[], Verifier], seconds: float) -> None:
        self.choose = choose
        self.seconds = seconds

    def verify(self, document: Any) -> Any:
        return self.verify_many([document])[0]

    def verify_many(self, documents: Sequence[Any]) -> list[Any]:
        with deadline(self.seconds):
            return self.choose().verify_many(documents)


class StaleIndex:
    """The index beyond its allowed lag, when the service answers ERROR rather than reading the chain."""

    kind = "index"

    def __init__(self, index: IndexedSource, reason: str) -> None:
        self.index = index
        self.reason = reason

    def network(self) -> NetworkInfo:
        return self.index.network()

    def read(self, pairs: Sequence[tuple[str, str]]) -> Any:
        raise SourceError(self.reason)

    def issuer_name(self, account: str) -> str | None:
        return self.index.issuer_name(account)  # type: ignore[attr-defined]  # DEAD and wrong: no caller; no such method


#: seconds the chain's head, read for the index's lag, is reused (so the lag bound holds as of this long ago;
#: the follower itself syncs every 0.5 s)
HEAD_TTL = 0.5


class Service:
    """Everything the routes need. `start()` runs the background workers, `stop()` ends them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.w3 = http_web3(settings.rpc_url, timeout=settings.rpc_timeout)
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
        self.pipeline = Pipeline(
            self.sessions,
            self.w3,
            self.deployment,
            issuers,
            PipelineConfig(
                max_batch=settings.max_batch,
                max_age=settings.max_batch_age,
                confirmations=settings.confirmations,
                reconcile_interval=settings.reconcile_interval,
                reconcile_window=settings.reconcile_window,
            ),
        )
        self.chain_source = ChainSource(self.w3, self.deployment, settings.confirmations)
        self.index_source: IndexedSource | None = None
        self.indexer: Any = None
        self._setup_index()
        self.auth = Authenticator(
            self.sessions,
            RateLimiter(settings.rate_per_second, settings.rate_burst),
            failures=RateLimiter(settings.auth_failure_rate, settings.auth_failure_burst, table=FAILED_AUTH),
            client_address=ClientAddress(settings.trusted_proxy_header, settings.trusted_proxies),
        )
        from certnet.api.notify import Notifier
        from certnet.api.webhooks import Deliverer, WebhookSettings, parse_allow_list, system_resolver

        self.notifier = Notifier(self)
        self.webhooks = Deliverer(
            self,
            WebhookSettings(
                allow=parse_allow_list(settings.webhook_allow),
                timeout=settings.webhook_timeout,
                concurrency=settings.webhook_concurrency,
                resolve=settings.webhook_resolver or system_resolver,
            ),
        )
        self.customs = customs_tables.load_customs_keys(self.w3, settings.customs_keystores, secret)
        self.customs_desk = customs_tables.CustomsDesk(self)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.election: Any = None  # certnet.api.election.Election, when this process campaigns for the workers
        from certnet.api.metrics import Metrics

        self.metrics = Metrics()
        self.pipeline.listeners.append(self.metrics.pipeline_event)
        self._head: tuple[int, float] | None = None  # (head block, monotonic time read)
        self._stale_reason: str | None = None

    def _setup_index(self) -> None:
        from certnet.index.follower import Indexer
        from certnet.index.source import IndexedSource

        self.indexer = Indexer(
            self.w3, self.deployment, self.settings.db_url, confirmations=self.settings.confirmations
        )
        self.index_source = IndexedSource(self.settings.db_url, self.deployment)

    def verifier(self, mode: str = "chain") -> BoundedVerifier:
        """A verifier reading the chain, or the index while it is within its allowed lag (beyond it: the chain,
        or ERROR, as `stale_index` says); either way every node call of a verification ends within
        `verify_timeout` seconds."""
        if mode == "index" and self.index_source is None:
            from certnet.api.problems import Problem

            raise Problem(503, "INDEX_UNAVAILABLE", "this service runs without an index; use mode=chain")
        return BoundedVerifier(lambda: self._choose(mode), self.settings.verify_timeout)

    def _choose(self, mode: str) -> Verifier:
        if mode != "index":
            return Verifier(self.chain_source)
        assert self.index_source is not None
        stale = self.index_staleness()
        if self._stale_reason != stale:  # logged when it changes, not for every request
            if stale:
                log.warning(
                    "index mode: %s; answering from %s",
                    stale,
                    "the chain" if self.settings.stale_index == "chain" else "nothing (ERROR)",
                )
            else:
                log.info("index mode: the index is within its allowed lag again")
            self._stale_reason = stale
        if stale is None:
            return Verifier(self.index_source)
        if self.settings.stale_index == "error":
            return Verifier(StaleIndex(self.index_source, stale))  # type: ignore[arg-type]  # its read() fails: asked nothing more
        return Verifier(self.chain_source)

    def head_is_cached(self) -> bool:
        """The chain's head for the index's lag is known without asking the node (a request can stay on the
        event loop)."""
        return self._head is not None and time.monotonic() - self._head[1] < HEAD_TTL

    def chain_head(self) -> int:
        """The node's head block, reused for HEAD_TTL seconds."""
        cached = self._head
        if cached is not None and time.monotonic() - cached[1] < HEAD_TTL:
            return cached[0]
        head = self.w3.eth.block_number
        self._head = (head, time.monotonic())
        return head

    def index_staleness(self) -> str | None:
        """None while the index may answer (at most `index_max_lag_blocks` behind the confirmed head, synced
        within `index_max_age` seconds); otherwise why not, as a sentence for the verdict."""
        s = self.settings
        try:
            number, synced_at = self.index_source.index.freshness()  # type: ignore[union-attr]
        except Exception as exc:
            log.warning("index mode: the index's checkpoint could not be read: %s: %s", type(exc).__name__, exc)
            return "the service's index could not be read"
        age = time.time() - synced_at
        if age > s.index_max_age:
            return (
                f"the service's index was last brought up to date {age:.0f} seconds ago, longer than the "
                f"{s.index_max_age:g} seconds allowed"
            )
        try:
            head = self.chain_head()
        except Exception as exc:
            return f"the index's lag could not be measured: {log_failure(exc, 'index mode: reading the head')}"
        behind = head - s.confirmations - number
        if behind > s.index_max_lag_blocks:
            return (
                f"the service's index is {behind} blocks behind the chain, more than the "
                f"{s.index_max_lag_blocks} allowed"
            )
        return None

    # ------------------------------------------------------------------ workers

    def start(self) -> None:
        for account in self.pipeline.signers:  # learn the issuers' registrations while the node is up
            try:
                self.pipeline.issuer_info(account)
            except Exception as exc:
                log.warning("issuer %s not readable at start: %s", account, exc)
        # every process relays the notifier's notices to its own server-sent event listeners
        self._threads += _start_threads([("events", lambda: self.notifier.relay_forever(self._stop))])
        if self.settings.start_workers:  # the background workers: in the one process elected by the database
            from certnet.api.election import Election

            self.election = Election(self.sessions.kw["bind"], self._start_workers, on_change=self.metrics.leading.set)
            self._threads += _start_threads([("election", lambda: self.election.run(self._stop))])

    def _start_workers(self, term: threading.Event) -> list[threading.Thread]:
        """The background workers of one term as leader, running until `term` is set."""
        workers = [
            ("issuance", lambda: self.pipeline.run_forever(term)),
            ("notifier", lambda: self.notifier.run_forever(term)),
            ("webhooks", lambda: self.webhooks.run_forever(term)),
            ("customs", lambda: self.customs_desk.run_forever(term)),
        ]
        if self.indexer is not None:
            workers.append(("indexer", lambda: self.indexer.run(term, 0.5)))
        return _start_threads(workers)

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=10)
        self._threads.clear()


def _start_threads(targets: list[tuple[str, Callable[[], Any]]]) -> list[threading.Thread]:
    threads = [threading.Thread(target=target, name=f"certnet-{name}", daemon=True) for name, target in targets]
    for t in threads:
        t.start()
    return threads


def settings_from_data_dir(data_dir: Path, rpc_url: str | None = None, **overrides: Any) -> Settings:
    """Settings for the local system laid out by `certnet up` (keys, deployment, database in data_dir)."""
    from certnet.node.deploy import Deployment
    from certnet.node.keys import service_passphrase

    dfile = data_dir / "deployment.json"
    d = Deployment.load(dfile)
    keys = data_dir / "keys"
    rpc = rpc_url or d.rpc_url or "http://127.0.0.1:8545"
    issuer_ks, admin_ks = sorted(keys.glob("*-issuer.json")), sorted(keys.glob("*-admin.json"))
    customs_ks = sorted(keys.glob("*-customs.json"))
    # a production start (any chain but the local demo's) takes the passphrase from the environment only
    secret = service_passphrase(data_dir, d.chain_id, rpc) if issuer_ks or admin_ks or customs_ks else None
    return Settings(
        data_dir=data_dir,
        rpc_url=rpc,
        deployment_file=dfile,
        db_url=os.environ.get("CERTNET_DB_URL") or f"sqlite:///{data_dir / 'certnet.db'}",
        issuer_keystores=issuer_ks,
        admin_keystores=admin_ks,
        customs_keystores=customs_ks,
        passphrase=secret,
        signer=load_signer_config(data_dir),
        **overrides,
    )
