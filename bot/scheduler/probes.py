"""One probe per heartbeat kind: run the check once, return a :class:`Probe`.

A probe never raises: an unreachable endpoint, a failing query or a missing
dependency is a failing probe with the reason in ``detail`` (a heartbeat that
cannot tell whether things are fine is itself worth knowing about).

Dependencies are injected: ``http`` an ``httpx.Client`` (tests pass one over a
local server), ``postgres`` a :class:`~bot.integrations.interfaces.DatabaseTarget`
(the composition root passes ``PostgresTarget(settings.postgres)``), ``metric``
and ``anomaly`` a :class:`MetricReader` over the Datadog / Prometheus adapters.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

import httpx

from bot.integrations.interfaces import DatabaseTarget, MetricsSource
from bot.integrations.types import Point
from bot.scheduler import anomaly
from bot.scheduler.config import (
    AnomalyCheck,
    Check,
    DiskCheck,
    HeartbeatsConfig,
    HttpCheck,
    MetricCheck,
    PostgresCheck,
)

LATEST_LOOKBACK = timedelta(minutes=10)


@dataclass(frozen=True)
class Probe:
    ok: bool
    value: float | None
    detail: str
    metric: str
    threshold: float | None = None


class MetricReader(Protocol):
    """"The latest value (and the history) of metric M of service S" from a named source."""

    def latest(self, source: str, service: str, metric: str) -> float | None: ...

    def history(self, source: str, service: str, metric: str, start: datetime, end: datetime) -> list[Point]: ...


class SourcesReader:
    """A :class:`MetricReader` over :class:`MetricsSource` adapters keyed "datadog" / "prometheus"."""

    def __init__(self, sources: Mapping[str, MetricsSource], clock: Callable[[], datetime] | None = None) -> None:
        self.sources = dict(sources)
        self.clock = clock or (lambda: datetime.now(UTC))

    def _source(self, source: str) -> MetricsSource:
        if source not in self.sources:
            raise LookupError(f"metrics source {source!r} is not configured (enable it in settings)")
        return self.sources[source]

    def history(self, source: str, service: str, metric: str, start: datetime, end: datetime) -> list[Point]:
        return list(self._source(source).query_series(service, metric, start, end).points)

    def latest(self, source: str, service: str, metric: str) -> float | None:
        now = self.clock()
        points = self.history(source, service, metric, now - LATEST_LOOKBACK, now)
        return points[-1].value if points else None


@dataclass
class ProbeDeps:
    http: httpx.Client | None = None
    db_target: DatabaseTarget | None = None
    metrics: MetricReader | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    disk_usage: Callable[[str], tuple[int, int, int]] = shutil.disk_usage  # type: ignore[assignment]


def run_probe(check: Check, config: HeartbeatsConfig, deps: ProbeDeps, breached_since: datetime | None = None
              ) -> Probe:
    """``breached_since``: when the check's current breach began (the anomaly check keeps its old band)."""
    metric = _metric_name(check)
    try:
        if isinstance(check, HttpCheck):
            return _http(check, config.timeout(check), deps)
        if isinstance(check, PostgresCheck):
            return _postgres(check, deps)
        if isinstance(check, DiskCheck):
            return _disk(check, deps)
        if isinstance(check, MetricCheck):
            return _metric(check, deps)
        return _anomaly(check, deps, breached_since)
    except Exception as e:  # a probe reports; it never takes the scheduler down
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        return Probe(False, None, f"error: {first[:300]}", metric)


def _metric_name(check: Check) -> str:
    if isinstance(check, HttpCheck):
        return "latency_ms"
    if isinstance(check, PostgresCheck):
        return "connections_pct"
    if isinstance(check, DiskCheck):
        return "disk_used_pct"
    return check.metric


