"""Datadog metrics: MetricsSource over the v1 metrics API.

- ``list_metrics``: ``GET /api/v1/metrics?from=<24h ago>&tag_filter=service:X``
  (actively reporting metrics submitted with that tag).
- ``query_series``: ``GET /api/v1/query?from&to&query=avg:<metric>{service:<X>}.rollup(avg, 60)``;
  the query string is kept in ``Series.query`` as provenance.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from datadog_api_client import ApiClient
from datadog_api_client.v1.api.metrics_api import MetricsApi

from bot.integrations.datadog import _get, api_client, call, from_epoch, health, to_epoch_s
from bot.integrations.errors import IntegrationRejected
from bot.integrations.types import HealthStatus, Point, Series
from bot.settings import DatadogSettings

ROLLUP_S = 60
LIST_LOOKBACK = timedelta(hours=24)


def series_query(service: str, metric: str) -> str:
    """The Datadog query for one metric of one service at one-minute rollup."""
    return f"avg:{metric}{{service:{service}}}.rollup(avg, {ROLLUP_S})"


class DatadogMetrics:
    name = "datadog.metrics"

    def __init__(self, settings: DatadogSettings, client: ApiClient | None = None) -> None:
        self._client = client or api_client(settings)
        self._api = MetricsApi(self._client)

    def list_metrics(self, service: str) -> list[str]:
        since = datetime.now(UTC) - LIST_LOOKBACK
        resp = call(self.name, self._api.list_active_metrics, to_epoch_s(since), tag_filter=f"service:{service}")
        return sorted({str(m) for m in (_get(resp, "metrics", []) or [])})

    def query_series(self, service: str, metric: str, start: datetime, end: datetime) -> Series:
        if end <= start:
            raise IntegrationRejected(self.name, f"empty window: start {start.isoformat()} >= end {end.isoformat()}")
        query = series_query(service, metric)
        resp = call(self.name, self._api.query_metrics, to_epoch_s(start), to_epoch_s(end), query)
        if str(_get(resp, "status", "ok")) == "error":
            raise IntegrationRejected(self.name, str(_get(resp, "error", "query failed")))
        by_ts: dict[float, list[float]] = {}
        for s in _get(resp, "series", []) or []:
            for p in _get(s, "pointlist", []) or []:
                pair = list(p.value) if hasattr(p, "value") else list(p)
                if len(pair) < 2 or pair[0] is None or pair[1] is None:
                    continue
                by_ts.setdefault(float(pair[0]), []).append(float(pair[1]))
        points = tuple(
            Point(from_epoch(ts, ms=True), sum(vs) / len(vs)) for ts, vs in sorted(by_ts.items())
        )
        return Series(service=service, metric=metric, points=points, query=query)

    def health(self) -> HealthStatus:
        return health(self.name, self._client)
