"""The daily digest and the weekly trend: figures read from the store, as plain data.

Numbers come from the audit log (what happened) joined to the action rows
(what each action is and how it ended):

- **ran**: actions with an ``action.executing`` entry in the period; **autonomous**
  when the policy executed them without a person, **approved** when an
  ``action.approved`` entry names the approver;
- **reverts** / **failures**: ``action.reverted`` / ``action.failed`` entries;
- **time to mitigate**: incidents mitigated or resolved in the period,
  ``opened_at`` → ``mitigated_at`` (else ``resolved_at``);
- **LLM**: the sums of ``llm_usage`` rows in the period;
- **repeat offenders**: the same action on the same target run at least
  :data:`REPEAT_MIN` times in the last :data:`REPEAT_WINDOW`.

:mod:`bot.scheduler.digest_blocks` turns a :class:`Digest` into a Slack message.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.store.models import Action, AuditEntry, Incident, LlmUsage

REPEAT_MIN = 3
REPEAT_WINDOW = timedelta(days=7)
_RAN = "action.executing"
_VERBS = {
    "restart": "restarted", "rollback": "rolled back", "scale_out": "scaled out", "kill_query": "had a query killed",
    "free_disk": "had disk freed", "flush_cache": "flushed", "failover": "failed over", "drain_node": "drained",
    "disable_flag": "had a flag turned off", "revert_config": "had its config reverted",
}


@dataclass(frozen=True)
class DigestAction:
    action_id: int
    name: str
    target: str
    incident_key: str | None
    autonomous: bool
    approved_by: str | None
    outcome: str  # the action's state now: done, reverted, failed, verifying, approved, ...
    at: datetime


@dataclass(frozen=True)
class OpenIncident:
    key: str
    title: str
    severity: str
    status: str
    opened_at: datetime


@dataclass(frozen=True)
class RepeatOffender:
    name: str
    kind: str
    target: str
    count: int
    reason: str | None  # the incidents' most common category

    @property
    def text(self) -> str:
        verb = _VERBS.get(self.kind, f"had {self.name} run")
        why = f" for {self.reason.replace('_', ' ')}" if self.reason else ""
        return f"{self.target} {verb} {self.count} times this week{why}: a code fix is due"


@dataclass(frozen=True)
class Figures:
    """The countable part of a period, shared by the digest and the weekly trend."""

    actions_run: int = 0
    autonomous: int = 0
    approved: int = 0
    reverts: int = 0
    failures: int = 0
    incidents_opened: int = 0
    mitigated: int = 0
    ttm_median_min: float | None = None
    ttm_max_min: float | None = None
    llm_input_tokens: int = 0
    llm_output_tokens: int = 0
    llm_cost_usd: float = 0.0

    @property
    def llm_tokens(self) -> int:
        return self.llm_input_tokens + self.llm_output_tokens


@dataclass(frozen=True)
class Digest:
    since: datetime
    until: datetime
    tz: str
    figures: Figures
    actions: list[DigestAction] = field(default_factory=list)
    reverted: list[DigestAction] = field(default_factory=list)
    open_incidents: list[OpenIncident] = field(default_factory=list)
    repeat_offenders: list[RepeatOffender] = field(default_factory=list)


@dataclass(frozen=True)
class Trend:
    since: datetime
    until: datetime
    tz: str
    this_week: Figures
    last_week: Figures


def _entries(session: Session, since: datetime, until: datetime, kinds: list[str]) -> list[AuditEntry]:
    q = (sa.select(AuditEntry).where(AuditEntry.at >= since, AuditEntry.at < until, AuditEntry.kind.in_(kinds))
         .order_by(AuditEntry.at, AuditEntry.id))
    return list(session.scalars(q))


def figures(*, session: Session, since: datetime, until: datetime) -> Figures:
    """The counts of one period ``[since, until)``."""
    entries = _entries(session, since, until, [_RAN, "action.approved", "action.reverted", "action.failed"])
    ran = {e.action_id for e in entries if e.kind == _RAN and e.action_id is not None}
    approved = {e.action_id for e in entries if e.kind == "action.approved" and e.action_id is not None}
    auto = set()
    if ran:
        auto = set(session.scalars(sa.select(Action.id).where(Action.id.in_(ran), Action.autonomous.is_(True))))
    opened = session.scalar(sa.select(sa.func.count()).select_from(Incident).where(
        Incident.opened_at >= since, Incident.opened_at < until)) or 0
    ttm = _ttm_minutes(session, since, until)
    llm = session.execute(sa.select(
        sa.func.coalesce(sa.func.sum(LlmUsage.input_tokens), 0),
        sa.func.coalesce(sa.func.sum(LlmUsage.output_tokens), 0),
        sa.func.coalesce(sa.func.sum(LlmUsage.cost_usd), 0.0),
    ).where(LlmUsage.at >= since, LlmUsage.at < until)).one()
    return Figures(
        actions_run=len(ran), autonomous=len(ran & auto), approved=len(approved),
        reverts=len({e.action_id for e in entries if e.kind == "action.reverted"}),
        failures=len({e.action_id for e in entries if e.kind == "action.failed"}),
        incidents_opened=int(opened), mitigated=len(ttm),
        ttm_median_min=round(statistics.median(ttm), 1) if ttm else None,
        ttm_max_min=round(max(ttm), 1) if ttm else None,
        llm_input_tokens=int(llm[0]), llm_output_tokens=int(llm[1]), llm_cost_usd=round(float(llm[2]), 4),
    )


def _ttm_minutes(session: Session, since: datetime, until: datetime) -> list[float]:
    end = sa.func.coalesce(Incident.mitigated_at, Incident.resolved_at)
    rows = session.execute(sa.select(Incident.opened_at, Incident.mitigated_at, Incident.resolved_at)
                           .where(end.is_not(None))).all()
    out = []
    for opened, mitigated, resolved in rows:
        done = mitigated or resolved
        if done is not None and since <= done < until:
            out.append(max(0.0, (done - opened).total_seconds() / 60))
    return out


def build_digest(*, session: Session, now: datetime, tz: str | ZoneInfo, period: timedelta = timedelta(days=1)) -> Digest:
    """Everything the daily digest says about ``[now - period, now)``; reads only."""
    since = now - period
    entries = _entries(session, since, now, [_RAN, "action.approved", "action.reverted"])
    approver: dict[int, str] = {}
    first_at: dict[int, datetime] = {}
    for e in entries:
        if e.action_id is None:
            continue
        first_at.setdefault(e.action_id, e.at)
        if e.kind == "action.approved":
            approver[e.action_id] = e.actor
    reverted_ids = {e.action_id for e in entries if e.kind == "action.reverted" and e.action_id is not None}
    ids = {e.action_id for e in entries if e.action_id is not None and e.kind in (_RAN, "action.approved")}
    rows = {a.id: a for a in session.scalars(sa.select(Action).where(Action.id.in_(ids | reverted_ids)))} if ids or \
        reverted_ids else {}
    keys = _incident_keys(session, {a.incident_id for a in rows.values() if a.incident_id is not None})
    listed: list[DigestAction] = []
    for aid in sorted(ids | reverted_ids, key=lambda i: (first_at[i], i)):
        a = rows.get(aid)
        if a is None or not (a.autonomous or aid in approver):
            continue
        listed.append(DigestAction(
            action_id=a.id, name=a.name, target=a.target,
            incident_key=keys.get(a.incident_id) if a.incident_id is not None else None,
            autonomous=a.autonomous, approved_by=approver.get(aid), outcome=a.state, at=first_at[aid],
        ))
    open_rows = session.scalars(sa.select(Incident).where(Incident.status != "resolved")
                                .order_by(Incident.opened_at)).all()
    return Digest(
        since=since, until=now, tz=str(tz), figures=figures(session=session, since=since, until=now),
        actions=listed, reverted=[x for x in listed if x.action_id in reverted_ids],
        open_incidents=[OpenIncident(i.key or f"INC-{i.id}", i.title, i.severity, i.status, i.opened_at)
                        for i in open_rows],
        repeat_offenders=repeat_offenders(session=session, now=now),
    )


def _incident_keys(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {i: k or f"INC-{i}" for i, k in session.execute(sa.select(Incident.id, Incident.key).where(
        Incident.id.in_(ids)))}


def repeat_offenders(*, session: Session, now: datetime, window: timedelta = REPEAT_WINDOW,
                     minimum: int = REPEAT_MIN) -> list[RepeatOffender]:
    """The same action on the same target run ``minimum`` or more times in ``window``."""
    ran = session.scalars(sa.select(AuditEntry.action_id).where(
        AuditEntry.kind == _RAN, AuditEntry.at >= now - window, AuditEntry.at < now,
        AuditEntry.action_id.is_not(None)).distinct()).all()
    if not ran:
        return []
    groups: dict[tuple[str, str], list[Action]] = defaultdict(list)
    for a in session.scalars(sa.select(Action).where(Action.id.in_(set(ran)))):
        groups[(a.name, a.target)].append(a)
    out = []
    for (name, target), acts in groups.items():
        if len(acts) < minimum:
            continue
        inc_ids = {a.incident_id for a in acts if a.incident_id is not None}
        cats = Counter(c for c in session.scalars(sa.select(Incident.category).where(Incident.id.in_(inc_ids))) if c) \
            if inc_ids else Counter()
        out.append(RepeatOffender(name, acts[0].kind, target, len(acts), cats.most_common(1)[0][0] if cats else None))
    return sorted(out, key=lambda r: (-r.count, r.target, r.name))


def build_trend(*, session: Session, now: datetime, tz: str | ZoneInfo) -> Trend:
    """This week's figures against last week's."""
    week = timedelta(days=7)
    return Trend(
        since=now - week, until=now, tz=str(tz),
        this_week=figures(session=session, since=now - week, until=now),
        last_week=figures(session=session, since=now - 2 * week, until=now - week),
    )
