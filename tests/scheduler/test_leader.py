"""One leader among replicas: jobs run once per tick, and fail-over when the leader dies."""

from __future__ import annotations

import multiprocessing
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from apscheduler.events import EVENT_JOB_EXECUTED
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.scheduler.jobs import JobSpec, add_jobs, job_table
from bot.scheduler.leader import LeaderLease
from bot.scheduler.service import Scheduler
from bot.settings import SchedulerSettings, Settings
from bot.store.db import Database
from bot.store.migrate import upgrade
from bot.store.models import HeartbeatResult

from .replica import TICK_S, run_replica

LEASE_S = 2


def _ticks(db: Database) -> list[tuple[float, str]]:
    with db.session() as s:
        rows = s.execute(sa.select(HeartbeatResult.value, HeartbeatResult.detail)
                         .where(HeartbeatResult.check_name == "tick").order_by(HeartbeatResult.value)).all()
    return [(float(v), str(d)) for v, d in rows]


def _wait(cond, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.mark.postgres
def test_two_processes_one_leader_and_fail_over(pg_url):
    upgrade(pg_url)
    db = Database(pg_url)
    ctx = multiprocessing.get_context("spawn")
    a = ctx.Process(target=run_replica, args=(pg_url, "replica-a", LEASE_S), daemon=True)
    b = ctx.Process(target=run_replica, args=(pg_url, "replica-b", LEASE_S), daemon=True)
    a.start()
    try:
        _wait(lambda: len(_ticks(db)) >= 2)
        b.start()
        time.sleep(4 * LEASE_S)  # both alive for several leases
        both_alive = _ticks(db)
        assert {who for _, who in both_alive} == {"replica-a"}, "only the leader runs jobs"
        gaps = [t2 - t1 for (t1, _), (t2, _) in zip(both_alive, both_alive[1:], strict=False)]
        assert min(gaps) > TICK_S * 0.5, f"a tick ran twice: gaps {gaps}"

        a.terminate()  # the leader dies without releasing its lease
        a.join(10)
        killed = time.time()
        _wait(lambda: any(who == "replica-b" for _, who in _ticks(db)), timeout=6 * LEASE_S)
        ticks = _ticks(db)
        took_over = min(t for t, who in ticks if who == "replica-b") - killed
        assert all(t <= killed + 0.1 for t, who in ticks if who == "replica-a")
        # expiry (at most one lease after the last renewal) + one follower poll (lease / 3) + a tick
        assert took_over <= LEASE_S + LEASE_S / 3 + TICK_S + 0.5, f"fail-over took {took_over:.2f}s"
        print(f"fail-over took {took_over:.2f}s with a {LEASE_S}s lease")
        _wait(lambda: len([1 for _, who in _ticks(db) if who == "replica-b"]) >= 3)
        after = [t for t, who in _ticks(db) if who == "replica-b"]
        assert min(t2 - t1 for t1, t2 in zip(after, after[1:], strict=False)) > TICK_S * 0.5
    finally:
        for p in (a, b):
            if p.is_alive():
                p.terminate()
                p.join(10)
        db.dispose()


def test_clean_stop_hands_over_at_once(database):
    runs: dict[str, int] = {"a": 0, "b": 0}
    settings = Settings(scheduler=SchedulerSettings(lease_seconds=30))

    def job(name: str) -> JobSpec:
        return JobSpec("tick", lambda: runs.__setitem__(name, runs[name] + 1), IntervalTrigger(seconds=0.2), "tick",
                       start_now=True)

    a = Scheduler(settings, database, jobs=[job("a")], holder="a")
    b = Scheduler(settings, database, jobs=[job("b")], holder="b")
    a.start()
    _wait(lambda: a.is_leader and runs["a"] > 0)
    b.start()
    time.sleep(0.5)
    assert not b.is_leader and runs["b"] == 0
    a.stop()
    assert not a.is_leader
    _wait(lambda: b.is_leader and runs["b"] > 0, timeout=15)  # long before the 30 s lease would expire
    b.stop()


def test_a_deposed_leader_stops_its_jobs(database):
    elected: list[int] = []
    deposed: list[bool] = []
    lease = LeaderLease(database, lease_seconds=2, holder="x", on_elected=elected.append,
                        on_deposed=lambda: deposed.append(True))
    assert lease.tick() and lease.is_leader and elected == [1]
    assert lease.tick() and elected == [1]  # renewing is not a new election
    from bot.store import leases

    with database.session() as s:  # someone else took the row (our lease expired while we were stalled)
        leases.release(session=s, name="scheduler", holder="x")
        assert leases.try_acquire_or_renew(session=s, name="scheduler", holder="y", ttl=60) == 2
    assert not lease.tick() and not lease.is_leader and deposed == [True]


def test_missed_runs_after_downtime_are_coalesced_into_one():
    """A job whose next run is an hour past runs once when the scheduler wakes, not 3600 times."""

    def run(coalesce: bool) -> int:
        count = 0
        done = threading.Event()

        def job() -> None:
            nonlocal count
            count += 1

        sched = BackgroundScheduler(jobstores={"default": MemoryJobStore()}, timezone=UTC)
        if coalesce:
            add_jobs(sched, [JobSpec("j", job, IntervalTrigger(seconds=1), "every second",
                                     misfire_grace_time=7200)])
        else:  # what the table avoids
            sched.add_job(job, IntervalTrigger(seconds=1), id="j", coalesce=False, misfire_grace_time=7200)
        sched.add_listener(lambda _e: done.set(), EVENT_JOB_EXECUTED)
        sched.start(paused=True)
        sched.modify_job("j", next_run_time=datetime.now(UTC) - timedelta(hours=1))
        sched.resume()
        assert done.wait(30)
        sched.shutdown(wait=True)
        return count

    assert run(coalesce=True) == 1
    assert run(coalesce=False) > 1000


def test_the_jobs_table(database):
    from bot.scheduler.config import load_heartbeats_text
    from bot.scheduler.heartbeats import HeartbeatRunner
    from bot.scheduler.jobs import JobDeps

    settings = Settings(scheduler=SchedulerSettings(digest_hour=8, digest_timezone="Europe/Paris"))
    cfg = load_heartbeats_text("checks:\n  - {name: a, kind: disk, path: /, above: 90, interval: 45s}\n")
    deps = JobDeps(settings=settings, db=database, chat=object(),  # type: ignore[arg-type]
                   expire_approvals=lambda: [], verify_sweep=lambda: None,
                   heartbeats=HeartbeatRunner(db=database, config=cfg, intake=object()))  # type: ignore[arg-type]
    table = {j.id: j for j in job_table(deps)}
    assert list(table) == ["heartbeat.a", "digest.daily", "digest.weekly", "approvals.expire",
                           "actions.verify_sweep", "locks.cleanup"]
    assert table["heartbeat.a"].trigger.interval == timedelta(seconds=45)  # type: ignore[attr-defined]
    daily = table["digest.daily"].trigger
    nxt = daily.get_next_fire_time(None, datetime(2026, 7, 1, 7, 0, tzinfo=UTC))
    assert nxt is not None and nxt.astimezone(UTC).hour == 6  # 08:00 in Paris in summer
    bare = {j.id for j in job_table(JobDeps(settings=settings, db=database))}
    assert bare == {"locks.cleanup"}  # rows whose dependency is missing are left out

    sched = BackgroundScheduler(jobstores={"default": MemoryJobStore()}, timezone=UTC)
    sched.start(paused=True)
    try:
        add_jobs(sched, list(table.values()))
        add_jobs(sched, list(table.values()))  # replace_existing: no duplicates
        assert sorted(j.id for j in sched.get_jobs()) == sorted(table)
        assert all(j.coalesce and j.max_instances == 1 and j.misfire_grace_time for j in sched.get_jobs())
    finally:
        sched.shutdown(wait=False)
