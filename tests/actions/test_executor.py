from __future__ import annotations

from dataclasses import replace

import sqlalchemy as sa

from bot.actions import store_ops
from bot.actions.executor import Executor, holder_for
from bot.actions.policy import parse_policy
from bot.actions.registry import Registry
from bot.actions.runtime import ActionRequest
from bot.store import audit, locks
from bot.store.models import Action, CircuitBreaker

RESTART = {"namespace": "shop", "deployment": "checkout"}


def _auto(world) -> None:
    world.policy_file = parse_policy({"default": "autonomous"})


def _req(world, action="k8s.rollout_restart", params=None, **kw) -> ActionRequest:
    kw.setdefault("incident_id", world.incident())
    return ActionRequest(action=action, params=params or RESTART, target="checkout", **kw)


def _recovers(world, error_rate=0.002, latency=120):
    def on_write(w):
        world.metrics.set("checkout", error_rate=error_rate, latency_p95_ms=latency)
    world.k8s.on_write = on_write


def _state(world, action_id) -> str:
    with world.database.session() as s:
        return s.get(Action, action_id).state


def test_success_path_autonomous_restart(world):
    _auto(world)
    _recovers(world)
    svc = world.service()
    sub = svc.submit(_req(world))
    assert sub.state == "approved" and sub.decision.mode == "execute"
    out = svc.executor.run(sub.action_id)
    assert out.state == "done" and "improved" in out.text
    assert world.k8s.writes == [("restart", "shop", "checkout")]
    with world.database.session() as s:
        kinds = [e.kind for e in audit.list(session=s, action_id=sub.action_id)]
        a = s.get(Action, sub.action_id)
        assert a.started_at is not None and a.finished_at is not None and a.autonomous
    assert kinds == ["action.proposed", "action.executing", "action.checkpoint", "action.verifying", "action.done"]
    assert len(world.progress) == 5 and "verified" in world.progress[-1]
    # the verify window passed on the injected clock, not in real time
    assert (world.time.now() - a.started_at).total_seconds() >= world.settings.verify_s
    # running it again is a no-op
    assert svc.executor.run(sub.action_id).state == "done"
    assert len(world.k8s.writes) == 1


def test_verification_reverts_scale_from_checkpoint(world):
    _auto(world)
    _recovers(world, error_rate=0.2)  # scaling makes it worse
    svc = world.service()
    sub = svc.submit(_req(world, "k8s.scale", RESTART | {"replicas": 6}))
    out = svc.executor.run(sub.action_id)
    assert out.state == "reverted" and out.reverted and not out.breaker_opened
    assert "error rate rose" in out.text
    assert world.k8s.writes == [("scale", "shop", "checkout", 6), ("scale", "shop", "checkout", 3)]
    with world.database.session() as s:
        a = s.get(Action, sub.action_id)
        assert a.checkpoint == {"replicas": 3}
        assert s.get(CircuitBreaker, "checkout:k8s.scale").reverts == 1


def test_latency_rise_reverts_but_noise_does_not(world):
    _auto(world)
    world.metrics.set("checkout", error_rate=0.001, latency_p95_ms=400)
    _recovers(world, error_rate=0.003, latency=400)  # +200 % but below the absolute floor: noise
    svc = world.service()
    assert svc.executor.run(svc.submit(_req(world)).action_id).state == "done"
    _recovers(world, error_rate=0.001, latency=480)  # +20 % latency
    out = svc.executor.run(svc.submit(_req(world)).action_id)
    assert out.state == "reverted" and "latency" in out.text


def test_second_revert_opens_breaker_then_refuses(world):
    _auto(world)
    _recovers(world, error_rate=0.3)
    svc = world.service()
    first = svc.executor.run(svc.submit(_req(world, "k8s.scale", RESTART | {"replicas": 5})).action_id)
    world.metrics.set("checkout", error_rate=0.06)
    second = svc.executor.run(svc.submit(_req(world, "k8s.scale", RESTART | {"replicas": 7})).action_id)
    assert first.reverted and not first.breaker_opened
    assert second.reverted and second.breaker_opened and "circuit breaker opened" in second.text
    third = svc.submit(_req(world, "k8s.scale", RESTART | {"replicas": 8}))
    assert third.state == "refused" and "circuit breaker open" in third.decision.reasons[0]
    # other automations are not affected
    assert svc.submit(_req(world)).state == "approved"
    # a person re-enables it
    assert svc.reset_breaker("checkout", "k8s.scale", user="U_ADMIN")
    assert svc.submit(_req(world, "k8s.scale", RESTART | {"replicas": 9})).state == "approved"


def test_shadow_records_and_writes_nothing(world):
    world.policy_file = parse_policy({"default": "shadow"})
    svc = world.service()
    sub = svc.submit(_req(world))
    assert sub.state == "shadowed"
    assert svc.executor.run(sub.action_id).state == "shadowed"
    assert world.k8s.writes == []
    assert "would run (shadow)" in world.progress[0]


def test_freeze_makes_everything_shadow(world):
    _auto(world)
    svc = world.service()
    svc.set_freeze(True, user="U_ADMIN")
    sub = svc.submit(_req(world))
    assert sub.state == "shadowed" and "freeze" in sub.decision.reasons[0]
    assert world.k8s.writes == []


