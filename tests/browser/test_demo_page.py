"""The demo page in headless Chromium, with the real bot behind it: a person types /aisre help, sees
the reply, clicks Approve on the approval card and sees the card update. The screenshot is kept in
tests/browser/artifacts/ (gitignored) for a person to look at."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCENARIO = Path(__file__).parents[2] / "scenarios" / "deploy_regression-1-payments-api.yaml"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists() and os.environ.get("CI") != "true",
                       reason="needs Debian's chromium at /usr/bin/chromium"),
]


@pytest.fixture
def demo(tmp_path):
    from bot.sandbox.demo import run_demo

    d = run_demo(SCENARIO, speed=30, workdir=tmp_path)
    yield d
    d.stop()


def test_help_then_approve_updates_the_card(demo) -> None:
    from playwright.sync_api import expect, sync_playwright

    from bot.sandbox.demo import _wait

    inc = _wait(lambda: (i := demo.incident()) is not None and (i.extra or {}).get("proposal") and i, 60)
    assert inc, "no incident brief"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            page.goto(demo.page_url)
            page.locator("[data-testid^='channel-link-inc-']").first.click()
            expect(page.locator("[data-testid='message']").first).to_be_visible()
            page.locator("[data-testid='composer']").fill("/aisre help")
            page.locator("[data-testid='composer']").press("Enter")
            expect(page.get_by_text("/aisre rollback").first).to_be_visible(timeout=15000)

            approve = page.locator("[data-testid='button-aisre.approval.approve']").last
            expect(approve).to_be_visible()
            approve.click()
            if page.locator("[data-testid='confirm-ok']").count():
                page.locator("[data-testid='confirm-ok']").click()
            expect(page.get_by_text("Approved by").first).to_be_visible(timeout=20000)
            # the card goes on updating as the action runs: verified (or reverted) is its last state
            expect(page.get_by_text(re.compile(r"(verified|reverted)")).first).to_be_visible(timeout=40000)
            page.screenshot(path=str(ARTIFACTS / "demo_after_approve.png"), full_page=True)
        finally:
            browser.close()
