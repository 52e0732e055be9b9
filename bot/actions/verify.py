"""Did the action make things worse? Pure comparison of metric samples against the pre-action values.

A sample is worse than the baseline when, for either signal, the rise is above
*both* a relative threshold and an absolute floor:

| signal | relative (PolicySettings) | absolute floor (noise) |
|---|---|---|
| ``error_rate`` (fraction) | ``revert_error_rise`` = 0.05 (5 %) | 0.005 (half a percentage point) |
| ``latency_p95_ms`` | ``revert_latency_rise`` = 0.10 (10 %) | 20 ms |

The floor keeps a near-zero baseline (0.001 -> 0.002 is +100 %) from reverting a
good action on noise. A missing value (no data) is never "worse". The executor
reverts when two consecutive samples are worse, or the last sample of the window is.
"""

from __future__ import annotations

from dataclasses import dataclass

ERROR_RATE = "error_rate"
LATENCY = "latency_p95_ms"
WATCHED = (ERROR_RATE, LATENCY)
ERROR_FLOOR = 0.005
LATENCY_FLOOR_MS = 20.0


@dataclass(frozen=True)
class Thresholds:
    error_rise: float = 0.05
    latency_rise: float = 0.10
    error_floor: float = ERROR_FLOOR
    latency_floor_ms: float = LATENCY_FLOOR_MS


Sample = dict[str, float | None]


def _rise(base: float | None, cur: float | None, rel: float, floor: float) -> float | None:
    if base is None or cur is None:
        return None
    delta = cur - base
    return delta if delta > floor and delta > abs(base) * rel else None


def worse(baseline: Sample, current: Sample, t: Thresholds) -> list[str]:
    """Reasons ``current`` is worse than ``baseline``; empty when it is not."""
    reasons = []
    b, c = baseline.get(ERROR_RATE), current.get(ERROR_RATE)
    if _rise(b, c, t.error_rise, t.error_floor) is not None:
        reasons.append(f"error rate rose from {b:.4f} to {c:.4f}")
    b, c = baseline.get(LATENCY), current.get(LATENCY)
    if _rise(b, c, t.latency_rise, t.latency_floor_ms) is not None:
        reasons.append(f"p95 latency rose from {b:.0f} ms to {c:.0f} ms")
    return reasons


def improved(baseline: Sample, current: Sample, t: Thresholds) -> bool:
    """True when a watched signal fell by more than its thresholds (the action helped)."""
    for name, rel, floor in ((ERROR_RATE, t.error_rise, t.error_floor), (LATENCY, t.latency_rise, t.latency_floor_ms)):
        b, c = baseline.get(name), current.get(name)
        if b is not None and c is not None and _rise(c, b, rel, floor) is not None:
            return True
    return False


def describe(sample: Sample) -> str:
    parts = []
    if sample.get(ERROR_RATE) is not None:
        parts.append(f"error rate {sample[ERROR_RATE]:.4f}")
    if sample.get(LATENCY) is not None:
        parts.append(f"p95 {sample[LATENCY]:.0f} ms")
    return ", ".join(parts) or "no metrics"