def test_freeze_stops_an_approved_autonomous_action_about_to_run(world):
    _auto(world)
    svc = world.service()
    sub = svc.submit(_req(world))
    assert sub.state == "approved"
    svc.set_freeze(True, user="U_ADMIN")
    out = svc.executor.run(sub.action_id)
    assert out.state == "shadowed" and "freeze" in out.text
    assert world.k8s.writes == []


def test_precheck_already_recovered_refuses(world):
    _auto(world)
    world.metrics.set("checkout", error_rate=0.01)
    svc = world.service()
    sub = svc.submit(_req(world, alert_metric="error_rate", alert_threshold=0.05))
    out = svc.executor.run(sub.action_id)
    assert out.state == "refused" and "already recovered" in out.text
    assert world.k8s.writes == []


def test_rollout_undo_dry_run_checkpoint_and_pinned_revision(world):
    world.policy_file = parse_policy({"default": "supervised"})
    _recovers(world)
    svc = world.service()
    sub = svc.submit(_req(world, "k8s.rollout_undo", RESTART | {"to_revision": 4}))
    assert sub.state == "awaiting_approval"
    assert svc.decide(sub.action_id, user="U_APPROVER", approve=True, shown_hash=sub.params_hash).changed
    assert svc.executor.run(sub.action_id).state == "done"
    assert world.k8s.writes == [("undo", "shop", "checkout", 4)]
    gone = svc.submit(_req(world, "k8s.rollout_undo", RESTART | {"to_revision": 99}))
    svc.decide(gone.action_id, user="U_APPROVER", approve=True, shown_hash=gone.params_hash)
    out = svc.executor.run(gone.action_id)
    assert out.state == "refused" and "no longer exists" in out.text


def test_params_tampered_after_approval_fail(world):
    svc = world.service()
    sub = svc.submit(_req(world, "k8s.scale", RESTART | {"replicas": 4}))
    svc.decide(sub.action_id, user="U_APPROVER", approve=True, shown_hash=sub.params_hash)
    with world.database.session() as s:
        s.execute(sa.update(Action).where(Action.id == sub.action_id).values(params=RESTART | {"replicas": 40}))
    out = svc.executor.run(sub.action_id)
    assert out.state == "failed" and "differ from what was approved" in out.text
    assert world.k8s.writes == []


def test_attempts_per_incident_then_escalate(world):
    _auto(world)
    _recovers(world, error_rate=0.06, latency=400)  # no change: done but no improvement
    svc = world.service()
    inc = world.incident()
    for replicas in (4, 5):
        sub = svc.submit(_req(world, "k8s.scale", RESTART | {"replicas": replicas}, incident_id=inc))
        assert svc.executor.run(sub.action_id).state == "done"
    third = svc.submit(_req(world, "k8s.scale", RESTART | {"replicas": 6}, incident_id=inc))
    assert third.state == "refused" and third.decision.escalate


def test_interrupted_executing_is_flagged_not_rerun(world):
    svc = world.service()
    with world.database.session() as s:
        a, _ = store_ops.create_action(session=s, name="k8s.rollout_restart", kind="restart", target="checkout",
                                       params=RESTART, params_hash="x", idempotency_key="crash-1", state="executing")
        b, _ = store_ops.create_action(session=s, name="k8s.rollout_restart", kind="restart", target="checkout",
                                       params={"namespace": "shop", "deployment": "other"}, params_hash="y",
                                       idempotency_key="live-1", state="executing")
        s.flush()
        crashed, live = a.id, b.id
        locks.acquire(session=s, resource="k8s:shop/deploy/other", holder=holder_for(live), ttl=600,
                      now=world.time.now())
    flagged = svc.executor.find_interrupted()
    assert [f["id"] for f in flagged] == [crashed]  # the live one belongs to a running process
    assert _state(world, crashed) == "failed" and _state(world, live) == "executing"
    assert svc.executor.run(crashed).state == "failed"
    assert world.k8s.writes == []
    assert svc.executor.find_interrupted() == []
    with world.database.session() as s:
        assert [e.kind for e in audit.list(session=s, action_id=crashed)] == ["action.interrupted"]


def test_handler_timeout_fails(world):
    import time

    _auto(world)
    reg = Registry([replace(s, timeout_s=0.05) if s.name == "k8s.rollout_restart" else s
                    for s in Registry.builtin().specs()])
    world.k8s.on_write = lambda w: time.sleep(0.3)
    svc = world.service(registry=reg)
    out = svc.executor.run(svc.submit(_req(world)).action_id)
    assert out.state == "failed" and "timed out" in out.text


def test_read_only_runs_in_freeze(world):
    svc = world.service()
    svc.set_freeze(True, user="U_ADMIN")
    sub = svc.submit(_req(world, "k8s.describe_deployment", RESTART))
    assert sub.state == "approved"
    out = Executor(svc.d).run(sub.action_id)
    assert out.state == "done" and out.result["replicas"] == 3


def test_escalate_pages_owners(world):
    _auto(world)
    svc = world.service()
    name, params = svc.d.registry.for_mitigation("escalate", "payments", {"owners": ["U_OWNER"]})
    sub = svc.submit(ActionRequest(action=name, params=params, target="payments"))
    assert svc.executor.run(sub.action_id).state == "done"
    assert world.pager.pages and world.pager.pages[0][0] == ["U_OWNER"]
