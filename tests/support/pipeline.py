"""Shared test helpers (pipeline)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from certnet.issuer import samples
from certnet.issuer.envelope import issuer_block, network_block
from certnet.issuer.outbox import (
    Document,
    open_database,
)
from certnet.issuer.pipeline import Pipeline, PipelineConfig


def docs_for(net, n: int, seed: int = 0, country: str = "VN") -> list[dict]:
    d = net.deployment
    block = issuer_block(d, "VCCI Ho Chi Minh City", net.stores["vn"])
    return list(samples.generate(n, seed=seed, issuer_block=block, network=network_block(d), issuing_country=country))


def make_pipeline(net, tmp_path: Path, **config) -> Pipeline:
    sessions = open_database(f"sqlite:///{tmp_path / 'outbox.db'}")
    return Pipeline(
        sessions,
        net.engine.w3,
        net.deployment,
        {net.addr("vn_issuer"): net.actors["vn_issuer"]},
        PipelineConfig(**config),
    )


def all_docs(p: Pipeline) -> list[Document]:
    with p.sessions() as s:
        return list(s.scalars(select(Document).order_by(Document.id)))
