"""The Bolt app: HTTP mode behind our Starlette app, or Socket Mode.

::

    app = create_bolt_app(settings, services)            # listeners registered, nothing connected
    web = create_web_app(..., slack_handler=http_handler(app))   # settings.slack.mode == "http"
    start_socket_mode(app, settings.slack.app_token)      # settings.slack.mode == "socket"

The Web API client is :func:`bot.slack.client.make_web_client` (its base URL is the
emulator's or Slack's, with the retry handlers). Bolt verifies every HTTP request's
signature and timestamp (older than five minutes, or badly signed: 401, no listener
runs). ``process_before_response=False``: Bolt answers Slack as soon as a listener acks
and runs the rest, and the ``lazy=[...]`` functions, on its thread pool. The token is not
checked at construction (no network in ``create_bolt_app``); Bolt calls ``auth.test``
on the first request and caches the bot's user id, which its self-event filter uses.

Socket Mode relies on slack_sdk's built-in ``SocketModeClient``: it pings every
``ping_interval`` seconds and drops a session that saw no pong for four intervals; with
``auto_reconnect_enabled`` its monitor (every ``ping_interval``) reconnects a closed
session, and a ``{"type": "disconnect"}`` message (Slack rotating the connection, about
hourly, or ``refresh_requested``) makes it open a new URL at once. On top of that
:class:`SocketWatchdog` notices a connection that stays down past ``stale_after_s``
(e.g. the monitor died on an exception) and forces a new one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_sdk import WebClient
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.settings import Settings
from bot.slack.client import make_web_client
from bot.slack.listeners import register_listeners
from bot.slack.services import SlackServices

log = logging.getLogger("bot.slack")
SlackHandler = Callable[[Request], Awaitable[Response]]


def create_bolt_app(settings: Settings, services: SlackServices, *, client: WebClient | None = None) -> App:
    s = settings.slack
    app = App(
        name="ai-sre",
        client=client or make_web_client(s),
        signing_secret=s.signing_secret.get_secret_value(),
        process_before_response=False,
        request_verification_enabled=True,
        token_verification_enabled=False,
        ignoring_self_events_enabled=True,
        url_verification_enabled=True,
        ssl_check_enabled=True,
        raise_error_for_unhandled_request=False,
    )

    @app.error
    def on_error(error: Exception, body: dict[str, object]) -> None:
        log.error("slack request failed: %s (%s)", error, body.get("type"), exc_info=error)

    register_listeners(app, services)
    return app


def http_handler(app: App) -> SlackHandler:
    """An async ``(request) -> Response`` for ``create_web_app(slack_handler=...)``.

    ``App.dispatch`` blocks until a listener acks, so it runs on Starlette's thread pool
    rather than on the event loop.
    """

    async def handle(request: Request) -> Response:
        ts = request.headers.get("x-slack-request-timestamp")
        if ts is not None and not ts.strip().isdigit():  # slack_sdk's verifier would raise on int(): a 500
            return JSONResponse({"error": "invalid request"}, status_code=401)
        body = await request.body()
        bolt_request = to_bolt_request(request, body)
        bolt_response = await run_in_threadpool(app.dispatch, bolt_request)
        return to_starlette_response(bolt_response)

    return handle


class SocketWatchdog:
    """Forces a reconnect when the Socket Mode connection stays down past ``stale_after_s``."""

    def __init__(self, handler: SocketModeHandler, *, stale_after_s: float = 60.0, check_every_s: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.handler = handler
        self.stale_after_s = stale_after_s
        self.check_every_s = check_every_s
        self.clock = clock
        self.down_since: float | None = None
        self.reconnects = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> bool:
        """One check; True when it forced a reconnect."""
        client = self.handler.client
        if client.closed or client.is_connected():
            self.down_since = None
            return False
        now = self.clock()
        if self.down_since is None:
            self.down_since = now
            return False
        if now - self.down_since < self.stale_after_s:
            return False
        log.warning("socket mode connection down for %.0fs; reconnecting", now - self.down_since)
        try:
            client.connect_to_new_endpoint(force=True)
            self.reconnects += 1
        except Exception:
            log.exception("socket mode reconnect failed; will retry")
        self.down_since = now
        return True

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.wait(self.check_every_s):
                self.check()

        self._thread = threading.Thread(target=loop, name="slack-socket-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()


def start_socket_mode(app: App, app_token: str, *, ping_interval: float = 10.0,
                      stale_after_s: float = 60.0) -> tuple[SocketModeHandler, SocketWatchdog]:
    """Connect over Socket Mode (returns at once; the handler's threads keep running)."""
    handler = SocketModeHandler(app, app_token, auto_reconnect_enabled=True, ping_interval=ping_interval)
    handler.connect()
    watchdog = SocketWatchdog(handler, stale_after_s=stale_after_s)
    watchdog.start()
    return handler, watchdog


def start(app: App, settings: Settings) -> SlackHandler | None:
    """Start the mode ``settings.slack.mode`` selects: the HTTP handler to mount, or None for Socket Mode."""
    if settings.slack.mode == "http":
        return http_handler(app)
    if settings.slack.app_token is None:
        raise ValueError("AISRE_SLACK__APP_TOKEN: Socket Mode needs an app-level token (xapp-...)")
    start_socket_mode(app, settings.slack.app_token.get_secret_value())
    return None
