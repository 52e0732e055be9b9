"""Fixtures: a tiny signed-request receiver standing in for the bot, and a running emulator."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from slack_sdk import WebClient

from bot.sandbox.slack import EmulatorHandle, start_emulator

SECRET = "test-signing-secret"
TOKEN = "xoxb-test-token"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers 200 (after ``delay_s`` for the first ``slow_times`` requests) and keeps what came in."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    delay_s: float = 0.0
    slow_times: int = 0
    reply: bytes = b""
    reply_type: str = "text/plain"
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, n: int, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.requests) < n and time.monotonic() < deadline:
                self.arrived.wait(timeout=0.05)
        return list(self.requests)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with rec.lock:
                slow = rec.slow_times > 0
                if slow:
                    rec.slow_times -= 1
            with rec.arrived:
                rec.requests.append(Received({k: v for k, v in self.headers.items()}, body))
                rec.arrived.notify_all()
            if slow:
                time.sleep(rec.delay_s)
            self.send_response(200)
            self.send_header("Content-Type", rec.reply_type)
            self.send_header("Content-Length", str(len(rec.reply)))
            self.end_headers()
            self.wfile.write(rec.reply)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    rec.url = f"http://127.0.0.1:{server.server_address[1]}/slack/events"
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield rec
    server.shutdown()
    server.server_close()


@pytest.fixture
def emulator(receiver: Receiver) -> Iterator[EmulatorHandle]:
    handle = start_emulator(receiver.url, SECRET, TOKEN, timeout_s=0.3, retry_delays=(0.0, 0.0, 0.0))
    yield handle
    handle.stop()


@pytest.fixture
def client(emulator: EmulatorHandle) -> WebClient:
    return WebClient(token=TOKEN, base_url=emulator.api_url)
