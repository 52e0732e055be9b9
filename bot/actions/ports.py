"""The small interfaces the actions call that ``bot/integrations/interfaces.py`` does not (yet) have.

Adapters implement these; tests pass in-memory fakes. Every method raises
:mod:`bot.integrations.errors` exceptions, nothing else. :class:`Ports` bundles
every interface an action handler may need; a handler that needs a port the
deployment did not configure fails with :class:`PortMissing` (one clear line).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar, runtime_checkable

from bot.integrations.interfaces import DatabaseTarget, KubernetesCluster, MetricsSource
from bot.integrations.types import ChangeEvent


@runtime_checkable
class CacheTarget(Protocol):
    """A cache the bot may flush (Redis: :mod:`bot.integrations.redis_target`)."""

    def flush(self, cache: str, pattern: str | None = None) -> int:
        """Remove every key (FLUSHDB) or the keys matching ``pattern``; return how many were removed."""
        ...

    def size(self, cache: str) -> int:
        """How many keys the cache holds now."""
        ...


@runtime_checkable
class FlagService(Protocol):
    def get(self, service: str, flag: str) -> str | None: ...

    def set(self, service: str, flag: str, value: str) -> None: ...


@runtime_checkable
class ChangeHistory(Protocol):
    def get(self, change_id: str) -> ChangeEvent:
        """One change by id; a config change carries ``key``, ``old`` and ``new`` attributes."""
        ...


@runtime_checkable
class AutoScaling(Protocol):
    def desired(self, group: str) -> int: ...

    def set_desired(self, group: str, n: int) -> None: ...


@dataclass(frozen=True)
class CommandResult:
    status: str  # Success, Failed, TimedOut, ...
    output: str = ""


@runtime_checkable
class Ssm(Protocol):
    def run(self, target: str, commands: list[str], timeout_s: float) -> CommandResult:
        """Run shell commands on an instance id, or on the instances tagged with a service name."""
        ...


@runtime_checkable
class Rds(Protocol):
    def writer(self, cluster: str) -> str:
        """The instance id of the cluster's current writer."""
        ...

    def failover(self, cluster: str) -> None: ...


@runtime_checkable
class Pager(Protocol):
    def page(self, owners: list[str], text: str) -> None: ...


@runtime_checkable
class MetricsReader(Protocol):
    def current(self, service: str, metric: str) -> float | None:
        """The latest value of a service's metric (error_rate, latency_p95_ms), None without data."""
        ...


@runtime_checkable
class Directory(Protocol):
    """Who belongs to a user group (Slack supplies it: usergroups.users.list)."""

    def members(self, group: str) -> set[str]: ...


class SourceMetricsReader:
    """A :class:`MetricsReader` over any :class:`MetricsSource`: the last point of the last few minutes."""

    def __init__(
        self, source: MetricsSource, now: Callable[[], datetime] | None = None, lookback_min: int = 5
    ) -> None:
        self._source = source
        self._now = now or _utcnow
        self._lookback = timedelta(minutes=lookback_min)

    def current(self, service: str, metric: str) -> float | None:
        """The median of the last three points: one noisy minute neither reverts nor clears an action."""
        end = self._now()
        series = self._source.query_series(service, metric, end - self._lookback, end)
        if len(series.points) < 3:
            return series.points[-1].value if series.points else None
        return sorted(p.value for p in series.points[-3:])[1]

    def median(self, service: str, metric: str, start: datetime, end: datetime) -> float | None:
        """The median over a window: a signal's normal level before an incident."""
        values = sorted(p.value for p in self._source.query_series(service, metric, start, end).points)
        return values[len(values) // 2] if values else None


def _utcnow() -> datetime:
    return datetime.now(UTC)


class PortMissing(Exception):
    """An action needs an integration this deployment has not configured."""

    def __init__(self, port: str) -> None:
        super().__init__(f"the {port!r} integration is not configured (see Settings and docs/policy.md)")
        self.port = port


@dataclass
class Ports:
    """Everything a handler may call. Unset ports make the actions that need them fail clearly."""

    k8s: KubernetesCluster | None = None
    db: DatabaseTarget | None = None
    cache: CacheTarget | None = None
    flags: FlagService | None = None
    changes: ChangeHistory | None = None
    asg: AutoScaling | None = None
    ssm: Ssm | None = None
    rds: Rds | None = None
    pager: Pager | None = None
    metrics: MetricsReader | None = None
    extra: dict[str, object] = field(default_factory=dict)

    def need_k8s(self) -> KubernetesCluster:
        return _need(self.k8s, "kubernetes")

    def need_db(self) -> DatabaseTarget:
        return _need(self.db, "postgres")

    def need_cache(self) -> CacheTarget:
        return _need(self.cache, "redis")

    def need_flags(self) -> FlagService:
        return _need(self.flags, "flags")

    def need_changes(self) -> ChangeHistory:
        return _need(self.changes, "changes")

    def need_asg(self) -> AutoScaling:
        return _need(self.asg, "aws.autoscaling")

    def need_ssm(self) -> Ssm:
        return _need(self.ssm, "aws.ssm")

    def need_rds(self) -> Rds:
        return _need(self.rds, "aws.rds")

    def need_pager(self) -> Pager:
        return _need(self.pager, "pager")

    def need_metrics(self) -> MetricsReader:
        return _need(self.metrics, "metrics")


_T = TypeVar("_T")


def _need(port: _T | None, name: str) -> _T:
    if port is None:
        raise PortMissing(name)
    return port
