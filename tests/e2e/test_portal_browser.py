"""The portal in a real browser: Debian's Chromium, headless, driven by Playwright (sync API) against a real
service over anvil. These fail (never skip) when Chromium or Playwright is missing: run
scripts/setup.d/chromium.sh and install the project's dev dependencies. Playwright's own browser downloads
are never used."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import make_net
from tests.support.api_fixtures import start_api, stop_api, wait_until
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.portal import issue, raw_docs


@pytest.fixture(scope="module")
def portal(anvil_engine, tmp_path_factory):
    net = make_net(anvil_engine)
    a, server, thread = start_api(net, tmp_path_factory.mktemp("portal-browser"))
    yield a
    stop_api(server, thread)


@pytest.fixture(scope="module")
def issued(portal) -> list[dict]:
    return issue(portal, raw_docs(portal, 4, seed=21))


@pytest.fixture(scope="module")
def browser() -> Browser:
    assert Path(CHROMIUM).is_file(), f"{CHROMIUM} is missing: run scripts/setup.d/chromium.sh"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser, portal) -> Page:
    context = browser.new_context(base_url=portal.url, viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(30_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    yield pg
    context.close()
    # no script errors, no CSP violations, no missing files (refused API keys are answered 401/403 on purpose)
    errors = [e for e in errors if not re.search(r"status of 40[13] ", e)]
    assert not errors, errors


def upload(page: Page, document: dict | bytes, name: str = "certificate.json") -> None:
    page.goto("/portal")
    data = document if isinstance(document, bytes) else json.dumps(document).encode()
    page.set_input_files("#file", files=[{"name": name, "mimeType": "application/json", "buffer": data}])
    expect(page.locator("#file-chosen")).to_contain_text(name)
    page.get_by_role("button", name="Verify").click()


def verdict(page: Page) -> str:
    box = page.locator("#verdict")
    expect(box).to_be_visible()
    return box.get_attribute("data-status") or ""


def test_uploaded_valid_document_shows_valid(page, issued):
    upload(page, issued[0]["wrapped"])
    assert verdict(page) == "VALID"
    expect(page.locator("#verdict-status")).to_contain_text("VALID")
    expect(page.locator(".check").first).to_contain_text("has not been altered")
    # technical details are one click away
    details = page.locator("#technical")
    expect(details.locator("dd").first).not_to_be_visible()
    details.locator("summary").click()
    expect(details).to_contain_text(issued[0]["transactionHash"])
    # the certificate as presented, box by box
    expect(page.locator("#presented #formd")).to_be_visible()
    expect(page.locator("#presented #consignee-name")).not_to_be_empty()
    # its page by hash: status and history, no content without a key
    page.get_by_role("link", name="Status and history of this certificate").click()
    expect(page.locator('#timeline [data-kind="ANCHORED"]')).to_be_visible()
    assert page.locator("#verdict").get_attribute("data-status") == "VALID"
    expect(page.locator("#formd")).to_have_count(0)


def test_dropped_file_is_verified(page, issued):
    page.goto("/portal")
    transfer = page.evaluate_handle(
        """(text) => { const dt = new DataTransfer();
                      dt.items.add(new File([text], 'dropped.json', {type: 'application/json'})); return dt; }""",
        json.dumps(issued[1]["wrapped"]),
    )
    page.dispatch_event("#dropzone", "dragenter", {"dataTransfer": transfer})
    expect(page.locator("#dropzone")).to_have_class(re.compile(r"\bis-over\b"))
    with page.expect_navigation():
        page.dispatch_event("#dropzone", "drop", {"dataTransfer": transfer})
    assert verdict(page) == "VALID"


def test_tampered_document_shows_tampered_with_the_reason(page, issued):
    forged = copy.deepcopy(issued[0]["wrapped"])
    salted = forged["data"]["consignee"]["name"]
    forged["data"]["consignee"]["name"] = salted.rsplit(":", 1)[0] + ":Another Buyer Co."
    upload(page, forged)
    assert verdict(page) == "TAMPERED"
    expect(page.locator("#verdict-status")).to_contain_text("TAMPERED")
    integrity = page.locator('.check[data-check="DOCUMENT_INTEGRITY"]')
    expect(integrity).to_contain_text("Has the document been altered?")
    expect(integrity).to_contain_text("altered after it was issued")
    expect(integrity).to_contain_text("Failed")


def test_revoked_document_shows_reason_and_time(page, portal, issued):
    doc = issued[2]
    with portal.client("issuer_vn") as c:
        action = c.post(f"/v1/documents/{doc['id']}/revoke", json={"reason": "DUPLICATE"}).json()
        wait_until(lambda: c.get(f"/v1/actions/{action['id']}").json()["state"] == "DONE")
    upload(page, doc["wrapped"])
    assert verdict(page) == "REVOKED"
    expect(page.locator("#revocation-reason")).to_contain_text("duplicates another certificate")
    expect(page.locator("#revocation-time")).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$"))
    expect(page.locator("#verdict-message")).to_contain_text("revoked")


def test_certificate_page_renders_the_form_and_prints(page, portal, issued, tmp_path):
    th = issued[0]["targetHash"]
    page.goto(f"/portal/certificates/{th}")
    expect(page.locator('#timeline [data-kind="ANCHORED"]')).to_be_visible()
    expect(page.locator("#formd")).to_have_count(0)  # no key: the status only
    page.get_by_label("API key (issuing authority, customs or auditor)").fill(portal.keys["issuer_vn"])
    page.get_by_role("button", name="Show the content").click()
    form = page.locator("#formd")
    expect(form).to_be_visible()
    for box in range(1, 14):
        expect(form.locator(".box__no", has_text=re.compile(rf"^{box}\.$")).first).to_be_attached()
    expect(page.locator("#exporter-name")).not_to_be_empty()
    expect(page.locator("#consignee-name")).not_to_be_empty()
    expect(page.locator("#content-access")).to_be_hidden()
    page.get_by_role("button", name="Make a QR link to print").click()
    expect(page.locator("svg.qr")).to_be_visible()
    link = page.locator("#qr-link").get_attribute("href")
    assert re.fullmatch(rf"{re.escape(portal.url)}/portal/q/[A-Za-z0-9_-]{{22}}#[A-Za-z0-9_-]{{43}}", link), link
    expect(page.locator(".site-nav")).to_be_visible()
    # print: navigation and buttons hidden, form and QR code kept, A4 PDF produced
    page.emulate_media(media="print")
    expect(page.locator(".site-nav")).to_be_hidden()
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    expect(form).to_be_visible()
    expect(form.locator("svg.qr-print")).to_be_visible()  # the QR code moves into the form's title box
    expect(form.locator("#qr-print")).to_contain_text(link)
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    page.emulate_media(media="screen")
    expect(page.locator(".site-nav")).to_be_visible()


def test_pages_fit_a_phone_screen(browser, portal, issued):
    context = browser.new_context(base_url=portal.url, viewport={"width": 375, "height": 740}, is_mobile=True)
    try:
        pg = context.new_page()
        for path in (
            "/portal",
            f"/portal/v/{issued[0]['targetHash']}",
            f"/portal/certificates/{issued[0]['targetHash']}",
            "/portal/issuer",
            "/portal/auditor",
        ):
            pg.goto(path)
            overflow = pg.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, (path, overflow)
    finally:
        context.close()


def test_issuer_page_lists_batches_and_revokes_a_document(page, portal, issued):
    doc = issued[3]
    key = portal.keys["issuer_vn"]
    page.goto("/portal/issuer")
    expect(page.locator("#workspace")).to_be_hidden()
    page.get_by_label("Issuer API key").fill(key)
    page.get_by_label("Issuer API key").press("Enter")
    expect(page.locator("#workspace")).to_be_visible()
    expect(page.locator("#batches tbody tr").first).to_be_visible()
    expect(page.locator("#batches tbody")).to_contain_text("Anchored")
    # the key lives in sessionStorage only: not in a cookie, not in the URL
    assert page.evaluate("Object.values(sessionStorage)") == [key]
    assert page.evaluate("document.cookie") == "" and key not in page.url
    row = page.locator(f'#documents tr[data-document="{doc["id"]}"]')
    expect(row.locator(".chain-status")).to_contain_text("In force")
    row.get_by_role("button", name=f"Revoke {doc['referenceNumber']}").click()
    dialog = page.locator("#revoke-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Reason").select_option("FRAUDULENT")
    dialog.get_by_role("button", name="Revoke").click()
    expect(page.locator("#status")).to_contain_text("is revoked", timeout=60_000)
    expect(page.locator("#status")).to_contain_text("fraudulent")
    expect(row.locator(".chain-status")).to_contain_text("Revoked")
    # a customs officer verifying it now sees REVOKED
    upload(page, doc["wrapped"])
    assert verdict(page) == "REVOKED"
    expect(page.locator("#revocation-reason")).to_contain_text("fraudulent")
    # the key is kept while the tab lives, and can be forgotten
    page.goto("/portal/issuer")
    expect(page.locator("#workspace")).to_be_visible()
    page.get_by_role("button", name="Forget the key").click()
    expect(page.locator("#workspace")).to_be_hidden()
    assert page.evaluate("sessionStorage.length") == 0


def test_issuer_page_refuses_a_key_of_another_role(page, portal):
    page.goto("/portal/issuer")
    page.get_by_label("Issuer API key").fill(portal.keys["customs_th"])
    page.get_by_role("button", name="Use this key").click()
    expect(page.locator("#key-error")).to_contain_text("not an issuer key")
    expect(page.locator("#workspace")).to_be_hidden()


def test_auditor_page_searches_and_exports(page, portal, issued):
    page.goto("/portal/auditor")
    page.get_by_label("Auditor API key").fill(portal.keys["auditor_vn"])
    page.get_by_role("button", name="Use this key").click()
    expect(page.locator("#results tbody tr").first).to_be_visible()
    page.get_by_label("Reference number (or part of it)").fill(issued[0]["referenceNumber"])
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#results tbody tr")).to_have_count(1)
    expect(page.locator("#results tbody")).to_contain_text(issued[0]["referenceNumber"])
    with page.expect_download() as info:
        page.get_by_role("button", name="Export (NDJSON)").click()
    lines = Path(info.value.path()).read_text().splitlines()
    assert json.loads(lines[0])["type"] == "header"
    assert any(json.loads(x).get("targetHash") == issued[0]["targetHash"] for x in lines[1:])


def test_verify_form_works_with_the_keyboard_only(page, issued):
    page.goto("/portal")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    for _ in range(20):  # tab through the page to the paste box
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "document":
            break
    else:
        pytest.fail("the paste box cannot be reached with Tab")
    page.keyboard.insert_text(json.dumps(issued[1]["wrapped"]))
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "verify-button"
    page.keyboard.press("Enter")
    assert verdict(page) == "VALID"


def test_qr_capability_link_opens_decrypts_and_verifies(browser, page, portal, issued):
    """Print a certificate, open its QR link: the page decrypts it in the browser and shows VALID; a link with
    a wrong key shows nothing but an error; a revoked link shows the status only. The key never reaches the
    service."""
    from certnet.api.portal.qr import qr_svg
    from certnet.verifier.salting import unsalt_data

    doc = issued[1]
    raw = unsalt_data(doc["wrapped"]["data"])
    consignee = raw["consignee"]["name"]
    # the issuer, signed in on the issuer page, prints the certificate with a QR link
    page.goto("/portal/issuer")
    page.get_by_label("Issuer API key").fill(portal.keys["issuer_vn"])
    page.get_by_label("Issuer API key").press("Enter")
    expect(page.locator("#workspace")).to_be_visible()
    page.goto(f"/portal/certificates/{doc['targetHash']}")
    expect(page.locator("#consignee-name")).to_have_text(consignee)  # the tab's issuer key shows the content
    page.get_by_role("button", name="Make a QR link to print").click()
    expect(page.locator("svg.qr")).to_be_visible()
    link = page.locator("#qr-link").get_attribute("href")
    token, key = re.fullmatch(
        rf"{re.escape(portal.url)}/portal/q/([A-Za-z0-9_-]{{22}})#([A-Za-z0-9_-]{{43}})", link
    ).groups()
    printed = re.search(r' d="([^"]+)"', qr_svg(link)).group(1)
    assert page.locator("#qr-code svg path").get_attribute("d") == printed  # the QR code encodes exactly the link
    page.emulate_media(media="print")
    expect(page.locator("#formd svg.qr-print")).to_be_visible()
    page.emulate_media(media="screen")

    def visitor() -> tuple[Page, list[str], Any]:
        context = browser.new_context(base_url=portal.url)
        context.set_default_timeout(30_000)
        seen: list[str] = []
        pg = context.new_page()
        pg.on("request", lambda r: seen.append(f"{r.method} {r.url} {r.post_data or ''}"))
        return pg, seen, context

    # anyone holding the printed link: decrypted in the browser, verified by presenting it
    pg, seen, context = visitor()
    try:
        pg.goto(link)
        expect(pg.locator("#verdict")).to_have_attribute("data-status", "VALID")
        expect(pg.locator("#verdict-status")).to_contain_text("VALID")
        expect(pg.locator("#presented #consignee-name")).to_have_text(consignee)
        assert pg.url == link  # still the link: the result replaced the page in place
        assert seen and not any(key in r for r in seen), seen  # the key stayed in the browser
        assert any(r.startswith(f"GET {portal.url}/portal/api/q/{token}") for r in seen)
        assert any(r.startswith(f"POST {portal.url}/portal/verify ") for r in seen)

        # a wrong key: an error, and nothing of the certificate, not even its status
        wrong = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
        pg.goto("about:blank")  # (a link differing only after "#" would not load the page again)
        pg.goto(f"{portal.url}/portal/q/{token}#{wrong}")
        expect(pg.locator("#capability-error")).to_contain_text("key does not match")
        expect(pg.locator("#verdict")).to_have_count(0)
        assert consignee not in pg.content() and raw["referenceNumber"] not in pg.content()
        pg.goto("about:blank")
        pg.goto(f"{portal.url}/portal/q/{token}")  # no key at all
        expect(pg.locator("#capability-error")).to_contain_text("key after")
        assert consignee not in pg.content()
    finally:
        context.close()

    # the issuer revokes the link: it shows the status only
    with portal.client("issuer_vn") as c:
        links = c.get(f"/v1/documents/{doc['id']}/links").json()
        assert links and all(x["url"] is None for x in links)  # the keys are not kept
        assert c.delete(f"/v1/documents/{doc['id']}/links/{links[-1]['id']}").status_code == 204
    pg, seen, context = visitor()
    try:
        pg.goto(link)
        expect(pg.locator("#link-revoked")).to_be_visible()
        expect(pg.locator("#verdict")).to_have_attribute("data-status", "VALID")
        expect(pg.locator('#timeline [data-kind="ANCHORED"]')).to_be_visible()
        assert consignee not in pg.content() and raw["referenceNumber"] not in pg.content()
        assert not any(key in r for r in seen)
    finally:
        context.close()
