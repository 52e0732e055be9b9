"""An anomaly detector: a metric against its own recent and seasonal baseline. Pure, no I/O.

**Recent band.** The points of the last ``window`` (3 h), leaving out the newest
``guard`` minutes (15 min) so a rise in progress does not drag its own baseline
up. From them: the median ``m`` and the ``q`` and ``1 - q`` quantiles (``q`` =
0.99). The band is ``[q_lo - t·(m - q_lo), q_hi + t·(q_hi - m)]`` with the
tolerance ``t`` (1.0), and at least ``min_rel·|m|`` (2 %) either side of ``m``,
so a near-constant series does not alarm on rounding.

**Seasonal band.** For each of the previous ``seasonal_days`` (7) the points
within ``seasonal_halfwidth`` (30 min) of the same time of day, when there are
at least ``min_seasonal_points``; pooled, the same band. A point is anomalous
only when it is outside the recent band **and**, where history allows, outside
the seasonal band: a Monday-morning rise that also happened last Monday
morning is not an anomaly.

A fixed monitor fires when a value crosses a threshold set well above normal;
this one fires when the value leaves its own normal range, which is usually
minutes to hours earlier on a ramp. The heartbeat's ``for`` still applies, so a
single noisy point does not page. ``scan`` runs the same test over a whole
one-minute series (for the benchmark and the tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import numpy as np

Direction = Literal["up", "down", "both"]
DAY_MINUTES = 24 * 60


@dataclass(frozen=True)
class AnomalyParams:
    window_minutes: float = 180.0
    guard_minutes: float = 15.0
    quantile: float = 0.99
    tolerance: float = 1.0
    min_rel: float = 0.02
    min_points: int = 60
    seasonal_days: int = 7
    seasonal_halfwidth_minutes: float = 30.0
    min_seasonal_points: int = 20
    direction: Direction = "up"


@dataclass(frozen=True)
class Band:
    low: float
    high: float
    median: float
    points: int


@dataclass(frozen=True)
class Verdict:
    anomalous: bool
    value: float
    recent: Band | None
    seasonal: Band | None
    reason: str


def band(values: np.ndarray, p: AnomalyParams) -> Band | None:
    """The tolerance band of a baseline sample, or None when it is too small."""
    vals = values[np.isfinite(values)]
    if vals.size == 0:
        return None
    q_lo, m, q_hi = (float(x) for x in np.quantile(vals, [1.0 - p.quantile, 0.5, p.quantile]))
    floor = p.min_rel * abs(m)
    high = max(q_hi + p.tolerance * (q_hi - m), m + floor)
    low = min(q_lo - p.tolerance * (m - q_lo), m - floor)
    return Band(low=low, high=high, median=m, points=int(vals.size))


def outside(value: float, b: Band, direction: Direction) -> bool:
    if direction == "up":
        return value > b.high
    if direction == "down":
        return value < b.low
    return value > b.high or value < b.low


def judge(value: float, recent: np.ndarray, seasonal: Sequence[np.ndarray], p: AnomalyParams) -> Verdict:
    """Is ``value`` anomalous against a recent baseline sample and same-time-of-day samples?"""
    if recent.size < p.min_points:
        return Verdict(False, value, None, None, f"learning: {recent.size} of {p.min_points} baseline points")
    rb = band(recent, p)
    usable = [s for s in seasonal if s.size >= p.min_seasonal_points]
    sb = band(np.concatenate(usable), p) if usable else None
    if rb is None:
        return Verdict(False, value, None, sb, "no baseline")
    if not outside(value, rb, p.direction):
        return Verdict(False, value, rb, sb, f"{value:.4g} within recent band {rb.low:.4g}..{rb.high:.4g}")
    if sb is not None and not outside(value, sb, p.direction):
        return Verdict(False, value, rb, sb, f"{value:.4g} outside recent band but within the same hour of "
                                             f"previous days ({sb.low:.4g}..{sb.high:.4g})")
    where = f"recent band {rb.low:.4g}..{rb.high:.4g}"
    if sb is not None:
        where += f" and seasonal band {sb.low:.4g}..{sb.high:.4g} ({len(usable)} days)"
    return Verdict(True, value, rb, sb, f"{value:.4g} outside {where}")


def detect(
    times: Sequence[datetime], values: Sequence[float], *, now: datetime, value: float, p: AnomalyParams,
    baseline_end: datetime | None = None,
) -> Verdict:
    """:func:`judge` over timestamped history (any resolution; history at or after ``now`` is ignored).

    ``baseline_end``: measure the recent band back from there instead of from ``now``. While a
    check is in breach the heartbeat passes the breach start, so a sustained shift is judged
    against the band from before it began rather than becoming the new normal ~20 minutes later.
    """
    anchor = min(baseline_end, now) if baseline_end is not None else now
    t = np.array([(anchor - x).total_seconds() / 60.0 for x in times], dtype=float)  # minutes before anchor
    v = np.asarray(values, dtype=float)
    recent = v[(t >= p.guard_minutes) & (t <= p.window_minutes)]
    ago = np.array([(now - x).total_seconds() / 60.0 for x in times], dtype=float)
    seasonal = [
        v[np.abs(ago - d * DAY_MINUTES) <= p.seasonal_halfwidth_minutes] for d in range(1, p.seasonal_days + 1)
    ]
    return judge(value, recent, seasonal, p)


def history_span(p: AnomalyParams) -> timedelta:
    """How far back :func:`detect` looks."""
    back = p.window_minutes
    if p.seasonal_days:
        back = max(back, p.seasonal_days * DAY_MINUTES + p.seasonal_halfwidth_minutes)
    return timedelta(minutes=back)


def scan(values: np.ndarray, p: AnomalyParams) -> np.ndarray:
    """For a one-minute series, whether each minute is anomalous against the minutes before it."""
    n = len(values)
    out = np.zeros(n, dtype=bool)
    w, g = int(p.window_minutes), int(p.guard_minutes)
    hw = int(p.seasonal_halfwidth_minutes)
    for i in range(n):
        recent = values[max(0, i - w): max(0, i - g + 1)]
        if recent.size < p.min_points:
            continue
        seasonal = []
        for d in range(1, p.seasonal_days + 1):
            c = i - d * DAY_MINUTES
            if c + hw < 0:
                break
            seasonal.append(values[max(0, c - hw): max(0, c + hw + 1)])
        out[i] = judge(float(values[i]), recent, seasonal, p).anomalous
    return out


def sustained(flags: np.ndarray, checks: int) -> np.ndarray:
    """True where the last ``checks`` flags (including this one) are all True."""
    if checks <= 1:
        return flags.copy()
    run = np.zeros(len(flags), dtype=int)
    c = 0
    for i, f in enumerate(flags):
        c = c + 1 if f else 0
        run[i] = c
    return run >= checks
