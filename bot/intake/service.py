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
                session.add(
                    IntakeRecord(
                        source=source, received_at=self.clock(), status="accepted",
                        body_excerpt=body[:2000].decode("utf-8", "replace"), remote_addr=remote,
                    )
                )
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
        seen_rows = session.scalars(
            sa.select(AlertRow).where(AlertRow.fingerprint == alert.fingerprint).order_by(AlertRow.id.desc()).limit(50)
        ).all()
        seen = [SeenAlert(r.incident_id, r.fingerprint, r.status, r.starts_at, r.received_at) for r in seen_rows]
        # only what a decision can use: incidents this fingerprint was attached to, and incidents
        # opened within the grouping window (plain columns, not ORM objects: this runs per alert)
        window = timedelta(seconds=self.settings.incidents.group_window_s)
        attached = {r.incident_id for r in seen_rows if r.incident_id is not None}
        cols = (Incident.id, Incident.service, Incident.extra, Incident.opened_at, Incident.status,
                Incident.resolved_at)
        groupable = sa.and_(Incident.status != "resolved", Incident.opened_at >= now - window)
        if alert.service:  # only incidents on services the dependency graph relates to this one
            groupable = sa.and_(groupable, Incident.service.in_(sorted(related_services(catalog, alert.service))))
        inc_rows = session.execute(
            sa.select(*cols).where(sa.or_(Incident.id.in_(attached) if attached else sa.false(), groupable))
        ).all()
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
        row = AlertRow(
            incident_id=d.incident_id, source=alert.source, fingerprint=alert.fingerprint, status=alert.status,
            title=alert.title, service=alert.service, metric=alert.metric, value=alert.value,
            threshold=alert.threshold, starts_at=alert.starts_at, ends_at=alert.ends_at, received_at=now,
            labels=alert.labels, annotations=alert.annotations, raw=_jsonable(alert.raw), group_key=alert.group_key,
        )
        if d.kind == "duplicate":
            row.duplicate_of = next((r.id for r in seen_rows if r.incident_id == d.incident_id), None)
        session.add(row)
        if d.kind == "new":
            self._open(session, alert, row, catalog, outcome, now)
        elif d.kind in ("group", "flap") and d.incident_id is not None:
            inc = incident_for_update(session, d.incident_id)
            if inc is not None:
                services = sorted(set((inc.extra or {}).get("services", [inc.service])) | {alert.service or ""} - {""})
                inc.extra = {**(inc.extra or {}), "services": services}
                if d.kind == "flap":
                    inc.status = "investigating"
                    inc.resolved_at = None
                    inc.extra = {**inc.extra, "flapping": int((inc.extra or {}).get("flapping", 0)) + 1}
                self._note(session, inc.id, "alert", f"{d.kind}: {alert.title}", alert.source, now)
                outcome.updated.append(inc.id)
        elif d.kind == "resolve" and d.incident_id is not None:
            self._resolve_alert(session, d.incident_id, alert, outcome, now)
        # a duplicate is only its alert row (duplicate_of set): repeats are counted from the alerts
        # table, so a storm of repeats never rewrites the incident the investigation is writing

    def _open(
        self, session: Session, alert: Alert, row: AlertRow, catalog: ServiceCatalog, outcome: IntakeOutcome,
        now: datetime,
    ) -> None:
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
        row.incident_id = inc.id
        self._note(session, inc.id, "opened", f"Incident opened from {alert.source}: {alert.title}", alert.source, now)
        audit.append(
            session=session, actor=f"intake:{alert.source}", kind="incident.opened", incident_id=inc.id,
            text=f"{inc.key} opened ({sev.level}): {alert.title}", detail={"severity_reason": sev.reason},
        )
        if not quiet:
            outcome.opened.append(inc.id)

    def _resolve_alert(self, session: Session, incident_id: int, alert: Alert, outcome: IntakeOutcome, now: datetime) -> None:
        inc = incident_for_update(session, incident_id)
        if inc is None or inc.status == "resolved":
            return
        self._note(session, inc.id, "alert", f"resolved: {alert.title}", alert.source, now)
        # resolved when every fingerprint attached to it has resolved most recently
        rows = session.scalars(sa.select(AlertRow).where(AlertRow.incident_id == inc.id).order_by(AlertRow.id)).all()
        latest: dict[str, str] = {}
        for r in rows:
            latest[r.fingerprint] = r.status
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
        session.add(TimelineEntry(incident_id=incident_id, at=now, kind=kind, text=text[:2000], actor=actor))


def incident_for_update(session: Session, incident_id: int) -> Incident | None:
    """See :func:`bot.incidents.repo.get_for_update` (intake must not import the incident service)."""
    session.execute(sa.update(Incident).where(Incident.id == incident_id).values(id=Incident.id))
    return session.get(Incident, incident_id, populate_existing=True)


def _jsonable(raw: dict[str, Any]) -> dict[str, Any]:
    import json

    try:
        json.dumps(raw)
        return raw
    except (TypeError, ValueError):
        return json.loads(json.dumps(raw, default=str))
