"""Named leader leases for the scheduler (one leader among replicas).

Each replica calls :func:`try_acquire_or_renew` every ``lease_seconds / 3`` or so
in its own short transaction; the one that gets a token is the leader until it
fails to renew. The token grows each time leadership changes hands: pass it
along with leader-only writes so a deposed leader can be told apart.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.store.fencing import give_back, take
from bot.store.models import Lease, utcnow

_TABLE: sa.Table = Lease.__table__  # type: ignore[assignment]


def try_acquire_or_renew(
    *, session: Session, name: str, holder: str, ttl: float | timedelta, now: datetime | None = None
) -> int | None:
    """The fencing token if ``holder`` leads ``name`` for the next ``ttl`` seconds, else None."""
    ttl = ttl if isinstance(ttl, timedelta) else timedelta(seconds=ttl)
    return take(
        session=session,
        table=_TABLE,
        key_column="name",
        key=name,
        holder=holder,
        ttl=ttl,
        now=now or utcnow(),
    )


def release(*, session: Session, name: str, holder: str) -> bool:
    """Step down (on shutdown) so another replica takes over without waiting for expiry."""
    return give_back(session=session, table=_TABLE, key_column="name", key=name, holder=holder)


def get(*, session: Session, name: str, now: datetime | None = None) -> Lease | None:
    """The live lease ``name``, or None if nobody leads."""
    lease = session.get(Lease, name, populate_existing=True)
    if lease is None or lease.holder is None or lease.expires_at <= (now or utcnow()):
        return None
    return lease
