"""Deterministic, seeded one-minute series from a scenario's metric specs.

A series starts at its baseline; segments apply in order (a step from a minute
on, a bounded step, or a linear ramp from the value the curve has at ``from`` to
``ramp_to`` at ``to``; a segment with ``to`` stops applying after it); then
relative Gaussian noise (``noise`` x N(0, 1)) multiplies each point. The noise of
one series depends only on the scenario seed and the series' own identity, so
adding a metric never changes another. Values are clamped to their natural
range (no negative counts, no percentage above 100, no fraction above 1).
"""

from __future__ import annotations

import zlib

import numpy as np

from bot.scenarios.model import MetricSpec

FRACTION_METRICS = {"error_rate", "cache_hit_rate"}


def series_key(service: str, metric: str) -> str:
    return f"{service}.{metric}"


def generate(spec: MetricSpec, first: int, last: int, seed: int) -> np.ndarray:
    """Values for every minute ``first..last`` (inclusive)."""
    minutes = np.arange(first, last + 1, dtype=float)
    vals = np.full(minutes.shape, float(spec.baseline))
    for seg in spec.segments:
        start = float(seg.from_)
        end = float(seg.to) if seg.to is not None else float(last)
        mask = (minutes >= start) & (minutes <= end)
        if not mask.any():
            continue
        if seg.value is not None:
            vals[mask] = seg.value
        elif seg.ramp_to is not None:
            i0 = int(np.argmax(mask))
            v0 = float(vals[i0])
            span = max(end - start, 1e-9)
            vals[mask] = v0 + (seg.ramp_to - v0) * (minutes[mask] - start) / span
    if spec.noise > 0:
        rng = np.random.default_rng([seed & 0xFFFFFFFF, zlib.crc32(series_key(spec.service, spec.name).encode())])
        vals = vals * (1.0 + spec.noise * rng.standard_normal(vals.shape))
    return clamp(spec.name, vals)


def clamp(metric: str, vals: np.ndarray) -> np.ndarray:
    vals = np.maximum(vals, 0.0)
    if metric.endswith("_pct"):
        vals = np.minimum(vals, 100.0)
    if metric in FRACTION_METRICS:
        vals = np.minimum(vals, 1.0)
    return vals
