"""Operational state: locks, leases, heartbeats, inbound Slack events, breakers, autonomy."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models.base import Base, utcnow

FREEZE_SCOPE = "freeze"  # an AutonomyOverride row with this scope means "change freeze on"
GLOBAL_SCOPE = "global"


class Lock(Base):
    """A resource lock with a fencing token that only grows (see :mod:`bot.store.locks`)."""

    __tablename__ = "locks"

    resource: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    holder: Mapped[str | None] = mapped_column(sa.String(255))  # None once released
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    token: Mapped[int] = mapped_column(default=1)


class Lease(Base):
    """A named leader lease (see :mod:`bot.store.leases`)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    holder: Mapped[str | None] = mapped_column(sa.String(255))
    token: Mapped[int] = mapped_column(default=1)
    expires_at: Mapped[datetime]


class HeartbeatResult(Base):
    __tablename__ = "heartbeat_results"
    __table_args__ = (sa.Index("ix_heartbeat_results_check_name_at", "check_name", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    check_name: Mapped[str] = mapped_column(sa.String(128))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    ok: Mapped[bool]
    value: Mapped[float | None]
    detail: Mapped[str | None] = mapped_column(sa.Text)
    breached: Mapped[bool] = mapped_column(default=False)


class SlackEvent(Base):
    """An inbound Slack event id, recorded once (see :mod:`bot.store.events`)."""

    __tablename__ = "slack_events"

    event_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(sa.String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    processed_at: Mapped[datetime | None]


class CircuitBreaker(Base):
    """Per-automation breaker; key is "<service>:<action name>", e.g. "checkout:k8s.rollout_restart"."""

    __tablename__ = "circuit_breakers"

    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    state: Mapped[str] = mapped_column(sa.String(16), default="closed")  # open | closed
    reverts: Mapped[int] = mapped_column(default=0)
    opened_at: Mapped[datetime | None]
    reset_by: Mapped[str | None] = mapped_column(sa.String(128))


class AutonomyOverride(Base):
    """Autonomy level by scope: "global", "service:checkout", "action:k8s.scale"; "freeze" = freeze on."""

    __tablename__ = "autonomy_overrides"

    scope: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    level: Mapped[str] = mapped_column(sa.String(32))
    set_by: Mapped[str | None] = mapped_column(sa.String(128))
    set_at: Mapped[datetime] = mapped_column(default=utcnow)


class MaintenanceWindow(Base):
    __tablename__ = "maintenance_windows"

    id: Mapped[int] = mapped_column(primary_key=True)
    service: Mapped[str] = mapped_column(sa.String(128), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(sa.Text)
    created_by: Mapped[str | None] = mapped_column(sa.String(128))
