"""The sandbox feature-flag service (the protocol of :mod:`bot.integrations.flags`).

Flags come from the scenario's ``feature_flag`` events up to now: the current
value is the last event's ``new``. A PATCH ``{"enabled": false}`` (or a
``value`` equal to the flag's value before its last change, a revert) calls
``replay.apply_mitigation("disable_flag", service)``; every PATCH is recorded
with ``replay.record_write("flags", ...)``. Bearer auth when a token is set.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.sandbox.asgi_thread import RunningServer, serve
from bot.sandbox.replay import Replay

TOKEN = "sandbox-flags-token"


def _err(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class FlagStore:
    def __init__(self, replay: Replay) -> None:
        self.replay = replay
        self._lock = threading.Lock()
        self._overrides: dict[tuple[str, str], dict[str, Any]] = {}

    def _from_events(self) -> dict[tuple[str, str], dict[str, Any]]:
        out: dict[tuple[str, str], dict[str, Any]] = {}
        events = sorted(
            (e for e in self.replay.scenario.events if e.kind == "feature_flag" and e.flag),
            key=lambda e: e.at,
        )
        now = self.replay.now_minute()
        for e in events:
            if e.at > now:
                continue
            assert e.flag is not None
            out[(e.service, e.flag)] = {
                "service": e.service, "flag": e.flag, "value": e.new, "enabled": True, "previous": e.old,
                "updated_at": self.replay.minute_to_dt(e.at).isoformat(), "updated_by": e.author,
                "change_id": e.id,
            }
        return out

    def all(self) -> dict[tuple[str, str], dict[str, Any]]:
        flags = self._from_events()
        with self._lock:
            for k, v in self._overrides.items():
                flags[k] = {**flags.get(k, {}), **v}
        return flags

    def patch(self, service: str, flag: str, body: dict[str, Any]) -> dict[str, Any]:
        current = self.all()[(service, flag)]
        update: dict[str, Any] = {}
        if "enabled" in body:
            update["enabled"] = bool(body["enabled"])
        if "value" in body:
            update["value"] = body["value"]
            update["previous"] = current.get("value")
        actor = str(body.get("actor") or "unknown")
        update["updated_at"] = self.replay.now().isoformat()
        update["updated_by"] = actor
        disables = update.get("enabled") is False or (
            "value" in body and current.get("previous") is not None and body["value"] == current.get("previous")
        ) or body.get("value") in (False, "off", "0%")
        with self._lock:
            self._overrides[(service, flag)] = {**self._overrides.get((service, flag), {}), **update}
        self.replay.record_write("flags", "patch", service=service, flag=flag, body=body, actor=actor)
        if disables:
            self.replay.apply_mitigation("disable_flag", service, detail=f"{flag} turned off by {actor}")
        return self.all()[(service, flag)]


def create_app(replay: Replay, *, token: str | None = TOKEN) -> Starlette:
    store = FlagStore(replay)

    def authorized(request: Request) -> bool:
        return token is None or request.headers.get("authorization") == f"Bearer {token}"

    async def list_all(request: Request) -> JSONResponse:
        if not authorized(request):
            return _err(401, "missing or invalid bearer token")
        return JSONResponse({"flags": list(store.all().values())})

    async def list_service(request: Request) -> JSONResponse:
        if not authorized(request):
            return _err(401, "missing or invalid bearer token")
        svc = request.path_params["service"]
        if replay.scenario.service(svc) is None:
            return _err(404, f"no service {svc!r}")
        return JSONResponse({"flags": [f for (s, _), f in store.all().items() if s == svc]})

    async def one(request: Request) -> JSONResponse:
        if not authorized(request):
            return _err(401, "missing or invalid bearer token")
        svc, flag = request.path_params["service"], request.path_params["flag"]
        if (svc, flag) not in store.all():
            return _err(404, f"no flag {flag!r} on service {svc!r}")
        if request.method == "GET":
            return JSONResponse(store.all()[(svc, flag)])
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError:
            return _err(400, "the body must be JSON")
        if not isinstance(body, dict) or not ({"enabled", "value"} & set(body)):
            return _err(422, 'expected a JSON object with "enabled" and/or "value"')
        if "enabled" in body and not isinstance(body["enabled"], bool):
            return _err(422, '"enabled" must be true or false')
        if "value" in body and not isinstance(body["value"], str | int | float | bool | type(None)):
            return _err(422, '"value" must be a string, number, boolean or null')
        try:
            return JSONResponse(store.patch(svc, flag, body))
        except Exception as e:  # never crash the server
            return _err(500, f"internal error: {type(e).__name__}")

    return Starlette(routes=[
        Route("/flags", list_all, methods=["GET"]),
        Route("/flags/{service}", list_service, methods=["GET"]),
        Route("/flags/{service}/{flag}", one, methods=["GET", "PATCH"]),
    ])


def start(replay: Replay, *, token: str | None = TOKEN, port: int = 0) -> RunningServer:
    server = serve(create_app(replay, token=token), name="flags", port=port)
    server.extra["token"] = token
    return server
