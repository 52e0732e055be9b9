"""What the action service and the executor share: dependencies, requests and outcomes."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from bot.actions.policy import Decision, Policy
from bot.actions.ports import Directory, Ports
from bot.actions.registry import Registry
from bot.actions.verify import Thresholds
from bot.settings import PolicySettings
from bot.store import audit
from bot.store.db import Database
from bot.store.models import Action

Progress = Callable[[str], None]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _quiet(text: str) -> None:
    return None


@dataclass
class ActionDeps:
    """Everything the actions need, built once by the composition root (tests inject fakes)."""

    db: Database
    registry: Registry
    policy: Policy
    ports: Ports
    settings: PolicySettings = field(default_factory=PolicySettings)  # type: ignore[arg-type]
    approvers: frozenset[str] = frozenset()
    approver_groups: frozenset[str] = frozenset()
    directory: Directory | None = None
    clock: Callable[[], datetime] = _utcnow
    sleep: Callable[[float], None] = time.sleep
    progress: Progress = _quiet  # the incident service posts these in the channel, timestamped
    verify_interval_s: float = 15.0
    lock_wait_s: float = 30.0
    lock_poll_s: float = 0.5

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(error_rise=self.settings.revert_error_rise, latency_rise=self.settings.revert_latency_rise)


@dataclass(frozen=True)
class ActionRequest:
    """One request to run a registry action (from the investigator's Proposal, a person, or the LLM)."""

    action: str
    params: Mapping[str, Any]
    target: str  # the mitigation target (service, node, database): what the policy and rate limits key on
    incident_id: int | None = None
    requested_by: str | None = None  # a person's user id; None when the bot proposes it
    tier: str = "standard"
    kind: str | None = None  # mitigation kind; the spec's when unset
    watch_service: str | None = None  # whose error rate and latency verify it; the target when unset
    alert_metric: str | None = None  # precheck: still broken while this metric ...
    alert_threshold: float | None = None  # ... is at or above this threshold
    idempotency_key: str | None = None  # default: incident + action + parameters hash

    def context(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "watch_service": self.watch_service or self.target,
            "alert_metric": self.alert_metric,
            "alert_threshold": self.alert_threshold,
        }


@dataclass(frozen=True)
class Submission:
    action_id: int
    state: str
    decision: Decision
    created: bool  # False: the same request was submitted before (idempotent)
    params_hash: str
    expires_at: datetime | None = None  # when an approval is needed


@dataclass(frozen=True)
class ActionView:
    """One action as people see it (the approval card renders this plus ``Registry.json_schema``)."""

    action_id: int
    action: str
    summary: str
    risk: str
    reversible: bool
    target: str
    params: dict[str, Any]
    params_hash: str  # put it in the button value; decide() checks it
    state: str
    mode: str  # the policy's mode when submitted
    reasons: list[str]
    requested_by: str | None
    expires_at: datetime | None
    decided_by: str | None
    error: str | None


@dataclass(frozen=True)
class Outcome:
    """The end of one call: the state the action is in and one line for people."""

    action_id: int
    state: str
    text: str
    changed: bool = False  # did this call move the action
    reverted: bool = False
    breaker_opened: bool = False
    result: Mapping[str, Any] = field(default_factory=dict)


def log(
    deps: ActionDeps, session: Any, action: Action, kind: str, text: str, *, actor: str = "ai-sre",
    progress: Progress | None = None, **detail: Any,
) -> None:
    """One audit entry, and one progress line once the step's transaction has committed.

    Progress goes to people (the incident channel) and may write to the store itself, so it
    never runs inside the step's transaction: a step that rolls back posts nothing, and on
    SQLite the progress writer does not wait on the step's write lock.
    """
    audit.append(
        session=session, actor=actor, kind=f"action.{kind}", text=text, incident_id=action.incident_id,
        action_id=action.id, detail=detail, at=deps.clock(),
    )
    after_commit(session, lambda: (progress or deps.progress)(text))


def after_commit(session: Any, fn: Callable[[], None]) -> None:
    """Run ``fn`` after ``session``'s current transaction commits (dropped on rollback)."""
    if not isinstance(session, Session):
        fn()
        return
    pending: list[Callable[[], None]] = session.info.setdefault("aisre_after_commit", [])
    if not pending:
        def run(sess: Session) -> None:
            todo = list(sess.info.pop("aisre_after_commit", []))
            for f in todo:
                try:
                    f()
                except Exception:  # progress is for people; a failure to post must not fail the action
                    logging.getLogger(__name__).exception("progress callback failed")

        def drop(sess: Session) -> None:
            sess.info.pop("aisre_after_commit", None)

        event.listen(session, "after_commit", run, once=True)
        event.listen(session, "after_soft_rollback", lambda sess, prev: drop(sess), once=True)
    pending.append(fn)
