"""Prometheus: MetricsSource over the HTTP API (httpx), plus active alerts.

- ``list_metrics``: ``GET /api/v1/label/__name__/values?match[]={service="X"}&start&end`` (last 24 h)
- ``query_series``: ``GET /api/v1/query_range?query=<metric>{service="X"}&start&end&step=60``;
  several matching series (pods, namespaces) are averaged per timestamp
- ``instant``: ``GET /api/v1/query``
- ``alerts``: ``GET /api/v1/alerts``
- ``health``: ``GET /-/ready``, then ``/api/v1/status/buildinfo`` for the version
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bot.integrations.errors import (
    IntegrationAuthError,
    IntegrationError,
    IntegrationNotFound,
    IntegrationRejected,
    IntegrationUnavailable,
)
from bot.integrations.types import HealthStatus, Point, Series
from bot.settings import PrometheusSettings

STEP_S = 60
LIST_LOOKBACK = timedelta(hours=24)


@dataclass(frozen=True)
class PrometheusAlert:
    name: str
    state: str  # pending | firing
    labels: dict[str, str]
    annotations: dict[str, str] = field(default_factory=dict)
    active_at: datetime | None = None
    value: float | None = None


def selector(metric: str, service: str) -> str:
    esc = service.replace("\\", "\\\\").replace('"', '\\"')
    return f'{metric}{{service="{esc}"}}'


def _ts(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("expected a timezone-aware datetime")
    return f"{at.timestamp():.3f}"


def _parse_time(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


class PrometheusMetrics:
    name = "prometheus"

    def __init__(
        self, settings: PrometheusSettings, *, transport: httpx.BaseTransport | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.base_url = settings.url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url, timeout=settings.timeout_s, transport=transport, headers=headers or {}
        )

    def close(self) -> None:
        self._http.close()

    # --- transport ----------------------------------------------------------------------

    def _get(self, path: str, params: Any = None) -> Any:
        try:
            r = self._http.get(path, params=params)
        except httpx.TimeoutException as e:
            raise IntegrationUnavailable(self.name, f"timed out: {path}") from e
        except httpx.HTTPError as e:
            raise IntegrationUnavailable(self.name, f"{type(e).__name__}: {e}") from e
        try:
            body = r.json()
        except ValueError:
            body = None
        msg = f"HTTP {r.status_code}: " + (
            str(body.get("error")) if isinstance(body, dict) and body.get("error") else r.text[:200]
        )
        if r.status_code in (401, 403):
            raise IntegrationAuthError(self.name, msg)
        if r.status_code == 404:
            raise IntegrationNotFound(self.name, msg)
        if r.status_code in (400, 409, 422):
            raise IntegrationRejected(self.name, msg)
        if r.status_code >= 300:
            raise IntegrationUnavailable(self.name, msg)
        if not isinstance(body, dict) or body.get("status") != "success":
            raise IntegrationUnavailable(self.name, f"unexpected answer from {path}: {r.text[:200]}")
        return body.get("data")

    # --- MetricsSource ------------------------------------------------------------------

    def list_metrics(self, service: str) -> list[str]:
        now = datetime.now(UTC)
        data = self._get(
            "/api/v1/label/__name__/values",
            [("match[]", f'{{service="{service}"}}'), ("start", _ts(now - LIST_LOOKBACK)), ("end", _ts(now))],
        )
        return sorted(str(x) for x in data or [])

    def query_series(self, service: str, metric: str, start: datetime, end: datetime) -> Series:
        if end <= start:
            raise IntegrationRejected(self.name, f"empty window: start {start.isoformat()} >= end {end.isoformat()}")
        query = selector(metric, service)
        data = self._get(
            "/api/v1/query_range", {"query": query, "start": _ts(start), "end": _ts(end), "step": str(STEP_S)}
        )
        by_ts: dict[float, list[float]] = {}
        for res in (data or {}).get("result", []):
            for ts, val in res.get("values", []):
                try:
                    by_ts.setdefault(float(ts), []).append(float(val))
                except (TypeError, ValueError):
                    continue
        points = tuple(
            Point(datetime.fromtimestamp(ts, UTC), sum(vs) / len(vs)) for ts, vs in sorted(by_ts.items())
        )
        return Series(service=service, metric=metric, points=points, query=query)

    def instant(self, query: str, at: datetime | None = None) -> list[tuple[dict[str, str], float]]:
        params = {"query": query}
        if at is not None:
            params["time"] = _ts(at)
        data = self._get("/api/v1/query", params)
        out = []
        for res in (data or {}).get("result", []):
            _, val = res.get("value", [0, "NaN"])
            out.append((dict(res.get("metric", {})), float(val)))
        return out

    def alerts(self) -> list[PrometheusAlert]:
        data = self._get("/api/v1/alerts")
        out = []
        for a in (data or {}).get("alerts", []):
            labels = {str(k): str(v) for k, v in (a.get("labels") or {}).items()}
            try:
                value = float(a["value"]) if a.get("value") is not None else None
            except (TypeError, ValueError):
                value = None
            out.append(
                PrometheusAlert(
                    name=labels.get("alertname", ""),
                    state=str(a.get("state", "")),
                    labels=labels,
                    annotations={str(k): str(v) for k, v in (a.get("annotations") or {}).items()},
                    active_at=_parse_time(str(a.get("activeAt", ""))) if a.get("activeAt") else None,
                    value=value,
                )
            )
        return out

    def health(self) -> HealthStatus:
        try:
            r = self._http.get("/-/ready")
        except httpx.HTTPError as e:
            return HealthStatus(self.name, False, f"{type(e).__name__}: {e}")
        if r.status_code != 200:
            return HealthStatus(self.name, False, f"/-/ready answered HTTP {r.status_code}")
        try:
            info = self._get("/api/v1/status/buildinfo")
        except IntegrationError as e:
            return HealthStatus(self.name, True, f"ready ({e.message})")
        return HealthStatus(self.name, True, f"ready, version {(info or {}).get('version', '?')}")
