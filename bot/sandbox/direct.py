"""In-memory sources over a :class:`Replay` that implement the integration protocols directly.

For unit tests and quick iteration only: drills and the demo go through the
sandbox servers and the real adapters. Nothing here does I/O.
"""

from __future__ import annotations

from datetime import datetime

from bot.integrations.errors import IntegrationNotFound
from bot.integrations.types import (
    ChangeEvent,
    ConnectionUsage,
    DbSession,
    DeploymentStatus,
    HealthStatus,
    LogPattern,
    NodeStatus,
    PodStatus,
    Point,
    RolloutRevision,
    Series,
)
from bot.sandbox.replay import Replay


class DirectMetrics:
    name = "datadog.metrics"

    def __init__(self, replay: Replay) -> None:
        self.replay = replay

    def list_metrics(self, service: str) -> list[str]:
        return self.replay.metric_names(service)

    def query_series(self, service: str, metric: str, start: datetime, end: datetime) -> Series:
        r = self.replay
        pts = r.series(service, metric, r.dt_to_minute(start), r.dt_to_minute(end))
        return Series(
            service=service, metric=metric, query=f"avg:{metric}{{service:{service}}}",
            points=tuple(Point(r.minute_to_dt(m), v) for m, v in pts),
        )

    def health(self) -> HealthStatus:
        return HealthStatus(self.name, True)


class DirectLogs:
    name = "datadog.logs"

    def __init__(self, replay: Replay) -> None:
        self.replay = replay

    def log_patterns(self, service: str, start: datetime, end: datetime) -> list[LogPattern]:
        r = self.replay
        out = []
        for w in r.logs_between(service, r.dt_to_minute(start), r.dt_to_minute(end)):
            out.append(LogPattern(
                service=w.spec.service, level=w.spec.level, message=w.spec.message, count=w.count,
                first_seen=r.minute_to_dt(w.first_minute), last_seen=r.minute_to_dt(w.last_minute),
            ))
        return out

    def health(self) -> HealthStatus:
        return HealthStatus(self.name, True)


class DirectChanges:
    name = "datadog.events"

    def __init__(self, replay: Replay) -> None:
        self.replay = replay

    def changes(self, services: list[str] | None, start: datetime, end: datetime) -> list[ChangeEvent]:
        r = self.replay
        out = []
        for e in r.events_between(r.dt_to_minute(start), r.dt_to_minute(end)):
            if services is not None and e.service not in services:
                continue
            attrs = e.attributes()
            if e.expires_at is not None:  # a timestamp, as a real source reports it
                attrs["expires_at"] = r.minute_to_dt(e.expires_at).isoformat()
            title = f"{e.kind} {e.service} " + " ".join(f"{k}={v}" for k, v in attrs.items())
            out.append(ChangeEvent(id=e.id, kind=e.kind, at=r.minute_to_dt(e.at), service=e.service,
                                   title=title.strip(), attributes=attrs))
        return out

    def health(self) -> HealthStatus:
        return HealthStatus(self.name, True)


class DirectCluster:
    name = "kubernetes"

    def __init__(self, replay: Replay) -> None:
        self.replay = replay

    def _dt(self, minute: float | None) -> datetime | None:
        return None if minute is None else self.replay.minute_to_dt(minute)

    def deployments(self, namespace: str) -> list[DeploymentStatus]:
        out = []
        for s in self.replay.scenario.services:
            if s.namespace == namespace and s.kind == "deployment":
                out.append(DeploymentStatus(s.name, s.namespace, s.replicas, s.replicas, 1, None))
        return out

    def rollout_history(self, namespace: str, deployment: str) -> list[RolloutRevision]:
        return [RolloutRevision(1, f"{deployment}-1", None, None)]

    def pods(self, namespace: str, service: str | None = None) -> list[PodStatus]:
        sc = self.replay.scenario
        out: list[PodStatus] = []
        for s in sc.services:
            if s.namespace != namespace or (service is not None and s.name != service):
                continue
            listed = [p for p in sc.pods if p.service == s.name]
            for p in listed:
                out.append(PodStatus(p.name, s.name, s.namespace, p.node, p.status, p.reason, p.restarts,
                                     self._dt(p.since)))
            if s.kind == "deployment":
                for i in range(max(0, s.replicas - len(listed))):
                    out.append(PodStatus(f"{s.name}-{i}", s.name, s.namespace, None, "Running", None, 0, None))
        return out

    def nodes(self) -> list[NodeStatus]:
        out = []
        for n in self.replay.scenario.nodes:
            ready = "True" if n.status == "Ready" else ("Unknown" if n.status in ("NotReady", "Unknown") else "True")
            out.append(NodeStatus(n.name, ready, n.status, n.reason, self._dt(n.since),
                                  unschedulable=n.status == "SchedulingDisabled"))
        return out

    def events(self, namespace: str, since: datetime) -> list[ChangeEvent]:
        return []

    def config_map(self, namespace: str, name: str) -> dict[str, str]:
        raise IntegrationNotFound(self.name, f"configmap {namespace}/{name} not found")

    def rollout_restart(self, namespace: str, deployment: str) -> None:
        self.replay.apply_mitigation("restart", deployment)

    def rollout_undo(self, namespace: str, deployment: str, to_revision: int, dry_run: bool = False) -> None:
        if not dry_run:
            self.replay.apply_mitigation("rollback", deployment)

    def scale(self, namespace: str, deployment: str, replicas: int) -> None:
        self.replay.apply_mitigation("scale_out", deployment)

    def cordon(self, node: str, unschedulable: bool = True) -> None:
        self.replay.record_write("kubernetes", "cordon", node=node)

    def evict(self, namespace: str, pod: str) -> None:
        self.replay.record_write("kubernetes", "evict", pod=pod)

    def patch_config_map(self, namespace: str, name: str, data: dict[str, str]) -> None:
        self.replay.apply_mitigation("revert_config", name)

    def health(self) -> HealthStatus:
        return HealthStatus(self.name, True)


class DirectDatabase:
    name = "postgres"

    def __init__(self, replay: Replay) -> None:
        self.replay = replay

    def _known(self, database: str) -> None:
        s = self.replay.scenario.service(database)
        if s is None or s.kind != "database":
            raise IntegrationNotFound(self.name, f"database {database} not found")

    def sessions(self, database: str) -> list[DbSession]:
        self._known(database)
        r = self.replay
        return [
            DbSession(pid=s.pid, database=s.database, user=s.user, state=s.state, query=s.query,
                      query_start=r.minute_to_dt(s.started), backend_start=r.minute_to_dt(s.started),
                      scenario_id=s.id)
            for s in r.scenario.db_sessions if s.database == database
        ]

    def connection_usage(self, database: str) -> ConnectionUsage:
        self._known(database)
        return ConnectionUsage(database, len(self.sessions(database)), 100)

    def cancel(self, database: str, pid: int) -> bool:
        self.replay.apply_mitigation("kill_query", database)
        return True

    def terminate(self, database: str, pid: int) -> bool:
        return self.cancel(database, pid)

    def health(self) -> HealthStatus:
        return HealthStatus(self.name, True)
