"""Scheduler fixtures: a local HTTP server the test can slow down, a fake chat port, a real intake."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bot.catalog.model import ServiceCatalog
from bot.intake.service import IntakeService
from bot.settings import Settings


@dataclass
class SlowServer:
    url: str
    delay: float = 0.0
    status: int = 200
    hits: int = 0


@pytest.fixture
def slow_server() -> Iterator[SlowServer]:
    state = SlowServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            state.hits += 1
            time.sleep(state.delay)
            self.send_response(state.status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/healthz"
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield state
    server.shutdown()
    server.server_close()


@dataclass
class FakeChat:
    posts: list[dict[str, Any]] = field(default_factory=list)
    channels: dict[str, str] = field(default_factory=dict)

    def ensure_channel(self, name: str) -> str:
        return self.channels.setdefault(name, f"C{len(self.channels) + 1:04d}")

    def set_topic(self, channel: str, topic: str) -> None: ...

    def invite(self, channel: str, users: list[str]) -> None: ...

    def post(self, channel: str, text: str, blocks: list[dict[str, Any]] | None = None,
             thread_ts: str | None = None) -> str:
        self.posts.append({"channel": channel, "text": text, "blocks": blocks or []})
        return f"{len(self.posts)}.000"

    def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]] | None = None) -> None: ...

    def ephemeral(self, channel: str, user: str, text: str, blocks: list[dict[str, Any]] | None = None) -> None: ...

    def upload_png(self, channel: str, data: bytes, title: str, thread_ts: str | None = None) -> None: ...

    def resolve_users(self, handles: list[str]) -> list[str]:
        return handles


@pytest.fixture
def chat() -> FakeChat:
    return FakeChat()


class Clock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def intake(database) -> IntakeService:
    return IntakeService(db=database, settings=Settings(), catalog=lambda: ServiceCatalog())
