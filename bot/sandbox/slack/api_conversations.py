"""conversations.*, users.* and usergroups.users.list."""

from __future__ import annotations

import copy
import re
import time
from typing import Any

from bot.sandbox.slack.api_common import (
    SlackError,
    add_to_history,
    arg,
    channel_arg,
    flag,
    method,
    page,
    require_member,
)
from bot.sandbox.slack.state import BOT_USER_ID, Channel, EmulatorState

NAME_RE = re.compile(r"^[a-z0-9_-]+$")


def validate_name(state: EmulatorState, name: str) -> None:
    if not name:
        raise SlackError("invalid_name_required")
    if len(name) > 80:
        raise SlackError("invalid_name_maxlength")
    if not NAME_RE.match(name):
        raise SlackError("invalid_name_specials")
    if name in ("here", "channel", "everyone") or name.strip("-_") == "":
        raise SlackError("invalid_name")
    if state.channel_by_name(name) is not None:
        raise SlackError("name_taken")


def create_channel(state: EmulatorState, name: str, creator: str, *, is_private: bool = False) -> Channel:
    with state.changing():
        validate_name(state, name)
        ch = Channel(state.new_id("C"), name, created=int(time.time()), creator=creator,
                     members={creator}, is_private=is_private)
        state.channels[ch.id] = ch
        state.history[ch.id] = []
        return ch


@method("conversations.create")
def conversations_create(state: EmulatorState, args: dict[str, Any]) -> dict[str, Any]:
    ch = create_channel(state, str(args.get("name") or ""), BOT_USER_ID, is_private=flag(args, "is_private"))
    return {"channel": ch.to_api()}


def system_message(state: EmulatorState, ch: Channel, user: str, subtype: str, text: str, **extra: Any) -> None:
    add_to_history(state, ch, {"type": "message", "subtype": subtype, "user": user, "text": text, **extra})


def join(state: EmulatorState, ch: Channel, user: str) -> bool:
    """Add ``user`` to ``ch``; False when they were already a member."""
    with state.changing():
        if user in ch.members:
            return False
        ch.members.add(user)
        system_message(state, ch, user, "channel_join", f"<@{user}> has joined the channel")
        return True


@method("conversations.join")
def conversations_join(state: EmulatorState, args: dict[str, Any]) -> dict[str, Any]:
    with state.lock:
        ch = channel_arg(state, args)
        if ch.is_archived:
            raise SlackError("is_archived")
        if ch.is_private or ch.is_im:
            raise SlackError("method_not_supported_for_channel_type")
        if not join(state, ch, BOT_USER_ID):
            return {"channel": ch.to_api(), "warning": "already_in_channel",
                    "response_metadata": {"warnings": ["already_in_channel"]}}
        return {"channel": ch.to_api()}


@method("conversations.invite")
def conversations_invite(state: EmulatorState, args: dict[str, Any]) -> dict[str, Any]:
    with state.lock:
        ch = channel_arg(state, args)
        if ch.is_archived:
            raise SlackError("is_archived")
        require_member(ch)
        raw = args.get("users")
        ids = raw if isinstance(raw, list) else [u.strip() for u in str(raw or "").split(",") if u.strip()]
        if not ids:
            raise SlackError("no_user")
        if len(ids) > 1000:
            raise SlackError("too_many_users")
        for uid in ids:
            if state.user(uid) is None:
                raise SlackError("user_not_found", errors=[{"user": uid, "ok": False, "error": "user_not_found"}])
            if uid == BOT_USER_ID:
                raise SlackError("cant_invite_self")
        new = [u for u in ids if u not in ch.members]
        if not new:
            raise SlackError("already_in_channel", errors=[{"user": u, "ok": False, "error": "already_in_channel"} for u in ids])
        for uid in new:
            join(state, ch, uid)
        return {"channel": ch.to_api()}


@method("conversations.info")
def conversations_info(state: EmulatorState, args: dict[str, Any]) -> dict[str, Any]:
    with state.lock:
        return {"channel": channel_arg(state, args).to_api()}


def _visible(m: dict[str, Any]) -> bool:
    return m.get("thread_ts") in (None, m["ts"]) or m.get("subtype") == "thread_broadcast"


def _window(msgs: list[dict[str, Any]], args: dict[str, Any]) -> list[dict[str, Any]]:
    inclusive = flag(args, "inclusive")
    oldest = float(args.get("oldest") or 0)
    latest = float(args.get("latest") or 1e12)

    def inside(ts: float) -> bool:
        lo = ts >= oldest if inclusive else ts > oldest
        hi = ts <= latest if inclusive else ts < latest
        return lo and hi

    return [m for m in msgs if inside(float(m["ts"]))]


