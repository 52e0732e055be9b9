"""The emulated Web API through slack_sdk's WebClient: shapes and Slack's error codes."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.sandbox.slack import BOT_ID, BOT_USER_ID, TEAM_ID, EmulatorHandle

from .conftest import TOKEN


def error_of(call, **kwargs) -> SlackApiError:  # type: ignore[no-untyped-def]
    with pytest.raises(SlackApiError) as info:
        call(**kwargs)
    return info.value


def test_auth_test_and_bad_tokens(emulator: EmulatorHandle, client: WebClient) -> None:
    auth = client.auth_test()
    assert (auth["team_id"], auth["user_id"], auth["bot_id"], auth["team"]) == (TEAM_ID, BOT_USER_ID, BOT_ID, "Demo")
    assert error_of(WebClient(token="xoxb-wrong", base_url=emulator.api_url).auth_test).response["error"] == "invalid_auth"
    bare = httpx.post(emulator.api_url + "auth.test")
    assert bare.status_code == 200 and bare.json() == {"ok": False, "error": "not_authed"}
    form = httpx.post(emulator.api_url + "auth.test", data={"token": TOKEN}).json()
    assert form["ok"] is True


def test_post_message_update_and_history(emulator: EmulatorHandle, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C0INCIDENTS", text="hello", blocks=[
        {"type": "section", "text": {"type": "mrkdwn", "text": "*hello*"}}])
    assert posted["channel"] == "C0INCIDENTS" and re.fullmatch(r"\d{10}\.\d{6}", posted["ts"])
    assert posted["message"]["bot_id"] == BOT_ID and posted["message"]["blocks"][0]["block_id"]
    by_name = client.chat_postMessage(channel="#incidents", text="second")
    assert float(by_name["ts"]) > float(posted["ts"])
    reply = client.chat_postMessage(channel="C0INCIDENTS", text="in thread", thread_ts=posted["ts"])
    updated = client.chat_update(channel="C0INCIDENTS", ts=posted["ts"], text="edited")
    assert updated["message"]["text"] == "edited" and updated["ts"] == posted["ts"]
    history = client.conversations_history(channel="C0INCIDENTS")["messages"]
    assert [m["text"] for m in history] == ["second", "edited"]  # newest first, no replies
    assert history[1]["reply_count"] == 1
    replies = client.conversations_replies(channel="C0INCIDENTS", ts=posted["ts"])["messages"]
    assert [m["ts"] for m in replies] == [posted["ts"], reply["ts"]]
    assert [m["text"] for m in emulator.state.messages("incidents")] == ["edited", "second", "in thread"]
    assert emulator.state.calls_to("chat.update")[0]["text"] == "edited"
    assert all(m != "auth.test" or "token" not in a for m, a in emulator.state.calls)


def test_post_message_errors(emulator: EmulatorHandle, client: WebClient) -> None:
    assert error_of(client.chat_postMessage, channel="C0NOPE", text="x").response["error"] == "channel_not_found"
    assert error_of(client.chat_postMessage, channel="C0INCIDENTS").response["error"] == "no_text"
    assert error_of(client.chat_postMessage, channel="C0INCIDENTS", text="x" * 40_001).response["error"] == "msg_too_long"
    created = client.conversations_create(name="inc-private", is_private=True)["channel"]
    emulator.state.channels[created["id"]].members.discard(BOT_USER_ID)
    assert error_of(client.chat_postMessage, channel=created["id"], text="x").response["error"] == "not_in_channel"
    err = error_of(client.chat_update, channel="C0INCIDENTS", ts="1.000000", text="x")
    assert err.response["error"] == "message_not_found"


@pytest.mark.parametrize(
    ("blocks", "pointer"),
    [
        ([{"type": "divider"}] * 51, "/blocks"),
        ([{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}], "/blocks/0/text/text"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}], "/blocks/0/text/text"),
        ([{"type": "actions", "elements": [
            {"type": "button", "action_id": f"a{i}", "text": {"type": "plain_text", "text": "b"}} for i in range(26)]}],
         "/blocks/0/elements"),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}], "/blocks/0/fields"),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}], "/blocks/0/fields/0/text"),
        ([{"type": "actions", "elements": [
            {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "b" * 76}}]}],
         "/blocks/0/elements/0/text/text"),
        ([{"type": "carousel"}], "/blocks/0/type"),
    ],
)
def test_invalid_blocks(client: WebClient, blocks: list[dict], pointer: str) -> None:
    err = error_of(client.chat_postMessage, channel="C0INCIDENTS", text="t", blocks=blocks)
    assert err.response["error"] == "invalid_blocks"
    messages = err.response["response_metadata"]["messages"]
    assert any(m.startswith("[ERROR]") and f"[json-pointer:{pointer}]" in m for m in messages), messages


def test_ephemeral_permalink_reactions_pins(emulator: EmulatorHandle, client: WebClient) -> None:
    eph = client.chat_postEphemeral(channel="C0INCIDENTS", user="U0ALICE", text="only you")
    assert eph["message_ts"]
    assert emulator.state.ephemeral_messages("incidents", "U0ALICE")[0]["message"]["text"] == "only you"
    assert client.conversations_history(channel="C0INCIDENTS")["messages"] == []
    assert error_of(client.chat_postEphemeral, channel="C0INCIDENTS", user="U0NOBODY", text="x").response["error"] == "user_not_found"
    ts = client.chat_postMessage(channel="C0INCIDENTS", text="m")["ts"]
    link = client.chat_getPermalink(channel="C0INCIDENTS", message_ts=ts)["permalink"]
    assert link.endswith("/archives/C0INCIDENTS/p" + ts.replace(".", ""))
    assert error_of(client.chat_getPermalink, channel="C0INCIDENTS", message_ts="1.2").response["error"] == "message_not_found"
    client.reactions_add(channel="C0INCIDENTS", timestamp=ts, name="eyes")
    assert error_of(client.reactions_add, channel="C0INCIDENTS", timestamp=ts, name="eyes").response["error"] == "already_reacted"
    client.pins_add(channel="C0INCIDENTS", timestamp=ts)
    assert error_of(client.pins_add, channel="C0INCIDENTS", timestamp=ts).response["error"] == "already_pinned"
    msg = emulator.state.messages("incidents")[0]
    assert msg["reactions"] == [{"name": "eyes", "users": [BOT_USER_ID], "count": 1}]
    assert msg["pinned_to"] == ["C0INCIDENTS"]


def test_conversations_lifecycle(emulator: EmulatorHandle, client: WebClient) -> None:
    ch = client.conversations_create(name="inc-42-checkout")["channel"]
    assert ch["id"].startswith("C") and ch["is_member"] and ch["name"] == "inc-42-checkout"
    for name, code in (("inc-42-checkout", "name_taken"), ("Inc Upper", "invalid_name_specials"),
                       ("x" * 81, "invalid_name_maxlength"), ("", "invalid_name_required")):
        assert error_of(client.conversations_create, name=name).response["error"] == code
    client.conversations_invite(channel=ch["id"], users="U0ALICE,U0BOB")
    assert error_of(client.conversations_invite, channel=ch["id"], users="U0ALICE").response["error"] == "already_in_channel"
    assert error_of(client.conversations_invite, channel=ch["id"], users="U0ZED").response["error"] == "user_not_found"
    info = client.conversations_info(channel=ch["id"])["channel"]
    assert info["num_members"] == 3
    client.conversations_setTopic(channel=ch["id"], topic="SEV2 checkout errors")
    assert client.conversations_info(channel=ch["id"])["channel"]["topic"]["value"] == "SEV2 checkout errors"
    names = [c["name"] for c in client.conversations_list()["channels"]]
    assert {"general", "incidents", "sre-digest", "inc-42-checkout"} <= set(names)
    joined = client.conversations_join(channel=ch["id"])
    assert joined["warning"] == "already_in_channel"
    client.conversations_archive(channel=ch["id"])
    assert error_of(client.conversations_archive, channel=ch["id"]).response["error"] == "already_archived"
    assert error_of(client.chat_postMessage, channel=ch["id"], text="x").response["error"] == "is_archived"
    assert error_of(client.conversations_info, channel="C0MISSING").response["error"] == "channel_not_found"
    assert error_of(client.conversations_archive, channel="C0GENERAL").response["error"] == "cant_archive_general"


def test_join_and_history_need_membership(emulator: EmulatorHandle, client: WebClient) -> None:
    emulator.state.channels["C0GENERAL"].members.discard(BOT_USER_ID)
    assert error_of(client.conversations_history, channel="C0GENERAL").response["error"] == "not_in_channel"
    assert client.conversations_join(channel="C0GENERAL")["channel"]["is_member"] is True
    assert client.conversations_history(channel="C0GENERAL")["messages"][0]["subtype"] == "channel_join"


def test_users_and_groups(client: WebClient) -> None:
    alice = client.users_info(user="U0ALICE")["user"]
    assert alice["name"] == "alice" and alice["profile"]["email"] == "alice@demo.example.com"
    assert client.users_lookupByEmail(email="bob@demo.example.com")["user"]["id"] == "U0BOB"
    assert error_of(client.users_lookupByEmail, email="zed@x.io").response["error"] == "users_not_found"
    assert error_of(client.users_info, user="U0ZED").response["error"] == "user_not_found"
    assert client.usergroups_users_list(usergroup="S0ONCALL")["users"] == ["U0ALICE"]
    assert error_of(client.usergroups_users_list, usergroup="S0NOPE").response["error"] == "no_such_subteam"


MODAL = {"type": "modal", "callback_id": "why", "title": {"type": "plain_text", "text": "Deny"},
         "submit": {"type": "plain_text", "text": "Send"},
         "blocks": [{"type": "input", "block_id": "reason", "label": {"type": "plain_text", "text": "Reason"},
                     "element": {"type": "plain_text_input", "action_id": "text"}}]}


def test_views(emulator: EmulatorHandle, client: WebClient) -> None:
    trigger = emulator.state.new_trigger("U0ALICE")
    opened = client.views_open(trigger_id=trigger, view=MODAL)["view"]
    assert opened["id"].startswith("V") and opened["callback_id"] == "why"
    assert emulator.state.open_modal("U0ALICE")["id"] == opened["id"]
    assert error_of(client.views_open, trigger_id=trigger, view=MODAL).response["error"] == "exchanged_trigger_id"
    assert error_of(client.views_open, trigger_id="nope", view=MODAL).response["error"] == "invalid_trigger_id"
    bad = dict(MODAL, title={"type": "plain_text", "text": "x" * 25})
    err = error_of(client.views_open, trigger_id=emulator.state.new_trigger("U0ALICE"), view=bad)
    assert err.response["error"] == "invalid_arguments" and "/view/title/text" in err.response["response_metadata"]["messages"][0]
    updated = client.views_update(view_id=opened["id"], view=dict(MODAL, callback_id="why2"))["view"]
    assert updated["id"] == opened["id"] and updated["callback_id"] == "why2"
    assert error_of(client.views_update, view_id="V0NOPE", view=MODAL).response["error"] == "not_found"
    home = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Hi"}}]}
    published = client.views_publish(user_id="U0BOB", view=home)["view"]
    assert emulator.state.home_view("U0BOB")["id"] == published["id"]
    too_many = dict(home, blocks=[{"type": "divider"}] * 101)
    assert error_of(client.views_publish, user_id="U0BOB", view=too_many).response["error"] == "invalid_arguments"


def test_files_upload_v2_end_to_end(emulator: EmulatorHandle, client: WebClient) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    resp = client.files_upload_v2(channel="C0INCIDENTS", content=png, filename="chart.png", title="p99 latency",
                                  initial_comment="Latency chart")
    file_id = resp["file"]["id"]
    msg = emulator.state.messages("incidents")[-1]
    assert msg["text"] == "Latency chart" and msg["files"][0]["id"] == file_id
    served = httpx.get(msg["files"][0]["url_private"])
    assert served.status_code == 200 and served.content == png and served.headers["content-type"] == "image/png"
    assert [m for m, _ in emulator.state.calls] == ["files.getUploadURLExternal", "files.completeUploadExternal"]


def test_form_and_json_bodies_and_unknown_method(emulator: EmulatorHandle) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    blocks = [{"type": "divider"}]
    form = httpx.post(emulator.api_url + "chat.postMessage", headers=headers,
                      data={"channel": "C0GENERAL", "text": "f", "blocks": json.dumps(blocks)}).json()
    as_json = httpx.post(emulator.api_url + "chat.postMessage", headers=headers,
                         json={"channel": "C0GENERAL", "text": "j", "blocks": blocks}).json()
    assert form["ok"] and as_json["ok"] and form["message"]["blocks"][0]["type"] == "divider"
    unknown = httpx.post(emulator.api_url + "chat.frobnicate", headers=headers).json()
    assert unknown["error"] == "unknown_method"
