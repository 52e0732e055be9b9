"""The JSON Slack sends to a bot: event envelopes, slash command forms, interaction payloads.

Pure functions over the state's data; :mod:`bot.sandbox.slack.people` sends them.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from bot.sandbox.slack.state import APP_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID, Channel, EmulatorState

VERIFICATION_TOKEN = "emulator-verification-token"


def event_envelope(state: EmulatorState, event: dict[str, Any]) -> dict[str, Any]:
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "context_team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": "Ev" + state.new_id("E")[1:] + uuid.uuid4().hex[:4].upper(),
        "event_time": int(time.time()),
        "authorizations": [{"enterprise_id": None, "team_id": TEAM_ID, "user_id": BOT_USER_ID,
                            "is_bot": True, "is_enterprise_install": False}],
        "is_ext_shared_channel": False,
        "event_context": f"4-{uuid.uuid4().hex}",
    }


def channel_type(ch: Channel) -> str:
    return "im" if ch.is_im else "group" if ch.is_private else "channel"


def message_event(ch: Channel, msg: dict[str, Any], *, kind: str = "message") -> dict[str, Any]:
    event = {k: v for k, v in msg.items() if k not in ("reactions", "reply_users", "reply_count",
                                                         "reply_users_count", "latest_reply")}
    event.update({"type": kind, "channel": ch.id, "event_ts": msg["ts"]})
    if kind == "message":
        event["channel_type"] = channel_type(ch)
    return event


def reaction_event(ch: Channel, msg: dict[str, Any], user: str, name: str) -> dict[str, Any]:
    return {
        "type": "reaction_added",
        "user": user,
        "reaction": name,
        "item_user": msg.get("user"),
        "item": {"type": "message", "channel": ch.id, "ts": msg["ts"]},
        "event_ts": f"{time.time():.6f}",
    }


def user_obj(state: EmulatorState, user_id: str) -> dict[str, Any]:
    u = state.user(user_id)
    name = u.name if u else user_id
    return {"id": user_id, "username": name, "name": name, "team_id": TEAM_ID}


def command_form(state: EmulatorState, *, ch: Channel, user: str, command: str, text: str) -> dict[str, str]:
    u = state.user(user)
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "team_domain": TEAM_DOMAIN,
        "channel_id": ch.id,
        "channel_name": "directmessage" if ch.is_im else ch.name,
        "user_id": user,
        "user_name": u.name if u else user,
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": state.new_response_url(ch.id, user),
        "trigger_id": state.new_trigger(user, ch.id),
    }


def _action(element: dict[str, Any], block_id: str, selected: Any = None) -> dict[str, Any]:
    action: dict[str, Any] = {
        "action_id": element.get("action_id", ""),
        "block_id": block_id,
        "type": element.get("type", "button"),
        "action_ts": f"{time.time():.6f}",
    }
    if element.get("type") == "button":
        action["text"] = element.get("text")
        if "value" in element:
            action["value"] = element["value"]
        if "style" in element:
            action["style"] = element["style"]
    elif element.get("type") in ("static_select", "overflow"):
        action["selected_option"] = selected
    else:
        action["value"] = selected
    return action


def block_actions(state: EmulatorState, *, user: str, element: dict[str, Any], block_id: str,
                  ch: Channel | None = None, message: dict[str, Any] | None = None, ephemeral: bool = False,
                  view: dict[str, Any] | None = None, selected: Any = None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": user_obj(state, user),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": state.new_trigger(user, ch.id if ch else None),
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "actions": [_action(element, block_id, selected)],
    }
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view["id"]}
        payload["view"] = {k: v for k, v in view.items() if not k.startswith("_")}
        payload["state"] = view.get("state", {"values": {}})
    else:
        assert ch is not None and message is not None
        payload["container"] = {"type": "message", "message_ts": message["ts"], "channel_id": ch.id,
                                "is_ephemeral": ephemeral}
        payload["channel"] = {"id": ch.id, "name": "directmessage" if ch.is_im else ch.name}
        payload["message"] = message
        payload["state"] = {"values": {}}
        payload["response_url"] = state.new_response_url(
            ch.id, user, thread_ts=message.get("thread_ts"), message_ts=message["ts"])
    return payload


def view_submission(state: EmulatorState, *, user: str, view: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "user": user_obj(state, user),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": state.new_trigger(user),
        "view": {k: v for k, v in view.items() if not k.startswith("_")},
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def view_closed(state: EmulatorState, *, user: str, view: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "view_closed",
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "user": user_obj(state, user),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "view": {k: v for k, v in view.items() if not k.startswith("_")},
        "is_cleared": False,
        "is_enterprise_install": False,
    }
