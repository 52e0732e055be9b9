"""Fakes of the ports the actions call, and a ready-wired action service on the test database.

Fakes record every write (``writes``) so a test can assert that shadow mode wrote
nothing; ``FakeMetrics`` answers from a table that handlers may change (the
"effect" of an action), so verification sees the system react.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.actions.policy import Policy, PolicyFile
from bot.actions.ports import Ports
from bot.actions.registry import Registry
from bot.actions.runtime import ActionDeps
from bot.actions.service import ActionService
from bot.integrations.types import DbSession, DeploymentStatus, NodeStatus, PodStatus, RolloutRevision
from bot.settings import PolicySettings
from bot.store.models import Incident

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


class FakeTime:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.t = T0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self.t

    def sleep(self, s: float) -> None:
        with self._lock:
            self.t += timedelta(seconds=s)


class FakeMetrics:
    def __init__(self) -> None:
        self.values: dict[tuple[str, str], float] = {}

    def set(self, service: str, **metrics: float) -> None:
        for k, v in metrics.items():
            self.values[(service, k)] = v

    def current(self, service: str, metric: str) -> float | None:
        return self.values.get((service, metric))


class FakeK8s:
    name = "fake-k8s"

    def __init__(self, metrics: FakeMetrics) -> None:
        self.metrics = metrics
        self.deploys: dict[tuple[str, str], DeploymentStatus] = {}
        self.history: dict[tuple[str, str], list[int]] = {}
        self.cms: dict[tuple[str, str], dict[str, str]] = {}
        self.node_list: list[NodeStatus] = []
        self.pod_list: list[PodStatus] = []
        self.writes: list[tuple] = []
        self.on_write: Callable[[tuple], None] | None = None  # the system's reaction
        self.hold = 0.0  # seconds each write takes (real time), to catch overlaps
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()

    def add_deployment(self, ns: str, name: str, replicas: int = 3, revision: int = 5) -> None:
        self.deploys[(ns, name)] = DeploymentStatus(name, ns, replicas, replicas, revision, f"{name}:v{revision}")
        self.history[(ns, name)] = list(range(1, revision + 1))

    def _write(self, *w: object) -> None:
        import time

        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            if self.hold:
                time.sleep(self.hold)
            self.writes.append(w)
            if self.on_write:
                self.on_write(w)
        finally:
            with self._lock:
                self.active -= 1

    # reads
    def deployments(self, namespace: str) -> list[DeploymentStatus]:
        return [d for (ns, _), d in self.deploys.items() if ns == namespace]

    def rollout_history(self, namespace: str, deployment: str) -> list[RolloutRevision]:
        return [RolloutRevision(r, f"{deployment}-{r}", None, None) for r in self.history[(namespace, deployment)]]

    def pods(self, namespace: str, service: str | None = None) -> list[PodStatus]:
        return [p for p in self.pod_list if p.namespace == namespace]

    def nodes(self) -> list[NodeStatus]:
        return list(self.node_list)

    def events(self, namespace, since):  # pragma: no cover - unused
        return []

    def config_map(self, namespace: str, name: str) -> dict[str, str]:
        return dict(self.cms[(namespace, name)])

    # writes
    def rollout_restart(self, namespace: str, deployment: str) -> None:
        self._write("restart", namespace, deployment)

    def rollout_undo(self, namespace: str, deployment: str, to_revision: int, dry_run: bool = False) -> None:
        if dry_run:
            return
        self._write("undo", namespace, deployment, to_revision)
        d = self.deploys[(namespace, deployment)]
        new = max(self.history[(namespace, deployment)]) + 1
        self.history[(namespace, deployment)].append(new)
        self.deploys[(namespace, deployment)] = replace(d, revision=to_revision)

    def scale(self, namespace: str, deployment: str, replicas: int) -> None:
        self._write("scale", namespace, deployment, replicas)
        d = self.deploys[(namespace, deployment)]
        self.deploys[(namespace, deployment)] = replace(d, replicas=replicas)

    def cordon(self, node: str, unschedulable: bool = True) -> None:
        self._write("cordon", node, unschedulable)
        self.node_list = [replace(n, unschedulable=unschedulable) if n.name == node else n for n in self.node_list]

    def evict(self, namespace: str, pod: str) -> None:
        self._write("evict", namespace, pod)

    def patch_config_map(self, namespace: str, name: str, data: dict[str, str]) -> None:
        self._write("patch_cm", namespace, name, dict(data))
        self.cms[(namespace, name)].update(data)

    def health(self):  # pragma: no cover
        return None


class FakeFlags:
    def __init__(self) -> None:
        self.flags: dict[tuple[str, str], str] = {}
        self.writes: list[tuple] = []

    def get(self, service: str, flag: str) -> str | None:
        return self.flags.get((service, flag))

    def set(self, service: str, flag: str, value: str) -> None:
        self.writes.append((service, flag, value))
        self.flags[(service, flag)] = value


class FakeDb:
    name = "fake-pg"

    def __init__(self) -> None:
        self.session_list: list[DbSession] = []
        self.writes: list[tuple] = []

    def sessions(self, database: str) -> list[DbSession]:
        return [s for s in self.session_list if s.database == database]

    def connection_usage(self, database):  # pragma: no cover
        raise NotImplementedError

    def cancel(self, database: str, pid: int) -> bool:
        self.writes.append(("cancel", database, pid))
        return True

    def terminate(self, database: str, pid: int) -> bool:
        self.writes.append(("terminate", database, pid))
        return True

    def health(self):  # pragma: no cover
        return None


class FakePager:
    def __init__(self) -> None:
        self.pages: list[tuple[list[str], str]] = []

    def page(self, owners: list[str], text: str) -> None:
        self.pages.append((owners, text))


class FakeDirectory:
    def __init__(self, groups: dict[str, set[str]] | None = None) -> None:
        self.groups = groups or {}

    def members(self, group: str) -> set[str]:
        return set(self.groups.get(group, set()))


@dataclass
class World:
    database: object
    time: FakeTime
    metrics: FakeMetrics
    k8s: FakeK8s
    flags: FakeFlags
    pg: FakeDb
    pager: FakePager
    directory: FakeDirectory
    progress: list[str] = field(default_factory=list)
    policy_file: PolicyFile = field(default_factory=PolicyFile)
    settings: PolicySettings = field(default_factory=lambda: PolicySettings(verify_s=60))

    def deps(self, **overrides: object) -> ActionDeps:
        kw: dict = dict(
            db=self.database,
            registry=Registry.builtin(),
            policy=Policy(self.policy_file, max_auto_attempts=self.settings.max_auto_attempts),
            ports=Ports(k8s=self.k8s, db=self.pg, flags=self.flags, pager=self.pager, metrics=self.metrics),
            settings=self.settings,
            approvers=frozenset({"U_APPROVER", "U_REQ"}),
            approver_groups=frozenset({"S_SRE"}),
            directory=self.directory,
            clock=self.time.now,
            sleep=self.time.sleep,
            progress=self.progress.append,
            verify_interval_s=15.0,
            lock_wait_s=5.0,
        )
        kw.update(overrides)
        return ActionDeps(**kw)

    def service(self, **overrides: object) -> ActionService:
        return ActionService(self.deps(**overrides))

    def incident(self, service: str = "checkout") -> int:
        with self.database.session() as s:  # type: ignore[attr-defined]
            inc = Incident(title=f"{service} errors", service=service)
            s.add(inc)
            s.flush()
            return inc.id


@pytest.fixture
def world(database) -> World:
    metrics = FakeMetrics()
    k8s = FakeK8s(metrics)
    k8s.add_deployment("shop", "checkout", replicas=3, revision=5)
    metrics.set("checkout", error_rate=0.06, latency_p95_ms=400)
    return World(database, FakeTime(), metrics, k8s, FakeFlags(), FakeDb(), FakePager(),
                 FakeDirectory({"S_SRE": {"U_GROUPIE"}}))
