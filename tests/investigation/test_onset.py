"""Change-point detection: step, ramp, recovered transient, flat noise, staircase."""

from __future__ import annotations

import numpy as np

from bot.investigation.onset import characterise

MINUTES = list(range(-360, 1))


def _noisy(vals: np.ndarray, noise: float = 0.05, seed: int = 1) -> list[float]:
    rng = np.random.default_rng(seed)
    return list(vals * (1 + noise * rng.standard_normal(len(vals))))


def test_step_up_is_found_at_its_minute() -> None:
    v = np.where(np.array(MINUTES) >= -7, 0.18, 0.004)
    s = characterise(MINUTES, _noisy(v, 0.15), "error_rate")
    assert s.kind == "step_up"
    assert s.onset == -7


def test_ramp_is_steady_growth_with_a_slope() -> None:
    m = np.array(MINUTES, dtype=float)
    v = 46 + (95 - 46) * (m + 360) / 360
    s = characterise(MINUTES, _noisy(v, 0.02), "memory_pct")
    assert s.kind == "ramp_up"
    assert s.onset is not None and s.onset < -250
    assert 0.08 < s.slope < 0.2


def test_transient_that_recovered_before_the_alert() -> None:
    m = np.array(MINUTES, dtype=float)
    v = np.where((m >= -15) & (m <= -5), 6000.0, 300.0)
    s = characterise(MINUTES, _noisy(v, 0.1), "queue_depth")
    assert s.kind == "transient"
    assert s.onset is not None and -16 <= s.onset <= -14
    assert not s.abnormal


def test_flat_noise_is_flat() -> None:
    s = characterise(MINUTES, _noisy(np.full(len(MINUTES), 170.0), 0.1, seed=7), "latency_p95_ms")
    assert s.kind == "flat"
    assert s.onset is None


def test_staircase_is_a_step_at_the_big_change() -> None:
    m = np.array(MINUTES, dtype=float)
    v = np.where(m >= -18, 96.0, np.where(m >= -140, 44.0, 36.0))
    s = characterise(MINUTES, _noisy(v), "db_cpu_pct")
    assert s.kind == "step_up"
    assert s.onset == -18
    assert s.pinned


def test_fall_is_a_step_down() -> None:
    v = np.where(np.array(MINUTES) >= -6, 240.0, 5200.0)
    s = characterise(MINUTES, _noisy(v), "rps")
    assert s.kind == "step_down" and s.onset == -6
