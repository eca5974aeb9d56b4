"""The FastAPI application: /v1 API, health, readiness, metrics; errors as problem+json; body limits."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from certnet.api import openapi_examples as ex
from certnet.api.auth import Principal
from certnet.api.docs_ui import mount_docs
from certnet.api.problems import (
    Problem,
    handle_http,
    handle_problem,
    handle_unexpected,
    handle_validation,
    problem_response,
)
from certnet.api.service import Service
from certnet.verifier.jsonlimits import JsonTooDeep, exceeds_depth, is_json_content_type

API_DESCRIPTION = """certnet verifies electronic certificates of origin (ATIGA e-Form D) and other trade
e-certificates anchored on a consortium chain.

Authenticate with an API key: `Authorization: Bearer <key>`. Keys are scoped to a role (issuer, customs,
auditor, admin) and a country. Errors are `application/problem+json` documents with a stable `code`."""


class BodyLimit:
    """Refuses request bodies over `limit` bytes (413), whether or not Content-Length is sent."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        seen = 0

        async def limited() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        resp = problem_response(
            413, "BODY_TOO_LARGE", f"request bodies are limited to {self.limit} bytes", scope.get("path")
        )
        await resp(scope, receive, send)


class _TooLarge(Exception):
    pass


class JsonDepthLimit:
    """Refuses a JSON body (or one without a Content-Type, which FastAPI reads as JSON) nested deeper than
    `limit` (400 JSON_TOO_DEEP) before anything parses it (certnet.verifier.jsonlimits). The body is read
    whole (BodyLimit, outside, bounds it) and handed on unchanged."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in ("GET", "HEAD", "OPTIONS")
            or not is_json_content_type(dict(scope.get("headers") or []).get(b"content-type", b"").decode("latin-1"))
        ):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([message], receive), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body and exceeds_depth(body, self.limit):
            resp = problem_response(400, "JSON_TOO_DEEP", str(JsonTooDeep(self.limit, "the body")), scope.get("path"))
            await resp(scope, receive, send)
            return
        await self.app(scope, _replay([{"type": "http.request", "body": body, "more_body": False}], receive), send)


def _replay(messages: list[Any], receive: Receive) -> Receive:
    """A receive that gives `messages` first, then what `receive` gives (a disconnect)."""
    pending = list(messages)

    async def replayed() -> Any:
        return pending.pop(0) if pending else await receive()

    return replayed


class Measure:
    """Request count and latency per route (a plain ASGI middleware: Starlette's BaseHTTPMiddleware costs a
    task group and memory streams per request)."""

    def __init__(self, app: ASGIApp, metrics: Any) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def sending(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(scope["method"], path, str(status)).inc()
            self.metrics.latency.labels(path).observe(time.perf_counter() - start)


def create_app(service: Service) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        service.start()
        yield
        service.stop()

    app = FastAPI(
        title="certnet",
        version="1.0.0",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service
    mount_docs(app)
    app.add_exception_handler(Problem, handle_problem)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, handle_validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, handle_http)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, handle_unexpected)

    app.add_middleware(Measure, metrics=service.metrics)

    from certnet.api import (
        routes_audit,
        routes_bundles,
        routes_checks,
        routes_customs,
        routes_issuer,
        routes_ops,
        routes_registry,
    )

    # routes_checks before routes_customs: /v1/certificates/{targetHash}/decisions before the catch-all
    # /v1/certificates/{country}/{reference:path}
    routers = [
        m.router
        for m in (
            routes_ops,
            routes_issuer,
            routes_checks,
            routes_customs,
            routes_registry,
            routes_audit,
            routes_bundles,
        )
    ]
    for router in routers:
        app.include_router(router)
    from certnet.api.portal import router as portal_router

    app.include_router(portal_router)
    app.add_middleware(JsonDepthLimit, limit=service.settings.max_json_depth)
    app.add_middleware(BodyLimit, limit=service.settings.max_body_bytes)  # outermost
    original_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = original_openapi()
            spec.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
            spec["components"]["securitySchemes"] = {"apiKey": {"type": "http", "scheme": "bearer"}}
            spec["security"] = [{"apiKey": []}]
            _restore_examples(spec, routers)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "code", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string", "description": "stable machine code, e.g. SCHEMA_INVALID"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}},
        },
    },
    "examples": [ex.PROBLEMS[404], ex.PROBLEMS[422]],
}


def _api_models(cls: type[BaseModel] = BaseModel) -> Iterator[type[BaseModel]]:
    """The pydantic models defined in this package (subclasses of `cls`, at any depth)."""
    for sub in cls.__subclasses__():
        if sub.__module__.startswith("certnet.api."):
            yield sub
        yield from _api_models(sub)


def _restore_examples(spec: dict[str, Any], routers: list[APIRouter]) -> None:
    """Put the examples back as written: FastAPI drops every null from the document, examples included, and
    pydantic sorts their keys. (Models' examples go to their schemas, routes' `responses` examples to theirs.)"""
    schemas = spec["components"]["schemas"]
    for model in _api_models():
        extra = model.model_config.get("json_schema_extra")
        if isinstance(extra, dict) and "examples" in extra and model.__name__ in schemas:
            schemas[model.__name__]["examples"] = extra["examples"]
    for route in (r for router in routers for r in router.routes):
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        for method in route.methods:  # type: ignore[union-attr]  # an APIRoute always has methods
            documented = spec["paths"][route.path_format][method.lower()]["responses"]
            for status, response in route.responses.items():
                for media_type, content in response.get("content", {}).items():
                    if "example" in content:
                        documented[str(status)]["content"][media_type]["example"] = content["example"]


def service_of(request: Request) -> Service:
    return request.app.state.service


async def principal_of(request: Request) -> Principal:
    return service_of(request).auth.principal(request)


ServiceDep = Depends(service_of)
PrincipalDep = Depends(principal_of)

#: Largest id accepted in a path (a signed 64-bit integer, what every database holds).
MAX_ID = 2**63 - 1


def id_path(description: str, example: int) -> Any:
    """An id in a path (1 to MAX_ID) with its description and example: ``Annotated[int, id_path(...)]``."""
    return Path(
        ge=1, le=MAX_ID, description=description, openapi_examples=ex.param(example, f"{description}: {example}")
    )


LimitQuery = Annotated[
    int,
    Query(
        ge=1, le=500, description="page size: at most this many items", openapi_examples=ex.param(50, "a page of 50")
    ),
]
OffsetQuery = Annotated[
    int,
    Query(
        ge=0,
        le=10**9,
        description="items to skip (newest first): the page's start",
        openapi_examples=ex.param(0, "the first page"),
    ),
]

PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {
        "description": desc,
        "content": {
            "application/problem+json": {
                "schema": {"$ref": "#/components/schemas/Problem"},
                "example": ex.PROBLEMS[code],
            }
        },
    }
    for code, desc in (
        (400, "Malformed request"),
        (401, "Missing or invalid API key"),
        (403, "Outside the key's scope"),
        (404, "Not found"),
        (409, "Conflict with the current state"),
        (413, "Body too large"),
        (422, "Invalid request"),
        (429, "Rate limited"),
        (503, "A dependency is unavailable"),
    )
}
