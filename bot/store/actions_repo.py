"""Compare-and-set for action states.

The executor and the approval flow never read a state and then write it: they
call :func:`transition`, which changes the row only if it is still in one of the
expected states, and tells the caller whether it won.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from bot.store.models import ACTION_STATES, Action, utcnow

_SETTABLE = frozenset(c.key for c in Action.__table__.columns) - {"id", "state", "version"}


def transition(
    *, session: Session, action_id: int, from_states: Iterable[str], to_state: str, **fields: Any
) -> bool:
    """``UPDATE actions SET state=to_state, version=version+1, ... WHERE id=.. AND state IN from_states``.

    True if exactly one row changed. ``fields`` sets other columns in the same
    statement (``started_at=``, ``result=``, ``error=``...); ``updated_at`` is set
    unless given. An ``Action`` loaded in ``session`` is expired so it reloads.
    """
    expected = set(from_states)
    unknown = (expected | {to_state}) - set(ACTION_STATES)
    if unknown:
        raise ValueError(f"unknown action state(s): {', '.join(sorted(unknown))}")
    bad = set(fields) - _SETTABLE
    if bad:
        raise ValueError(f"not settable by transition: {', '.join(sorted(bad))}")
    if not expected:
        return False
    values: dict[str, Any] = {
        "updated_at": utcnow(),
        **fields,
        "state": to_state,
        "version": Action.version + 1,
    }
    stmt = (
        sa.update(Action)
        .where(Action.id == action_id, Action.state.in_(sorted(expected)))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    result = session.execute(stmt)
    changed = getattr(result, "rowcount", 0) == 1
    obj = session.identity_map.get(identity_key(Action, action_id))
    if obj is not None:
        session.expire(obj)
    return bool(changed)


def get(*, session: Session, action_id: int) -> Action | None:
    return session.get(Action, action_id)


def get_by_idempotency_key(*, session: Session, idempotency_key: str) -> Action | None:
    return session.scalars(sa.select(Action).where(Action.idempotency_key == idempotency_key)).first()


def in_states(*, session: Session, states: Iterable[str]) -> list[Action]:
    """Actions in ``states`` (e.g. ``{"executing"}`` at start-up, to flag for a person)."""
    return list(
        session.scalars(sa.select(Action).where(Action.state.in_(sorted(set(states)))).order_by(Action.id))
    )
