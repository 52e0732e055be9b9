"""``ChatPort`` over slack_sdk: channels, messages, uploads, user lookups.

Slack errors become :class:`ChatError` with Slack's error code; callers decide
what a failure means (a brief that cannot be posted is retried by the caller,
an invite that fails is noted and skipped).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)
_NAME_OK = re.compile(r"[^a-z0-9_-]+")


class ChatError(Exception):
    def __init__(self, method: str, code: str) -> None:
        super().__init__(f"slack {method}: {code}")
        self.method = method
        self.code = code


def channel_name(raw: str) -> str:
    """A valid Slack channel name: lowercase, [a-z0-9_-], at most 80 characters."""
    name = _NAME_OK.sub("-", raw.lower()).strip("-")
    return re.sub(r"-{2,}", "-", name)[:80] or "incident"


class SlackChat:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        try:
            resp = self.client.api_call(method, json=kwargs)
        except SlackApiError as e:
            raise ChatError(method, str(e.response.get("error", "unknown_error"))) from None
        data: dict[str, Any] = resp.data if isinstance(resp.data, dict) else {}
        if not data.get("ok"):
            raise ChatError(method, str(data.get("error", "unknown_error")))
        return data

    def ensure_channel(self, name: str) -> str:
        name = channel_name(name)
        try:
            return str(self._call("conversations.create", name=name)["channel"]["id"])
        except ChatError as e:
            if e.code != "name_taken":
                raise
        cursor = None
        while True:
            args: dict[str, Any] = {"limit": 200, "exclude_archived": True}
            if cursor:
                args["cursor"] = cursor
            data = self._call("conversations.list", **args)
            for ch in data.get("channels", []):
                if ch.get("name") == name:
                    if not ch.get("is_member"):
                        self._call("conversations.join", channel=ch["id"])
                    return str(ch["id"])
            cursor = (data.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                raise ChatError("conversations.list", "channel_not_found")

    def set_topic(self, channel: str, topic: str) -> None:
        self._call("conversations.setTopic", channel=channel, topic=topic[:250])

    def invite(self, channel: str, users: list[str]) -> None:
        if not users:
            return
        try:
            self._call("conversations.invite", channel=channel, users=",".join(users))
        except ChatError as e:
            if e.code not in ("already_in_channel", "cant_invite_self"):
                raise

    def post(self, channel: str, text: str, blocks: list[dict[str, Any]] | None = None,
             thread_ts: str | None = None) -> str:
        args: dict[str, Any] = {"channel": channel, "text": text[:3900]}
        if blocks:
            args["blocks"] = blocks
        if thread_ts:
            args["thread_ts"] = thread_ts
        return str(self._call("chat.postMessage", **args)["ts"])

    def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        args: dict[str, Any] = {"channel": channel, "ts": ts, "text": text[:3900]}
        if blocks is not None:
            args["blocks"] = blocks
        self._call("chat.update", **args)

    def ephemeral(self, channel: str, user: str, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        args: dict[str, Any] = {"channel": channel, "user": user, "text": text[:3900]}
        if blocks:
            args["blocks"] = blocks
        self._call("chat.postEphemeral", **args)

    def upload_png(self, channel: str, data: bytes, title: str, thread_ts: str | None = None) -> None:
        try:
            kwargs: dict[str, Any] = {"channel": channel, "content": data, "filename": "chart.png", "title": title}
            if thread_ts:
                kwargs["thread_ts"] = thread_ts
            self.client.files_upload_v2(**kwargs)
        except SlackApiError as e:
            raise ChatError("files_upload_v2", str(e.response.get("error", "unknown_error"))) from None

    def resolve_users(self, handles: list[str]) -> list[str]:
        out: list[str] = []
        for h in handles:
            h = h.strip().lstrip("@")
            if re.fullmatch(r"[UW][A-Z0-9]{2,}", h):
                out.append(h)
            elif "@" in h:
                try:
                    out.append(str(self._call("users.lookupByEmail", email=h)["user"]["id"]))
                except ChatError as e:
                    log.info("owner %s not found: %s", h, e.code)
        return list(dict.fromkeys(out))

    def usergroup_members(self, group: str) -> list[str]:
        try:
            return [str(u) for u in self._call("usergroups.users.list", usergroup=group).get("users", [])]
        except ChatError:
            return []
