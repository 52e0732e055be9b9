"""The anomaly detector: quiet on flat noise, early on a ramp, quiet on a rise seen on previous days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from bot.scheduler.anomaly import DAY_MINUTES, AnomalyParams, detect, scan, sustained

P = AnomalyParams(seasonal_days=0)


def test_flat_noise_raises_no_alarm():
    rng = np.random.default_rng(7)
    for seed in range(20):
        values = 120 * (1 + 0.05 * np.random.default_rng(seed).standard_normal(6 * 60))
        assert not sustained(scan(values, P), 3).any()
    constant = np.full(300, 0.0)
    assert not scan(constant, P).any()
    assert rng is not None


def test_a_ramp_alarms_before_the_fixed_threshold():
    rng = np.random.default_rng(3)
    minutes = np.arange(360)
    base = np.where(minutes < 240, 40.0, 40.0 + (minutes - 240) * 0.5)  # +0.5/min from minute 240
    values = base * (1 + 0.02 * rng.standard_normal(360))
    alarms = sustained(scan(values, P), 3)
    first_alarm = int(np.argmax(alarms))
    threshold_cross = int(np.argmax(values > 80))  # a fixed monitor at 80 (twice normal)
    assert alarms.any() and 240 <= first_alarm < threshold_cross
    assert threshold_cross - first_alarm >= 30  # well ahead of the monitor


def test_a_drop_needs_direction_down():
    values = np.concatenate([np.full(200, 100.0), np.full(30, 40.0)])
    assert not scan(values, P).any()
    # flagged until the guard has passed and the new level enters the rolling band; a heartbeat
    # in breach keeps judging against the band from before the breach (baseline_end)
    assert scan(values, AnomalyParams(seasonal_days=0, direction="down"))[200:215].all()
    assert scan(values, AnomalyParams(seasonal_days=0, direction="both"))[200:215].all()


def test_baseline_end_keeps_the_band_from_before_a_breach():
    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    times = [now - timedelta(minutes=m) for m in range(240, 0, -1)]
    values = [100.0] * 180 + [300.0] * 60  # shifted an hour ago
    assert not detect(times, values, now=now, value=300.0, p=P).anomalous
    assert detect(times, values, now=now, value=300.0, p=P, baseline_end=now - timedelta(minutes=60)).anomalous


def test_a_daily_peak_seen_on_previous_days_is_not_an_anomaly():
    rng = np.random.default_rng(11)
    days = 4
    minute_of_day = np.arange(days * DAY_MINUTES) % DAY_MINUTES
    peak = (minute_of_day >= 9 * 60) & (minute_of_day < 11 * 60)  # a morning peak every day
    values = np.where(peak, 300.0, 100.0) * (1 + 0.03 * rng.standard_normal(days * DAY_MINUTES))
    seasonal = sustained(scan(values, AnomalyParams(seasonal_days=7)), 3)
    recent_only = sustained(scan(values, P), 3)
    last_day = slice((days - 1) * DAY_MINUTES, days * DAY_MINUTES)
    assert recent_only[last_day].any()  # the recent band alone takes the morning peak for an incident
    assert not seasonal[last_day].any()  # the same hour of previous days explains it
    # a peak twice the usual one is still an anomaly
    values[(days - 1) * DAY_MINUTES + 10 * 60:(days - 1) * DAY_MINUTES + 10 * 60 + 20] = 700.0
    assert sustained(scan(values, AnomalyParams(seasonal_days=7)), 3)[last_day].any()


def test_detect_over_timestamps_and_learning():
    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    times = [now - timedelta(minutes=m) for m in range(200, 0, -1)]
    values = [50.0 + (i % 5) * 0.2 for i in range(200)]
    v = detect(times, values, now=now, value=50.5, p=P)
    assert not v.anomalous and v.recent is not None and v.recent.points == 180 - 15 + 1
    v = detect(times, values, now=now, value=80.0, p=P)
    assert v.anomalous and "outside recent band" in v.reason
    v = detect(times[-30:], values[-30:], now=now, value=80.0, p=P)
    assert not v.anomalous and v.reason.startswith("learning")
