"""What the incident service needs from Slack, as a small interface.

``bot/slack/chat.py`` implements it with slack_sdk; tests may pass a fake.
"""

from __future__ import annotations

from typing import Any, Protocol


class ChatPort(Protocol):
    def ensure_channel(self, name: str) -> str:
        """Create the channel, or join it when the name is taken; return its id."""
        ...

    def set_topic(self, channel: str, topic: str) -> None: ...

    def invite(self, channel: str, users: list[str]) -> None: ...

    def post(self, channel: str, text: str, blocks: list[dict[str, Any]] | None = None,
             thread_ts: str | None = None) -> str:
        """Post a message; return its ts."""
        ...

    def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]] | None = None) -> None: ...

    def ephemeral(self, channel: str, user: str, text: str, blocks: list[dict[str, Any]] | None = None) -> None: ...

    def upload_png(self, channel: str, data: bytes, title: str, thread_ts: str | None = None) -> None: ...

    def resolve_users(self, handles: list[str]) -> list[str]:
        """User ids for owners given as ids, e-mails or @handles (unknown ones dropped)."""
        ...
