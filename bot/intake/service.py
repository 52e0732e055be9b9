"""Intake: authenticate, parse, record, dedupe, group; open or update incidents.

``IntakeService.receive`` never raises for bad input: it returns the HTTP answer.
A valid payload the store cannot take is a 503 (Datadog and Alertmanager retry
5xx and drop 4xx), so nothing valid is lost.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.catalog.model import ServiceCatalog
from bot.intake.alert import Alert
from bot.intake.alertmanager import parse_alertmanager
from bot.intake.auth import check_bearer_or_basic, check_shared_secret
from bot.intake.datadog import parse_datadog
from bot.intake.errors import IntakeError, PayloadError, Unauthenticated
from bot.intake.fields import parse_json
from bot.intake.grouping import Decision, OpenIncident, SeenAlert, decide, related_services
from bot.intake.simple import parse_simple
from bot.intake.triage import triage
from bot.settings import Settings
from bot.store import audit
from bot.store.db import Database, StoreUnavailable, is_unavailable, unavailable
from bot.store.models import AlertRow, Incident, IntakeRecord, MaintenanceWindow, TimelineEntry

log = logging.getLogger(__name__)
SOURCES = ("datadog", "alertmanager", "heartbeat", "manual")


@dataclass
class IntakeAnswer:
    status: int
    body: dict[str, Any]


@dataclass
class IntakeOutcome:
    """What intake did, for the incident service to act on after commit."""

    opened: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)


class IntakeService:
    def __init__(
        self,
        *,
        db: Database,
        settings: Settings,
        catalog: Callable[[], ServiceCatalog],
        on_outcome: Callable[[IntakeOutcome], Any] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        counters: Callable[[str, str], None] | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.catalog = catalog
        self.on_outcome = on_outcome
        self.clock = clock
        self.count = counters or (lambda _name, _label: None)
        self._lock = threading.Lock()

    # --- HTTP-facing ---------------------------------------------------------------------

    def receive(self, source: str, body: bytes, headers: Mapping[str, str], remote: str | None = None) -> IntakeAnswer:
        if source not in SOURCES:
            return IntakeAnswer(404, {"ok": False, "error": f"unknown intake source {source!r}"})
        try:
            self._authenticate(source, headers)
            alerts = self.parse(source, body)
        except Unauthenticated as e:
            self.count("intake_rejected", "unauthenticated")
            log.warning("intake %s from %s refused: %s", source, remote, e.message)
            return self._reject(source, e, body, remote)
        except IntakeError as e:
            self.count("intake_rejected", "malformed")
            log.info("intake %s from %s malformed: %s", source, remote, e.message)
            return self._reject(source, e, body, remote)
        try:
            outcome = self.accept(source, alerts, body=body, remote=remote)
        except StoreUnavailable as e:
            self.count("intake_unavailable", source)
            log.error("intake %s: store unavailable: %s", source, e)
            return IntakeAnswer(503, {"ok": False, "error": "store unavailable; retry later"})
        for a in alerts:
            self.count("alerts_received", a.source)
        if self.on_outcome:
            try:
                self.on_outcome(outcome)
            except Exception:  # the alert is safely stored; the follow-up must not fail the answer
                log.exception("intake follow-up failed")
        return IntakeAnswer(
            202,
            {
                "ok": True,
                "alerts": len(alerts),
                "decisions": [{"kind": d.kind, "incident": d.incident_id, "reason": d.reason} for d in outcome.decisions],
            },
        )

    def too_large(self, source: str, head: bytes, limit: int, remote: str | None = None) -> IntakeAnswer:
        """A body over the web app's ``limit`` (``head`` is its start): a 413, recorded like any rejection."""
        if source not in SOURCES:
            return IntakeAnswer(404, {"ok": False, "error": f"unknown intake source {source!r}"})
        self.count("intake_rejected", "too_large")
        return self._reject(source, PayloadError(f"body larger than {limit} bytes", status=413), head, remote)

    def _authenticate(self, source: str, headers: Mapping[str, str]) -> None:
        s = self.settings
        if source == "datadog":
            check_shared_secret(headers, "X-AISRE-Token", s.datadog.webhook_secret.get_secret_value())
        elif source == "alertmanager":
            p = s.prometheus
            check_bearer_or_basic(
                headers,
                token=p.alertmanager_token.get_secret_value() if p.alertmanager_token else None,
                user=p.alertmanager_basic_user,
                password=p.alertmanager_basic_password.get_secret_value() if p.alertmanager_basic_password else None,
            )
        else:
            check_bearer_or_basic(headers, token=s.intake_token.get_secret_value(), user=None, password=None)

    @staticmethod
    def parse(source: str, body: bytes) -> list[Alert]:
        data = parse_json(body)
        if source == "alertmanager":
            return parse_alertmanager(data)
        if source == "datadog":
            return [parse_datadog(data)]
        return [parse_simple(data, source)]

    def _reject(self, source: str, err: IntakeError, body: bytes, remote: str | None) -> IntakeAnswer:
        try:
            with self.db.session() as session:
                session.add(
                    IntakeRecord(
                        source=source, received_at=self.clock(), status="rejected", error=err.message[:2000],
                        body_excerpt=body[:2000].decode("utf-8", "replace"), remote_addr=remote,
                    )
                )
        except Exception as e:  # recording a rejection must never turn a 4xx into a 5xx
            log.warning("could not record rejected intake: %s", e)
        return IntakeAnswer(err.status, {"ok": False, "error": err.message})

    # --- the work ------------------------------------------------------------------------

    def accept(self, source: str, alerts: list[Alert], *, body: bytes = b"", remote: str | None = None) -> IntakeOutcome:
        """Record and route alerts in one transaction; raise StoreUnavailable when the store is down."""
        outcome = IntakeOutcome()
        try:
            with self._lock, self.db.session() as session:
                # Core inserts on this path, not ORM objects: a storm of repeats is mostly these rows
                session.execute(sa.insert(_INTAKE), {
                    "source": source, "received_at": self.clock(), "status": "accepted",
                    "body_excerpt": body[:2000].decode("utf-8", "replace"), "remote_addr": remote,
                })
                for alert in alerts:
                    self._route(session, alert, outcome)
        except StoreUnavailable:
            raise
        except sa.exc.SQLAlchemyError as e:
            if is_unavailable(e):
                raise unavailable(e, self.db.url) from None
            raise
        return outcome

    def _route(self, session: Session, alert: Alert, outcome: IntakeOutcome) -> None:
        if self.db.dialect == "postgresql":  # serialise one fingerprint across replicas
            session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(alert.fingerprint.encode())})
        now = self.clock()
        catalog = self.catalog()
        seen_rows = session.execute(_SEEN, {"fingerprint": alert.fingerprint}).all()
        seen = [SeenAlert(r.incident_id, r.fingerprint, r.status, r.starts_at, r.received_at) for r in seen_rows]
        # only what a decision can use: incidents this fingerprint was attached to, and incidents
        # opened within the grouping window on services the dependency graph relates to this one
        window = timedelta(seconds=self.settings.incidents.group_window_s)
        params: dict[str, Any] = {
            "attached": sorted({r.incident_id for r in seen_rows if r.incident_id is not None}),
            "since": now - window,
        }
        if alert.service:
            params["services"] = sorted(related_services(catalog, alert.service))
        inc_rows = session.execute(_CANDIDATES_NEAR if alert.service else _CANDIDATES, params).all()
        incidents = [
            OpenIncident(
                id=i.id, service=i.service, services=frozenset((i.extra or {}).get("services", []) or [i.service or ""]),
                opened_at=i.opened_at, status=i.status, resolved_at=i.resolved_at,
            )
            for i in inc_rows
        ]
        d = decide(
            alert, seen=seen, incidents=incidents, catalog=catalog, now=now,
            group_window=timedelta(seconds=self.settings.incidents.group_window_s),
        )
        outcome.decisions.append(d)
        row: dict[str, Any] = {
            "incident_id": d.incident_id, "source": alert.source, "fingerprint": alert.fingerprint,
            "status": alert.status, "title": alert.title, "service": alert.service, "metric": alert.metric,
            "value": alert.value, "threshold": alert.threshold, "starts_at": alert.starts_at,
            "ends_at": alert.ends_at, "received_at": now, "labels": alert.labels, "annotations": alert.annotations,
            "raw": _jsonable(alert.raw), "group_key": alert.group_key, "duplicate_of": None,
        }
        if d.kind == "duplicate":
            row["duplicate_of"] = next((r.id for r in seen_rows if r.incident_id == d.incident_id), None)
        if d.kind == "new":
            row["incident_id"] = self._open(session, alert, catalog, outcome, now)
        session.execute(sa.insert(_ALERTS), row)
        if d.kind in ("group", "flap") and d.incident_id is not None:
            self._attach(session, d, alert, outcome, now)
        elif d.kind == "resolve" and d.incident_id is not None:
            self._resolve_alert(session, d.incident_id, alert, outcome, now)
        # a duplicate is only its alert row (duplicate_of set): repeats are counted from the alerts
        # table, so a storm of repeats never rewrites the incident the investigation is writing

    def _attach(self, session: Session, d: Decision, alert: Alert, outcome: IntakeOutcome, now: datetime) -> None:
        """A grouped or flapping alert joins its incident: its service is added; a flap reopens it."""
        assert d.incident_id is not None
        locked = _lock_incident(session, d.incident_id)
        if locked is None:
            return
        service, extra = locked
        extra = dict(extra or {})
        values: dict[str, Any] = {}
        extra["services"] = sorted(set(extra.get("services", [service])) | {alert.service or ""} - {""})
        if d.kind == "flap":
            values.update(status="investigating", resolved_at=None)
            extra["flapping"] = int(extra.get("flapping", 0)) + 1
        session.execute(sa.update(_INCIDENTS).where(_INCIDENTS.c.id == d.incident_id).values(extra=extra, **values))
        self._note(session, d.incident_id, "alert", f"{d.kind}: {alert.title}", alert.source, now)
        outcome.updated.append(d.incident_id)

    def _open(
        self, session: Session, alert: Alert, catalog: ServiceCatalog, outcome: IntakeOutcome, now: datetime,
    ) -> int:
        """A new incident for ``alert``; its id."""
        sev = triage(
            service=alert.service, metric=alert.metric, value=alert.value, threshold=alert.threshold,
            catalog=catalog, overrides=self.settings.incidents.severity_overrides,
        )
        quiet = self._in_maintenance(session, alert.service, now)
        inc = Incident(
            title=alert.title[:500], service=alert.service, severity=sev.level, severity_reason=sev.reason,
            status="open", opened_at=now, updated_at=now, group_key=alert.group_key,
            extra={
                "services": [alert.service] if alert.service else [],
                "source": alert.source,
                "truncated": alert.truncated,
                **({"maintenance": quiet} if quiet else {}),
            },
        )
        session.add(inc)
        session.flush()
        self._note(session, inc.id, "opened", f"Incident opened from {alert.source}: {alert.title}", alert.source, now)
        audit.append(
            session=session, actor=f"intake:{alert.source}", kind="incident.opened", incident_id=inc.id,
            text=f"{inc.key} opened ({sev.level}): {alert.title}", detail={"severity_reason": sev.reason},
        )
        if not quiet:
            outcome.opened.append(inc.id)
        return inc.id

    def _resolve_alert(self, session: Session, incident_id: int, alert: Alert, outcome: IntakeOutcome, now: datetime) -> None:
        inc = incident_for_update(session, incident_id)
        if inc is None or inc.status == "resolved":
            return
        self._note(session, inc.id, "alert", f"resolved: {alert.title}", alert.source, now)
        # resolved when every fingerprint attached to it has resolved most recently
        rows = session.execute(sa.select(AlertRow.fingerprint, AlertRow.status)
                               .where(AlertRow.incident_id == inc.id).order_by(AlertRow.id)).all()
        latest: dict[str, str] = {}
        for fingerprint, status in rows:
            latest[fingerprint] = status
        if all(s == "resolved" for s in latest.values()):
            inc.status = "resolved"
            inc.resolved_at = now
            audit.append(
                session=session, actor=f"intake:{alert.source}", kind="incident.resolved", incident_id=inc.id,
                text=f"{inc.key} resolved: every alert resolved",
            )
            outcome.resolved.append(inc.id)
        else:
            outcome.updated.append(inc.id)

    def _in_maintenance(self, session: Session, service: str | None, now: datetime) -> str | None:
        if not service:
            return None
        w = session.scalars(
            sa.select(MaintenanceWindow).where(
                MaintenanceWindow.service == service, MaintenanceWindow.starts_at <= now, MaintenanceWindow.ends_at > now
            )
        ).first()
        return (w.note or "maintenance window") if w else None

    @staticmethod
    def _note(session: Session, incident_id: int, kind: str, text: str, actor: str, now: datetime) -> None:
        session.execute(sa.insert(_TIMELINE), {"incident_id": incident_id, "at": now, "kind": kind,
                                               "text": text[:2000], "actor": actor, "source_ref": None})


