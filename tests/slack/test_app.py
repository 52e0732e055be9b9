"""create_bolt_app wiring and the Socket Mode watchdog (no network)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from slack_bolt import App

from bot.settings import Settings
from bot.slack.app import SocketWatchdog, create_bolt_app, start
from tests.slack.fakes import FakeServices


def test_create_bolt_app_makes_no_calls_and_registers_listeners() -> None:
    app = create_bolt_app(Settings.model_validate({"slack": {"api_url": "http://127.0.0.1:1/api/"}}), FakeServices())
    assert isinstance(app, App)
    assert app.client.base_url == "http://127.0.0.1:1/api/"
    assert len(app._listeners) >= 10  # events, /aisre, buttons, modal, home


def test_socket_mode_needs_an_app_token() -> None:
    settings = Settings.model_validate({"slack": {"mode": "socket"}})
    app = create_bolt_app(settings, FakeServices())
    try:
        start(app, settings)
    except ValueError as e:
        assert "AISRE_SLACK__APP_TOKEN" in str(e)
    else:
        raise AssertionError("expected a ValueError")


@dataclass
class FakeSocketClient:
    connected: bool = True
    closed: bool = False
    reconnects: list[bool] = field(default_factory=list)

    def is_connected(self) -> bool:
        return self.connected

    def connect_to_new_endpoint(self, force: bool = False) -> None:
        self.reconnects.append(force)


@dataclass
class FakeHandler:
    client: FakeSocketClient


def test_watchdog_reconnects_a_connection_that_stays_down() -> None:
    now = [0.0]
    client = FakeSocketClient()
    dog = SocketWatchdog(cast(Any, FakeHandler(client)), stale_after_s=30, clock=lambda: now[0])
    assert not dog.check()
    client.connected = False
    assert not dog.check()  # down: start counting
    now[0] = 20
    assert not dog.check()  # not stale yet: slack_sdk's own monitor may still reconnect
    now[0] = 31
    assert dog.check() and client.reconnects == [True]
    client.connected = True
    now[0] = 100
    assert not dog.check() and dog.down_since is None
    client.closed, client.connected = True, False
    assert not dog.check()  # closed on purpose: leave it


def test_http_handler_plugs_into_the_web_app() -> None:
    import json
    import time

    from starlette.testclient import TestClient

    from bot.sandbox.slack import sign
    from bot.slack.app import http_handler
    from bot.web.app import create_web_app
    from bot.web.metrics import BotMetrics

    settings = Settings.model_validate({"slack": {"signing_secret": "s3cret", "api_url": "http://127.0.0.1:1/api/"}})
    web = create_web_app(intake=cast(Any, None), metrics=BotMetrics(), readiness=lambda: [],
                         slack_handler=http_handler(create_bolt_app(settings, FakeServices())))
    body = json.dumps({"type": "url_verification", "challenge": "abc", "token": "t"}).encode()
    ts = int(time.time())
    with TestClient(web) as tc:
        ok = tc.post("/slack/events", content=body, headers={
            "Content-Type": "application/json", "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": sign("s3cret", ts, body)})
        assert ok.status_code == 200 and ok.json() == {"challenge": "abc"}
        bad = tc.post("/slack/interactions", content=body, headers={
            "Content-Type": "application/json", "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": sign("wrong", ts, body)})
        assert bad.status_code == 401
