"""A bot replica for the fail-over test: a Scheduler whose one job inserts a row per tick."""

from __future__ import annotations

import time

from apscheduler.triggers.interval import IntervalTrigger

from bot.scheduler.jobs import JobSpec
from bot.scheduler.service import Scheduler
from bot.settings import SchedulerSettings, Settings
from bot.store.db import Database
from bot.store.models import HeartbeatResult

TICK_S = 0.5


def run_replica(url: str, name: str, lease_seconds: int) -> None:
    db = Database(url)
    settings = Settings(database_url=url, scheduler=SchedulerSettings(lease_seconds=lease_seconds))

    def tick() -> None:
        with db.session() as s:
            s.add(HeartbeatResult(check_name="tick", ok=True, value=time.time(), detail=name))

    sched = Scheduler(settings, db, jobs=[JobSpec("tick", tick, IntervalTrigger(seconds=TICK_S), "insert a row")],
                      holder=name)
    sched.start()
    while True:
        time.sleep(1)
