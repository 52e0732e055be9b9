"""The bot's ASGI app: intake webhooks, Slack requests, health, readiness, metrics.

Routes are thin: each hands the raw request to one service.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.intake.service import IntakeService
from bot.integrations.types import HealthStatus
from bot.web.metrics import BotMetrics

MAX_BODY = 1_000_000


async def _read_limited(request: Request) -> tuple[bytes, bool]:
    """``(body, complete)``: the body, or its first chunks and False once it passes the limit (read no further)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        chunks.append(chunk)
        if size > MAX_BODY + 1:
            return b"".join(chunks)[:2000], False
    return b"".join(chunks), True


def create_web_app(
    *,
    intake: IntakeService,
    metrics: BotMetrics,
    readiness: Callable[[], list[HealthStatus]],
    slack_handler: Callable[[Request], Any] | None = None,
    extra_routes: list[Route] | None = None,
) -> Starlette:
    async def intake_route(request: Request) -> Response:
        source = request.path_params["source"]
        body, complete = await _read_limited(request)
        remote = request.client.host if request.client else None
        if not complete:  # still a rejection like any other: counted and recorded
            answer = await run_in_threadpool(intake.too_large, source, body, MAX_BODY, remote)
            return JSONResponse(answer.body, status_code=answer.status)
        answer = await run_in_threadpool(intake.receive, source, body, dict(request.headers), remote)
        return JSONResponse(answer.body, status_code=answer.status)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"ok": True})

    async def readyz(_: Request) -> Response:
        try:
            checks = await asyncio.wait_for(run_in_threadpool(readiness), timeout=10)
        except TimeoutError:
            return JSONResponse({"ok": False, "checks": [{"name": "readiness", "ok": False, "detail": "timed out"}]}, 503)
        ok = all(c.ok for c in checks)
        return JSONResponse(
            {"ok": ok, "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in checks]},
            status_code=200 if ok else 503,
        )

    async def metrics_route(_: Request) -> Response:
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    async def slack_route(request: Request) -> Response:
        if slack_handler is None:
            return JSONResponse({"ok": False, "error": "slack is not configured"}, status_code=503)
        result: Response = await slack_handler(request)
        return result

    routes = [
        Route("/intake/{source}", intake_route, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_route, methods=["GET"]),
        Route("/slack/events", slack_route, methods=["POST"]),
        Route("/slack/commands", slack_route, methods=["POST"]),
        Route("/slack/interactions", slack_route, methods=["POST"]),
        *(extra_routes or []),
    ]
    return Starlette(routes=routes)
