"""Inbound Slack event dedupe: Slack retries, and replicas may both receive one event."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.orm import Session

from bot.store.fencing import dialect_insert
from bot.store.models import SlackEvent, utcnow

_TABLE: sa.Table = SlackEvent.__table__  # type: ignore[assignment]


def record_slack_event(
    *,
    session: Session,
    event_id: str,
    kind: str,
    payload: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> bool:
    """True if ``event_id`` is new (and now recorded), False if it was seen before.

    Relies on the primary key (``INSERT .. ON CONFLICT DO NOTHING``), never on a
    prior SELECT, so two concurrent deliveries cannot both be "new" on PostgreSQL:
    the second waits for the first transaction and then sees the conflict.
    """
    stmt = (
        dialect_insert(session, _TABLE)
        .values(event_id=event_id, kind=kind, payload=dict(payload or {}), received_at=now or utcnow())
        .on_conflict_do_nothing(index_elements=[_TABLE.c.event_id])
        .returning(_TABLE.c.event_id)  # rowcount of an INSERT is not reliable on every driver
    )
    try:
        inserted = session.execute(stmt).scalar_one_or_none()
    except exc.IntegrityError:
        return False
    return inserted is not None


def mark_processed(*, session: Session, event_id: str, now: datetime | None = None) -> bool:
    result = session.execute(
        sa.update(SlackEvent).where(SlackEvent.event_id == event_id).values(processed_at=now or utcnow())
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def cleanup(
    *, session: Session, older_than: timedelta = timedelta(days=2), now: datetime | None = None
) -> int:
    """Forget events older than ``older_than`` (Slack retries for minutes, not days)."""
    cutoff = (now or utcnow()) - older_than
    result = session.execute(sa.delete(SlackEvent).where(SlackEvent.received_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
