"""The one upsert behind locks and leases: take a row if free or expired, renew it if ours.

A single ``INSERT .. ON CONFLICT DO UPDATE .. WHERE .. RETURNING`` statement, so it is
atomic on PostgreSQL across processes (a competing transaction waits on the row and
then re-checks the WHERE against the committed row) and on SQLite within a process.
The token stays the same while one holder renews and grows by one whenever the row
changes hands, so it serves as a fencing token.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

RELEASED_AT = datetime(1970, 1, 1, tzinfo=UTC)  # expires_at of a released row


def dialect_insert(session: Session, table: sa.Table) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def take(
    *,
    session: Session,
    table: sa.Table,
    key_column: str,
    key: str,
    holder: str,
    ttl: timedelta,
    now: datetime,
    extra: dict[str, Any] | None = None,
) -> int | None:
    """Take or renew ``table[key]`` for ``holder``; the fencing token, or None if held by another."""
    if not holder:
        raise ValueError("holder must be a non-empty string")
    c = table.c
    values = {key_column: key, "holder": holder, "expires_at": now + ttl, "token": 1, **(extra or {})}
    stmt = dialect_insert(session, table).values(**values)
    ours = c.holder == stmt.excluded.holder
    set_: dict[str, Any] = {
        "holder": stmt.excluded.holder,
        "expires_at": stmt.excluded.expires_at,
        "token": sa.case((ours, c.token), else_=c.token + 1),
    }
    for name in extra or {}:
        set_[name] = sa.case((ours, c[name]), else_=stmt.excluded[name])
    stmt = stmt.on_conflict_do_update(
        index_elements=[c[key_column]],
        set_=set_,
        where=sa.or_(c.expires_at <= sa.bindparam("now", now, type_=c.expires_at.type), ours),
    ).returning(c.token)
    token = session.execute(stmt).scalar_one_or_none()
    return int(token) if token is not None else None


def give_back(
    *, session: Session, table: sa.Table, key_column: str, key: str, holder: str, token: int | None = None
) -> bool:
    """Release ``key`` if ``holder`` (and ``token``, when given) still hold it. The row stays, so tokens keep growing."""
    c = table.c
    cond = sa.and_(c[key_column] == key, c.holder == holder)
    if token is not None:
        cond = sa.and_(cond, c.token == token)
    result = session.execute(sa.update(table).where(cond).values(holder=None, expires_at=RELEASED_AT))
    return bool(getattr(result, "rowcount", 0) == 1)
