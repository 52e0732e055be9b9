"""Signed requests to the bot, Slack's event retries, response_url, and outbound retries via make_web_client."""

from __future__ import annotations

import json
import urllib.parse

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier

from bot.sandbox.slack import BOT_USER_ID, EmulatorHandle
from bot.settings import SlackSettings
from bot.slack.client import make_web_client

from .conftest import SECRET, TOKEN, Receiver


def verified(r) -> bool:  # type: ignore[no-untyped-def]
    return SignatureVerifier(SECRET).is_valid(r.body, r.headers["X-Slack-Request-Timestamp"], r.headers["X-Slack-Signature"])


def test_mention_is_signed_app_mention(emulator: EmulatorHandle, receiver: Receiver) -> None:
    msg, fut = emulator.people.post_message("U0ALICE", "incidents", "@ai-sre what broke?")
    assert fut is not None and fut.result(timeout=5).ok
    (req,) = receiver.wait_for(1)
    assert verified(req)
    env = json.loads(req.body)
    assert env["type"] == "event_callback" and env["event_id"].startswith("Ev")
    assert env["event"]["type"] == "app_mention"
    assert env["event"]["text"] == f"<@{BOT_USER_ID}> what broke?"
    assert env["event"]["channel"] == "C0INCIDENTS" and env["event"]["ts"] == msg["ts"]
    assert env["authorizations"][0]["user_id"] == BOT_USER_ID


def test_plain_message_and_reaction_events(emulator: EmulatorHandle, receiver: Receiver) -> None:
    msg, fut = emulator.people.post_message("U0BOB", "general", "deploying now")
    assert fut is not None
    fut.result(timeout=5)
    fut2 = emulator.people.react("U0BOB", "general", msg["ts"], "eyes")
    assert fut2 is not None
    fut2.result(timeout=5)
    events = [json.loads(r.body)["event"] for r in receiver.wait_for(2)]
    assert [e["type"] for e in events] == ["message", "reaction_added"]
    assert events[0]["channel_type"] == "channel" and events[0]["user"] == "U0BOB"
    assert events[1]["item"] == {"type": "message", "channel": "C0GENERAL", "ts": msg["ts"]}


def test_url_verification(emulator: EmulatorHandle, receiver: Receiver) -> None:
    receiver.reply = b"emulator-challenge"
    d = emulator.outbound.send_url_verification("emulator-challenge").result(timeout=5)
    assert d.ok and json.loads(receiver.requests[0].body)["type"] == "url_verification"


def test_slow_bot_gets_slack_retries_with_same_event_id(emulator: EmulatorHandle, receiver: Receiver) -> None:
    receiver.delay_s, receiver.slow_times = 0.6, 2  # the emulator's timeout is 0.3 s in these tests
    _, fut = emulator.people.post_message("U0ALICE", "incidents", "@ai-sre hello")
    assert fut is not None
    d = fut.result(timeout=10)
    reqs = receiver.wait_for(3)
    assert d.ok and len(reqs) == 3
    assert [r.headers.get("X-Slack-Retry-Num") for r in reqs] == [None, "1", "2"]
    assert [r.headers.get("X-Slack-Retry-Reason") for r in reqs] == [None, "http_timeout", "http_timeout"]
    assert len({json.loads(r.body)["event_id"] for r in reqs}) == 1
    assert all(verified(r) for r in reqs)


def test_gives_up_after_three_retries(emulator: EmulatorHandle, receiver: Receiver) -> None:
    receiver.delay_s, receiver.slow_times = 0.5, 10
    _, fut = emulator.people.post_message("U0ALICE", "incidents", "@ai-sre hello")
    assert fut is not None
    d = fut.result(timeout=10)
    assert not d.ok and d.timed_out and len(d.attempts) == 4


