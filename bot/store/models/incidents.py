"""Incidents and what hangs off them: alerts, timeline, evidence, hypotheses."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Mapper, attributes, mapped_column

from bot.store.models.base import Base, utcnow

Severity = Literal["P0", "P1", "P2", "P3"]
IncidentStatus = Literal["open", "investigating", "mitigating", "monitoring", "resolved"]
INCIDENT_STATUSES: tuple[str, ...] = ("open", "investigating", "mitigating", "monitoring", "resolved")
SEVERITIES: tuple[str, ...] = ("P0", "P1", "P2", "P3")


class Incident(Base):
    """One incident. ``key`` ("INC-42") is filled from the id on insert unless given."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    title: Mapped[str] = mapped_column(sa.Text)
    service: Mapped[str | None] = mapped_column(sa.String(128), index=True)
    severity: Mapped[str] = mapped_column(sa.String(2), default="P3")
    severity_reason: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16), default="open", index=True)
    category: Mapped[str | None] = mapped_column(sa.String(64))
    culprit: Mapped[str | None] = mapped_column(sa.String(255))
    channel_id: Mapped[str | None] = mapped_column(sa.String(32))
    brief_ts: Mapped[str | None] = mapped_column(sa.String(32))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    resolved_at: Mapped[datetime | None]
    mitigated_at: Mapped[datetime | None]
    summary: Mapped[str | None] = mapped_column(sa.Text)
    group_key: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    is_false_positive: Mapped[bool] = mapped_column(default=False)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


@event.listens_for(Incident, "after_insert")
def _fill_key(mapper: Mapper[Incident], connection: sa.Connection, target: Incident) -> None:
    if target.key is None:
        key = f"INC-{target.id}"
        table = Incident.__table__
        connection.execute(sa.update(table).where(table.c.id == target.id).values(key=key))  # type: ignore[arg-type]
        attributes.set_committed_value(target, "key", key)


class AlertRow(Base):
    """A received alert (``bot.intake.alert.Alert`` once stored)."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("incidents.id"), index=True)
    source: Mapped[str] = mapped_column(sa.String(32))
    fingerprint: Mapped[str] = mapped_column(sa.String(255), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="firing")
    title: Mapped[str] = mapped_column(sa.Text)
    service: Mapped[str | None] = mapped_column(sa.String(128))
    metric: Mapped[str | None] = mapped_column(sa.String(255))
    value: Mapped[float | None]
    threshold: Mapped[float | None]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    annotations: Mapped[dict[str, Any]] = mapped_column(default=dict)
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    group_key: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    duplicate_of: Mapped[int | None] = mapped_column(sa.ForeignKey("alerts.id"))


class IntakeRecord(Base):
    """Every payload received on an intake route, accepted or not."""

    __tablename__ = "intake_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(32))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    status: Mapped[str] = mapped_column(sa.String(16))  # accepted | rejected | duplicate
    error: Mapped[str | None] = mapped_column(sa.Text)
    body_excerpt: Mapped[str | None] = mapped_column(sa.Text)
    remote_addr: Mapped[str | None] = mapped_column(sa.String(64))


class TimelineEntry(Base):
    __tablename__ = "timeline_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(sa.String(64))
    text: Mapped[str] = mapped_column(sa.Text)
    actor: Mapped[str | None] = mapped_column(sa.String(128))
    source_ref: Mapped[str | None] = mapped_column(sa.String(255))


class EvidenceRow(Base):
    """One stored ``bot.investigation.evidence.Evidence`` envelope."""

    __tablename__ = "evidence"
    __table_args__ = (sa.UniqueConstraint("incident_id", "evidence_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id"))
    evidence_id: Mapped[str] = mapped_column(sa.String(32))  # "ev-3"
    source: Mapped[str] = mapped_column(sa.String(64))
    query: Mapped[str] = mapped_column(sa.Text)
    window_start: Mapped[float]  # minutes relative to the alert
    window_end: Mapped[float]
    status: Mapped[str] = mapped_column(sa.String(16))  # ok | no_data | error
    summary: Mapped[str] = mapped_column(sa.Text)
    link: Mapped[str | None] = mapped_column(sa.Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class HypothesisRow(Base):
    __tablename__ = "hypotheses"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id"), index=True)
    rank: Mapped[int]
    category: Mapped[str] = mapped_column(sa.String(64))
    culprit: Mapped[str | None] = mapped_column(sa.String(255))
    confidence: Mapped[float]
    evidence_ids: Mapped[list[str]] = mapped_column(default=list)
    explanation: Mapped[str | None] = mapped_column(sa.Text)
    reasoner: Mapped[str] = mapped_column(sa.String(16), default="deterministic")  # deterministic | llm
