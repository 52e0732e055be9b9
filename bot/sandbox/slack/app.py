"""The emulator's ASGI app and the in-process server tests and the demo start.

``start_emulator(request_url, signing_secret, bot_token, port=0)`` runs it with uvicorn
in a background thread and returns an :class:`EmulatorHandle` (``url``, ``api_url``,
``state``, ``people``, ``outbound``, ``stop()``). ``create_app`` builds the bare app for
Starlette's ``TestClient``.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette

from bot.sandbox.slack.outbound import Outbound
from bot.sandbox.slack.people import People
from bot.sandbox.slack.state import EmulatorState
from bot.sandbox.slack.ui import ui_routes
from bot.sandbox.slack.web_api import api_routes


def create_app(state: EmulatorState, outbound: Outbound) -> Starlette:
    people = People(state, outbound)
    app = Starlette(routes=[*api_routes(state), *ui_routes(state, people)])
    app.state.emulator = state
    app.state.people = people
    return app


@dataclass
class EmulatorHandle:
    url: str
    state: EmulatorState
    people: People
    outbound: Outbound
    _server: uvicorn.Server
    _thread: threading.Thread

    @property
    def api_url(self) -> str:
        """What ``SlackSettings.api_url`` / ``WebClient(base_url=...)`` should be."""
        return f"{self.url}/api/"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self.outbound.close()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def start_emulator(request_url: str | None, signing_secret: str, bot_token: str, *, port: int = 0,
                   host: str = "127.0.0.1", timeout_s: float = 3.0,
                   retry_delays: tuple[float, ...] = (0.0, 1.0, 5.0), trigger_ttl_s: float = 3.0,
                   log_level: str = "warning") -> EmulatorHandle:
    """Serve the emulator in a daemon thread; returns once it accepts connections."""
    port = port or free_port(host)
    url = f"http://{host}:{port}"
    state = EmulatorState(public_url=url, bot_token=bot_token, trigger_ttl_s=trigger_ttl_s)
    outbound = Outbound(state, request_url, signing_secret, timeout_s=timeout_s, retry_delays=retry_delays)
    app = create_app(state, outbound)
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="off",
                            timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"slack-emulator-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the Slack emulator did not start on {url}")
        time.sleep(0.02)
    return EmulatorHandle(url, state, app.state.people, outbound,
                          server, thread)
