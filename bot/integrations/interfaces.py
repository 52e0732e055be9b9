"""The small typed interfaces the rest of the bot talks to.

Every adapter implements one or more of these; the investigator, the actions
and the scheduler depend only on these protocols, never on a vendor SDK.
Methods raise :mod:`bot.integrations.errors` exceptions, nothing else.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from bot.integrations.types import (
    ChangeEvent,
    ConnectionUsage,
    DbSession,
    DeploymentStatus,
    HealthStatus,
    LogPattern,
    Monitor,
    NodeStatus,
    PodStatus,
    RolloutRevision,
    Series,
)


@runtime_checkable
class MetricsSource(Protocol):
    name: str  # e.g. "datadog.metrics", "prometheus"

    def list_metrics(self, service: str) -> list[str]:
        """Metric names that exist for a service (e.g. error_rate, latency_p95_ms)."""
        ...

    def query_series(self, service: str, metric: str, start: datetime, end: datetime) -> Series:
        """One-minute series; an empty ``points`` when there is no data."""
        ...

    def health(self) -> HealthStatus: ...


@runtime_checkable
class LogsSource(Protocol):
    name: str

    def log_patterns(self, service: str, start: datetime, end: datetime) -> list[LogPattern]:
        """Log messages of a service in a window, grouped by pattern with counts."""
        ...

    def health(self) -> HealthStatus: ...


@runtime_checkable
class ChangesSource(Protocol):
    name: str

    def changes(self, services: list[str] | None, start: datetime, end: datetime) -> list[ChangeEvent]:
        """Deploys, config, flags, scaling, cron runs, status pages, certificates, maintenance."""
        ...

    def health(self) -> HealthStatus: ...


@runtime_checkable
class MonitorsSource(Protocol):
    def monitor(self, monitor_id: str) -> Monitor: ...


@runtime_checkable
class KubernetesCluster(Protocol):
    name: str

    def deployments(self, namespace: str) -> list[DeploymentStatus]: ...

    def rollout_history(self, namespace: str, deployment: str) -> list[RolloutRevision]: ...

    def pods(self, namespace: str, service: str | None = None) -> list[PodStatus]: ...

    def nodes(self) -> list[NodeStatus]: ...

    def events(self, namespace: str, since: datetime) -> list[ChangeEvent]: ...

    def config_map(self, namespace: str, name: str) -> dict[str, str]: ...

    # writes used by actions
    def rollout_restart(self, namespace: str, deployment: str) -> None: ...

    def rollout_undo(self, namespace: str, deployment: str, to_revision: int, dry_run: bool = False) -> None: ...

    def scale(self, namespace: str, deployment: str, replicas: int) -> None: ...

    def cordon(self, node: str, unschedulable: bool = True) -> None: ...

    def evict(self, namespace: str, pod: str) -> None: ...

    def patch_config_map(self, namespace: str, name: str, data: dict[str, str]) -> None: ...

    def health(self) -> HealthStatus: ...


@runtime_checkable
class DatabaseTarget(Protocol):
    """A PostgreSQL database the bot acts on (not its own store)."""

    name: str

    def sessions(self, database: str) -> list[DbSession]: ...

    def connection_usage(self, database: str) -> ConnectionUsage: ...

    def cancel(self, database: str, pid: int) -> bool: ...

    def terminate(self, database: str, pid: int) -> bool: ...

    def health(self) -> HealthStatus: ...
