"""Errors as RFC 9457 problem documents (application/problem+json) with a stable machine code."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from certnet import CertnetError

PROBLEM_JSON = "application/problem+json"

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class Problem(CertnetError):
    """Raise to answer with a problem document."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors
        self.headers = headers


def problem_response(
    status: int,
    code: str,
    detail: str,
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://certnet.example/problems/{code.lower().replace('_', '-')}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "code": code,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


async def handle_problem(request: Request, exc: Problem) -> JSONResponse:
    return problem_response(exc.status, exc.code, exc.detail, request.url.path, exc.errors, exc.headers)


def _loc(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "body"


async def handle_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{"field": _loc(tuple(e.get("loc", ()))), "message": e.get("msg", "invalid")} for e in exc.errors()]
    json_error = any(e.get("type") == "json_invalid" for e in exc.errors())
    code = "MALFORMED_JSON" if json_error else "INVALID_REQUEST"
    detail = (
        "the body is not valid JSON" if json_error else "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    )
    return problem_response(422 if not json_error else 400, code, detail, request.url.path, errors)


async def handle_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 401: "UNAUTHORIZED", 403: "FORBIDDEN"}.get(
        exc.status_code, f"HTTP_{exc.status_code}"
    )
    return problem_response(
        exc.status_code, code, str(exc.detail), request.url.path, headers=getattr(exc, "headers", None)
    )


async def handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    import logging

    logging.getLogger("certnet.api").exception("unhandled error on %s", request.url.path)
    return problem_response(500, "INTERNAL_ERROR", "an internal error occurred; it was logged", request.url.path)
