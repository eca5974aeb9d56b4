"""The API documentation works on a closed network: in Chromium with every request outside 127.0.0.1 blocked,
/v1/docs (Swagger UI) and /v1/redoc show the API's operations, from assets the service serves itself."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Route, expect, sync_playwright

from tests.conftest import make_net
from tests.support.api_fixtures import start_api, stop_api
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="module")
def api(anvil_engine, tmp_path_factory):
    net = make_net(anvil_engine)
    a, server, thread = start_api(net, tmp_path_factory.mktemp("docs-browser"))
    yield a
    stop_api(server, thread)


@pytest.mark.parametrize("path, operation", [("/v1/docs", "/v1/verify"), ("/v1/redoc", "Verify one document")])
def test_api_docs_render_with_the_internet_blocked(api, path, operation):
    assert Path(CHROMIUM).is_file(), f"{CHROMIUM} is missing: run scripts/setup.d/chromium.sh"
    blocked: list[str] = []

    def only_loopback(route: Route) -> None:
        if urlparse(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.route("**/*", only_loopback)
            page.goto(api.url + path)
            if path == "/v1/redoc":  # its operations are headings of the page (the side menu may be folded)
                expect(page.locator("h2", has_text=operation).first).to_be_visible(timeout=30_000)
            else:
                expect(page.get_by_text(operation).first).to_be_visible(timeout=30_000)
        finally:
            browser.close()
    assert not blocked, f"the docs page tried to load from outside: {blocked}"
