"""The project's own data types, returned by every integration adapter.

Adapters translate vendor responses into these; nothing outside
``bot/integrations`` sees a vendor type. All timestamps are timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

ChangeKind = Literal[
    "deploy", "config", "feature_flag", "scaling", "cron", "status_page", "certificate", "maintenance", "other"
]


@dataclass(frozen=True)
class Point:
    at: datetime
    value: float


@dataclass(frozen=True)
class Series:
    """One metric of one service, one-minute resolution, oldest first."""

    service: str
    metric: str
    points: tuple[Point, ...]
    query: str = ""  # the vendor query that produced it, kept as provenance

    @property
    def values(self) -> list[float]:
        return [p.value for p in self.points]


@dataclass(frozen=True)
class LogPattern:
    """A log message pattern and how often it occurred in a window."""

    service: str
    level: str
    message: str
    count: int
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True)
class ChangeEvent:
    """A discrete change or fact: deploy, config, flag, scaling, cron run, status page, ..."""

    id: str
    kind: ChangeKind
    at: datetime
    service: str
    title: str
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PodStatus:
    name: str
    service: str
    namespace: str
    node: str | None
    phase: str  # Running, Pending, CrashLoopBackOff, Error, Terminating, Unknown
    reason: str | None
    restarts: int
    since: datetime | None


@dataclass(frozen=True)
class NodeStatus:
    name: str
    ready: str  # "True", "False", "Unknown"
    status: str  # Ready, NotReady, ...
    reason: str | None
    since: datetime | None
    unschedulable: bool = False


@dataclass(frozen=True)
class DeploymentStatus:
    name: str
    namespace: str
    replicas: int
    ready_replicas: int
    revision: int
    image: str | None


@dataclass(frozen=True)
class RolloutRevision:
    revision: int
    replicaset: str
    image: str | None
    created: datetime | None


@dataclass(frozen=True)
class DbSession:
    """A session as pg_stat_activity shows it."""

    pid: int
    database: str
    user: str
    state: str  # active, idle, idle in transaction, ...
    query: str
    query_start: datetime | None
    backend_start: datetime | None
    scenario_id: str | None = None  # set only by a sandbox that knows it


@dataclass(frozen=True)
class ConnectionUsage:
    database: str
    used: int
    max_connections: int

    @property
    def pct(self) -> float:
        return 100.0 * self.used / self.max_connections if self.max_connections else 0.0


@dataclass(frozen=True)
class Monitor:
    id: str
    name: str
    query: str
    threshold: float | None
    service: str | None


@dataclass(frozen=True)
class HealthStatus:
    name: str
    ok: bool
    detail: str = ""
