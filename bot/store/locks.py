"""Resource locks with fencing tokens (the executor locks what it acts on).

::

    with db.session() as s:
        token = locks.acquire(session=s, resource="k8s:prod/checkout", holder="action-17", ttl=60)
    if token is None: ...          # someone else holds it
    ...                            # before each write: locks.check(session=s, resource=..., token=token)
    with db.session() as s:
        locks.release(session=s, resource="k8s:prod/checkout", holder="action-17")

Commit soon after ``acquire``: on PostgreSQL the row stays locked until then and
competitors wait on it. Acquiring again with the same holder renews (same token);
a new holder after expiry or release gets the token plus one. Safe across
processes on PostgreSQL; on SQLite, across threads of one process.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.store.fencing import give_back, take
from bot.store.models import Lock, utcnow

_TABLE: sa.Table = Lock.__table__  # type: ignore[assignment]


def _ttl(ttl: float | timedelta) -> timedelta:
    return ttl if isinstance(ttl, timedelta) else timedelta(seconds=ttl)


def acquire(
    *, session: Session, resource: str, holder: str, ttl: float | timedelta, now: datetime | None = None
) -> int | None:
    """The fencing token if ``holder`` now holds ``resource`` for ``ttl`` (seconds), else None."""
    now = now or utcnow()
    return take(
        session=session,
        table=_TABLE,
        key_column="resource",
        key=resource,
        holder=holder,
        ttl=_ttl(ttl),
        now=now,
        extra={"acquired_at": now},
    )


def release(*, session: Session, resource: str, holder: str, token: int | None = None) -> bool:
    """True if ``holder`` held ``resource`` (with ``token``, when given) and has now released it."""
    return give_back(
        session=session, table=_TABLE, key_column="resource", key=resource, holder=holder, token=token
    )


def get(*, session: Session, resource: str, now: datetime | None = None) -> Lock | None:
    """The live lock on ``resource``, or None if free, expired or released."""
    lock = session.get(Lock, resource, populate_existing=True)
    if lock is None or lock.holder is None or lock.expires_at <= (now or utcnow()):
        return None
    return lock


def check(*, session: Session, resource: str, token: int, now: datetime | None = None) -> bool:
    """True while ``token`` is the live token of ``resource`` (call before a guarded write)."""
    lock = get(session=session, resource=resource, now=now)
    return lock is not None and lock.token == token


def cleanup_expired(
    *, session: Session, now: datetime | None = None, grace: timedelta = timedelta(days=1)
) -> int:
    """Delete locks expired (or released) longer than ``grace`` ago; the count deleted.

    A deleted resource starts again at token 1, which is harmless once nobody
    could still hold an older token (hence the grace period).
    """
    cutoff = (now or utcnow()) - grace
    result = session.execute(sa.delete(Lock).where(Lock.expires_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
