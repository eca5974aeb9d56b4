"""Checkpoint bundles served by the API (any key): what `certnet bundle` makes from a node, for offline verification
with `certnet verify --bundle` or the portal's /portal/offline page.

    GET  /v1/bundles/documents/{targetHash}      a document this service issued
    GET  /v1/bundles/batches/{store}/{root}      every document of a batch this service issued
    POST /v1/bundles                             wrapped documents the caller holds (up to the batch limit)

A bundle carries hashes, block headers and trie nodes, never a document's content: what a caller posts is only
read for its hashes and Merkle proof, and nothing of it is echoed but those hashes. Charged per document like
bulk verification.
"""

from __future__ import annotations

import logging
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from certnet.api import openapi_examples as ex
from certnet.api.app import PROBLEM_RESPONSES, PrincipalDep, service_of
from certnet.api.auth import Principal
from certnet.api.problems import Problem
from certnet.verifier.jsjson import dump_bytes

log = logging.getLogger("certnet.api")
router = APIRouter(prefix="/v1", tags=["offline verification"], responses=PROBLEM_RESPONSES)

_HASH = r"^(0x)?[0-9a-fA-F]{64}$"
_ADDRESS = r"^0x[0-9a-fA-F]{40}$"
TargetHash = Annotated[
    str,
    Path(
        pattern=_HASH,
        description="the document's targetHash (hex, 0x optional)",
        openapi_examples=ex.param(ex.TARGET_HASH, "a Form D's targetHash"),
    ),
]
StorePath = Annotated[
    str,
    Path(
        pattern=_ADDRESS,
        description="the issuing authority's DocumentStore",
        openapi_examples=ex.param(ex.VN_STORE, "VCCI HCMC's store"),
    ),
]
RootPath = Annotated[
    str,
    Path(
        pattern=_HASH,
        description="the batch's Merkle root (hex, 0x optional)",
        openapi_examples=ex.param(ex.MERKLE_ROOT, "a batch of two Form Ds"),
    ),
]
BlockQuery = Annotated[
    int | None,
    Query(
        ge=1,
        description="prove the state at this block (default: the latest "
        "block a majority of the validators has sealed over)",
        openapi_examples=ex.param(1042, "block 1042"),
    ),
]

_BUNDLE_PROBLEMS: dict[int | str, dict[str, Any]] = {
    404: {
        "description": "This service issued no such document or batch",
        "content": {
            "application/problem+json": {
                "schema": {"$ref": "#/components/schemas/Problem"},
                "example": ex.problem(
                    404,
                    "Not found",
                    "BATCH_NOT_FOUND",
                    f"no batch with root {ex.MERKLE_ROOT} of store {ex.VN_STORE} was issued here",
                    f"/v1/bundles/batches/{ex.VN_STORE}/{ex.MERKLE_ROOT}",
                ),
            }
        },
    },
    422: {
        "description": "No document the bundle could prove",
        "content": {
            "application/problem+json": {
                "schema": {"$ref": "#/components/schemas/Problem"},
                "example": ex.problem(
                    422,
                    "Unprocessable content",
                    "NO_DOCUMENT_TO_PROVE",
                    "documents.0: the document's data does not hash to its targetHash (tampered)",
                    "/v1/bundles",
                ),
            }
        },
    },
    503: {
        "description": "The node cannot give a bundle (a chain not sealed by validators, a block not yet deep "
        "enough, an unreachable node)",
        "content": {
            "application/problem+json": {
                "schema": {"$ref": "#/components/schemas/Problem"},
                "example": ex.problem(
                    503,
                    "Service unavailable",
                    "BUNDLE_UNAVAILABLE",
                    "this node's chain is not sealed by validators (Clique or QBFT): a bundle needs "
                    "validator seals, anvil and the embedded chain have none",
                    "/v1/bundles",
                ),
            }
        },
    },
}


class BundleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"documents": ex.WRAPPED}]})

    documents: list[dict[str, Any]] = Field(
        min_length=1, description="wrapped OpenAttestation v2 documents: only their hashes and proofs are read"
    )


class BundleOut(BaseModel):
    """The shape of verifier/schemas/bundle.schema.json (written as the maker gives it)."""

    model_config = ConfigDict(json_schema_extra={"examples": [ex.BUNDLE]})

    format: str
    version: int
    network: dict[str, Any]
    engine: str
    issuerRegistry: str
    block: int
    headers: list[str]
    nodes: list[str]
    documents: list[dict[str, str]]
    createdAt: int


#: The handlers are plain functions (FastAPI runs them in its thread pool: reading the node blocks). One bundle is
#: made at a time: the maker's header cache is not made for concurrent writers, and a node serves one well.
_makers_lock = threading.Lock()


def _maker(request: Request) -> Any:
    """One BundleMaker per app (it keeps the headers it has read)."""
    from certnet.verifier.bundle_maker import BundleMaker

    with _makers_lock:
        maker = getattr(request.app.state, "bundle_maker", None)
        if maker is None:
            service = service_of(request)
            maker = BundleMaker(service.w3, service.deployment.issuer_registry, name=service.deployment.name)
            request.app.state.bundle_maker = maker
        return maker


