"""Onset and change-point detection on one-minute series (pure functions, no thresholds on values).

A series is characterised against its own history, never against an alert
threshold:

- ``flat``: the latest values sit inside the early baseline's noise band;
- ``step_up`` / ``step_down``: the series moved to a new level abruptly at ``onset``;
- ``ramp_up`` / ``ramp_down``: steady growth (or decline) that started at ``onset``
  (``slope`` per minute; ``reached`` is when it arrived at its present level);
- ``transient``: it left the baseline recently and came back before the end;
- ``pinned``: a percentage or fraction held near its ceiling at the end.

Noise is estimated robustly from first differences (median absolute
difference), so one spike does not move the band; a change is significant when
it exceeds several noise widths and a relative floor.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

NOISE_WIDTHS = 5.0  # a change must exceed this many robust noise deviations
RELATIVE_FLOOR = 0.10  # ... and this share of the baseline
GAP = 2  # points allowed on the wrong side inside a run
RAMP_MIN_MINUTES = 8.0  # a 10%-90% rise slower than this is a ramp, not a step
STEP_SHARE = 0.6  # a step moves this share of the way within five minutes
RECENT = 90.0  # a transient must have happened within this many minutes of the end


@dataclass(frozen=True)
class Shape:
    kind: str  # flat | step_up | step_down | ramp_up | ramp_down | transient | no_data
    onset: float | None  # minute the departure from baseline began
    reached: float | None  # minute the series arrived at its present level (mid-crossing for ramps)
    baseline: float
    now: float
    peak: float
    peak_at: float | None
    slope: float  # per minute over the departure (0 for steps)
    pinned: bool  # held near its ceiling at the end
    new_high: bool  # the present value is above everything seen before the last hour
    recovered_at: float | None = None  # for transients: when it came back
    noise: float = 0.0

    @property
    def abnormal(self) -> bool:
        return self.kind in ("step_up", "step_down", "ramp_up", "ramp_down")

    @property
    def rising(self) -> bool:
        return self.kind in ("step_up", "ramp_up")

    @property
    def falling(self) -> bool:
        return self.kind in ("step_down", "ramp_down")

    @property
    def ratio(self) -> float:
        """Present level over baseline (large when the baseline is about zero)."""
        b = abs(self.baseline)
        return abs(self.now) / b if b > 1e-12 else (math.inf if abs(self.now) > 1e-12 else 1.0)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Shape:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


def ceiling(metric: str) -> float | None:
    m = metric.lower()
    if m.endswith("_pct") or m.endswith("percent") or "utilization" in m:
        return 100.0
    if m in ("error_rate", "cache_hit_rate") or m.endswith("_ratio") or m.endswith("_fraction"):
        return 1.0
    return None


def noise_of(values: np.ndarray) -> float:
    if len(values) < 3:
        return 0.0
    d = np.abs(np.diff(values))
    return float(1.4826 * np.median(d) / math.sqrt(2.0))


def _run_start(beyond: np.ndarray) -> int | None:
    """Index where the final run of True values starts (tolerating short gaps), or None if the end is False."""
    n = len(beyond)
    if n == 0 or not beyond[-3:].sum() >= min(2, n):
        return None
    i = n - 1
    start = n - 1
    misses = 0
    while i >= 0:
        if beyond[i]:
            start = i
            misses = 0
        else:
            misses += 1
            if misses > GAP:
                break
        i -= 1
    return start


def characterise(minutes: list[float], values: list[float], metric: str = "") -> Shape:
    if len(values) < 5:
        v = float(values[-1]) if values else 0.0
        return Shape("no_data", None, None, v, v, v, None, 0.0, False, False)
    m = np.asarray(minutes, dtype=float)
    y = np.asarray(values, dtype=float)
    n = len(y)
    head = max(5, min(n // 6, 60))
    base = float(np.median(y[:head]))
    now = float(np.median(y[-3:]))
    sigma = noise_of(y)
    band = max(NOISE_WIDTHS * sigma, RELATIVE_FLOOR * abs(base), 1e-9)
    top = ceiling(metric)
    peak_i = int(np.argmax(np.abs(y - base)))
    peak, peak_at = float(y[peak_i]), float(m[peak_i])
    older = y[m < m[-1] - 60]
    new_high = bool(len(older) > 10 and now > float(np.max(older)) + band)
    pinned = bool(top is not None and now >= 0.9 * top and float(np.min(y[-3:])) >= 0.85 * top and base < 0.9 * top)

    delta = now - base
    if abs(delta) <= band:
        # flat now: a recent excursion that came back is a transient
        recent = m >= m[-1] - RECENT
        dev = np.abs(y - base) > 2 * band
        idx = np.nonzero(dev & recent)[0]
        if len(idx) >= 3:
            return Shape(
                "transient", float(m[idx[0]]), float(m[idx[0]]), base, now, peak, peak_at, 0.0,
                False, False, recovered_at=float(m[idx[-1]]), noise=sigma,
            )
        return Shape("flat", None, None, base, now, peak, peak_at, 0.0, pinned, new_high, noise=sigma)

    side = 1.0 if delta > 0 else -1.0
    beyond_mid = (y - (base + delta / 2.0)) * side > 0
    mid_start = _run_start(beyond_mid)
    if mid_start is None:
        return Shape("flat", None, None, base, now, peak, peak_at, 0.0, pinned, new_high, noise=sigma)
    # rise time on a median-smoothed copy: 10% -> 90% of the way from baseline to the present level
    frac = (_smooth(y) - base) / delta
    i10 = mid_start
    misses = 0
    j = mid_start
    while j >= 0:
        if frac[j] > 0.1:
            i10, misses = j, 0
        else:
            misses += 1
            if misses > GAP:
                break
        j -= 1
    after = np.nonzero(frac[mid_start:] >= 0.9)[0]
    i90 = mid_start + int(after[0]) if len(after) else n - 1
    rise = float(m[i90] - m[i10])
    # a staircase (an earlier small shift, then the big one) is a step at the big one
    sm = _smooth(y)
    jump = (sm[min(n - 1, mid_start + 2)] - sm[max(0, mid_start - 3)]) / delta
    if rise > RAMP_MIN_MINUTES and jump < STEP_SHARE:
        i0 = i10
        while i0 > 0 and frac[i0 - 1] > 0.03:
            i0 -= 1
        seg = slice(i0, max(i90 + 1, i0 + 3))
        xs, ys = m[seg], y[seg]
        slope = float(np.polyfit(xs, ys, 1)[0]) if len(xs) >= 3 else delta / max(rise, 1.0)
        kind = "ramp_up" if side > 0 else "ramp_down"
        return Shape(kind, float(m[i0]), float(m[i90]), base, now, peak, peak_at, slope, pinned, new_high,
                     noise=sigma)
    kind = "step_up" if side > 0 else "step_down"
    at = float(m[mid_start])
    return Shape(kind, at, at, base, now, peak, peak_at, 0.0, pinned, new_high, noise=sigma)


def _smooth(y: np.ndarray, width: int = 5) -> np.ndarray:
    if len(y) < width:
        return y.copy()
    pad = width // 2
    padded = np.concatenate([np.full(pad, y[0]), y, np.full(pad, y[-1])])
    windows = np.lib.stride_tricks.sliding_window_view(padded, width)
    return np.asarray(np.median(windows, axis=1), dtype=float)


def fmt(x: float) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    a = abs(x)
    if a >= 100:
        return f"{x:.0f}"
    if a >= 10:
        return f"{x:.1f}"
    if a >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"


def minute(x: float | None) -> str:
    if x is None:
        return "?"
    return f"{x:+.0f}" if x else "0"


def describe(service: str, metric: str, s: Shape) -> str:
    """One line with the figures, e.g. "error_rate of label-svc rose from 0.004 to 0.18 at -7 (change point)"."""
    what = f"{metric} of {service}"
    if s.kind == "no_data":
        return f"{what}: too few points to judge"
    if s.kind == "flat":
        extra = ", pinned near its ceiling" if s.pinned else ""
        extra += ", above anything seen before the last hour" if s.new_high else ""
        return f"{what} flat around {fmt(s.baseline)} (now {fmt(s.now)}){extra}"
    if s.kind == "transient":
        return (f"{what} left its baseline {fmt(s.baseline)} at {minute(s.onset)}, peaked at {fmt(s.peak)} "
                f"at {minute(s.peak_at)} and was back by {minute(s.recovered_at)} (now {fmt(s.now)})")
    verb = "rose" if s.rising else "fell"
    if s.kind.startswith("step"):
        line = f"{what} {verb} from {fmt(s.baseline)} to {fmt(s.now)} at {minute(s.onset)} (change point)"
    else:
        line = (f"{what} {verb} steadily from {fmt(s.baseline)} to {fmt(s.now)} since {minute(s.onset)} "
                f"({fmt(s.slope * 60)}/h), at that level since {minute(s.reached)}")
    if s.pinned:
        line += ", pinned near its ceiling"
    return line
