"""Through the emulator: signed events, commands and clicks reach the Bolt app; Web API calls come back."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from bot.sandbox.slack import sign
from bot.sandbox.slack.payloads import event_envelope, message_event
from bot.slack.ids import ActionId, param_block
from bot.slack.values import ApprovalValue
from tests.slack.conftest import SECRET, Harness

CH = "C0INCIDENTS"


def _post_signed(url: str, body: bytes, *, secret: str = SECRET, ts: int | None = None,
                 headers: dict[str, str] | None = None) -> httpx.Response:
    ts = ts or int(time.time())
    h = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": str(ts),
         "X-Slack-Signature": sign(secret, ts, body), **(headers or {})}
    return httpx.post(url, content=body, headers=h)


def _ephemeral_texts(h: Harness, user: str) -> list[str]:
    return [e["message"].get("text", "") for e in h.emulator.state.ephemeral_messages(CH, user)]


def test_app_mention_status_replies_in_thread(h: Harness) -> None:
    msg, fut = h.emulator.people.post_message("U0ALICE", CH, "@ai-sre status")
    assert fut is not None and fut.result().ok
    posts = h.wait(lambda: h.emulator.state.calls_to("chat.postMessage"))
    assert posts and posts[0]["thread_ts"] == msg["ts"]
    assert "INC-42" in posts[0]["text"]
    assert h.services.called("status") == [(CH, None)]


def test_app_mention_changes_goes_to_services(h: Harness) -> None:
    h.emulator.people.post_message("U0BOB", CH, "@ai-sre what changed on checkout?")
    calls = h.services.wait_for("answer_mention")
    mention = calls[0][0]
    assert (mention.kind, mention.service) == ("changes", "checkout")
    assert h.wait(lambda: h.emulator.state.calls_to("chat.postMessage"))


def test_plain_message_and_pushpin_reaction(h: Harness) -> None:
    msg, _ = h.emulator.people.post_message("U0BOB", CH, "rolled back by hand")
    assert h.services.wait_for("on_message")[0][:3] == (CH, "U0BOB", "rolled back by hand")
    h.emulator.people.react("U0ALICE", CH, msg["ts"], "pushpin")
    assert h.services.wait_for("record_reaction")[0] == (CH, msg["ts"], "pushpin", "U0ALICE")


def test_bots_own_messages_are_ignored(h: Harness) -> None:
    env = event_envelope(h.emulator.state, message_event(
        h.emulator.state.channels[CH], {"type": "message", "ts": "1.000100", "user": "U0AISREBOT",
                                        "bot_id": "B0AISRE", "text": "brief"}))
    assert h.emulator.outbound.send_event(env).result().ok
    time.sleep(0.2)
    assert h.services.called("on_message") == []


@pytest.mark.parametrize(("text", "service_call", "where"), [
    ("status INC-42", ("status", (CH, "INC-42")), "ephemeral"),
    ("timeline", ("timeline", (CH, None)), "ephemeral"),
    ("catchup", ("catchup", (CH, "U0ALICE")), "ephemeral"),
    ("audit INC-42", ("audit", (CH, "INC-42")), "ephemeral"),
    ("autonomy", ("autonomy", ()), "ephemeral"),
    ("heartbeats", ("heartbeats", ()), "ephemeral"),
    ("digest", ("digest", ()), "ephemeral"),
    ("resolve INC-42 rolled back", ("resolve", (CH, "INC-42", "rolled back", "U0ALICE")), "channel"),
    ("declare checkout checkout is down", ("declare", ("checkout", "checkout is down", "U0ALICE", CH)), "channel"),
    ("maintenance checkout 2h db upgrade", ("maintenance", ("checkout", 7200, "db upgrade", "U0ALICE", CH)),
     "channel"),
    ("freeze", ("freeze", ("U0ALICE",)), "channel"),
    ("unfreeze", ("unfreeze", ("U0ALICE",)), "channel"),
    ("autonomy checkout autonomous", ("set_autonomy", ("checkout", "service", "autonomous", "U0ALICE")),
     "channel"),
    ("restart checkout", ("run_command", None), "channel"),
    ("rollback checkout 41", ("run_command", None), "channel"),
    ("scale checkout 4", ("run_command", None), "channel"),
    ("kill-query orders 4242", ("run_command", None), "channel"),
    ("flush-cache sessions", ("run_command", None), "channel"),
    ("drain node-1", ("run_command", None), "channel"),
    ("failover orders", ("run_command", None), "channel"),
])
def test_slash_commands(h: Harness, text: str, service_call: tuple, where: str) -> None:
    d = h.emulator.people.slash_command("U0ALICE", CH, "/aisre", text).result()
    assert d.ok, d.body
    name, args = service_call
    calls = h.services.wait_for(name)
    assert calls, f"{name} not called"
    if args is not None:
        assert calls[0] == args
    else:
        assert calls[0][0].name == text.split()[0]
    if where == "ephemeral":
        assert h.wait(lambda: _ephemeral_texts(h, "U0ALICE"))
    else:
        assert h.wait(lambda: h.emulator.state.calls_to("chat.postMessage"))


@pytest.mark.parametrize("text", ["", "help", "scale checkout lots", "nonsense"])
def test_help_and_errors_answer_in_the_ack(h: Harness, text: str) -> None:
    d = h.emulator.people.slash_command("U0BOB", CH, "/aisre", text).result()
    assert d.ok
    body = d.json() or {}
    assert body.get("blocks")
    if text in ("", "help"):
        assert "ai-sre commands" in body["text"]
    else:
        assert "usage" in body["text"].lower() or "help" in body["text"]
    assert h.wait(lambda: _ephemeral_texts(h, "U0BOB"))
    assert h.emulator.state.calls_to("chat.postMessage") == []


def test_non_admin_cannot_freeze(h: Harness) -> None:
    h.emulator.people.slash_command("U0BOB", CH, "/aisre", "freeze").result()
    assert h.wait(lambda: any("may not" in t for t in _ephemeral_texts(h, "U0BOB")))
    assert h.services.called("freeze") == []


def test_bad_signature_and_stale_request_are_rejected(h: Harness) -> None:
    env = event_envelope(h.emulator.state, {"type": "app_mention", "channel": CH, "user": "U0BOB",
                                            "text": "<@U0AISREBOT> status", "ts": "1.1", "event_ts": "1.1"})
    body = json.dumps(env).encode()
    assert _post_signed(h.url, body, secret="wrong").status_code == 401
    assert _post_signed(h.url, body, ts=int(time.time()) - 600).status_code == 401
    unsigned = httpx.post(h.url, content=body, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    time.sleep(0.2)
    assert h.services.calls == []
    assert h.emulator.state.calls == []


def test_retried_event_has_one_effect(h: Harness) -> None:
    env = event_envelope(h.emulator.state, {"type": "app_mention", "channel": CH, "user": "U0BOB",
                                            "text": "<@U0AISREBOT> why is it slow?", "ts": "1.2", "event_ts": "1.2"})
    body = json.dumps(env).encode()
    assert _post_signed(h.url, body).status_code == 200
    retry = _post_signed(h.url, body, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert retry.status_code == 200
    h.services.wait_for("answer_mention")
    time.sleep(0.3)
    assert len(h.services.called("answer_mention")) == 1
    assert len(h.emulator.state.calls_to("chat.postMessage")) == 1
    assert [c[2] for c in h.services.called("record_event")] == [True, False]


def test_store_down_answers_503_so_slack_retries(h: Harness) -> None:
    h.services.fail_record = True
    env = event_envelope(h.emulator.state, {"type": "app_mention", "channel": CH, "user": "U0BOB",
                                            "text": "<@U0AISREBOT> hi", "ts": "1.3", "event_ts": "1.3"})
    assert _post_signed(h.url, json.dumps(env).encode()).status_code == 503


def _card(h: Harness) -> dict:
    h.emulator.people.slash_command("U0ALICE", CH, "/aisre", "rollback checkout 41").result()
    h.wait(lambda: h.emulator.state.calls_to("chat.postMessage"))
    msgs = [m for m in h.emulator.state.messages(CH) if m.get("blocks")]
    assert msgs
    return msgs[-1]


def test_approve_click_updates_card_and_reports_progress(h: Harness) -> None:
    card = _card(h)
    r = httpx.post(f"{h.emulator.url}/ui/click", json={"user": "U0ALICE", "channel": CH,
                                                  "ts": card["ts"], "action_id": ActionId.APPROVE, "wait": True})
    assert r.json()["ok"], r.text
    decided = h.services.wait_for("decide_approval")[0]
    value = next(el["value"] for b in card["blocks"] if b["type"] == "actions" for el in b["elements"]
                 if el["action_id"] == ActionId.APPROVE)
    shown = ApprovalValue.parse(value)
    assert shown is not None and decided == (shown.action_id, True, "U0ALICE", shown.params_hash)
    updates = h.wait(lambda: len(h.emulator.state.calls_to("chat.update")) >= 3 and
                     h.emulator.state.calls_to("chat.update"))
    assert updates, h.emulator.state.calls
    assert all(u["ts"] == card["ts"] for u in updates)
    assert "Approved" in updates[0]["text"]
    final = h.emulator.state.find_message(h.emulator.state.channels[CH].id, card["ts"])
    assert final is not None and "Rolled back checkout" in final["text"]
    assert h.services.called("execute") == [(shown.action_id, "U0ALICE")]


def test_non_approver_gets_an_ephemeral_reason(h: Harness) -> None:
    card = _card(h)
    h.emulator.people.click("U0BOB", CH, card["ts"], ActionId.APPROVE).result()
    assert h.wait(lambda: any("not an approver" in t for t in _ephemeral_texts(h, "U0BOB")))
    assert h.emulator.state.calls_to("chat.update") == []
    assert h.services.called("execute") == []


def test_bare_action_command_opens_a_modal_that_validates(h: Harness) -> None:
    d = h.emulator.people.slash_command("U0ALICE", CH, "/aisre", "scale").result()
    assert d.ok
    modal = h.wait(lambda: h.emulator.state.open_modal("U0ALICE"))
    assert modal, h.emulator.state.calls
    assert isinstance(modal, dict)
    bad: dict[str, dict[str, Any]] = {param_block("deployment"): {ActionId.PARAM_INPUT: {"type": "plain_text_input", "value": "checkout"}},
           param_block("replicas"): {ActionId.PARAM_INPUT: {"type": "number_input", "value": "500"}}}
    answer = h.emulator.people.submit_view("U0ALICE", modal["id"], bad).json() or {}
    assert answer.get("response_action") == "errors" and param_block("replicas") in answer["errors"]
    assert h.services.called("submit_form") == []
    good = dict(bad)
    good[param_block("replicas")] = {ActionId.PARAM_INPUT: {"type": "number_input", "value": "4"}}
    d2 = h.emulator.people.submit_view("U0ALICE", modal["id"], good)
    assert d2.ok and not (d2.json() or {}).get("errors")
    meta, params, user = h.services.wait_for("submit_form")[0]
    assert (meta.action, params, user) == ("k8s.scale", {"deployment": "checkout", "replicas": 4}, "U0ALICE")
    assert h.wait(lambda: h.emulator.state.calls_to("chat.postMessage"))


def test_app_home_opened_publishes_the_home(h: Harness) -> None:
    env = event_envelope(h.emulator.state, {"type": "app_home_opened", "user": "U0ALICE", "channel": "D1",
                                            "tab": "home", "event_ts": "1.4"})
    assert h.emulator.outbound.send_event(env).result().ok
    assert h.wait(lambda: h.emulator.state.home_view("U0ALICE"))
    assert h.services.called("home") == [("U0ALICE",)]


def test_run_button_on_an_advisory_brief(h: Harness) -> None:
    from slack_sdk import WebClient

    from bot.slack.blocks import brief_message
    from tests.slack import factories as f

    client = WebClient(token="xoxb-slack-test", base_url=h.emulator.api_url)
    brief = brief_message(f.view(proposal=f.proposal("advisory")))
    ts = client.chat_postMessage(channel=CH, **brief.as_kwargs())["ts"]
    h.emulator.state.clear_calls()
    h.emulator.people.click("U0BOB", CH, ts, ActionId.RUN).result()
    value, user, channel, request_approval = h.services.wait_for("run_proposal")[0]
    assert (value.incident_id, value.action_id, user, channel, request_approval) == (42, 7, "U0BOB", CH, False)
    posts = h.wait(lambda: h.emulator.state.calls_to("chat.postMessage"))
    assert posts and posts[0]["thread_ts"] == ts  # the approval card goes in the brief's thread


def test_home_status_button_opens_a_modal(h: Harness) -> None:
    env = event_envelope(h.emulator.state, {"type": "app_home_opened", "user": "U0ALICE", "channel": "D1",
                                            "tab": "home", "event_ts": "1.5"})
    h.emulator.outbound.send_event(env).result()
    home = h.wait(lambda: h.emulator.state.home_view("U0ALICE"))
    assert home
    h.emulator.people.click_view("U0ALICE", home["id"], ActionId.HOME_OPEN_INCIDENT).result()
    modal = h.wait(lambda: h.emulator.state.open_modal("U0ALICE"))
    assert modal and modal["title"]["text"] == "INC-42"
