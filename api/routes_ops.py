"""Health, readiness and Prometheus metrics (no key needed)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select, text

from certnet.api import openapi_examples as ex
from certnet.issuer.outbox import ANCHORED, Document
from certnet.node.rpc import deadline

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ex.HEALTH]})

    status: Literal["ok"]


class Readiness(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ex.READY, ex.NOT_READY]})

    status: Literal["ready", "not ready"]
    checks: dict[str, dict[str, Any]] = Field(
        description="chain, database and (when the service keeps one) index: "
        "each with `ok` and what was measured or the error"
    )


@router.get(
    "/healthz",
    response_model=Health,
    summary="Liveness: the process answers",
    description="Anyone may call it (no key). Answers as long as the process serves requests.",
)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: chain reachable, database usable, index not lagging",
    description="Anyone may call it (no key). 200 when the chain node answers, the database is usable and "
    "the index is within its allowed lag (`index_max_lag_blocks`, 20 by default, beyond the confirmation "
    "depth, and synced within `index_max_age` seconds); 503 with the failing checks otherwise.",
    responses={
        200: {"model": Readiness, "description": "Ready"},
        503: {
            "model": Readiness,
            "description": "Not ready: the failing checks say why",
            "content": {"application/json": {"example": ex.NOT_READY}},
        },
    },
)
def readyz(request: Request) -> JSONResponse:
    service = request.app.state.service
    with deadline(service.settings.verify_timeout):  # a hung node makes this answer "not ready", not wait
        return _readiness(service)


def _readiness(service: Any) -> JSONResponse:
    checks: dict[str, dict] = {}
    ready = True
    try:
        head = service.w3.eth.block_number
        checks["chain"] = {"ok": True, "head": head, "chainId": service.w3.eth.chain_id}
    except Exception as exc:
        head = None
        ready = False
        checks["chain"] = {"ok": False, "error": f"node unreachable: {type(exc).__name__}"}
    try:
        with service.sessions() as s:
            s.execute(text("SELECT 1"))
        checks["database"] = {"ok": True}
    except Exception as exc:
        ready = False
        checks["database"] = {"ok": False, "error": type(exc).__name__}
    if service.indexer is not None:
        try:
            lag = service.indexer.lag()
            service.metrics.index_lag.set(lag)
            max_lag = service.settings.index_max_lag_blocks + service.settings.confirmations
            stale = service.index_staleness()
            ok = lag <= max_lag and stale is None
            ready = ready and ok
            checks["index"] = {"ok": ok, "lagBlocks": lag, "maxLag": max_lag}
            if stale:
                checks["index"]["stale"] = stale
        except Exception as exc:
            ready = False
            checks["index"] = {"ok": False, "error": type(exc).__name__}
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    description="Anyone may call it (no key): request counts and latencies, verdicts, index lag, "
    "outbox backlog and webhook deliveries in the Prometheus text format.",
    responses={200: ex.text_example("text/plain", ex.METRICS, "Prometheus text exposition format 0.0.4")},
)
def metrics(request: Request) -> Response:
    service = request.app.state.service
    with service.sessions() as s:
        pending = s.scalar(select(func.count()).select_from(Document).where(Document.state != ANCHORED)) or 0
    service.metrics.outbox_pending.set(pending)
    return Response(service.metrics.render(), media_type="text/plain; version=0.0.4")
