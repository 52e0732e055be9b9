"""A scenario replayed against a clock: what every sandbox server serves.

Time: minute 0 is the wall clock when the replay starts; ``speed`` makes the
scenario's clock run faster. The anchor slides with the clock: at any moment
the wall-clock "now" is the scenario's current minute, and minute ``m`` is
``now - (current_minute - m)`` minutes of wall time. At speed 1 (drills, tests)
this is a fixed anchor; at a higher speed (the demo) history stays in ordinary
one-minute steps while the present advances quickly.

Mitigations: every write a sandbox server receives calls
:meth:`Replay.apply_mitigation`; the effect follows FORMAT.md's ``after_action``
rules (the truth's mitigation recovers the affected services' metrics to
baseline over two minutes, entries override, anything else changes nothing).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from bot.scenarios.model import EventSpec, LogSpec, MetricSpec, Scenario
from bot.scenarios.series import clamp, generate, series_key

RECOVERY_MINUTES = 2.0
EXTRA_MINUTES = 24 * 60  # series run on past the window, holding their last segment


@dataclass(frozen=True)
class AppliedMitigation:
    kind: str
    target: str
    minute: float
    effect: str  # recovers | no_change | worse
    detail: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    undone_at: float | None = None  # the minute it was undone (its effect fades out again)


@dataclass(frozen=True)
class LogWindow:
    spec: LogSpec
    count: int
    first_minute: float
    last_minute: float


class Replay:
    def __init__(
        self,
        scenario: Scenario,
        *,
        speed: float = 1.0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.scenario = scenario
        self.speed = speed
        self._clock = clock or (lambda: datetime.now(UTC))
        self._start = self._clock()
        self._lock = threading.Lock()
        self.mitigations: list[AppliedMitigation] = []
        self.writes: list[dict[str, object]] = []  # every write any server received, for tests
        first, last = scenario.first_minute, scenario.last_minute + EXTRA_MINUTES
        self._first = first
        self._base: dict[str, np.ndarray] = {
            series_key(m.service, m.name): generate(m, first, last, scenario.seed) for m in scenario.metrics
        }
        self._specs: dict[str, MetricSpec] = {series_key(m.service, m.name): m for m in scenario.metrics}
        # the same series with no segments: where a recovered metric goes back to (noise included)
        self._quiet: dict[str, np.ndarray] = {
            series_key(m.service, m.name): generate(m.model_copy(update={"segments": []}), first, last, scenario.seed)
            for m in scenario.metrics
        }

    # --- time ---------------------------------------------------------------------------

    def now(self) -> datetime:
        return self._clock()

    def now_minute(self) -> float:
        elapsed = (self._clock() - self._start).total_seconds() / 60.0
        return self.scenario.alert.at + elapsed * self.speed

    def minute_to_dt(self, minute: float) -> datetime:
        now = self._clock()
        return now - timedelta(minutes=self.now_minute() - minute)

    def dt_to_minute(self, at: datetime) -> float:
        now = self._clock()
        return self.now_minute() - (now - at).total_seconds() / 60.0

    # --- metrics ------------------------------------------------------------------------

    def metric_names(self, service: str) -> list[str]:
        return [m.name for m in self.scenario.metrics if m.service == service]

    def has_metric(self, service: str, metric: str) -> bool:
        return series_key(service, metric) in self._base

    def value(self, service: str, metric: str, minute: int) -> float | None:
        key = series_key(service, metric)
        base = self._base.get(key)
        if base is None:
            return None
        i = minute - self._first
        if i < 0 or i >= len(base):
            return None
        v = float(base[i])
        with self._lock:
            mitigations = list(self.mitigations)
        for m in mitigations:
            if minute <= m.minute:
                continue
            frac = min(1.0, (minute - m.minute) / RECOVERY_MINUTES)
            if m.undone_at is not None and minute > m.undone_at:
                frac *= max(0.0, 1.0 - (minute - m.undone_at) / RECOVERY_MINUTES)
            goal = self._goal(key, m, service, i)
            if goal is not None:
                v = v + (goal - v) * frac
        return float(clamp(metric, np.array([v]))[0])

    def _goal(self, key: str, m: AppliedMitigation, service: str, i: int) -> float | None:
        if key in m.metrics:
            return m.metrics[key]
        if m.effect == "recovers" and service in self.affected_services():
            return float(self._quiet[key][i])
        return None

    def series(self, service: str, metric: str, start: float, end: float) -> list[tuple[int, float]]:
        """(minute, value) pairs for whole minutes in [start, end] that have happened."""
        now = self.now_minute()
        lo = int(np.ceil(start))
        hi = int(np.floor(min(end, now)))
        out = []
        for minute in range(lo, hi + 1):
            v = self.value(service, metric, minute)
            if v is not None:
                out.append((minute, v))
        return out

    def affected_services(self) -> set[str]:
        """Services with a metric that leaves its baseline (has segments), plus the truth's target."""
        out = {m.service for m in self.scenario.metrics if m.segments}
        if self.scenario.truth:
            out.add(self.scenario.truth.target)
        return out

    # --- discrete facts -----------------------------------------------------------------

    def events_between(self, start: float, end: float) -> list[EventSpec]:
        now = self.now_minute()
        return [e for e in self.scenario.events if start <= e.at <= min(end, now)]

    def logs_between(self, service: str | None, start: float, end: float) -> list[LogWindow]:
        now = self.now_minute()
        end = min(end, now)
        out = []
        for lg in self.scenario.logs:
            if service is not None and lg.service != service:
                continue
            lo, hi = max(start, lg.from_), min(end, lg.to, self._log_cutoff(lg))
            if hi < lo:
                continue
            count = int(round(lg.per_min * max(hi - lo, 0.0))) or (1 if lg.per_min > 0 else 0)
            if count:
                out.append(LogWindow(lg, count, lo, hi))
        return out

    def _log_cutoff(self, lg: LogSpec) -> float:
        """Error and warning logs of a recovered service stop once it has recovered."""
        if lg.level in ("debug", "info"):
            return float("inf")
        for m in self.mitigations:
            if m.effect == "recovers" and lg.service in self.affected_services():
                return m.minute + RECOVERY_MINUTES
        return float("inf")

    def recovered(self) -> bool:
        return any(m.effect == "recovers" for m in self.mitigations)

    # --- writes -------------------------------------------------------------------------

    def effect_of(self, kind: str, target: str) -> tuple[str, dict[str, float]]:
        for entry in self.scenario.after_action:
            if entry.kind == kind and entry.target == target:
                return entry.effect, dict(entry.metrics)
        t = self.scenario.truth
        if t and t.mitigation == kind and t.target == target:
            return "recovers", {}
        return "no_change", {}

    def apply_mitigation(self, kind: str, target: str, detail: str = "") -> AppliedMitigation:
        effect, metrics = self.effect_of(kind, target)
        applied = AppliedMitigation(kind, target, self.now_minute(), effect, detail, metrics)
        with self._lock:
            self.mitigations.append(applied)
        return applied

    def undo_mitigation(self, kind: str, target: str) -> AppliedMitigation | None:
        """A write undid the latest ``kind`` on ``target`` (a revert): its effect fades out from now."""
        import dataclasses

        with self._lock:
            for i in range(len(self.mitigations) - 1, -1, -1):
                m = self.mitigations[i]
                if m.kind == kind and m.target == target and m.undone_at is None:
                    self.mitigations[i] = dataclasses.replace(m, undone_at=self.now_minute())
                    return self.mitigations[i]
        return None

    def record_write(self, system: str, operation: str, **detail: object) -> None:
        with self._lock:
            self.writes.append({"system": system, "operation": operation, "minute": self.now_minute(), **detail})
