"""What every emulated Web API method shares: the registry, errors, argument parsing.

A method is a function ``(state, args) -> dict`` registered with :func:`method`; it raises
:class:`SlackError` for ``{"ok": false, "error": ...}`` answers. ``args`` is the request's
parameters with JSON-valued ones (``blocks``, ``view``, ``files``) already decoded.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bot.sandbox.slack.blocks import Surface, validate_blocks
from bot.sandbox.slack.state import APP_ID, BOT_ID, BOT_USER_ID, TEAM_ID, Channel, EmulatorState

MAX_TEXT = 40_000
JSON_ARGS = ("blocks", "attachments", "view", "files", "metadata")

Handler = Callable[[EmulatorState, dict[str, Any]], dict[str, Any]]
METHODS: dict[str, Handler] = {}


class SlackError(Exception):
    """A Slack ``ok: false`` answer; ``messages`` go to ``response_metadata.messages``."""

    def __init__(self, error: str, messages: list[str] | None = None, **extra: Any):
        super().__init__(error)
        self.error = error
        self.messages = messages or []
        self.extra = extra

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error": self.error, **self.extra}
        if self.messages:
            body["response_metadata"] = {"messages": self.messages}
        return body


def method(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        METHODS[name] = fn
        return fn

    return register


def decode_json_args(args: dict[str, Any]) -> dict[str, Any]:
    out = dict(args)
    for key in JSON_ARGS:
        value = out.get(key)
        if isinstance(value, str) and value:
            try:
                out[key] = json.loads(value)
            except json.JSONDecodeError:
                raise SlackError("invalid_blocks_format" if key == "blocks" else "invalid_arguments",
                                 [f"[ERROR] invalid JSON [json-pointer:/{key}]"]) from None
    return out


def arg(args: dict[str, Any], name: str) -> Any:
    value = args.get(name)
    if value is None or value == "":
        raise SlackError("invalid_arguments", [f"[ERROR] missing required field: {name}"])
    return value


def flag(args: dict[str, Any], name: str, default: bool = False) -> bool:
    value = args.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true", "yes")


def channel_arg(state: EmulatorState, args: dict[str, Any], name: str = "channel") -> Channel:
    ref = args.get(name)
    if not ref:
        raise SlackError("channel_not_found")
    ch = state.resolve_channel(str(ref))
    if ch is None:
        raise SlackError("channel_not_found")
    return ch


def require_member(ch: Channel, user: str = BOT_USER_ID) -> None:
    if user not in ch.members:
        raise SlackError("not_in_channel")


def check_content(args: dict[str, Any], surface: Surface = "message") -> tuple[str, list[Any] | None]:
    """Validate ``text`` and ``blocks`` of a message: ``no_text``, ``msg_too_long``, ``invalid_blocks``."""
    text = args.get("text")
    text = "" if text is None else str(text)
    blocks = args.get("blocks")
    if blocks in ("", None):
        blocks = None
    if not text and not blocks and not args.get("attachments") and not args.get("files"):
        raise SlackError("no_text")
    if len(text) > MAX_TEXT:
        raise SlackError("msg_too_long")
    if blocks is not None:
        problems = validate_blocks(blocks, surface)
        if problems:
            raise SlackError("invalid_blocks", problems)
    return text, blocks


def with_block_ids(state: EmulatorState, blocks: list[Any] | None) -> list[Any] | None:
    """Slack gives every block without a ``block_id`` a generated one."""
    if blocks is None:
        return None
    out = []
    for b in blocks:
        b = dict(b)
        b.setdefault("block_id", state.new_id("b").lower())
        out.append(b)
    return out


def bot_message(state: EmulatorState, text: str, blocks: list[Any] | None) -> dict[str, Any]:
    msg: dict[str, Any] = {
        "type": "message",
        "text": text,
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "team": TEAM_ID,
        "bot_profile": {"id": BOT_ID, "app_id": APP_ID, "name": "ai-sre", "team_id": TEAM_ID,
                        "deleted": False, "icons": {}},
    }
    if blocks is not None:
        msg["blocks"] = with_block_ids(state, blocks)
    return msg


def add_to_history(state: EmulatorState, channel: Channel, msg: dict[str, Any], *,
                   thread_ts: str | None = None, broadcast: bool = False) -> dict[str, Any]:
    """Append ``msg`` with a fresh ``ts``; thread replies update their parent's counters."""
    with state.changing():
        msg["ts"] = state.next_ts()
        history = state.history[channel.id]
        if thread_ts:
            parent = state.find_message(channel.id, thread_ts)
            if parent is not None and parent.get("thread_ts") not in (None, parent["ts"]):
                thread_ts = parent["thread_ts"]
                parent = state.find_message(channel.id, thread_ts)
            msg["thread_ts"] = thread_ts
            if broadcast:
                msg["subtype"] = "thread_broadcast"
            if parent is not None:
                msg["parent_user_id"] = parent.get("user")
                parent["thread_ts"] = parent["ts"]
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                users = parent.setdefault("reply_users", [])
                if msg.get("user") not in users:
                    users.append(msg.get("user"))
                parent["reply_users_count"] = len(users)
                parent["latest_reply"] = msg["ts"]
        history.append(msg)
        return msg


def page(items: list[Any], args: dict[str, Any], default_limit: int = 100) -> tuple[list[Any], str]:
    """Cursor pagination: the cursor is the offset, base-10, as an opaque string."""
    try:
        limit = int(args.get("limit") or default_limit)
        start = int(str(args.get("cursor") or "0").removeprefix("dXNlcjo"))
    except ValueError:
        raise SlackError("invalid_cursor") from None
    limit = max(1, min(limit, 1000))
    chunk = items[start:start + limit]
    nxt = f"dXNlcjo{start + limit}" if start + limit < len(items) else ""
    return chunk, nxt
