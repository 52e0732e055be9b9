"""A Prometheus-compatible HTTP API over a Replay.

Every scenario metric is a series ``{__name__=<metric>, service, namespace, job="sandbox"}``
with one sample per scenario minute (at ``minute_to_dt(m)``). Queries may be
instant vector selectors only: ``name{label="v", label!="v", label=~"re", label!~"re"}``;
evaluation at time t takes the newest sample at or before t within 5 minutes of
lookback, as Prometheus does. Anything else answers 400
``{"status": "error", "errorType": "bad_data", "error": ...}``.

Endpoints: ``/api/v1/query``, ``/api/v1/query_range``, ``/api/v1/series``,
``/api/v1/labels``, ``/api/v1/label/{name}/values``, ``/api/v1/alerts``,
``/api/v1/status/buildinfo``, ``/-/ready``, ``/-/healthy`` (GET, and POST with a form body).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.sandbox.asgi_thread import RunningServer, serve
from bot.sandbox.replay import Replay

LOOKBACK_MIN = 5.0
MAX_POINTS = 11000
_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d|w|y)$")
_DUR_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*')


class BadData(Exception):
    pass


def bad_data(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"status": "error", "errorType": "bad_data", "error": message}, status_code=status)


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str
    value: str

    def ok(self, labels: dict[str, str]) -> bool:
        have = labels.get(self.label, "")
        if self.op == "=":
            return have == self.value
        if self.op == "!=":
            return have != self.value
        hit = re.fullmatch(self.value, have) is not None
        return hit if self.op == "=~" else not hit


def parse_selector(q: str) -> list[Matcher]:
    """``name{a="b",...}`` -> matchers; raises :class:`BadData` with Prometheus-like messages."""
    s = q.strip()
    if not s:
        raise BadData('invalid parameter "query": 1:1: parse error: no expression found in input')
    out: list[Matcher] = []
    m = _NAME.match(s)
    rest = s
    if m:
        out.append(Matcher("__name__", "=", m.group(0)))
        rest = s[m.end():].strip()
    if rest:
        if not (rest.startswith("{") and rest.endswith("}")):
            col = len(s) - len(rest) + 1
            raise BadData(f'invalid parameter "query": 1:{col}: parse error: unexpected character in {rest[:20]!r}'
                          " (the sandbox accepts vector selectors only)")
        body = rest[1:-1].strip()
        pos = 0
        while pos < len(body):
            mm = _MATCHER.match(body, pos)
            if not mm:
                raise BadData(f'invalid parameter "query": 1:{len(s) - len(rest) + 2 + pos}: parse error: '
                              f"unexpected {body[pos:pos + 10]!r} in label matching")
            value = mm.group(3).encode().decode("unicode_escape")
            if mm.group(2) in ("=~", "!~"):
                try:
                    re.compile(value)
                except re.error as e:
                    raise BadData(f'invalid parameter "query": error parsing regexp: {e}') from None
            out.append(Matcher(mm.group(1), mm.group(2), value))
            pos = mm.end()
            if pos < len(body):
                if body[pos] != ",":
                    raise BadData(f'invalid parameter "query": parse error: unexpected {body[pos]!r}')
                pos += 1
    if not any(x.op in ("=", "=~") and x.value not in ("", ".*") for x in out):
        raise BadData('invalid parameter "query": 1:1: parse error: vector selector must contain at least one '
                      "non-empty matcher")
    return out


def parse_time(raw: str | None, what: str, default: datetime | None = None) -> datetime:
    if raw is None or raw == "":
        if default is not None:
            return default
        raise BadData(f'invalid parameter "{what}": cannot parse "" to a valid timestamp')
    try:
        return datetime.fromtimestamp(float(raw), UTC)
    except (ValueError, OverflowError):
        pass
    try:
        dt = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    except ValueError:
        raise BadData(f'invalid parameter "{what}": cannot parse "{raw}" to a valid timestamp') from None


def parse_step(raw: str | None) -> float:
    if not raw:
        raise BadData('invalid parameter "step": cannot parse "" to a valid duration')
    m = _DURATION.match(raw)
    try:
        step = int(m.group(1)) * _DUR_S[m.group(2)] if m else float(raw)
    except ValueError:
        raise BadData(f'invalid parameter "step": cannot parse "{raw}" to a valid duration') from None
    if step <= 0 or math.isnan(step):
        raise BadData("zero or negative query resolution step widths are not accepted. Try a positive integer")
    return step


class PromApp:
    def __init__(self, replay: Replay) -> None:
        self.replay = replay

    def all_series(self) -> list[tuple[dict[str, str], str, str]]:
        out = []
        for m in self.replay.scenario.metrics:
            ns = self.replay.scenario.service(m.service)
            labels = {"__name__": m.name, "service": m.service,
                      "namespace": ns.namespace if ns else "default", "job": "sandbox"}
            out.append((labels, m.service, m.name))
        return out

    def select(self, matchers: list[Matcher]) -> list[tuple[dict[str, str], str, str]]:
        return [s for s in self.all_series() if all(x.ok(s[0]) for x in matchers)]

    def samples(self, service: str, metric: str, t0: datetime, t1: datetime) -> dict[int, float]:
        lo = self.replay.dt_to_minute(t0) - LOOKBACK_MIN - 1
        hi = self.replay.dt_to_minute(t1) + 1e-4
        return dict(self.replay.series(service, metric, lo, hi))

    def value_at(self, samples: dict[int, float], t: datetime) -> tuple[float, float] | None:
        minute = self.replay.dt_to_minute(t)
        m = math.floor(minute + 1e-4)  # millisecond rounding of eval times must not step back a sample
        while m >= minute - LOOKBACK_MIN - 1e-9:
            if m in samples:
                return t.timestamp(), samples[m]
            m -= 1
        return None

    @staticmethod
    async def params(request: Request) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for k, v in request.query_params.multi_items():
            out.setdefault(k, []).append(v)
        if request.method == "POST":
            form = await request.form()
            for fk, fv in form.multi_items():
                out.setdefault(fk, []).append(str(fv))
        return out

    async def query(self, request: Request) -> Response:
        p = await self.params(request)
        matchers = parse_selector(_one(p, "query"))
        t = parse_time(_opt(p, "time"), "time", default=self.replay.now())
        result = []
        for labels, svc, metric in self.select(matchers):
            v = self.value_at(self.samples(svc, metric, t, t), t)
            if v is not None:
                result.append({"metric": labels, "value": [round(v[0], 3), _fmt(v[1])]})
        return _ok({"resultType": "vector", "result": result})

    async def query_range(self, request: Request) -> Response:
        p = await self.params(request)
        start = parse_time(_opt(p, "start"), "start")
        end = parse_time(_opt(p, "end"), "end")
        step = parse_step(_opt(p, "step"))
        if end < start:
            raise BadData('invalid parameter "end": end timestamp must not be before start time')
        if (end - start).total_seconds() / step > MAX_POINTS:
            raise BadData("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the "
                          "query resolution (?step=XX)")
        matchers = parse_selector(_one(p, "query"))
        result = []
        n = int((end - start).total_seconds() // step) + 1
        for labels, svc, metric in self.select(matchers):
            samples = self.samples(svc, metric, start, end)
            values = []
            for i in range(n):
                t = datetime.fromtimestamp(start.timestamp() + i * step, UTC)
                v = self.value_at(samples, t)
                if v is not None:
                    values.append([round(v[0], 3), _fmt(v[1])])
            if values:
                result.append({"metric": labels, "values": values})
        return _ok({"resultType": "matrix", "result": result})

    def _matched(self, p: dict[str, list[str]], required: bool) -> list[tuple[dict[str, str], str, str]]:
        matches = p.get("match[]", [])
        if not matches:
            if required:
                raise BadData("no match[] parameter provided")
            return self.all_series()
        seen: dict[tuple[tuple[str, str], ...], tuple[dict[str, str], str, str]] = {}
        for m in matches:
            for s in self.select(parse_selector(m)):
                seen[tuple(sorted(s[0].items()))] = s
        return list(seen.values())

    async def series(self, request: Request) -> Response:
        p = await self.params(request)
        return _ok([s[0] for s in self._matched(p, required=True)])

    async def labels(self, request: Request) -> Response:
        p = await self.params(request)
        names = sorted({k for s in self._matched(p, required=False) for k in s[0]})
        return _ok(names)

    async def label_values(self, request: Request) -> Response:
        name = request.path_params["name"]
        if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", name):
            raise BadData(f'invalid label name: "{name}"')
        p = await self.params(request)
        return _ok(sorted({s[0][name] for s in self._matched(p, required=False) if name in s[0]}))

    async def alerts(self, request: Request) -> Response:
        a = self.replay.scenario.alert
        out = []
        if self.replay.now_minute() >= a.at and not self.replay.recovered():
            labels = {"alertname": _alertname(a.metric or "alert"), "service": a.service, "severity": "page"}
            out.append({
                "labels": labels, "annotations": {"summary": a.title},
                "state": "firing", "activeAt": self.replay.minute_to_dt(a.at).isoformat().replace("+00:00", "Z"),
                "value": _fmt(a.value) if a.value is not None else "1e+00",
            })
        return _ok({"alerts": out})

    async def buildinfo(self, request: Request) -> Response:
        return _ok({"version": "2.45.0-sandbox", "revision": "sandbox", "branch": "sandbox",
                    "buildUser": "ai-sre", "buildDate": "20240101-00:00:00", "goVersion": "go1.21"})


def _alertname(metric: str) -> str:
    return "".join(w.capitalize() for w in re.split(r"[^A-Za-z0-9]+", metric) if w) + "High"


def _one(p: dict[str, list[str]], name: str) -> str:
    v = p.get(name)
    if not v:
        raise BadData(f'invalid parameter "{name}": 1:1: parse error: no expression found in input')
    return v[-1]


def _opt(p: dict[str, list[str]], name: str) -> str | None:
    v = p.get(name)
    return v[-1] if v else None


def _fmt(v: float) -> str:
    return repr(float(v)) if math.isfinite(v) else ("NaN" if math.isnan(v) else ("+Inf" if v > 0 else "-Inf"))


def _ok(data: Any) -> JSONResponse:
    return JSONResponse({"status": "success", "data": data})


def create_app(replay: Replay) -> Starlette:
    app = PromApp(replay)

    def wrap(handler: Any) -> Any:
        async def wrapped(request: Request) -> Response:
            try:
                return await handler(request)
            except BadData as e:
                return bad_data(str(e))
            except Exception as e:  # never crash; Prometheus answers 500 "internal"
                return JSONResponse({"status": "error", "errorType": "internal", "error": str(e)}, status_code=500)

        return wrapped

    async def ready(request: Request) -> Response:
        return PlainTextResponse("Prometheus Server is Ready.\n")

    async def healthy(request: Request) -> Response:
        return PlainTextResponse("Prometheus Server is Healthy.\n")

    both = ["GET", "POST"]
    return Starlette(routes=[
        Route("/api/v1/query", wrap(app.query), methods=both),
        Route("/api/v1/query_range", wrap(app.query_range), methods=both),
        Route("/api/v1/series", wrap(app.series), methods=both),
        Route("/api/v1/labels", wrap(app.labels), methods=both),
        Route("/api/v1/label/{name}/values", wrap(app.label_values), methods=["GET"]),
        Route("/api/v1/alerts", wrap(app.alerts), methods=["GET"]),
        Route("/api/v1/status/buildinfo", wrap(app.buildinfo), methods=["GET"]),
        Route("/-/ready", ready, methods=["GET", "HEAD"]),
        Route("/-/healthy", healthy, methods=["GET", "HEAD"]),
    ])


def start(replay: Replay, *, port: int = 0) -> RunningServer:
    return serve(create_app(replay), name="prometheus", port=port)
