"""API documentation pages that work on a closed network: Swagger UI at /v1/docs and ReDoc at /v1/redoc, their
scripts and styles served by this service from the pinned `fastapi-offline` package (never from a CDN)."""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

ASSETS = "/v1/docs-assets"


#: the one address outside this service that ReDoc's script loads (its logo): served from here instead
REDOC_CDN_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def mount_docs(app: FastAPI, openapi_url: str = "/v1/openapi.json") -> None:
    static = files("fastapi_offline") / "static"
    redoc_js = (
        (static / "redoc.standalone.js").read_text(encoding="utf-8").replace(REDOC_CDN_LOGO, f"{ASSETS}/favicon.png")
    )

    @app.get(f"{ASSETS}/redoc.js", include_in_schema=False)
    def redoc_script() -> Response:
        return Response(redoc_js, media_type="text/javascript")

    app.mount(ASSETS, StaticFiles(directory=str(static)), name="docs-assets")

    @app.get("/v1/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title="certnet API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
        )

    @app.get("/v1/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title="certnet API",
            redoc_js_url=f"{ASSETS}/redoc.js",
            redoc_favicon_url=f"{ASSETS}/favicon.png",
            with_google_fonts=False,
        )
