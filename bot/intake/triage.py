"""Triage: an incident's severity (P0..P3) from rules over data, with the reason.

The matrix (documented in ``docs/severity.md``):

| points | from |
|---|---|
| tier | critical 3, standard 2, batch 1 |
| customer-facing | +1 |
| breach | value/threshold >= 3: +2; >= 1.5: +1 (for a falling metric, threshold/value) |
| spread | another affected service: +1 each (at most +2); any other critical one affected: +1 |
| traffic | traffic_share of affected services >= 0.5: +1 |

Points 7+ → P0, 5-6 → P1, 3-4 → P2, else P3. Overrides (setting
``AISRE_INCIDENTS__SEVERITY_OVERRIDES``) pin a level or a floor:
``{"service:checkout": "P0", "tier:batch": "P3", "floor:critical": "P1"}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.catalog.model import ServiceCatalog

LEVELS = ("P0", "P1", "P2", "P3")
TIER_POINTS = {"critical": 3, "standard": 2, "batch": 1}
FALLING_METRICS = ("hit_rate", "rps", "throughput", "availability", "success")


@dataclass(frozen=True)
class Severity:
    level: str
    reason: str
    points: int = 0


def breach_ratio(metric: str | None, value: float | None, threshold: float | None) -> float | None:
    if value is None or threshold is None or value == 0 or threshold == 0:
        return None
    falling = metric is not None and any(k in metric for k in FALLING_METRICS) and value < threshold
    return abs(threshold / value) if falling else abs(value / threshold)


def triage(
    *,
    service: str | None,
    metric: str | None = None,
    value: float | None = None,
    threshold: float | None = None,
    catalog: ServiceCatalog,
    affected_services: Sequence[str] = (),
    overrides: Mapping[str, str] | None = None,
    false_positive: bool = False,
) -> Severity:
    overrides = dict(overrides or {})
    svc = catalog.get(service) if service else None
    tier = svc.tier if svc else "standard"
    reasons: list[str] = []
    points = TIER_POINTS.get(tier, 2)
    reasons.append(f"{service or 'unknown service'} is {tier} tier")
    if svc and svc.is_customer_facing:
        points += 1
        reasons.append("customer-facing")
    ratio = breach_ratio(metric, value, threshold)
    if ratio is not None:
        if ratio >= 3:
            points += 2
        elif ratio >= 1.5:
            points += 1
        reasons.append(f"{metric or 'signal'} at {ratio:.1f}x its threshold")
    others = [s for s in dict.fromkeys(affected_services) if s != service]
    if others:
        points += min(2, len(others))
        reasons.append(f"{len(others)} more service(s) affected: {', '.join(others[:4])}")
        if any((o := catalog.get(s)) is not None and o.tier == "critical" for s in others):
            points += 1
    shares = [s.traffic_share for n in [service, *others] if n and (s := catalog.get(n)) and s.traffic_share]
    if shares and sum(shares) >= 0.5:
        points += 1
        reasons.append(f"{sum(shares):.0%} of traffic")
    level = "P0" if points >= 7 else "P1" if points >= 5 else "P2" if points >= 3 else "P3"
    if false_positive:
        level = "P3"
        reasons.append("signal already recovered")
    level, why = _apply_overrides(level, overrides, service, tier)
    if why:
        reasons.append(why)
    return Severity(level=level, reason="; ".join(reasons), points=points)


def _apply_overrides(level: str, overrides: Mapping[str, str], service: str | None, tier: str) -> tuple[str, str]:
    for key in (f"service:{service}", f"tier:{tier}"):
        pinned = overrides.get(key)
        if pinned in LEVELS:
            return pinned, f"pinned to {pinned} by {key}"
    floor = overrides.get(f"floor:{tier}")
    if floor in LEVELS and LEVELS.index(level) > LEVELS.index(floor):
        return floor, f"raised to {floor} by floor:{tier}"
    return level, ""


def validate_overrides(overrides: Mapping[str, str]) -> list[str]:
    problems = []
    for k, v in overrides.items():
        if not k.startswith(("service:", "tier:", "floor:")):
            problems.append(f"{k}: expected a key service:NAME, tier:TIER or floor:TIER")
        if v not in LEVELS:
            problems.append(f"{k}: expected one of P0, P1, P2, P3, got {v!r}")
    return problems
