"""Heartbeat checks: probe, store a :class:`HeartbeatResult`, and page through intake on a sustained breach.

Every run appends one ``heartbeat_results`` row: ``ok`` is this probe's verdict,
``breached`` whether the check is in breach after it. The state lives only in
those rows, so a new leader carries on where the old one stopped.

- not in breach, and the last ``checks_needed`` results all failed → breach:
  a firing :class:`~bot.intake.alert.Alert` (source ``heartbeat``, fingerprint
  ``heartbeat:<name>``) goes through ``intake.accept`` exactly like a webhook alert;
- in breach, and this probe is good → recovery: a resolved Alert, same fingerprint.

The alert is delivered before the row is written: if the store fails in
between, the next run delivers again and intake's dedupe absorbs the repeat.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.intake.alert import Alert
from bot.scheduler.config import Check, HeartbeatsConfig
from bot.scheduler.probes import Probe, ProbeDeps, run_probe
from bot.store.db import Database
from bot.store.models import HeartbeatResult

log = logging.getLogger(__name__)
SOURCE: Literal["heartbeat"] = "heartbeat"


class Intake(Protocol):
    """What the heartbeats need from :class:`bot.intake.service.IntakeService`."""

    def accept(self, source: str, alerts: list[Alert], *, body: bytes = b"", remote: str | None = None) -> Any: ...


@dataclass(frozen=True)
class RunResult:
    check: str
    probe: Probe
    breached: bool
    transition: str | None  # "fired" | "resolved" | None
    failing_checks: int


@dataclass(frozen=True)
class HeartbeatView:
    """One row of ``/aisre heartbeats``."""

    name: str
    kind: str
    service: str | None
    interval_s: float
    for_s: float
    state: str  # ok | failing | breached | unknown
    value: float | None
    detail: str | None
    at: datetime | None
    breached_since: datetime | None


def fingerprint(check_name: str) -> str:
    return f"{SOURCE}:{check_name}"


def deliver(intake: Intake, alert: Alert) -> Any:
    """``intake.accept`` plus the incident follow-up the HTTP route runs (``on_outcome``), if any."""
    outcome = intake.accept(SOURCE, [alert], body=alert.model_dump_json().encode(), remote="scheduler")
    follow_up: Callable[[Any], None] | None = getattr(intake, "on_outcome", None)
    if follow_up is not None:
        try:
            follow_up(outcome)
        except Exception:  # the alert is stored; a failed follow-up must not re-page
            log.exception("heartbeat intake follow-up failed")
    return outcome


def _recent(session: Session, name: str, limit: int) -> list[HeartbeatResult]:
    q = (sa.select(HeartbeatResult).where(HeartbeatResult.check_name == name)
         .order_by(HeartbeatResult.at.desc(), HeartbeatResult.id.desc()).limit(limit))
    return list(session.scalars(q))


class HeartbeatRunner:
    def __init__(
        self, *, db: Database, config: HeartbeatsConfig, intake: Intake, probes: ProbeDeps | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.db = db
        self.config = config
        self.intake = intake
        self.probes = probes or ProbeDeps()
        self.clock = clock or (lambda: datetime.now(UTC))

    def run(self, name: str) -> RunResult:
        """Run check ``name`` once (the scheduler's job ``heartbeat.<name>``)."""
        check = self.config.get(name)
        if check is None:
            raise KeyError(f"no heartbeat check {name!r}")
        since = None
        if check.kind == "anomaly":
            with self.db.session() as s:
                since = _breached_since(_recent(s, name, 500))
        probe = run_probe(check, self.config, self.probes, breached_since=since)
        return self.record(check, probe)

    def record(self, check: Check, probe: Probe) -> RunResult:
        """Store one probe result and fire or resolve through intake on a state change."""
        now = self.clock()
        needed = self.config.checks_needed(check)
        with self.db.session() as s:
            rows = _recent(s, check.name, max(needed, 1) + 200)
        was_breached = bool(rows and rows[0].breached)
        failing = 0
        if not probe.ok:
            failing = 1
            for r in rows:
                if r.ok:
                    break
                failing += 1
        since = rows[failing - 2].at if failing >= 2 and len(rows) >= failing - 1 else now
        transition = None
        if was_breached:
            breached = not probe.ok
            if probe.ok:
                transition = "resolved"
                start = next((r.at for r in rows if not r.breached), rows[-1].at)
                deliver(self.intake, self._alert(check, probe, "resolved", start, now))
        else:
            breached = failing >= needed
            if breached:
                transition = "fired"
                deliver(self.intake, self._alert(check, probe, "firing", since, now))
        with self.db.session() as s:
            s.add(HeartbeatResult(check_name=check.name, at=now, ok=probe.ok, value=probe.value,
                                  detail=probe.detail[:2000], breached=breached))
        if transition:
            log.info("heartbeat %s %s: %s", check.name, transition, probe.detail)
        return RunResult(check.name, probe, breached, transition, failing)

    def _alert(self, check: Check, probe: Probe, status: str, start: datetime, now: datetime) -> Alert:
        verb = "breached" if status == "firing" else "recovered"
        for_s = self.config.for_(check)
        return Alert(
            source=SOURCE,
            status=status,  # type: ignore[arg-type]
            fingerprint=fingerprint(check.name),
            title=f"Heartbeat {check.name} {verb}: {probe.detail}"[:500],
            service=check.service,
            metric=probe.metric,
            value=probe.value,
            threshold=probe.threshold,
            starts_at=start,
            ends_at=now if status == "resolved" else None,
            labels={"check": check.name, "kind": check.kind},
            annotations={"detail": probe.detail[:1000], "for": f"{for_s:g}s",
                         **({"description": check.description} if check.description else {})},
        )


def _breached_since(rows: list[HeartbeatResult]) -> datetime | None:
    """When the current breach's failing run began (rows newest first), or None when not in breach."""
    if not rows or not rows[0].breached:
        return None
    since = rows[0].at
    for r in rows:
        if r.ok:
            break
        since = r.at
    return since


def list_heartbeats(*, session: Session, config: HeartbeatsConfig) -> list[HeartbeatView]:
    """Each configured check with its last value and state, for ``/aisre heartbeats``."""
    out = []
    for c in config.checks:
        rows = _recent(session, c.name, 500)
        last = rows[0] if rows else None
        if last is None:
            state = "unknown"
        elif last.breached:
            state = "breached"
        else:
            state = "ok" if last.ok else "failing"
        since = _breached_since(rows)
        out.append(HeartbeatView(
            name=c.name, kind=c.kind, service=c.service, interval_s=config.interval(c), for_s=config.for_(c),
            state=state, value=last.value if last else None, detail=last.detail if last else None,
            at=last.at if last else None, breached_since=since,
        ))
    return out
