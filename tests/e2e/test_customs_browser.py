"""The customs decision and check panels in a real Chromium (headless, Playwright), on VN's and TH's services over
one anvil: TH's customs decides and asks on the certificate page; VN's authority answers (and revokes) from its
inbox of checks; TH closes; the certificate's timeline shows every step. Fails (never skips) without Chromium."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import make_net
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.customs_fixtures import issue, receive, vn_and_th, wait_for

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def world(anvil_engine, tmp_path_factory) -> Iterator[dict[str, Any]]:
    net = make_net(anvil_engine)
    vn, th = vn_and_th(net, tmp_path_factory.mktemp("customs-browser"))
    w: dict[str, Any] = {"net": net, "vn": vn, "th": th}
    try:
        yield w
    finally:
        vn.stop()
        th.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).is_file(), f"{CHROMIUM} is missing: run scripts/setup.d/chromium.sh"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def new_page(browser: Browser, base_url: str, errors: list[str]) -> Page:
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(60_000)
    pg = context.new_page()
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return pg


def test_both_sides_in_the_browser(world, browser):
    vn, th = world["vn"], world["th"]
    wrapped = issue(world, 1, seed=1701)[0]
    th_hash = wrapped["signature"]["targetHash"]
    receive(th, "customs_th", wrapped)
    errors: list[str] = []

    # TH's customs, on the certificate page of its own service
    p = new_page(browser, th.url, errors)
    p.goto(f"/portal/certificates/{th_hash}")
    panel = p.locator("#customs-panel")
    expect(panel).to_be_visible()
    p.fill("#customs-api-key", th.keys["customs_th"])
    panel.get_by_role("button", name="Show").click()
    expect(p.locator("#customs-who")).to_contain_text("customs (TH)")
    expect(p.locator("#decisions-empty")).to_be_visible()
    p.select_option("#decision-preference", "NOT_GIVEN")
    p.select_option("#decision-reason", "ORIGIN_CRITERION_NOT_MET")
    p.fill("#decision-note", "RVC not supported by the cost statement.")
    p.get_by_role("button", name="Record the decision").click()
    expect(p.locator("#customs-status")).to_contain_text("Decision recorded")
    expect(p.locator("#decisions li")).to_have_count(1)
    expect(p.locator("#decisions li").first).to_contain_text("Preference not given")
    expect(p.locator("#decisions li").first).to_contain_text("RVC not supported")
    p.select_option("#check-reason", "DOUBT_ORIGIN")
    p.fill("#check-questions", "Confirm the RVC of item 1.\nSend the cost statement.")
    p.get_by_role("button", name="Ask for a retroactive check").click()
    expect(p.locator("#customs-status")).to_contain_text("Retroactive check requested")
    check = p.locator("#panel-checks .panel-check")
    expect(check).to_have_count(1)
    expect(check).to_contain_text("open")
    expect(check.locator(".questions li")).to_have_count(2)
    expect(p.locator("#check-form")).to_be_hidden()  # one open check at a time
    check_id = check.get_attribute("data-check")

    # VN's authority: its inbox of checks with the deadline, then the answer with a revocation
    q = new_page(browser, vn.url, errors)
    q.goto("/portal/checks")
    q.fill("#api-key", vn.keys["issuer_vn"])
    q.get_by_role("button", name="Use this key").click()
    expect(q.locator("#key-role")).to_contain_text("issuer (VN)")
    row = q.locator(f'#checks tr[data-check="{check_id}"]')

    def listed() -> bool:
        q.locator("#refresh").click()
        q.wait_for_timeout(300)
        return row.count() == 1

    with vn.client("issuer_vn") as c:  # VN's service fetched the request's text from TH's
        wait_for(lambda: c.get(f"/v1/checks/{check_id}").json().get("request"), 30, "VN to hold the request")
    wait_for(listed, 30, "VN's inbox of checks to list it")
    expect(row).to_contain_text("VN → TH")
    expect(row.locator(".due")).to_contain_text("UTC")
    row.get_by_role("button", name=f"Answer check {check_id}").click()
    dialog = q.locator("#answer-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Confirm the RVC of item 1.")
    expect(dialog.locator(".questions li")).to_have_count(2)
    q.select_option("#answer-result", "NOT_CONFIRMED")
    q.fill("#answer-findings", "The exporter could not substantiate the RVC.")
    q.check("#answer-revoke")
    q.get_by_role("button", name="Send the answer").click()
    expect(q.locator("#status")).to_contain_text(
        re.compile(r"answered \(not confirmed, certificate revoked"), timeout=120_000
    )

    # TH sees the answer, closes the check; the timeline has every step
    p.goto("/portal/checks")
    expect(p.locator("#key-role")).to_contain_text("customs (TH)")  # the same key, kept in this tab
    th_row = p.locator(f'#checks tr[data-check="{check_id}"]')

    def answered() -> bool:
        p.locator("#refresh").click()
        p.wait_for_timeout(300)
        return th_row.count() == 1 and "Not confirmed" in th_row.inner_text()

    wait_for(answered, 30, "TH to see the answer")
    expect(th_row).to_contain_text("revoked")
    th_row.get_by_role("button", name=f"Close check {check_id}").click()
    expect(p.locator("#status")).to_contain_text(f"Check {check_id} is closed")

    def timeline_complete() -> bool:
        p.goto(f"/portal/certificates/{th_hash}")
        kinds = p.locator("#timeline li").evaluate_all("els => els.map(e => e.dataset.kind)")
        return {"DECIDED", "CHECK_OPENED", "CHECK_ANSWERED", "CHECK_CLOSED", "REVOKED"} <= set(kinds)

    wait_for(timeline_complete, 30, "the timeline to hold every step")
    expect(p.locator('#timeline li[data-kind="DECIDED"]')).to_contain_text("did not give preference")
    expect(p.locator('#timeline li[data-kind="CHECK_ANSWERED"]')).to_contain_text("not confirmed")
    expect(p.locator("#panel-checks .panel-check").first).to_contain_text("closed")
    expect(p.locator("#panel-checks .panel-check").first).to_contain_text("could not substantiate")
    # the status banner turned revoked
    expect(p.locator("#verdict")).to_have_attribute("data-status", "REVOKED")
    errors = [e for e in errors if not re.search(r"status of 40[1349] ", e)]
    assert not errors, errors
