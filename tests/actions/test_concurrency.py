"""Races: two approvers at once, two actions on one deployment, two OS processes on PostgreSQL."""

from __future__ import annotations

import multiprocessing
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.actions.policy import Policy, parse_policy
from bot.actions.ports import Ports
from bot.actions.registry import Registry
from bot.actions.runtime import ActionDeps, ActionRequest
from bot.actions.service import ActionService
from bot.settings import PolicySettings
from bot.store.db import Database
from bot.store.models import Action

from .conftest import FakeK8s, FakeMetrics

RESTART = {"namespace": "shop", "deployment": "checkout"}


def _race(*fns):
    barrier = threading.Barrier(len(fns))
    results: list = [None] * len(fns)

    def go(i, fn):
        barrier.wait()
        results[i] = fn()

    threads = [threading.Thread(target=go, args=(i, f)) for i, f in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_two_approvers_at_once_execute_once(world):
    world.k8s.hold = 0.05
    svc = world.service()
    sub = svc.submit(ActionRequest(action="k8s.rollout_restart", params=RESTART, target="checkout",
                                   incident_id=world.incident()))
    assert sub.state == "awaiting_approval"

    def approve_and_run(user):
        def fn():
            d = svc.decide(sub.action_id, user=user, approve=True, shown_hash=sub.params_hash)
            return d, svc.executor.run(sub.action_id)
        return fn

    results = _race(approve_and_run("U_APPROVER"), approve_and_run("U_GROUPIE"))
    assert sum(1 for d, _ in results if d.changed) == 1, results
    assert sum(1 for _, r in results if r.changed and r.state == "done") == 1
    assert world.k8s.writes == [("restart", "shop", "checkout")]


def test_two_actions_on_one_deployment_never_overlap(world):
    world.policy_file = parse_policy({"default": "autonomous"})
    world.settings = PolicySettings(verify_s=0.3)
    world.k8s.hold = 0.1
    svc = world.service(clock=lambda: datetime.now(UTC), sleep=time.sleep, verify_interval_s=0.1, lock_poll_s=0.02)
    inc = world.incident()
    a = svc.submit(ActionRequest(action="k8s.rollout_restart", params=RESTART, target="checkout", incident_id=inc))
    b = svc.submit(ActionRequest(action="k8s.scale", params=RESTART | {"replicas": 3}, target="checkout",
                                 incident_id=inc))
    assert a.state == b.state == "approved"
    ra, rb = _race(lambda: svc.executor.run(a.action_id), lambda: svc.executor.run(b.action_id))
    assert ra.state == "done" and rb.state == "done", (ra.text, rb.text)
    assert world.k8s.max_active == 1
    with world.database.session() as s:
        x, y = sorted((s.get(Action, a.action_id), s.get(Action, b.action_id)), key=lambda r: r.started_at)
        assert x.finished_at <= y.started_at  # the whole run, verification included, is serialised


# --- two OS processes on PostgreSQL ---------------------------------------------------------

def _child(url: str, action_id: int, params_hash: str, user: str, out: str, start: float) -> None:
    metrics = FakeMetrics()
    metrics.set("checkout", error_rate=0.06, latency_p95_ms=400)
    k8s = FakeK8s(metrics)
    k8s.add_deployment("shop", "checkout")
    k8s.hold = 0.2

    def record(w: tuple) -> None:
        with Path(out).open("a") as f:
            f.write(f"{user} {w}\n")

    k8s.on_write = record
    db = Database(url)
    deps = ActionDeps(db=db, registry=Registry.builtin(), policy=Policy(), ports=Ports(k8s=k8s, metrics=metrics),
                      settings=PolicySettings(verify_s=0.2), approvers=frozenset({"U1", "U2"}),
                      verify_interval_s=0.1, lock_poll_s=0.05)
    svc = ActionService(deps)
    time.sleep(max(0.0, start - time.time()))
    svc.decide(action_id, user=user, approve=True, shown_hash=params_hash)
    svc.executor.run(action_id)
    db.dispose()


@pytest.mark.postgres
def test_two_processes_execute_once(pg_url, tmp_path):
    from bot.store.migrate import upgrade

    upgrade(pg_url)
    db = Database(pg_url)
    svc = ActionService(ActionDeps(db=db, registry=Registry.builtin(), policy=Policy(), ports=Ports(),
                                   approvers=frozenset({"U1", "U2"})))
    sub = svc.submit(ActionRequest(action="k8s.rollout_restart", params=RESTART, target="checkout"))
    assert sub.state == "awaiting_approval"
    out = tmp_path / "writes.txt"
    ctx = multiprocessing.get_context("spawn")
    start = time.time() + 2.0
    procs = [ctx.Process(target=_child, args=(pg_url, sub.action_id, sub.params_hash, u, str(out), start))
             for u in ("U1", "U2")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 1, lines
    with db.session() as s:
        assert s.get(Action, sub.action_id).state == "done"
    db.dispose()
