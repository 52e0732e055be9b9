"""Actions, approvals and the append-only audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models.base import Base, utcnow

ActionState = Literal[
    "proposed",
    "awaiting_approval",
    "approved",
    "denied",
    "expired",
    "executing",
    "verifying",
    "done",
    "reverted",
    "failed",
    "refused",
    "shadowed",
]
ACTION_STATES: tuple[str, ...] = ActionState.__args__  # type: ignore[attr-defined]
TERMINAL_ACTION_STATES: frozenset[str] = frozenset(
    {"denied", "expired", "done", "reverted", "failed", "refused", "shadowed"}
)
Decision = Literal["approved", "denied", "expired"]


class Action(Base):
    """One requested registry action and its state machine.

    ``state`` moves only by compare-and-set (:func:`bot.store.actions_repo.transition`).
    ``version`` is also the ORM's version counter: flushing a stale ``Action`` object
    raises ``sqlalchemy.orm.exc.StaleDataError`` instead of overwriting a newer state.
    """

    __tablename__ = "actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("incidents.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(128))  # registry name, "k8s.rollout_undo"
    kind: Mapped[str] = mapped_column(sa.String(32))  # mitigation kind, "rollback"
    target: Mapped[str] = mapped_column(sa.String(255))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    params_hash: Mapped[str] = mapped_column(sa.String(64))
    idempotency_key: Mapped[str] = mapped_column(sa.String(255), unique=True)
    state: Mapped[str] = mapped_column(sa.String(32), default="proposed", index=True)
    requested_by: Mapped[str | None] = mapped_column(sa.String(128))
    risk: Mapped[str | None] = mapped_column(sa.String(16))
    reversible: Mapped[bool] = mapped_column(default=False)
    checkpoint: Mapped[dict[str, Any] | None]
    result: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(sa.Text)
    autonomous: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class Approval(Base):
    """The approval inquiry of one action (at most one per action)."""

    __tablename__ = "approvals"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(sa.ForeignKey("actions.id"), unique=True)
    params_hash: Mapped[str] = mapped_column(sa.String(64))
    requested_by: Mapped[str | None] = mapped_column(sa.String(128))
    decided_by: Mapped[str | None] = mapped_column(sa.String(128))
    decision: Mapped[str | None] = mapped_column(sa.String(16))  # approved | denied | expired
    decided_at: Mapped[datetime | None]
    expires_at: Mapped[datetime]
    message_ts: Mapped[str | None] = mapped_column(sa.String(32))
    channel_id: Mapped[str | None] = mapped_column(sa.String(32))


class AuditEntry(Base):
    """Append-only: rows are inserted by :func:`bot.store.audit.append` and never changed.

    There is deliberately no update or delete helper. ``incident_id`` and
    ``action_id`` are plain indexed integers, not foreign keys, so the log
    outlives whatever it describes.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(sa.String(128))
    kind: Mapped[str] = mapped_column(sa.String(64), index=True)  # "incident.opened", "action.executed"
    incident_id: Mapped[int | None] = mapped_column(index=True)
    action_id: Mapped[int | None] = mapped_column(index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    text: Mapped[str] = mapped_column(sa.Text)