def test_slash_command_form_and_response_url(emulator: EmulatorHandle, receiver: Receiver) -> None:
    d = emulator.people.slash_command("U0ALICE", "incidents", "/aisre", "status checkout").result(timeout=5)
    assert d.ok
    (req,) = receiver.wait_for(1)
    assert verified(req) and req.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = dict(urllib.parse.parse_qsl(req.body.decode()))
    assert (form["command"], form["text"], form["user_id"], form["channel_id"], form["team_id"]) == (
        "/aisre", "status checkout", "U0ALICE", "C0INCIDENTS", "T0AISRE")
    assert form["trigger_id"]
    url = form["response_url"]
    assert httpx.post(url, json={"text": "working on it"}).json()["ok"]
    assert emulator.state.ephemeral_messages("incidents", "U0ALICE")[-1]["message"]["text"] == "working on it"
    assert httpx.post(url, json={"text": "done", "response_type": "in_channel"}).json()["ok"]
    assert emulator.state.messages("incidents")[-1]["text"] == "done"
    for _ in range(3):
        httpx.post(url, json={"text": "more"})
    used = httpx.post(url, json={"text": "sixth"})
    assert used.status_code == 404 and used.json()["error"] == "used_url"


def test_slash_command_ack_body_is_shown(emulator: EmulatorHandle, receiver: Receiver) -> None:
    receiver.reply, receiver.reply_type = json.dumps({"text": "Usage: /aisre status <service>"}).encode(), "application/json"
    emulator.people.slash_command("U0BOB", "incidents", "/aisre", "help").result(timeout=5)
    eph = emulator.state.ephemeral_messages("incidents", "U0BOB")
    assert eph[-1]["message"]["text"] == "Usage: /aisre status <service>"


def test_block_actions_payload(emulator: EmulatorHandle, receiver: Receiver) -> None:
    client = make_web_client(SlackSettings.model_validate({"bot_token": TOKEN, "api_url": emulator.api_url}))
    posted = client.chat_postMessage(channel="C0INCIDENTS", text="Approve?", blocks=[{
        "type": "actions", "block_id": "approval",
        "elements": [{"type": "button", "action_id": "approve", "value": "prop-1", "style": "primary",
                      "text": {"type": "plain_text", "text": "Approve"}}]}])
    d = emulator.people.click("U0ALICE", "C0INCIDENTS", posted["ts"], "approve").result(timeout=5)
    assert d.ok
    (req,) = receiver.wait_for(1)
    assert verified(req)
    payload = json.loads(dict(urllib.parse.parse_qsl(req.body.decode()))["payload"])
    assert payload["type"] == "block_actions" and payload["user"]["id"] == "U0ALICE"
    assert payload["actions"][0] | {"action_ts": None} == {
        "action_id": "approve", "block_id": "approval", "type": "button", "value": "prop-1", "style": "primary",
        "text": {"type": "plain_text", "text": "Approve"}, "action_ts": None}
    assert payload["container"] == {"type": "message", "message_ts": posted["ts"], "channel_id": "C0INCIDENTS",
                                    "is_ephemeral": False}
    assert payload["message"]["ts"] == posted["ts"] and payload["trigger_id"] and payload["response_url"]
    replaced = httpx.post(payload["response_url"], json={"replace_original": True, "text": "Approved by alice"})
    assert replaced.json()["ok"] and emulator.state.messages("incidents")[-1]["text"] == "Approved by alice"


