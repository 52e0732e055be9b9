"""auth.test, chat.*, reactions.add and pins.add."""

from __future__ import annotations

import copy
from typing import Any

from bot.sandbox.slack.api_common import (
    SlackError,
    add_to_history,
    arg,
    bot_message,
    channel_arg,
    check_content,
    flag,
    method,
    require_member,
    with_block_ids,
)
from bot.sandbox.slack.state import BOT_ID, BOT_USER_ID, TEAM_ID, TEAM_NAME, Channel, EmulatorState


@method("auth.test")
def auth_test(state: EmulatorState, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": f"{state.public_url}/",
        "team": TEAM_NAME,
        "user": "ai-sre",
        "team_id": TEAM_ID,
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
        "is_enterprise_install": False,
    }


def post_bot_message(state: EmulatorState, ch: Channel, args: dict[str, Any]) -> dict[str, Any]:
    """Validate and store a bot message in ``ch``; the ``message`` Slack returns."""
    if ch.is_archived:
        raise SlackError("is_archived")
    text, blocks = check_content(args)
    msg = bot_message(state, text, blocks)
    if args.get("attachments"):
        msg["attachments"] = args["attachments"]
    if args.get("metadata"):
        msg["metadata"] = args["metadata"]
    thread_ts = args.get("thread_ts") or None
    add_to_history(state, ch, msg, thread_ts=thread_ts, broadcast=flag(args, "reply_broadcast"))
    return copy.deepcopy(msg)


@method("chat.postMessage")
def chat_post_message(state: EmulatorState, args: dict[str, Any]) -> dict[str, Any]:
    with state.lock:
        ch = channel_arg(state, args)
        require_member(ch)
        msg = post_bot_message(state, ch, args)
        return {"channel": ch.id, "ts": msg["ts"], "message": msg}


@method("chat.update")
def chat_update(state: EmulatorState, args: dict[str, Any]) -> dict[str, Any]:
    with state.changing():
        ch = channel_arg(state, args)
        ts = str(arg(args, "ts"))
        msg = state.find_message(ch.id, ts)
        if msg is None:
            raise SlackError("message_not_found")
        if msg.get("user") != BOT_USER_ID:
            raise SlackError("cant_update_message")
        text = args.get("text")
        blocks = args.get("blocks")
        if text is None and blocks is None and args.get("attachments") is None:
            raise SlackError("no_text")
        new_text, new_blocks = check_content({
            "text": text if text is not None else msg.get("text", ""),
            "blocks": blocks,
            "attachments": args.get("attachments") or msg.get("attachments"),
        })
        msg["text"] = new_text
        if blocks is not None:
            if new_blocks:
                msg["blocks"] = with_block_ids(state, new_blocks)
            else:
                msg.pop("blocks", None)
        if args.get("attachments") is not None:
            msg["attachments"] = args["attachments"]
        msg["edited"] = {"user": BOT_USER_ID, "ts": state.next_ts()}
        return {"channel": ch.id, "ts": ts, "text": msg["text"], "message": copy.deepcopy(msg)}


@method("chat.delete")
def chat_delete(state: EmulatorState, args: dict[str, Any]) -> dict[str, Any]:
    with state.changing():
        ch = channel_arg(state, args)
        ts = str(arg(args, "ts"))
        msg = state.find_message(ch.id, ts)
        if msg is None:
            raise SlackError("message_not_found")
        if msg.get("user") != BOT_USER_ID:
            raise SlackError("cant_delete_message")
        state.history[ch.id].remove(msg)
        return {"channel": ch.id, "ts": ts}


def post_ephemeral(state: EmulatorState, ch: Channel, user: str, args: dict[str, Any]) -> dict[str, Any]:
    text, blocks = check_content(args)
    msg = bot_message(state, text, blocks)
    with state.changing():
        msg["ts"] = state.next_ts()
        if args.get("thread_ts"):
            msg["thread_ts"] = args["thread_ts"]
        state.ephemeral.setdefault(ch.id, []).append({"user": user, "message": msg})
    return msg


@method("chat.postEphemeral")
def chat_post_ephemeral(state: EmulatorState, args: dict[str, Any]) -> dict[str, Any]:
    with state.lock:
        ch = channel_arg(state, args)
        user = str(args.get("user") or "")
        if not user:
            raise SlackError("invalid_arguments", ["[ERROR] missing required field: user"])
        if state.user(user) is None:
            raise SlackError("user_not_found")
        require_member(ch)
        if user not in ch.members:
            raise SlackError("user_not_in_channel")
        msg = post_ephemeral(state, ch, user, args)
        return {"message_ts": msg["ts"]}


@method("chat.getPermalink")
def chat_get_permalink(state: EmulatorState, args: dict[str, Any]) -> dict[str, Any]:
    with state.lock:
        ch = channel_arg(state, args)
        ts = str(arg(args, "message_ts"))
        msg = state.find_message(ch.id, ts)
        if msg is None:
            raise SlackError("message_not_found")
        link = f"{state.public_url}/archives/{ch.id}/p{ts.replace('.', '')}"
        if msg.get("thread_ts") and msg["thread_ts"] != ts:
            link += f"?thread_ts={msg['thread_ts']}&cid={ch.id}"
        return {"channel": ch.id, "permalink": link}


def _item(state: EmulatorState, args: dict[str, Any]) -> tuple[Channel, dict[str, Any]]:
    if not args.get("channel") and not args.get("timestamp"):
        raise SlackError("no_item_specified")
    ch = channel_arg(state, args)
    msg = state.find_message(ch.id, str(args.get("timestamp") or ""))
    if msg is None:
        raise SlackError("message_not_found")
    return ch, msg


def add_reaction(state: EmulatorState, ch: Channel, msg: dict[str, Any], name: str, user: str) -> None:
    name = name.strip(":")
    if not name or any(c.isspace() for c in name):
        raise SlackError("invalid_name")
    with state.changing():
        reactions = msg.setdefault("reactions", [])
        entry = next((r for r in reactions if r["name"] == name), None)
        if entry is None:
            entry = {"name": name, "users": [], "count": 0}
            reactions.append(entry)
        if user in entry["users"]:
            raise SlackError("already_reacted")
        entry["users"].append(user)
        entry["count"] = len(entry["users"])


@method("reactions.add")
def reactions_add(state: EmulatorState, args: dict[str, Any]) -> dict[str, Any]:
    with state.lock:
        ch, msg = _item(state, args)
        add_reaction(state, ch, msg, str(arg(args, "name")), BOT_USER_ID)
        return {}


@method("pins.add")
def pins_add(state: EmulatorState, args: dict[str, Any]) -> dict[str, Any]:
    with state.changing():
        ch, msg = _item(state, args)
        require_member(ch)
        if msg["ts"] in ch.pins:
            raise SlackError("already_pinned")
        ch.pins.append(msg["ts"])
        msg.setdefault("pinned_to", []).append(ch.id)
        return {}