_INTAKE: sa.Table = IntakeRecord.__table__  # type: ignore[assignment]
_ALERTS: sa.Table = AlertRow.__table__  # type: ignore[assignment]
_TIMELINE: sa.Table = TimelineEntry.__table__  # type: ignore[assignment]
_INCIDENTS: sa.Table = Incident.__table__  # type: ignore[assignment]


# the per-alert statements, built once (plain table columns and bound parameters: this runs per alert)
_SEEN = (
    sa.select(_ALERTS.c.id, _ALERTS.c.incident_id, _ALERTS.c.fingerprint, _ALERTS.c.status, _ALERTS.c.starts_at,
              _ALERTS.c.received_at)
    .where(_ALERTS.c.fingerprint == sa.bindparam("fingerprint"))
    .order_by(_ALERTS.c.id.desc())
    .limit(50)
)
_OPEN_RECENT = sa.and_(_INCIDENTS.c.status != "resolved", _INCIDENTS.c.opened_at >= sa.bindparam("since"))
_CANDIDATE_COLS = (_INCIDENTS.c.id, _INCIDENTS.c.service, _INCIDENTS.c.extra, _INCIDENTS.c.opened_at,
                   _INCIDENTS.c.status, _INCIDENTS.c.resolved_at)
_ATTACHED = _INCIDENTS.c.id.in_(sa.bindparam("attached", expanding=True))
_CANDIDATES = sa.select(*_CANDIDATE_COLS).where(sa.or_(_ATTACHED, _OPEN_RECENT))
_CANDIDATES_NEAR = sa.select(*_CANDIDATE_COLS).where(sa.or_(
    _ATTACHED, sa.and_(_OPEN_RECENT, _INCIDENTS.c.service.in_(sa.bindparam("services", expanding=True)))
))


def _lock_incident(session: Session, incident_id: int) -> tuple[str | None, dict[str, Any] | None] | None:
    """Lock the incident's row; its service and extra (plain columns, for the per-alert path)."""
    _lock_row(session, incident_id)
    row = session.execute(sa.select(_INCIDENTS.c.service, _INCIDENTS.c.extra)
                          .where(_INCIDENTS.c.id == incident_id)).first()
    return (row.service, row.extra) if row is not None else None


def incident_for_update(session: Session, incident_id: int) -> Incident | None:
    """See :func:`bot.incidents.repo.get_for_update` (intake must not import the incident service)."""
    _lock_row(session, incident_id)
    return session.get(Incident, incident_id, populate_existing=True)


def _lock_row(session: Session, incident_id: int) -> None:
    """A no-op UPDATE: the row lock on PostgreSQL, the write lock on SQLite, until commit."""
    session.execute(sa.update(_INCIDENTS).where(_INCIDENTS.c.id == incident_id).values(id=_INCIDENTS.c.id))


def _jsonable(raw: dict[str, Any]) -> dict[str, Any]:
    import json

    try:
        json.dumps(raw)
        return raw
    except (TypeError, ValueError):
        return json.loads(json.dumps(raw, default=str))
