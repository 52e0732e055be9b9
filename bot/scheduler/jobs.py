"""Every scheduled job, in one table (:func:`job_table`): id, function, trigger, description.

Adding a job is one function and one row. Every job is added with its explicit
id, ``replace_existing=True``, ``coalesce=True``, ``max_instances=1`` and a
``misfire_grace_time`` (one interval for interval jobs, an hour for cron
jobs). Coalescing means runs missed while the process was stalled or the
machine asleep are run **once** when it wakes up, not replayed as a storm; a
run later than the grace time is skipped (the next one comes soon enough).
Only the leader holds these jobs, in a ``MemoryJobStore`` (APScheduler 3.x
job stores must not be shared between schedulers).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.incidents.ports import ChatPort
from bot.scheduler.digest import build_digest, build_trend
from bot.scheduler.digest_blocks import digest_message, trend_message
from bot.scheduler.heartbeats import HeartbeatRunner
from bot.settings import Settings
from bot.store import audit, locks
from bot.store.db import Database

log = logging.getLogger(__name__)
APPROVAL_EXPIRY_S = 30
VERIFY_SWEEP_S = 60
LOCK_CLEANUP_S = 3600
CRON_GRACE_S = 3600


@dataclass(frozen=True)
class JobSpec:
    id: str
    function: Callable[[], Any] | None  # None: the job's dependency is not configured; the row is dropped
    trigger: BaseTrigger
    description: str
    start_now: bool = False  # first run as soon as the leader starts (else at the trigger's first time)
    misfire_grace_time: int | None = None  # None: one interval, or an hour for cron triggers


@dataclass
class JobDeps:
    settings: Settings
    db: Database
    chat: ChatPort | None = None
    expire_approvals: Callable[[], Any] | None = None  # ActionService.expire_due
    verify_sweep: Callable[[], Any] | None = None  # the post-action verification sweep
    heartbeats: HeartbeatRunner | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


# --- the jobs --------------------------------------------------------------------------


def digest_now(*, db: Database, settings: Settings, now: datetime | None = None) -> tuple[str, list[dict[str, Any]]]:
    """The daily digest of the last 24 hours as ``(text, blocks)``, for ``/aisre digest``."""
    tz = ZoneInfo(settings.scheduler.digest_timezone)
    with db.session() as s:
        digest = build_digest(session=s, now=now or datetime.now(UTC), tz=tz)
    return digest_message(digest)


def trend_now(*, db: Database, settings: Settings, now: datetime | None = None) -> tuple[str, list[dict[str, Any]]]:
    tz = ZoneInfo(settings.scheduler.digest_timezone)
    with db.session() as s:
        trend = build_trend(session=s, now=now or datetime.now(UTC), tz=tz)
    return trend_message(trend)


def _post(deps: JobDeps, kind: str, message: tuple[str, list[dict[str, Any]]]) -> str:
    assert deps.chat is not None
    text, blocks = message
    channel = deps.chat.ensure_channel(deps.settings.slack.digest_channel)
    ts = deps.chat.post(channel, text, blocks)
    with deps.db.session() as s:
        audit.append(session=s, actor="scheduler", kind=f"scheduler.{kind}", text=text,
                     detail={"channel": channel, "ts": ts}, at=deps.clock())
    return ts


def post_digest(deps: JobDeps) -> str:
    """Post the daily digest to ``settings.slack.digest_channel``; the message ts."""
    return _post(deps, "digest", digest_now(db=deps.db, settings=deps.settings, now=deps.clock()))


def post_trend(deps: JobDeps) -> str:
    return _post(deps, "trend", trend_now(db=deps.db, settings=deps.settings, now=deps.clock()))


def cleanup_locks(deps: JobDeps) -> int:
    with deps.db.session() as s:
        n = locks.cleanup_expired(session=s, now=deps.clock())
    if n:
        log.info("removed %d expired locks", n)
    return n


# --- the table -------------------------------------------------------------------------


def job_table(deps: JobDeps) -> list[JobSpec]:
    """Every job this deployment runs; rows whose dependency is missing are left out."""
    sch = deps.settings.scheduler
    tz = ZoneInfo(sch.digest_timezone)
    chat = deps.chat is not None
    hb = deps.heartbeats
    heartbeat_rows = [] if hb is None else [
        JobSpec(f"heartbeat.{c.name}", partial(hb.run, c.name), IntervalTrigger(seconds=hb.config.interval(c)),
                f"heartbeat {c.kind} check {c.name}", start_now=True)
        for c in hb.config.checks
    ]
    table = [
        *heartbeat_rows,
        JobSpec("digest.daily", partial(post_digest, deps) if chat else None,
                CronTrigger(hour=sch.digest_hour, minute=0, timezone=tz),
                f"daily digest at {sch.digest_hour:02d}:00 {sch.digest_timezone}"),
        JobSpec("digest.weekly", partial(post_trend, deps) if chat else None,
                CronTrigger(day_of_week="mon", hour=sch.digest_hour, minute=5, timezone=tz),
                "weekly trend report, Mondays after the digest"),
        JobSpec("approvals.expire", deps.expire_approvals, IntervalTrigger(seconds=APPROVAL_EXPIRY_S),
                "expire undecided approvals past their time"),
        JobSpec("actions.verify_sweep", deps.verify_sweep, IntervalTrigger(seconds=VERIFY_SWEEP_S),
                "post-action verification sweep"),
        JobSpec("locks.cleanup", partial(cleanup_locks, deps), IntervalTrigger(seconds=LOCK_CLEANUP_S),
                "delete resource locks expired more than a day ago"),
    ]
    return [j for j in table if j.function is not None]


def grace_of(spec: JobSpec) -> int:
    if spec.misfire_grace_time is not None:
        return spec.misfire_grace_time
    if isinstance(spec.trigger, IntervalTrigger):
        return max(1, int(spec.trigger.interval.total_seconds()))
    return CRON_GRACE_S


def add_jobs(
    scheduler: BaseScheduler, specs: list[JobSpec], *, guard: Callable[[], bool] | None = None,
    now: datetime | None = None,
) -> None:
    """Add ``specs`` to an APScheduler 3.x scheduler; ``guard()`` False skips a run (a deposed leader)."""
    for spec in specs:
        assert spec.function is not None
        fn = _guarded(spec.id, spec.function, guard) if guard else spec.function
        extra: dict[str, Any] = {}
        if spec.start_now:
            extra["next_run_time"] = (now or datetime.now(UTC)) + timedelta(milliseconds=10)
        scheduler.add_job(
            fn, spec.trigger, id=spec.id, name=spec.description, replace_existing=True, coalesce=True,
            max_instances=1, misfire_grace_time=grace_of(spec), **extra,
        )


def _guarded(job_id: str, fn: Callable[[], Any], guard: Callable[[], bool]) -> Callable[[], Any]:
    def run() -> Any:
        if not guard():
            log.warning("job %s skipped: this replica is no longer the leader", job_id)
            return None
        return fn()

    run.__name__ = f"job_{job_id.replace('.', '_')}"
    return run
