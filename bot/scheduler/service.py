"""The scheduler: the jobs table, run only by the leader among replicas.

::

    scheduler = Scheduler(
        settings, db,
        intake=intake_service,               # heartbeat breaches go through IntakeService.accept
        chat=chat_port,                      # the digest is posted with ChatPort.post
        actions=action_service,              # approvals.expire calls actions.expire_due()
        verify_sweep=executor_sweep,         # optional: a callable, the post-action verification sweep
        metrics=SourcesReader({"datadog": dd_metrics, "prometheus": prom}),   # metric/anomaly checks
        db_target=PostgresTarget(settings.postgres),                          # postgres checks
    )
    scheduler.start()            # joins the election; starts APScheduler when elected
    scheduler.is_leader
    scheduler.digest_now()       # /aisre digest
    scheduler.list_heartbeats()  # /aisre heartbeats
    scheduler.stop()             # releases the lease; another replica takes over at its next poll

Heartbeat checks come from ``settings.scheduler.heartbeats_file`` (or the
``heartbeats`` argument); an invalid file raises
:class:`~bot.scheduler.config.HeartbeatsError` here, at start-up. The leader
runs a ``BackgroundScheduler`` with a ``MemoryJobStore``; a replica that loses
the lease shuts its scheduler down, and every job also checks the lease before
it runs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from bot.incidents.ports import ChatPort
from bot.integrations.interfaces import DatabaseTarget
from bot.scheduler.config import HeartbeatsConfig, load_heartbeats
from bot.scheduler.heartbeats import HeartbeatRunner, HeartbeatView, Intake, list_heartbeats
from bot.scheduler.jobs import JobDeps, JobSpec, add_jobs, digest_now, job_table
from bot.scheduler.leader import LeaderLease
from bot.scheduler.probes import MetricReader, ProbeDeps
from bot.settings import Settings
from bot.store.db import Database

log = logging.getLogger(__name__)
WORKERS = 8


class ExpiresApprovals(Protocol):
    def expire_due(self) -> list[int]: ...


JobsArg = list[JobSpec] | Callable[[JobDeps], list[JobSpec]]


class Scheduler:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        intake: Intake | None = None,
        chat: ChatPort | None = None,
        actions: ExpiresApprovals | None = None,
        verify_sweep: Callable[[], Any] | None = None,
        metrics: MetricReader | None = None,
        db_target: DatabaseTarget | None = None,
        http: httpx.Client | None = None,
        heartbeats: HeartbeatsConfig | None = None,
        jobs: JobsArg = job_table,
        holder: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock or (lambda: datetime.now(UTC))
        if heartbeats is None:
            path = settings.scheduler.heartbeats_file
            heartbeats = load_heartbeats(path) if path else HeartbeatsConfig()
        self.heartbeats = heartbeats
        runner = None
        if heartbeats.checks:
            if intake is None:
                raise ValueError("heartbeat checks are configured but no intake was given to the Scheduler")
            runner = HeartbeatRunner(db=db, config=heartbeats, intake=intake, clock=self.clock,
                                     probes=ProbeDeps(http=http, db_target=db_target, metrics=metrics, clock=self.clock))
        self.runner = runner
        self.deps = JobDeps(settings=settings, db=db, chat=chat,
                            expire_approvals=actions.expire_due if actions is not None else None,
                            verify_sweep=verify_sweep, heartbeats=runner, clock=self.clock)
        self._jobs = jobs
        self.lease = LeaderLease(db, lease_seconds=settings.scheduler.lease_seconds, holder=holder,
                                 on_elected=self._elected, on_deposed=self._deposed)
        self._aps: BackgroundScheduler | None = None
        self._lock = threading.Lock()

    # --- lifecycle ---------------------------------------------------------------------

    @property
    def is_leader(self) -> bool:
        return self.lease.is_leader

    @property
    def holder(self) -> str:
        return self.lease.holder

    def job_specs(self) -> list[JobSpec]:
        return list(self._jobs) if isinstance(self._jobs, list) else self._jobs(self.deps)

    def start(self) -> None:
        if not self.settings.scheduler.enabled:
            log.info("scheduler disabled (AISRE_SCHEDULER__ENABLED=false)")
            return
        self.lease.start()

    def stop(self) -> None:
        self.lease.stop()

    def _elected(self, token: int) -> None:
        with self._lock:
            if self._aps is not None:
                return
            aps = BackgroundScheduler(
                jobstores={"default": MemoryJobStore()},
                executors={"default": ThreadPoolExecutor(max_workers=WORKERS)},
                job_defaults={"coalesce": True, "max_instances": 1},
                timezone=UTC,
            )
            add_jobs(aps, self.job_specs(), guard=lambda: self.lease.is_leader, now=datetime.now(UTC))
            aps.start()
            self._aps = aps
            log.info("scheduler started as leader (token %s): %s", token,
                     ", ".join(j.id for j in aps.get_jobs()))

    def _deposed(self) -> None:
        with self._lock:
            aps, self._aps = self._aps, None
        if aps is not None:
            aps.shutdown(wait=False)

    def jobs(self) -> list[tuple[str, str, datetime | None]]:
        """(id, description, next run) of the running jobs; empty on a follower."""
        with self._lock:
            aps = self._aps
        return [(j.id, j.name, j.next_run_time) for j in aps.get_jobs()] if aps else []

    # --- on demand ---------------------------------------------------------------------

    def digest_now(self) -> tuple[str, list[dict[str, Any]]]:
        """The digest of the last day as ``(text, blocks)``, for ``/aisre digest``; works on any replica."""
        return digest_now(db=self.db, settings=self.settings, now=self.clock())

    def list_heartbeats(self) -> list[HeartbeatView]:
        """Each check with its last value and state, for ``/aisre heartbeats``; works on any replica."""
        with self.db.session() as s:
            return list_heartbeats(session=s, config=self.heartbeats)
