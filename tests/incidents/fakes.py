"""Fakes for the incident service's ports (injected, never patched in)."""

from __future__ import annotations

import itertools
import threading
from datetime import datetime
from typing import Any


class FakeChat:
    """Records every call; channels and ts are made up deterministically."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.channels: dict[str, str] = {}
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._ts = itertools.count(1)
        self._lock = threading.Lock()

    def _rec(self, method: str, **kw: Any) -> None:
        with self._lock:
            self.calls.append((method, kw))

    def ensure_channel(self, name: str) -> str:
        self._rec("ensure_channel", name=name)
        return self.channels.setdefault(name, f"C{len(self.channels) + 1:04d}")

    def set_topic(self, channel: str, topic: str) -> None:
        self._rec("set_topic", channel=channel, topic=topic)

    def invite(self, channel: str, users: list[str]) -> None:
        self._rec("invite", channel=channel, users=users)

    def post(self, channel: str, text: str, blocks: list[dict[str, Any]] | None = None,
             thread_ts: str | None = None) -> str:
        ts = f"1700000000.{next(self._ts):06d}"
        self._rec("post", channel=channel, text=text, blocks=blocks, ts=ts)
        self.messages[(channel, ts)] = {"text": text, "blocks": blocks}
        return ts

    def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        self._rec("update", channel=channel, ts=ts, text=text, blocks=blocks)
        self.messages[(channel, ts)] = {"text": text, "blocks": blocks}

    def ephemeral(self, channel: str, user: str, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        self._rec("ephemeral", channel=channel, user=user, text=text)

    def upload_png(self, channel: str, data: bytes, title: str, thread_ts: str | None = None) -> None:
        self._rec("upload_png", channel=channel, size=len(data), title=title)

    def resolve_users(self, handles: list[str]) -> list[str]:
        return [h for h in handles if h.startswith("U")]

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]


class TextRenderer:
    """A renderer that keeps the view so tests can look at what the brief said."""

    def __init__(self) -> None:
        self.views: list[Any] = []

    def brief(self, view: Any) -> tuple[str, list[dict[str, Any]]]:
        self.views.append(view)
        top = view.hypotheses[0].category if view.hypotheses else "none"
        return f"{view.key} {view.severity} {view.status} top={top}", [{"type": "section", "text": {"type": "mrkdwn", "text": view.title}}]

    def update(self, text: str, at: datetime) -> tuple[str, list[dict[str, Any]]]:
        return f"{at:%H:%M:%S} {text}", []

    def announcement(self, view: Any) -> tuple[str, list[dict[str, Any]]]:
        return f"announce {view.key} {view.severity} {view.status} <#{view.channel_id}>", []