def test_view_submission_round_trip(emulator: EmulatorHandle, receiver: Receiver) -> None:
    client = make_web_client(SlackSettings.model_validate({"bot_token": TOKEN, "api_url": emulator.api_url}))
    view = client.views_open(trigger_id=emulator.state.new_trigger("U0CAROL"), view={
        "type": "modal", "callback_id": "deny", "title": {"type": "plain_text", "text": "Deny"},
        "submit": {"type": "plain_text", "text": "Send"},
        "blocks": [{"type": "input", "block_id": "why", "label": {"type": "plain_text", "text": "Why"},
                    "element": {"type": "plain_text_input", "action_id": "text"}}]})["view"]
    receiver.reply, receiver.reply_type = json.dumps(
        {"response_action": "errors", "errors": {"why": "Say more"}}).encode(), "application/json"
    values = {"why": {"text": {"type": "plain_text_input", "value": "no"}}}
    rejected = httpx.post(f"{emulator.url}/ui/submit_view", json={"user": "U0CAROL", "view_id": view["id"],
                                                                   "values": values}).json()
    assert rejected["errors"] == {"why": "Say more"} and emulator.state.open_modal("U0CAROL") is not None
    receiver.reply = b""
    accepted = emulator.people.submit_view("U0CAROL", view["id"], values)
    assert accepted.ok and emulator.state.open_modal("U0CAROL") is None
    payload = json.loads(dict(urllib.parse.parse_qsl(receiver.requests[-1].body.decode()))["payload"])
    assert payload["type"] == "view_submission" and payload["view"]["callback_id"] == "deny"
    assert payload["view"]["state"]["values"] == values


def test_ratelimited_then_success_posts_once(emulator: EmulatorHandle) -> None:
    client = make_web_client(SlackSettings.model_validate({"bot_token": TOKEN, "api_url": emulator.api_url}))
    emulator.state.inject_fault("chat.postMessage", "ratelimited", times=1, retry_after=1)
    resp = client.chat_postMessage(channel="C0INCIDENTS", text="once")
    assert resp["ok"]
    assert [m["text"] for m in emulator.state.messages("incidents")] == ["once"]
    assert len(emulator.state.calls_to("chat.postMessage")) == 2


def test_ratelimited_answer_shape_without_retries(emulator: EmulatorHandle) -> None:
    emulator.state.inject_fault("auth.test", "ratelimited", retry_after=7)
    r = httpx.post(emulator.api_url + "auth.test", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 429 and r.headers["Retry-After"] == "7" and r.json() == {"ok": False, "error": "ratelimited"}


def test_server_error_retried_then_exhausted(emulator: EmulatorHandle) -> None:
    client = make_web_client(SlackSettings.model_validate({"bot_token": TOKEN, "api_url": emulator.api_url,
                                                           "max_retries": 1}))
    emulator.state.inject_fault("conversations.info", "server_error", times=1)
    assert client.conversations_info(channel="C0GENERAL")["channel"]["name"] == "general"
    emulator.state.inject_fault("conversations.info", "server_error", times=2)
    with pytest.raises(SlackApiError):
        client.conversations_info(channel="C0GENERAL")
    assert len(emulator.state.calls_to("conversations.info")) == 4


def test_ui_json_api(emulator: EmulatorHandle, receiver: Receiver) -> None:
    posted = httpx.post(f"{emulator.url}/ui/post", json={"user": "U0BOB", "channel": "C0INCIDENTS",
                                                         "text": "@ai-sre hi", "wait": True}).json()
    assert posted["ok"] and posted["delivery"]["ok"]
    state = httpx.get(f"{emulator.url}/ui/state", params={"user": "U0BOB", "channel": "C0INCIDENTS"}).json()
    assert state["messages"][-1]["text"] == f"<@{BOT_USER_ID}> hi"
    assert {c["name"] for c in state["channels"]} >= {"general", "incidents", "sre-digest"}
    bad = httpx.post(f"{emulator.url}/ui/click", json={"user": "U0BOB", "channel": "C0INCIDENTS",
                                                       "ts": posted["ts"], "action_id": "nope"})
    assert bad.status_code == 400 and "nope" in bad.json()["error"]
    cmd = httpx.post(f"{emulator.url}/ui/post", json={"user": "U0BOB", "channel": "C0INCIDENTS",
                                                      "text": "/aisre status", "wait": True}).json()
    assert cmd["command"] == "/aisre"
    assert len(httpx.get(f"{emulator.url}/ui/deliveries").json()["deliveries"]) == 2
