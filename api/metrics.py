"""Prometheus metrics of the service (one registry per service instance).

Under `certnet serve --workers N` the supervisor sets PROMETHEUS_MULTIPROC_DIR before forking: every worker
then writes its values to files there and a scrape, whichever worker answers it, reads the sum of all
(prometheus_client's multi-process mode). The gauges are set at scrape time, so the most recent value counts.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "certnet_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "certnet_http_request_seconds",
            "HTTP request latency",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.verdicts = Counter(
            "certnet_verdicts_total", "Verification verdicts", ["status", "mode"], registry=self.registry
        )
        self.index_lag = Gauge(
            "certnet_index_lag_blocks",
            "Blocks between the chain head and the index",
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )
        self.outbox_pending = Gauge(
            "certnet_outbox_pending_documents",
            "Accepted documents not anchored yet",
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )
        self.leading = Gauge(
            "certnet_workers_leader",
            "1 in the process that runs the background workers (elected through the database), else 0",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.deliveries = Counter(
            "certnet_notifications_total", "Webhook deliveries", ["result"], registry=self.registry
        )
        self.reanchored = Counter(
            "certnet_batches_reanchored_total",
            "Anchored batches the chain lost (node restart, reorg), sent to be anchored again",
            registry=self.registry,
        )
        self.issuance_recoveries = Counter(
            "certnet_issuance_recoveries_total",
            "Issuance recoveries: batches re-mined in another block (moved), "
            "issuer nonces reset (nonce_reset), revocations/supersessions sent again (action_resent)",
            ["event"],
            registry=self.registry,
        )

    def pipeline_event(self, event: str) -> None:
        """A listener of the issuance pipeline (certnet.issuer.pipeline.Pipeline.listeners)."""
        if event == "reanchored":
            self.reanchored.inc()
        else:
            self.issuance_recoveries.labels(event).inc()

    def render(self) -> bytes:
        if os.environ.get(MULTIPROC_ENV):  # the sum over every worker of the service
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)
