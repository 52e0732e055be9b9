"""Run the bot: migrations, background parts, the web server; a clean stop on SIGINT/SIGTERM."""

from __future__ import annotations

import logging
import threading
import time

import uvicorn

from bot.settings import Settings


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("uvicorn.access", "httpx", "urllib3", "chromadb", "werkzeug", "kubernetes"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def run_server(settings: Settings) -> None:
    from bot.wiring.bot import build_bot

    configure_logging(settings.log_level)
    bot = build_bot(settings)
    bot.start()
    try:
        uvicorn.run(bot.web, host=settings.host, port=settings.port, log_level=settings.log_level.lower(),
                    lifespan="off", timeout_graceful_shutdown=5)
    finally:
        bot.stop()


class ServerThread:
    """An ASGI app served by uvicorn in a daemon thread (the demo and end-to-end tests)."""

    def __init__(self, app: object, host: str, port: int, log_level: str = "warning") -> None:
        config = uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="off",  # type: ignore[arg-type]
                                timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=f"web-{port}", daemon=True)
        self.url = f"http://{host}:{port}"

    def start(self, timeout_s: float = 10.0) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"web server on {self.url} did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
