"""The end-to-end harness: the emulator, and our Bolt app served by uvicorn on a free port.

Like bolt-python's own tests, requests go through ``App.dispatch`` (here via real HTTP from
the emulator, signed) and the tests assert the Web API calls that reached the emulator.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Route

from bot.sandbox.slack import EmulatorHandle, start_emulator
from bot.sandbox.slack.app import free_port
from bot.settings import Settings, SlackSettings
from bot.slack.app import create_bolt_app, http_handler
from bot.slack.services import SlackServices
from tests.slack.fakes import FakeServices

T = TypeVar("T")
SECRET = "slack-test-signing-secret"
TOKEN = "xoxb-slack-test"


@dataclass
class Harness:
    emulator: EmulatorHandle
    services: FakeServices
    url: str

    def wait(self, check: Callable[[], T], timeout: float = 10.0) -> T:
        """Poll until ``check()`` is truthy (lazy listeners finish after the HTTP answer)."""
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value or time.monotonic() > deadline:
                return value
            time.sleep(0.02)


@pytest.fixture
def h() -> Iterator[Harness]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/slack/events"
    emulator = start_emulator(url, SECRET, TOKEN, timeout_s=3.0, retry_delays=(0.0, 0.0, 0.0))
    fake = FakeServices()
    services: SlackServices = fake
    slack = SlackSettings.model_validate({"bot_token": TOKEN, "signing_secret": SECRET,
                                          "api_url": emulator.api_url, "max_retries": 0})
    settings = Settings.model_validate({"slack": slack})
    app = create_bolt_app(settings, services)
    handler = http_handler(app)
    web = Starlette(routes=[Route("/slack/events", handler, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(web, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield Harness(emulator, fake, url)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        emulator.stop()
