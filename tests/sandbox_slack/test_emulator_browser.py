"""The page in headless Chromium: Block Kit renders, a confirmed button click reaches the bot."""

from __future__ import annotations

import json
import os
import struct
import urllib.parse
import zlib
from pathlib import Path

import pytest

from bot.sandbox.slack import EmulatorHandle
from bot.settings import SlackSettings
from bot.slack.client import make_web_client

from .conftest import TOKEN, Receiver

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists() and os.environ.get("CI") != "true",
                       reason="needs Debian's chromium at /usr/bin/chromium"),
]


def bar_chart_png(w: int = 240, h: int = 90) -> bytes:
    """A tiny latency-spike bar chart, as PNG bytes, without any imaging library."""
    heights = [18, 20, 19, 22, 21, 60, 78, 74, 30, 22, 20, 19]
    rows = []
    bar_w = w // len(heights)
    for y in range(h):
        row = bytearray([0])
        for x in range(w):
            bar = heights[min(x // bar_w, len(heights) - 1)]
            inside = (h - y) <= bar and x % bar_w < bar_w - 3
            hot = bar > 50
            row += bytes((224, 30, 90) if inside and hot else (54, 197, 240) if inside else (250, 250, 250))
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + \
        chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def brief_blocks(chart_url: str) -> list[dict]:
    return [
        {"type": "header", "text": {"type": "plain_text", "text": ":rotating_light: INC-42 checkout p99 latency"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Likely cause:* deploy `checkout@v2.3.1` at 09:12 "
                                                               "(<https://example.com/deploys/231|diff>). "
                                                               "On-call: <@U0ALICE> in <#C0INCIDENTS>"},
         "accessory": {"type": "button", "action_id": "open_runbook", "text": {"type": "plain_text", "text": "Runbook"},
                       "value": "rb-checkout"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Severity*\nP1 :red_circle:"},
                                       {"type": "mrkdwn", "text": "*Service*\ncheckout"},
                                       {"type": "mrkdwn", "text": "*Error rate*\n4.2% _(was 0.3%)_"},
                                       {"type": "mrkdwn", "text": "*Confidence*\n0.82"}]},
        {"type": "image", "image_url": chart_url, "alt_text": "p99 latency", "title": {"type": "plain_text", "text": "p99 latency, last hour"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Evidence: ev-1 (datadog), ev-2 (k8s rollout history)"}]},
        {"type": "divider"},
        {"type": "actions", "block_id": "proposal:p-1", "elements": [
            {"type": "button", "action_id": "approve", "style": "primary", "value": "p-1",
             "text": {"type": "plain_text", "text": "Approve rollback"},
             "confirm": {"title": {"type": "plain_text", "text": "Roll back checkout?"},
                         "text": {"type": "mrkdwn", "text": "This runs `k8s.rollout_undo` on *checkout*."},
                         "confirm": {"type": "plain_text", "text": "Roll back"},
                         "deny": {"type": "plain_text", "text": "Cancel"}}},
            {"type": "button", "action_id": "deny", "style": "danger", "value": "p-1",
             "text": {"type": "plain_text", "text": "Deny"}},
            {"type": "button", "action_id": "details", "value": "p-1", "text": {"type": "plain_text", "text": "Details"}},
        ]},
    ]


def test_page_renders_blocks_and_sends_block_actions(emulator: EmulatorHandle, receiver: Receiver) -> None:
    from playwright.sync_api import expect, sync_playwright

    client = make_web_client(SlackSettings.model_validate({"bot_token": TOKEN, "api_url": emulator.api_url}))
    up = client.files_upload_v2(channel="C0INCIDENTS", content=bar_chart_png(), filename="p99.png",
                                title="p99 latency", initial_comment="Chart attached")
    chart_url = up["file"]["url_private"] if "url_private" in up["file"] else \
        emulator.state.messages("incidents")[-1]["files"][0]["url_private"]
    posted = client.chat_postMessage(channel="C0INCIDENTS", text="INC-42 brief", blocks=brief_blocks(chart_url))
    client.chat_postMessage(channel="C0INCIDENTS", thread_ts=posted["ts"], text="Gathering evidence… :mag:")
    client.chat_postEphemeral(channel="C0INCIDENTS", user="U0ALICE", text="You are the approver for this action.")

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(emulator.url + "/")
            page.get_by_test_id("channel-link-incidents").click()
            approve = page.get_by_test_id("button-approve")
            expect(approve).to_be_visible()
            expect(page.get_by_text("Only visible to you")).to_be_visible()
            expect(page.get_by_test_id("thread-link")).to_have_text("1 reply")

            approve.click()
            expect(page.get_by_test_id("confirm-dialog")).to_contain_text("Roll back checkout?")
            page.get_by_test_id("confirm-ok").click()
            reqs = receiver.wait_for(1)
            payload = json.loads(dict(urllib.parse.parse_qsl(reqs[0].body.decode()))["payload"])
            assert payload["type"] == "block_actions"
            assert payload["actions"][0]["action_id"] == "approve" and payload["actions"][0]["block_id"] == "proposal:p-1"
            assert payload["user"]["id"] == "U0ALICE"
            assert payload["container"]["message_ts"] == posted["ts"]

            page.get_by_test_id("user-switcher").select_option("U0BOB")
            page.get_by_test_id("composer").fill("@ai-sre what changed in checkout?")
            page.get_by_test_id("composer").press("Enter")
            reqs = receiver.wait_for(2)
            assert json.loads(reqs[1].body)["event"]["type"] == "app_mention"
            expect(page.get_by_test_id("message").last).to_contain_text("@ai-sre what changed")

            page.get_by_test_id("thread-link").click()
            expect(page.get_by_test_id("thread-pane")).to_contain_text("Gathering evidence")
            page.screenshot(path=str(ARTIFACTS / "emulator_channel.png"))
        finally:
            browser.close()


def test_app_home_button_opens_modal_and_submits(emulator: EmulatorHandle, receiver: Receiver) -> None:
    from playwright.sync_api import expect, sync_playwright

    client = make_web_client(SlackSettings.model_validate({"bot_token": TOKEN, "api_url": emulator.api_url}))
    client.views_publish(user_id="U0ALICE", view={"type": "home", "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "ai-sre :robot_face:"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "Autonomy: *advisory*"},
         "accessory": {"type": "button", "action_id": "change_autonomy", "text": {"type": "plain_text", "text": "Change"}}},
    ]})
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 700})
            page.goto(emulator.url + "/")
            page.get_by_test_id("user-switcher").select_option("U0ALICE")
            page.get_by_test_id("app-home-link").click()
            page.get_by_test_id("button-change_autonomy").click()
            payload = json.loads(dict(urllib.parse.parse_qsl(receiver.wait_for(1)[0].body.decode()))["payload"])
            assert payload["container"]["type"] == "view" and payload["actions"][0]["action_id"] == "change_autonomy"
            client.views_open(trigger_id=payload["trigger_id"], view={
                "type": "modal", "callback_id": "autonomy", "title": {"type": "plain_text", "text": "Autonomy"},
                "submit": {"type": "plain_text", "text": "Save"},
                "blocks": [
                    {"type": "input", "block_id": "level", "label": {"type": "plain_text", "text": "Level"},
                     "element": {"type": "static_select", "action_id": "pick", "options": [
                         {"text": {"type": "plain_text", "text": t}, "value": t} for t in ("shadow", "advisory", "auto")]}},
                    {"type": "input", "block_id": "why", "label": {"type": "plain_text", "text": "Reason"},
                     "element": {"type": "plain_text_input", "action_id": "text", "multiline": True}},
                ]})
            expect(page.get_by_test_id("modal")).to_contain_text("Autonomy")
            page.get_by_test_id("select-pick").select_option("auto")
            page.get_by_test_id("input-text").fill("game day")
            page.screenshot(path=str(ARTIFACTS / "emulator_modal.png"))
            page.get_by_test_id("modal-submit").click()
            expect(page.get_by_test_id("modal")).to_have_count(0)
            sub = json.loads(dict(urllib.parse.parse_qsl(receiver.wait_for(2)[1].body.decode()))["payload"])
            assert sub["type"] == "view_submission"
            values = sub["view"]["state"]["values"]
            assert values["level"]["pick"]["selected_option"]["value"] == "auto"
            assert values["why"]["text"] == {"type": "plain_text_input", "value": "game day"}
        finally:
            browser.close()
