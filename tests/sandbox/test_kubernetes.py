"""The Kubernetes adapter against the scenario-backed Kubernetes-compatible server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.integrations.errors import IntegrationAuthError, IntegrationNotFound, IntegrationRejected
from bot.integrations.kubernetes import KubernetesAdapter
from bot.sandbox import kubernetes_server
from bot.sandbox.replay import Replay
from bot.scenarios.loader import load_scenario
from bot.settings import KubernetesSettings

EXAMPLES = Path("/work/shared/scenarios/examples")
ALL = sorted(EXAMPLES.glob("*.yaml"))


class FakeClock:
    def __init__(self) -> None:
        self.t = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.t

    def advance(self, minutes: float) -> None:
        self.t += timedelta(minutes=minutes)


class Cluster:
    def __init__(self, name: str) -> None:
        self.clock = FakeClock()
        self.scenario = load_scenario(EXAMPLES / f"{name}.yaml")
        self.replay = Replay(self.scenario, clock=self.clock)
        self.handle = kubernetes_server.start(self.replay)
        self.k8s = KubernetesAdapter(KubernetesSettings(enabled=True, kubeconfig=self.handle.kubeconfig_path))

    def close(self) -> None:
        self.k8s.close()
        self.handle.stop()


@pytest.fixture
def cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    c = Cluster(request.param)
    yield c
    c.close()


def _by_name(items):  # type: ignore[no-untyped-def]
    return {i.name: i for i in items}


@pytest.mark.parametrize("path", ALL, ids=[p.stem for p in ALL])
def test_every_example_is_served_as_the_scenario_says(path: Path) -> None:
    c = Cluster(path.stem)
    try:
        sc = c.scenario
        for svc in (s for s in sc.services if s.kind == "deployment"):
            deps = _by_name(c.k8s.deployments(svc.namespace))
            assert svc.name in deps
            pods = c.k8s.pods(svc.namespace, svc.name)
            assert len(pods) == deps[svc.name].replicas
            assert {p.service for p in pods} == {svc.name}
            history = c.k8s.rollout_history(svc.namespace, svc.name)
            assert history[-1].revision == deps[svc.name].revision
            deploys = [e for e in sc.events if e.kind == "deploy" and e.service == svc.name and e.at <= 0]
            if deploys:
                assert history[-1].image and history[-1].image.endswith(f":{deploys[-1].version}")
                assert history[-2].image and history[-2].image.endswith(f":{deploys[0].previous}")
            assert c.k8s.config_map(svc.namespace, f"{svc.name}-config") is not None
        for spec in sc.pods:
            ns = sc.service(spec.service).namespace  # type: ignore[union-attr]
            pod = _by_name(c.k8s.pods(ns, spec.service))[spec.name]
            assert pod.phase == spec.status
            assert pod.restarts == spec.restarts
            assert pod.node == spec.node
            if spec.reason:
                assert pod.reason == spec.reason
            if spec.since is not None:
                assert pod.since == c.replay.minute_to_dt(spec.since).replace(microsecond=0)
        nodes = _by_name(c.k8s.nodes())
        for n in sc.nodes:
            assert nodes[n.name].status == ("Ready" if n.status in ("Ready", "SchedulingDisabled") else "NotReady")
            if n.reason:
                assert nodes[n.name].reason == n.reason
        assert c.k8s.health().ok
    finally:
        c.close()


@pytest.mark.parametrize("cluster", ["memory-leak"], indirect=True)
def test_oom_killed_and_crash_looping_pods(cluster: Cluster) -> None:
    pods = _by_name(cluster.k8s.pods("logistics", "route-optimizer"))
    assert pods["route-optimizer-6d9f-p8xw3"].phase == "CrashLoopBackOff"
    assert pods["route-optimizer-6d9f-p8xw3"].reason == "OOMKilled"
    assert pods["route-optimizer-6d9f-h2lq7"].phase == "Running"
    assert pods["route-optimizer-6d9f-h2lq7"].reason == "OOMKilled"


@pytest.mark.parametrize("cluster", ["node-failure"], indirect=True)
def test_not_ready_node_and_unknown_pods_then_drain(cluster: Cluster) -> None:
    node = _by_name(cluster.k8s.nodes())["lgx-node-2"]
    assert (node.status, node.ready, node.reason) == ("NotReady", "False", "KubeletStopped")
    pods = _by_name(cluster.k8s.pods("logistics", "label-svc"))
    assert pods["label-svc-84c7-tq2mz"].phase == "Unknown"

    cluster.k8s.cordon("lgx-node-2")
    on_node = [p for p in cluster.k8s.pods("logistics") if p.node == "lgx-node-2"]
    assert on_node
    for p in on_node:
        cluster.k8s.evict("logistics", p.name)
    assert not [p for p in cluster.k8s.pods("logistics") if p.node == "lgx-node-2"]
    assert all(p.phase == "Running" for p in cluster.k8s.pods("logistics"))
    assert _by_name(cluster.k8s.nodes())["lgx-node-2"].unschedulable
    assert [(m.kind, m.target, m.effect) for m in cluster.replay.mitigations] == [
        ("drain_node", "lgx-node-2", "recovers")]
    ops = [w["operation"] for w in cluster.replay.writes]
    assert ops == ["cordon"] + ["evict"] * len(on_node)
    cluster.clock.advance(3)
    assert cluster.replay.value("label-svc", "error_rate", 3) < 0.02  # type: ignore[operator]


@pytest.mark.parametrize("cluster", ["deploy-regression"], indirect=True)
def test_rollout_undo_brings_error_rate_back(cluster: Cluster) -> None:
    history = cluster.k8s.rollout_history("logistics", "label-svc")
    assert [h.image.rsplit(":", 1)[1] for h in history if h.image] == ["3.6.4", "3.7.0"]
    assert cluster.replay.value("label-svc", "error_rate", 0) > 0.1  # type: ignore[operator]

    cluster.k8s.rollout_undo("logistics", "label-svc", history[0].revision, dry_run=True)
    assert cluster.replay.mitigations == []
    assert _by_name(cluster.k8s.deployments("logistics"))["label-svc"].image.endswith(":3.7.0")  # type: ignore[union-attr]

    cluster.k8s.rollout_undo("logistics", "label-svc", history[0].revision)
    dep = _by_name(cluster.k8s.deployments("logistics"))["label-svc"]
    assert dep.image and dep.image.endswith(":3.6.4")
    assert dep.revision == 3
    assert [(m.kind, m.target, m.effect) for m in cluster.replay.mitigations] == [("rollback", "label-svc", "recovers")]
    assert cluster.replay.writes[-1]["operation"] == "rollout_undo"
    cluster.clock.advance(3)
    assert cluster.replay.value("label-svc", "error_rate", 3) < 0.012  # type: ignore[operator]
    with pytest.raises(IntegrationRejected):
        cluster.k8s.rollout_undo("logistics", "label-svc", 3)


@pytest.mark.parametrize("cluster", ["deploy-regression"], indirect=True)
def test_wrong_action_changes_nothing(cluster: Cluster) -> None:
    before = [p.name for p in cluster.k8s.pods("logistics", "label-svc")]
    cluster.k8s.rollout_restart("logistics", "label-svc")
    after = cluster.k8s.pods("logistics", "label-svc")
    assert set(before).isdisjoint(p.name for p in after)
    assert [(m.kind, m.effect) for m in cluster.replay.mitigations] == [("restart", "no_change")]
    cluster.clock.advance(3)
    assert cluster.replay.value("label-svc", "error_rate", 3) > 0.1  # type: ignore[operator]


@pytest.mark.parametrize("cluster", ["connection-leak"], indirect=True)
def test_scale_out_the_wrong_service_makes_it_worse(cluster: Cluster) -> None:
    dep = _by_name(cluster.k8s.deployments("logistics"))["tracking-api"]
    assert dep.replicas == 8  # the HPA scaling event at -28
    cluster.k8s.scale("logistics", "tracking-api", 10)
    assert len(cluster.k8s.pods("logistics", "tracking-api")) == 10
    assert [(m.kind, m.effect) for m in cluster.replay.mitigations] == [("scale_out", "worse")]
    cluster.clock.advance(3)
    assert cluster.replay.value("label-svc", "error_rate", 3) == pytest.approx(0.32, rel=0.01)
    scaling = [e for e in cluster.k8s.events("logistics", cluster.replay.minute_to_dt(-60)) if e.kind == "scaling"]
    assert any("from 6 to 8" in e.title for e in scaling)


@pytest.mark.parametrize("cluster", ["memory-leak"], indirect=True)
def test_restart_recovers_crash_looping_pods(cluster: Cluster) -> None:
    cluster.k8s.rollout_restart("logistics", "route-optimizer")
    pods = cluster.k8s.pods("logistics", "route-optimizer")
    assert len(pods) == 3 and all(p.phase == "Running" and p.restarts == 0 for p in pods)
    assert cluster.replay.mitigations[0].effect == "recovers"


@pytest.mark.parametrize("cluster", ["config-regression"], indirect=True)
def test_reverting_a_config_map_key_is_revert_config(cluster: Cluster) -> None:
    ev = next(e for e in cluster.scenario.events if e.kind == "config")
    ns = cluster.scenario.service(ev.service).namespace  # type: ignore[union-attr]
    cm = cluster.k8s.config_map(ns, f"{ev.service}-config")
    assert cm[ev.key] == ev.attributes()["new"]  # type: ignore[index]
    cluster.k8s.patch_config_map(ns, f"{ev.service}-config", {ev.key: ev.attributes()["old"]})  # type: ignore[dict-item]
    assert [(m.kind, m.target) for m in cluster.replay.mitigations] == [("revert_config", ev.service)]


@pytest.mark.parametrize("cluster", ["deploy-regression"], indirect=True)
def test_errors_have_the_status_shape_and_translate(cluster: Cluster) -> None:
    import httpx

    with pytest.raises(IntegrationNotFound, match='deployments.apps "nope" not found'):
        cluster.k8s.rollout_history("logistics", "nope")
    r = httpx.get(f"{cluster.handle.url}/apis/apps/v1/namespaces/logistics/deployments/nope",
                  headers={"Authorization": f"Bearer {cluster.handle.token}"})
    assert r.status_code == 404
    assert r.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                        "message": 'deployments.apps "nope" not found', "reason": "NotFound", "code": 404,
                        "details": {"name": "nope", "group": "apps", "kind": "deployments"}}
    r = httpx.get(f"{cluster.handle.url}/api/v1/nodes", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and r.json()["reason"] == "Unauthorized" and r.json()["kind"] == "Status"
    with pytest.raises(IntegrationRejected, match="422"):
        cluster.k8s.scale("logistics", "label-svc", -1)

    bad = Path(cluster.handle.kubeconfig_path).read_text().replace(cluster.handle.token, "wrong-token")
    path = Path(cluster.handle.kubeconfig_path).with_name("bad-kubeconfig")
    path.write_text(bad)
    other = KubernetesAdapter(KubernetesSettings(enabled=True, kubeconfig=path))
    with pytest.raises(IntegrationAuthError):
        other.nodes()
    assert not other.health().ok
    other.close()
    assert cluster.replay.writes == []


def test_the_kubeconfig_it_wrote_is_removed_on_stop_and_a_given_one_kept(tmp_path: Path) -> None:
    replay = Replay(load_scenario(EXAMPLES / "deploy-regression.yaml"), clock=FakeClock())
    made = kubernetes_server.start(replay)
    assert made.kubeconfig_path.exists()
    made.stop()
    assert not made.kubeconfig_path.parent.exists()  # its own temporary directory, gone
    given = kubernetes_server.start(replay, kubeconfig_path=tmp_path / "kube" / "config")
    given.stop()
    assert given.kubeconfig_path.exists()  # the caller's file is the caller's