@method("conversations.history")
def conversations_history(state: EmulatorState, args: dict[str, Any]) -> dict[str, Any]:
    with state.lock:
        ch = channel_arg(state, args)
        require_member(ch)
        msgs = _window([m for m in state.history[ch.id] if _visible(m)], args)
        msgs = list(reversed(msgs))
        chunk, nxt = page(msgs, args)
        return {"messages": copy.deepcopy(chunk), "has_more": bool(nxt), "pin_count": len(ch.pins),
                "channel_actions_ts": None, "channel_actions_count": 0,
                "response_metadata": {"next_cursor": nxt}}


@method("conversations.replies")
def conversations_replies(state: EmulatorState, args: dict[str, Any]) -> dict[str, Any]:
    with state.lock:
        ch = channel_arg(state, args)
        require_member(ch)
        ts = str(arg(args, "ts"))
        parent = state.find_message(ch.id, ts)
        if parent is None:
            raise SlackError("thread_not_found")
        root = parent.get("thread_ts") or ts
        msgs = [m for m in state.history[ch.id] if m["ts"] == root or m.get("thread_ts") == root]
        chunk, nxt = page(_window(msgs, args) if args.get("oldest") or args.get("latest") else msgs, args, 1000)
        return {"messages": copy.deepcopy(chunk), "has_more": bool(nxt), "response_metadata": {"next_cursor": nxt}}


@method("conversations.list")
def conversations_list(state: EmulatorState, args: dict[str, Any]) -> dict[str, Any]:
    with state.lock:
        types = {t.strip() for t in str(args.get("types") or "public_channel").split(",")}
        exclude_archived = flag(args, "exclude_archived")

        def wanted(c: Channel) -> bool:
            if exclude_archived and c.is_archived:
                return False
            if c.is_im:
                return "im" in types
            if c.is_private:
                return "private_channel" in types and BOT_USER_ID in c.members
            return "public_channel" in types

        chans = [c.to_api() for c in state.channels.values() if wanted(c)]
        chunk, nxt = page(chans, args)
        return {"channels": chunk, "response_metadata": {"next_cursor": nxt}}


@method("conversations.members")
def conversations_members(state: EmulatorState, args: dict[str, Any]) -> dict[str, Any]:
    with state.lock:
        ch = channel_arg(state, args)
        chunk, nxt = page(sorted(ch.members), args)
        return {"members": chunk, "response_metadata": {"next_cursor": nxt}}


@method("conversations.setTopic")
def conversations_set_topic(state: EmulatorState, args: dict[str, Any]) -> dict[str, Any]:
    with state.changing():
        ch = channel_arg(state, args)
        if ch.is_archived:
            raise SlackError("is_archived")
        require_member(ch)
        topic = str(args.get("topic") or "")
        if len(topic) > 250:
            raise SlackError("too_long")
        ch.topic = topic
        system_message(state, ch, BOT_USER_ID, "channel_topic", f"set the channel topic: {topic}", topic=topic)
        return {"channel": ch.to_api()}


@method("conversations.archive")
def conversations_archive(state: EmulatorState, args: dict[str, Any]) -> dict[str, Any]:
    with state.changing():
        ch = channel_arg(state, args)
        if ch.is_general:
            raise SlackError("cant_archive_general")
        if ch.is_im:
            raise SlackError("method_not_supported_for_channel_type")
        if ch.is_archived:
            raise SlackError("already_archived")
        require_member(ch)
        system_message(state, ch, BOT_USER_ID, "channel_archive", "archived the channel")
        ch.is_archived = True
        return {}


@method("users.info")
def users_info(state: EmulatorState, args: dict[str, Any]) -> dict[str, Any]:
    user = state.user(str(args.get("user") or ""))
    if user is None:
        raise SlackError("user_not_found")
    return {"user": user.to_api()}


@method("users.list")
def users_list(state: EmulatorState, args: dict[str, Any]) -> dict[str, Any]:
    chunk, nxt = page([u.to_api() for u in state.users.values()], args)
    return {"members": chunk, "cache_ts": int(time.time()), "response_metadata": {"next_cursor": nxt}}


@method("users.lookupByEmail")
def users_lookup_by_email(state: EmulatorState, args: dict[str, Any]) -> dict[str, Any]:
    email = str(arg(args, "email")).lower()
    user = next((u for u in state.users.values() if not u.is_bot and u.email == email), None)
    if user is None:
        raise SlackError("users_not_found")
    return {"user": user.to_api()}


@method("usergroups.users.list")
def usergroups_users_list(state: EmulatorState, args: dict[str, Any]) -> dict[str, Any]:
    group = state.usergroups.get(str(arg(args, "usergroup")))
    if group is None:
        raise SlackError("no_such_subteam")
    return {"users": list(group["users"])}


@method("usergroups.list")
def usergroups_list(state: EmulatorState, args: dict[str, Any]) -> dict[str, Any]:
    groups = []
    for g in state.usergroups.values():
        item = {"id": g["id"], "handle": g["handle"], "name": g["name"], "team_id": "T0AISRE",
                "is_usergroup": True, "user_count": len(g["users"])}
        if flag(args, "include_users"):
            item["users"] = list(g["users"])
        groups.append(item)
    return {"usergroups": groups}
