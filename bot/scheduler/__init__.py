"""Scheduled work: heartbeat checks, the daily digest, approval expiry, sweeps; one leader among replicas.

Modules::

    service        Scheduler(settings, db, ...): start()/stop(), is_leader, digest_now(), list_heartbeats()
    jobs           the jobs table (JobSpec rows), add_jobs, the digest/cleanup job functions
    leader         LeaderLease: a lease row in the store, renewed every lease_seconds / 3
    config         heartbeats.yaml: models, load_heartbeats, HeartbeatsError
    probes         one probe per check kind (http, postgres, disk, metric, anomaly), MetricReader
    heartbeats     HeartbeatRunner (results, sustained breach -> intake), list_heartbeats
    anomaly        the recent + seasonal quantile-band detector (pure)
    digest         build_digest / build_trend: figures from the store (reads only)
    digest_blocks  digest_message / trend_message: Block Kit (pure)
"""

from bot.scheduler.config import HeartbeatsConfig, HeartbeatsError, load_heartbeats
from bot.scheduler.digest import Digest, build_digest, build_trend
from bot.scheduler.digest_blocks import digest_message, trend_message
from bot.scheduler.heartbeats import HeartbeatRunner, HeartbeatView, list_heartbeats
from bot.scheduler.jobs import JobDeps, JobSpec, digest_now, job_table
from bot.scheduler.probes import MetricReader, SourcesReader
from bot.scheduler.service import Scheduler

__all__ = [
    "Digest",
    "HeartbeatRunner",
    "HeartbeatView",
    "HeartbeatsConfig",
    "HeartbeatsError",
    "JobDeps",
    "JobSpec",
    "MetricReader",
    "Scheduler",
    "SourcesReader",
    "build_digest",
    "build_trend",
    "digest_message",
    "digest_now",
    "job_table",
    "list_heartbeats",
    "load_heartbeats",
    "trend_message",
]