def _make(
    request: Request, principal: Principal, documents: list[Any], block: int | None, where: str = "documents"
) -> Response:
    from certnet.verifier.bundle_maker import MakerError, queries_for

    service = service_of(request)
    service.auth.charge_documents(principal, len(documents))
    queries, signers, skipped = queries_for(documents)
    if not queries:
        why = next((f"{where}.{i}: {w}" for i, w in enumerate(skipped) if w), "no document")
        raise Problem(422, "NO_DOCUMENT_TO_PROVE", why)
    maker = _maker(request)
    try:
        with _makers_lock:
            bundle = maker.make(queries, block=block, signers=signers)
    except MakerError as exc:
        raise Problem(503, "BUNDLE_UNAVAILABLE", str(exc)) from None
    except (OSError, ValueError) as exc:  # an unreachable node, an answer that is not JSON-RPC
        raise Problem(503, "BUNDLE_UNAVAILABLE", f"the node did not answer: {exc}") from None
    except Exception:
        log.exception("bundle for %d documents at block %s failed", len(queries), block)
        raise Problem(
            503,
            "BUNDLE_UNAVAILABLE",
            "the node could not provide the headers and proofs this bundle needs (the service's log has the details)",
        ) from None
    return Response(dump_bytes(bundle), media_type="application/json")


def _hash(h: str) -> str:
    return h.lower().removeprefix("0x")


def _issued(request: Request, **where: Any) -> list[dict[str, Any]]:
    from certnet.issuer.outbox import Batch, Document

    with service_of(request).sessions() as s:
        q = select(Document.wrapped).where(Document.wrapped.is_not(None))
        if "target_hash" in where:
            q = q.where(Document.target_hash == where["target_hash"])
        else:
            q = q.join(Batch, Batch.id == Document.batch_id).where(Batch.merkle_root == where["root"])
        return [w for (w,) in s.execute(q.order_by(Document.id)).all()]


@router.get(
    "/bundles/documents/{targetHash}",
    response_model=BundleOut,
    responses=_BUNDLE_PROBLEMS,
    summary="A checkpoint bundle for a document this service issued",
    description="Any key (issuer, customs, auditor, admin). Headers sealed by the validators and state "
    "proofs that prove the document's status at a recent block: check it offline with "
    "`certnet verify --bundle` or the portal's /portal/offline page against the network's "
    "trust root. Holds hashes only, never the document's content.",
)
def bundle_of_document(
    targetHash: TargetHash, request: Request, block: BlockQuery = None, principal: Principal = PrincipalDep
) -> Response:
    docs = _issued(request, target_hash=_hash(targetHash))
    if not docs:
        raise Problem(404, "DOCUMENT_NOT_FOUND", f"no document with targetHash {_hash(targetHash)} was issued here")
    return _make(request, principal, docs[:1], block)


@router.get(
    "/bundles/batches/{store}/{root}",
    response_model=BundleOut,
    responses=_BUNDLE_PROBLEMS,
    summary="A checkpoint bundle for every document of a batch this service issued",
    description="Any key. As /v1/bundles/documents/{targetHash}, for all the documents of one anchored "
    "batch (store and Merkle root); charged per document.",
)
def bundle_of_batch(
    store: StorePath, root: RootPath, request: Request, block: BlockQuery = None, principal: Principal = PrincipalDep
) -> Response:
    from certnet.verifier.bundle_maker import queries_for

    docs = _issued(request, root=_hash(root))
    # the batch must be the store's: a root is unique here, but the caller names the store too
    queries, _, _ = queries_for(docs) if docs else ([], [], [])
    if not docs or not queries or any(q[0].lower() != store.lower() for q in queries):
        raise Problem(404, "BATCH_NOT_FOUND", f"no batch with root {_hash(root)} of store {store} was issued here")
    return _make(request, principal, docs, block)


@router.post(
    "/bundles",
    response_model=BundleOut,
    responses=_BUNDLE_PROBLEMS,
    summary="A checkpoint bundle for wrapped documents the caller holds",
    description="Any key. Up to the service's per-request limit (1000 by default); charged per document "
    "like bulk verification. Only each document's hashes and Merkle proof are read (the "
    "bundle names its store, root and targetHash); documents that are tampered or name no "
    "store are left out, and none left gives 422 NO_DOCUMENT_TO_PROVE.",
)
def bundle_of_documents(
    body: BundleRequest, request: Request, block: BlockQuery = None, principal: Principal = PrincipalDep
) -> Response:
    limit = service_of(request).settings.max_documents
    if len(body.documents) > limit:
        raise Problem(413, "TOO_MANY_DOCUMENTS", f"{len(body.documents)} documents; at most {limit} per request")
    return _make(request, principal, body.documents, block)
