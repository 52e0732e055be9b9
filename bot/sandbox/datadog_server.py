"""A Datadog-compatible API over a Replay, for the requests ``datadog_api_client`` sends.

| method | path | answer |
|---|---|---|
| GET  | /api/v1/validate | ``{"valid": true}`` |
| GET  | /api/v1/metrics?from&tag_filter | active metrics (``tag_filter`` ``service:X`` or ``*``) |
| GET  | /api/v1/query?from&to&query | v1 timeseries; query ``avg:<metric>{service:X}[.rollup(avg, 60)]`` |
| POST | /api/v2/logs/events/search | log entries, cursor pagination |
| POST | /api/v2/logs/analytics/aggregate | counts (total or 1-minute timeseries) |
| GET  | /api/v1/events?start&end&tags&sources&page | scenario events with the tag convention |
| GET  | /api/v1/monitor/{id} | the alert's monitor |

Auth: ``DD-API-KEY`` (and ``DD-APPLICATION-KEY`` except for validate) must equal
the configured keys, else 403 ``{"errors": ["Forbidden"]}``. Bad parameters get
400 with Datadog's error bodies; unknown paths 404 ``{"errors": ["Not found"]}``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.sandbox.asgi_thread import RunningServer, serve
from bot.sandbox.datadog_logs_api import aggregate_logs, search_logs
from bot.sandbox.datadog_render import monitor_id, render_event, render_monitor
from bot.sandbox.replay import Replay

API_KEY = "sandbox-dd-api-key"
APP_KEY = "sandbox-dd-app-key"

_QUERY = re.compile(
    r"^\s*(?P<aggr>avg|sum|min|max):(?P<metric>[A-Za-z_][A-Za-z0-9_.]*)\{(?P<scope>[^}]*)\}"
    r"(?:\.rollup\(\s*(?:avg|sum|min|max|count)\s*(?:,\s*(?P<rollup>\d+)\s*)?\))?\s*$"
)


def v1_error(status: int, *messages: str) -> JSONResponse:
    return JSONResponse({"errors": list(messages)}, status_code=status)


def _int_param(request: Request, name: str, *, required: bool = True) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        if required:
            raise _BadRequest(f"The parameter '{name}' is required")
        return None
    try:
        return int(float(raw))
    except ValueError:
        raise _BadRequest(f"Invalid value for '{name}': expected an integer, got {raw!r}") from None


class _BadRequest(Exception):
    pass


def _scope_tags(scope: str) -> dict[str, str] | None:
    """``service:x,env:y`` -> {"service": "x", ...}; ``*`` -> {}; anything else -> None."""
    scope = scope.strip()
    if scope in ("", "*"):
        return {}
    out = {}
    for part in scope.split(","):
        k, sep, v = part.strip().partition(":")
        if not sep or not k or not v:
            return None
        out[k] = v
    return out


def create_app(replay: Replay, *, api_key: str = API_KEY, app_key: str = APP_KEY) -> Starlette:
    def authorized(request: Request, *, need_app_key: bool = True) -> bool:
        if request.headers.get("dd-api-key") != api_key:
            return False
        return not need_app_key or request.headers.get("dd-application-key") == app_key

    def guard(handler: Any, *, need_app_key: bool = True) -> Any:
        async def wrapped(request: Request) -> JSONResponse:
            if not authorized(request, need_app_key=need_app_key):
                return v1_error(403, "Forbidden")
            try:
                return await handler(request)
            except _BadRequest as e:
                return v1_error(400, str(e))
            except Exception as e:  # never crash: answer like Datadog's 500
                return v1_error(500, f"Internal Server Error: {type(e).__name__}")

        return wrapped

    async def validate(request: Request) -> JSONResponse:
        return JSONResponse({"valid": True})

    async def list_active_metrics(request: Request) -> JSONResponse:
        since = _int_param(request, "from")
        tag_filter = request.query_params.get("tag_filter", "*")
        tags = _scope_tags(tag_filter)
        if tags is None:
            raise _BadRequest(f"Invalid tag_filter: {tag_filter!r}")
        names: set[str] = set()
        for m in replay.scenario.metrics:
            ns = replay.scenario.service(m.service)
            have = {"service": m.service, "env": "sandbox", "kube_namespace": ns.namespace if ns else "default"}
            if all(have.get(k) == v for k, v in tags.items()):
                names.add(m.name)
        return JSONResponse({"from": str(since), "metrics": sorted(names)})

    async def query_metrics(request: Request) -> JSONResponse:
        start = _int_param(request, "from")
        end = _int_param(request, "to")
        query = request.query_params.get("query", "")
        if not query:
            raise _BadRequest("The parameter 'query' is required")
        assert start is not None and end is not None
        if end < start:
            raise _BadRequest("The 'from' parameter must be before the 'to' parameter")
        m = _QUERY.match(query)
        tags = _scope_tags(m.group("scope")) if m else None
        if m is None or tags is None:
            raise _BadRequest(f"Error parsing query: unable to parse {query}: Rule 'scope_expr' didn't match")
        if m.group("rollup") and int(m.group("rollup")) != 60:
            raise _BadRequest("The sandbox serves one-minute rollups only: use .rollup(avg, 60)")
        metric, aggr = m.group("metric"), m.group("aggr")
        services = [s.name for s in replay.scenario.services if tags.get("service", s.name) == s.name]
        from datetime import UTC, datetime

        lo = replay.dt_to_minute(datetime.fromtimestamp(start, UTC))
        hi = replay.dt_to_minute(datetime.fromtimestamp(end, UTC))
        by_minute: dict[int, list[float]] = {}
        for svc in services:
            if replay.has_metric(svc, metric):
                for minute, v in replay.series(svc, metric, lo, hi):
                    by_minute.setdefault(minute, []).append(v)
        series = []
        if by_minute:
            pointlist = []
            for minute in sorted(by_minute):
                vs = by_minute[minute]
                v = {"avg": sum(vs) / len(vs), "sum": sum(vs), "min": min(vs), "max": max(vs)}[aggr]
                pointlist.append([round(replay.minute_to_dt(minute).timestamp() * 1000.0, 3), v])
            scope = m.group("scope").strip() or "*"
            series.append({
                "metric": metric, "display_name": metric, "query_index": 0, "aggr": aggr, "scope": scope,
                "expression": query.strip(), "tag_set": [], "start": int(pointlist[0][0]),
                "end": int(pointlist[-1][0]), "interval": 60, "length": len(pointlist), "pointlist": pointlist,
            })
        return JSONResponse({
            "status": "ok", "res_type": "time_series", "resp_version": 1, "query": query,
            "from_date": start * 1000, "to_date": end * 1000, "series": series, "group_by": [], "message": "",
        })

    async def list_events(request: Request) -> JSONResponse:
        start = _int_param(request, "start")
        end = _int_param(request, "end")
        page = _int_param(request, "page", required=False) or 0
        assert start is not None and end is not None
        if end < start:
            raise _BadRequest("Invalid time range: 'start' must be before 'end'")
        from datetime import UTC, datetime

        want = [t.strip() for t in request.query_params.get("tags", "").split(",") if t.strip()]
        sources = [t.strip().lower() for t in request.query_params.get("sources", "").split(",") if t.strip()]
        lo = replay.dt_to_minute(datetime.fromtimestamp(start, UTC)) - 1 / 120
        hi = replay.dt_to_minute(datetime.fromtimestamp(end, UTC)) + 1 / 120
        events = []
        for ev in replay.events_between(lo, hi):
            e = render_event(replay, ev)
            if not start <= e["date_happened"] <= end:
                continue
            if all(t in e["tags"] for t in want) and (
                not sources or any(f"source:{s}" in e["tags"] for s in sources)
            ):
                events.append(e)
        events.sort(key=lambda e: -e["date_happened"])  # newest first, as Datadog lists them
        return JSONResponse({"events": events[page * 1000 : (page + 1) * 1000], "status": "ok"})

    async def get_monitor(request: Request) -> JSONResponse:
        raw = request.path_params["monitor_id"]
        if not raw.isdigit():
            raise _BadRequest(f"Invalid monitor_id: {raw!r}")
        if int(raw) != monitor_id(replay):
            return v1_error(404, "Monitor not found")
        return JSONResponse(render_monitor(replay))

    async def logs_search(request: Request) -> JSONResponse:
        status, body = search_logs(replay, await _json_body(request), str(request.url))
        return JSONResponse(body, status_code=status)

    async def logs_aggregate(request: Request) -> JSONResponse:
        status, body = aggregate_logs(replay, await _json_body(request))
        return JSONResponse(body, status_code=status)

    async def not_found(request: Request) -> JSONResponse:
        if not authorized(request, need_app_key=False):
            return v1_error(403, "Forbidden")
        return v1_error(404, "Not found")

    routes = [
        Route("/api/v1/validate", guard(validate, need_app_key=False), methods=["GET"]),
        Route("/api/v1/metrics", guard(list_active_metrics), methods=["GET"]),
        Route("/api/v1/query", guard(query_metrics), methods=["GET"]),
        Route("/api/v1/events", guard(list_events), methods=["GET"]),
        Route("/api/v1/monitor/{monitor_id}", guard(get_monitor), methods=["GET"]),
        Route("/api/v2/logs/events/search", guard(logs_search), methods=["POST"]),
        Route("/api/v2/logs/analytics/aggregate", guard(logs_aggregate), methods=["POST"]),
        Route("/{path:path}", not_found, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ]
    return Starlette(routes=routes)


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise _BadRequest("Malformed JSON body") from None


def start(replay: Replay, *, api_key: str = API_KEY, app_key: str = APP_KEY, port: int = 0) -> RunningServer:
    server = serve(create_app(replay, api_key=api_key, app_key=app_key), name="datadog", port=port)
    server.extra.update(api_key=api_key, app_key=app_key)
    return server
