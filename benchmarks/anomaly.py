"""Anomaly check benchmark: false alarms on quiet stretches, detection and lead time on the alerting metric.

    .venv/bin/python benchmarks/anomaly.py [--for-checks 3] [--tolerance 1.0]

Loads every scenario in ``scenarios/*.yaml`` and ``/work/shared/scenarios/examples/*.yaml``
and generates each metric's one-minute series with the scenario's seed. The detector is
:func:`bot.scheduler.anomaly.scan` with the default heartbeat parameters (3 h window,
15 min guard, no seasonal history: the scenarios span hours), and an alarm needs
``--for-checks`` anomalous minutes in a row (the heartbeat's ``for``).

- **Quiet stretch** of a metric: its minutes before its first segment starts (the whole
  window for a metric without segments). A stretch with any alarm counts as a false alarm;
  ``anomaly_false_alarm_rate`` is the share of quiet stretches (with at least the
  detector's learning period) that raised one. The per-minute rate is printed too.
- **Detection**, per scenario whose alert names a metric with a threshold: an alarm on
  that metric at or after its first segment (the onset). **Lead time**: the minute the
  series first crosses the alert's threshold (the fixed monitor; the alert minute if it
  never does) minus the first alarm; positive means the anomaly check fired earlier. The
  headline is against the raw first crossing (a monitor with no ``for``); the lead against a
  monitor with the same ``for`` is printed as well.

Last line: ``anomaly_false_alarm_rate=... anomaly_detection_rate=... lead_minutes_median=...``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.scenarios.loader import load_scenario  # noqa: E402
from bot.scenarios.model import MetricSpec, Scenario  # noqa: E402
from bot.scenarios.series import generate  # noqa: E402
from bot.scheduler.anomaly import AnomalyParams, scan, sustained  # noqa: E402

SHARED = Path("/work/shared/scenarios/examples")


def scenario_files() -> list[Path]:
    return sorted((ROOT / "scenarios").glob("*.yaml")) + sorted(SHARED.glob("*.yaml"))


def onset(spec: MetricSpec) -> float | None:
    return min((float(s.from_) for s in spec.segments), default=None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--for-checks", type=int, default=3, help="anomalous minutes in a row that make an alarm")
    ap.add_argument("--tolerance", type=float, default=1.0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    scenarios: list[tuple[Path, Scenario]] = [(p, load_scenario(p)) for p in scenario_files()]
    base = AnomalyParams(seasonal_days=0, tolerance=args.tolerance)
    quiet_stretches = quiet_alarmed = quiet_minutes = quiet_alarm_minutes = 0
    leads: list[float] = []
    leads_same_for: list[float] = []
    alerting = detected = 0
    missed: list[str] = []
    noisy: list[str] = []
    for path, sc in scenarios:
        first, last = sc.first_minute, sc.last_minute
        minutes = np.arange(first, last + 1)
        for spec in sc.metrics:
            values = generate(spec, first, last, sc.seed)
            start = onset(spec)
            quiet = minutes < (start if start is not None else last + 1)
            evaluable = quiet & (minutes - first >= base.guard_minutes + base.min_points - 1)
            if not evaluable.any():
                continue
            alarms = sustained(scan(values, base), args.for_checks)
            quiet_stretches += 1
            quiet_minutes += int(evaluable.sum())
            n = int((alarms & evaluable).sum())
            quiet_alarm_minutes += n
            if n:
                quiet_alarmed += 1
                noisy.append(f"{path.name}:{spec.service}.{spec.name}")
        a = sc.alert
        spec = next((m for m in sc.metrics if m.service == a.service and m.name == a.metric), None)
        if spec is None or a.threshold is None or onset(spec) is None:
            continue
        values = generate(spec, first, last, sc.seed)
        up = a.threshold >= spec.baseline
        p = AnomalyParams(seasonal_days=0, tolerance=args.tolerance, direction="up" if up else "down")
        alarms = sustained(scan(values, p), args.for_checks)
        start = onset(spec)
        assert start is not None
        alerting += 1
        after = np.nonzero(alarms & (minutes >= start))[0]
        if after.size == 0:
            missed.append(f"{path.name}:{spec.service}.{spec.name}")
            continue
        detected += 1
        crossed = np.nonzero(values > a.threshold if up else values < a.threshold)[0]
        cross_minute = float(minutes[crossed[0]]) if crossed.size else float(a.at)
        leads.append(cross_minute - float(minutes[after[0]]))
        held = np.nonzero(sustained(values > a.threshold if up else values < a.threshold, args.for_checks))[0]
        held_minute = float(minutes[held[0]]) if held.size else float(a.at)
        leads_same_for.append(held_minute - float(minutes[after[0]]))
    elapsed = time.perf_counter() - t0
    far = quiet_alarmed / quiet_stretches if quiet_stretches else 0.0
    dr = detected / alerting if alerting else 0.0
    lead = statistics.median(leads) if leads else float("nan")
    print(f"scenarios: {len(scenarios)} ({elapsed:.1f}s), detector: 3h window, 15m guard, q=0.99, "
          f"tolerance {args.tolerance:g}, {args.for_checks} checks in a row")
    print(f"quiet stretches: {quiet_stretches}, with a false alarm: {quiet_alarmed} ({far:.1%}); "
          f"per-minute false alarm rate {quiet_alarm_minutes}/{quiet_minutes} = "
          f"{quiet_alarm_minutes / max(quiet_minutes, 1):.4%}")
    for n in noisy[:10]:
        print(f"  false alarm: {n}")
    print(f"alerting metrics with an onset: {alerting}, detected after onset: {detected} ({dr:.1%})")
    for m in missed[:10]:
        print(f"  missed: {m}")
    if leads:
        ahead = sum(1 for x in leads if x > 0)
        print(f"lead vs the alert threshold (minutes): median {lead:g}, p25 {np.percentile(leads, 25):g}, "
              f"p75 {np.percentile(leads, 75):g}, min {min(leads):g}, max {max(leads):g}; "
              f"earlier than the threshold in {ahead}/{len(leads)}")
        print(f"lead vs a threshold monitor with the same for ({args.for_checks} minutes in a row): median "
              f"{statistics.median(leads_same_for):g}, earlier in {sum(1 for x in leads_same_for if x > 0)}/"
              f"{len(leads_same_for)}, later in {sum(1 for x in leads_same_for if x < 0)}")
    print(f"anomaly_false_alarm_rate={far:.4f} anomaly_detection_rate={dr:.4f} lead_minutes_median={lead:g}")


if __name__ == "__main__":
    main()