def _http(check: HttpCheck, timeout: float, deps: ProbeDeps) -> Probe:
    client = deps.http
    own = client is None
    client = client or httpx.Client()
    limit_ms = check.max_latency * 1000 if check.max_latency is not None else None
    t0 = time.perf_counter()
    try:
        r = client.request(check.method, check.url, timeout=timeout, follow_redirects=False)
    except httpx.TimeoutException:
        ms = (time.perf_counter() - t0) * 1000
        return Probe(False, ms, f"no answer within {timeout:g}s", "latency_ms", limit_ms)
    except httpx.HTTPError as e:
        return Probe(False, None, f"unreachable: {type(e).__name__}: {str(e)[:200]}", "latency_ms", limit_ms)
    finally:
        if own:
            client.close()
    ms = (time.perf_counter() - t0) * 1000
    if r.status_code not in check.expect_status:
        return Probe(False, ms, f"HTTP {r.status_code} (expected {', '.join(map(str, check.expect_status))}) "
                                f"in {ms:.0f} ms", "latency_ms", limit_ms)
    if limit_ms is not None and ms > limit_ms:
        return Probe(False, ms, f"HTTP {r.status_code} in {ms:.0f} ms (over {limit_ms:.0f} ms)", "latency_ms", limit_ms)
    return Probe(True, ms, f"HTTP {r.status_code} in {ms:.0f} ms", "latency_ms", limit_ms)


def _bounded(check: PostgresCheck | DiskCheck | MetricCheck, value: float, text: str, metric: str) -> Probe:
    bad = check.breaches(value)
    rel = "above" if check.above is not None else "below"
    verdict = f"{rel} {check.threshold:g}" if bad else f"threshold {rel} {check.threshold:g}"
    return Probe(not bad, value, f"{text} ({verdict})", metric, check.threshold)


def _postgres(check: PostgresCheck, deps: ProbeDeps) -> Probe:
    if deps.db_target is None:
        raise LookupError("no PostgreSQL target configured (AISRE_POSTGRES__DSN)")
    u = deps.db_target.connection_usage(check.database)
    return _bounded(check, u.pct, f"{u.used} of {u.max_connections} connections ({u.pct:.0f}%)",
                    "connections_pct")


def _disk(check: DiskCheck, deps: ProbeDeps) -> Probe:
    total, used, _free = deps.disk_usage(check.path)
    pct = 100.0 * used / total if total else 0.0
    return _bounded(check, pct, f"{check.path} {pct:.1f}% used of {total / 1e9:.1f} GB", "disk_used_pct")


def _metric(check: MetricCheck, deps: ProbeDeps) -> Probe:
    if deps.metrics is None:
        raise LookupError("no metrics reader configured")
    value = deps.metrics.latest(check.source, check.service, check.metric)
    if value is None:
        return Probe(False, None, f"no data for {check.service}.{check.metric} from {check.source}",
                     check.metric, check.threshold)
    return _bounded(check, value, f"{check.service}.{check.metric} = {value:.4g}", check.metric)


def anomaly_params(check: AnomalyCheck) -> anomaly.AnomalyParams:
    return anomaly.AnomalyParams(
        window_minutes=check.window / 60, guard_minutes=check.guard / 60, tolerance=check.tolerance,
        seasonal_days=check.seasonal_days, direction=check.direction,
    )


def _anomaly(check: AnomalyCheck, deps: ProbeDeps, breached_since: datetime | None) -> Probe:
    if deps.metrics is None:
        raise LookupError("no metrics reader configured")
    p = anomaly_params(check)
    now = deps.clock()
    start = min(now, breached_since or now) - timedelta(minutes=p.window_minutes)
    recent = deps.metrics.history(check.source, check.service, check.metric, start, now)
    if not recent:
        return Probe(False, None, f"no data for {check.service}.{check.metric} from {check.source}", check.metric)
    history = recent[:-1]
    hw = timedelta(minutes=p.seasonal_halfwidth_minutes)
    for d in range(1, p.seasonal_days + 1):
        at = now - timedelta(days=d)
        history = deps.metrics.history(check.source, check.service, check.metric, at - hw, at + hw) + history
    v = anomaly.detect([x.at for x in history], [x.value for x in history], now=recent[-1].at,
                       value=recent[-1].value, p=p, baseline_end=breached_since)
    threshold = None if v.recent is None else (v.recent.low if p.direction == "down" else v.recent.high)
    return Probe(not v.anomalous, v.value, f"{check.service}.{check.metric}: {v.reason}", check.metric, threshold)
