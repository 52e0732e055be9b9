"""The store queries the actions need beyond ``bot/store`` (breakers, overrides, counts, approvals).

Every function takes a ``session`` and commits nothing itself; the caller's
``db.session()`` block is the transaction. Decisions and breaker changes are
single conditional UPDATEs, so concurrent callers (threads or processes) each
see whether they won.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.actions.policy import LEVELS, Level
from bot.store import actions_repo
from bot.store.models import FREEZE_SCOPE, GLOBAL_SCOPE, Action, Approval, AutonomyOverride, CircuitBreaker

STARTED_STATES = ("executing", "verifying", "done", "reverted", "failed")


def create_action(*, session: Session, **fields: Any) -> tuple[Action, bool]:
    """Insert an action, or return the one with the same idempotency key; (action, created)."""
    existing = actions_repo.get_by_idempotency_key(session=session, idempotency_key=fields["idempotency_key"])
    if existing is not None:
        return existing, False
    action = Action(**fields)
    try:
        with session.begin_nested():
            session.add(action)
            session.flush()
    except IntegrityError:  # a concurrent submit with the same key won
        found = actions_repo.get_by_idempotency_key(session=session, idempotency_key=fields["idempotency_key"])
        if found is None:
            raise
        return found, False
    return action, True


def approval_for(*, session: Session, action_id: int) -> Approval | None:
    return session.scalars(sa.select(Approval).where(Approval.action_id == action_id)).first()


def decide_approval(*, session: Session, action_id: int, decision: str, user: str | None, now: datetime) -> bool:
    """Record the one decision of an approval; False when someone (or expiry) decided first."""
    result = session.execute(
        sa.update(Approval)
        .where(Approval.action_id == action_id, Approval.decision.is_(None))
        .values(decision=decision, decided_by=user, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def due_approvals(*, session: Session, now: datetime) -> list[int]:
    """Action ids whose approval expired undecided."""
    q = sa.select(Approval.action_id).where(Approval.decision.is_(None), Approval.expires_at <= now)
    return list(session.scalars(q))


def freeze_on(*, session: Session) -> bool:
    return session.get(AutonomyOverride, FREEZE_SCOPE, populate_existing=True) is not None


def set_freeze(*, session: Session, on: bool, by: str | None, now: datetime) -> None:
    row = session.get(AutonomyOverride, FREEZE_SCOPE)
    if on and row is None:
        session.add(AutonomyOverride(scope=FREEZE_SCOPE, level="shadow", set_by=by, set_at=now))
    elif not on and row is not None:
        session.delete(row)
    session.flush()


def overrides(*, session: Session) -> dict[tuple[str | None, str | None], Level]:
    """Runtime autonomy overrides keyed (service, action).

    Scopes: ``global``, ``service:<svc>``, ``action:<name>``, ``service:<svc>:action:<name>``.
    """
    out: dict[tuple[str | None, str | None], Level] = {}
    for row in session.scalars(sa.select(AutonomyOverride)):
        if row.scope == FREEZE_SCOPE or row.level not in LEVELS:
            continue
        level: Level = row.level  # type: ignore[assignment]
        key = _scope_key(row.scope)
        if key is not None:
            out[key] = level
    return out


def _scope_key(scope: str) -> tuple[str | None, str | None] | None:
    if scope == GLOBAL_SCOPE:
        return (None, None)
    if scope.startswith("service:"):
        rest = scope[len("service:") :]
        if ":action:" in rest:
            svc, action = rest.split(":action:", 1)
            return (svc, action)
        return (rest, None)
    if scope.startswith("action:"):
        return (None, scope[len("action:") :])
    return None


def set_override(*, session: Session, scope: str, level: Level, by: str | None, now: datetime) -> None:
    session.merge(AutonomyOverride(scope=scope, level=level, set_by=by, set_at=now))
    session.flush()


def open_breakers(*, session: Session) -> dict[str, str]:
    rows = session.scalars(sa.select(CircuitBreaker).where(CircuitBreaker.state == "open"))
    return {r.key: f"opened after {r.reverts} reverts" for r in rows}


def record_revert(*, session: Session, key: str, threshold: int, now: datetime) -> tuple[int, bool]:
    """Count one revert for ``key``; (reverts so far, True if this one opened the breaker)."""
    if session.get(CircuitBreaker, key) is None:
        try:
            with session.begin_nested():
                session.add(CircuitBreaker(key=key, state="closed", reverts=0))
                session.flush()
        except IntegrityError:
            pass
    session.execute(
        sa.update(CircuitBreaker)
        .where(CircuitBreaker.key == key)
        .values(reverts=CircuitBreaker.reverts + 1)
        .execution_options(synchronize_session=False)
    )
    opened = session.execute(
        sa.update(CircuitBreaker)
        .where(CircuitBreaker.key == key, CircuitBreaker.state == "closed", CircuitBreaker.reverts >= threshold)
        .values(state="open", opened_at=now)
        .execution_options(synchronize_session=False)
    )
    row = session.get(CircuitBreaker, key, populate_existing=True)
    return (row.reverts if row else 0), bool(getattr(opened, "rowcount", 0) == 1)


def reset_breaker(*, session: Session, key: str, by: str) -> bool:
    """Close a breaker and zero its count (a person re-enables the automation)."""
    result = session.execute(
        sa.update(CircuitBreaker)
        .where(CircuitBreaker.key == key)
        .values(state="closed", reverts=0, opened_at=None, reset_by=by)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def changes_since(*, session: Session, since: datetime, target: str | None = None) -> int:
    """Mutating actions started since ``since`` (on ``target``, or everywhere)."""
    q = sa.select(sa.func.count(Action.id)).where(
        Action.started_at >= since, Action.state.in_(STARTED_STATES), Action.kind != "read"
    )
    if target is not None:
        q = q.where(Action.target == target)
    return int(session.scalar(q) or 0)


def automatic_attempts(*, session: Session, incident_id: int | None) -> int:
    if incident_id is None:
        return 0
    q = sa.select(sa.func.count(Action.id)).where(
        Action.incident_id == incident_id,
        Action.autonomous.is_(True),
        Action.state.in_(STARTED_STATES),
        Action.kind != "read",
    )
    return int(session.scalar(q) or 0)


def as_view(action: Action) -> Mapping[str, Any]:
    return {
        "id": action.id, "name": action.name, "state": action.state, "target": action.target,
        "params": dict(action.params or {}), "error": action.error, "result": action.result,
    }
