"""The audit log: append-only.

There is no update or delete here on purpose; nothing else should write to
``audit_log`` either. Every step of an incident or an action appends one entry.
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.store.models import AuditEntry, utcnow

DEFAULT_LIMIT = 200


def append(
    *,
    session: Session,
    actor: str,
    kind: str,
    text: str,
    incident_id: int | None = None,
    action_id: int | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Add one entry (flushed, so ``id`` is set); committed with the caller's session."""
    entry = AuditEntry(
        at=at or utcnow(),
        actor=actor,
        kind=kind,
        text=text,
        incident_id=incident_id,
        action_id=action_id,
        detail=dict(detail or {}),
    )
    session.add(entry)
    session.flush()
    return entry


def list(  # noqa: A001 - the service verb, as in Dispatch
    *,
    session: Session,
    incident_id: int | None = None,
    action_id: int | None = None,
    kind: str | None = None,
    since: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
) -> builtins.list[AuditEntry]:
    """Entries oldest first, optionally for one incident/action/kind and at or after ``since``."""
    q = sa.select(AuditEntry)
    if incident_id is not None:
        q = q.where(AuditEntry.incident_id == incident_id)
    if action_id is not None:
        q = q.where(AuditEntry.action_id == action_id)
    if kind is not None:
        q = q.where(AuditEntry.kind == kind)
    if since is not None:
        q = q.where(AuditEntry.at >= since)
    q = q.order_by(AuditEntry.at, AuditEntry.id).limit(limit)
    return builtins.list(session.scalars(q))
