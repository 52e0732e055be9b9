"""Dedupe and grouping decisions: pure logic over what the store already holds.

Given a new alert, the open (and recently resolved) incidents and the alerts
seen with the same fingerprint, decide one of:

- ``duplicate``: a repeat of an alert already attached to an open incident
  (Alertmanager's repeat_interval, Datadog's re-notifications);
- ``stale``: a firing that Alertmanager re-sent after the same alert
  (fingerprint and start) was resolved: ignored, never reopens;
- ``group``: a new alert on a service related (by the dependency graph) to an
  open incident's service, within the window: attached to that incident;
- ``flap``: the same alert firing again soon after its incident resolved:
  the incident is reopened, noted as flapping, not paged twice;
- ``resolve``: a resolved notification for an attached alert;
- ``orphan_resolve``: a resolved notification for nothing we know;
- ``new``: a new incident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.catalog.model import ServiceCatalog
from bot.intake.alert import Alert

FLAP_WINDOW = timedelta(minutes=30)


@dataclass(frozen=True)
class SeenAlert:
    incident_id: int | None
    fingerprint: str
    status: str
    starts_at: datetime
    received_at: datetime


@dataclass(frozen=True)
class OpenIncident:
    id: int
    service: str | None
    services: frozenset[str]
    opened_at: datetime
    status: str
    resolved_at: datetime | None = None
    fingerprints: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Decision:
    kind: str  # new | duplicate | stale | group | flap | resolve | orphan_resolve
    incident_id: int | None = None
    reason: str = ""


def _same_start(a: datetime, b: datetime) -> bool:
    return abs((a - b).total_seconds()) < 1.0


def decide(
    alert: Alert,
    *,
    seen: list[SeenAlert],
    incidents: list[OpenIncident],
    catalog: ServiceCatalog,
    now: datetime,
    group_window: timedelta,
) -> Decision:
    mine = [s for s in seen if s.fingerprint == alert.fingerprint]
    by_id = {i.id: i for i in incidents}
    if alert.status == "resolved":
        attached = [s for s in mine if s.incident_id is not None]
        if attached:
            latest = max(attached, key=lambda s: s.received_at)
            return Decision("resolve", latest.incident_id, "resolved notification for an attached alert")
        return Decision("orphan_resolve", None, "resolved notification for an alert we never opened")

    # a firing after the same (fingerprint, start) resolved: Alertmanager's stale re-send
    if any(s.status == "resolved" and _same_start(s.starts_at, alert.starts_at) for s in mine):
        stale_of = next((s.incident_id for s in mine if s.incident_id is not None), None)
        return Decision("stale", stale_of, "stale firing of an alert that already resolved")

    for s in sorted(mine, key=lambda s: s.received_at, reverse=True):
        inc = by_id.get(s.incident_id) if s.incident_id is not None else None
        if inc is None:
            continue
        if inc.status != "resolved":
            return Decision("duplicate", inc.id, "repeat of an alert attached to an open incident")
        if inc.resolved_at and now - inc.resolved_at <= FLAP_WINDOW:
            return Decision("flap", inc.id, "fired again within 30 minutes of resolving")

    if alert.service:
        candidates = [
            cand for cand in incidents
            if cand.status != "resolved"
            and now - cand.opened_at <= group_window
            and _related(alert.service, cand, catalog)
        ]
        if candidates:
            best = max(candidates, key=lambda cand: cand.opened_at)
            return Decision("group", best.id, f"{alert.service} is related to incident services {sorted(best.services)}")
    return Decision("new", None, "no open incident matches")


def related_services(catalog: ServiceCatalog, service: str) -> set[str]:
    """Every service an alert on ``service`` may group with: itself, what it depends on (transitively),
    what depends on it, and the callers of the same dependencies."""
    out = {service} | catalog.transitive_dependencies(service) | set(catalog.dependents(service))
    for dep in catalog.dependencies(service):
        out |= set(catalog.dependents(dep))
    for s in catalog.services:
        if service in catalog.transitive_dependencies(s.name):
            out.add(s.name)
    return out


def _related(service: str, incident: OpenIncident, catalog: ServiceCatalog) -> bool:
    for other in incident.services | ({incident.service} if incident.service else set()):
        if other == service or catalog.related(service, other) or _share_dependency(service, other, catalog):
            return True
    return False


def _share_dependency(a: str, b: str, catalog: ServiceCatalog) -> bool:
    """Two callers of the same non-external dependency fail together more often than not."""
    deps_a, deps_b = set(catalog.dependencies(a)), set(catalog.dependencies(b))
    return bool(deps_a & deps_b)
