"""Kubernetes actions: rollback, restart, scale, config map revert, drain, and a read-only describe."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from bot.actions.catalog._base import K8S_NAME, Params
from bot.actions.ports import Ports
from bot.actions.spec import ActionSpec, PreconditionFailed

MAX_REPLICAS = 50


class DeploymentRef(Params):
    namespace: str = Field("default", pattern=K8S_NAME, max_length=63, description="Kubernetes namespace")
    deployment: str = Field(pattern=K8S_NAME, max_length=253, description="Deployment name")


class RolloutUndo(DeploymentRef):
    to_revision: int = Field(
        ge=1, description="The revision to go back to, pinned when proposed (usually the one before the bad deploy)"
    )


class Scale(DeploymentRef):
    replicas: int = Field(ge=1, le=MAX_REPLICAS, description=f"Desired replicas (1..{MAX_REPLICAS})")


class ConfigMapRevert(Params):
    change_id: str = Field(min_length=1, max_length=200, description="Id of the config change being reverted")
    namespace: str = Field("default", pattern=K8S_NAME, max_length=63, description="Kubernetes namespace")
    configmap: str = Field(pattern=K8S_NAME, max_length=253, description="ConfigMap name")
    key: str = Field(min_length=1, max_length=253, description="The key the change touched")
    value: str = Field(max_length=100_000, description="The value before the change, which is put back")


class DrainNode(Params):
    node: str = Field(pattern=K8S_NAME, max_length=253, description="Node name")
    namespaces: list[str] = Field(
        min_length=1, max_length=50, description="Namespaces whose pods on the node are evicted"
    )


def _deploy_key(p: DeploymentRef) -> str:
    return f"k8s:{p.namespace}/deploy/{p.deployment}"


def _deployment(ports: Ports, p: DeploymentRef) -> Any:
    for d in ports.need_k8s().deployments(p.namespace):
        if d.name == p.deployment:
            return d
    raise PreconditionFailed(f"deployment {p.namespace}/{p.deployment} not found")


# rollout_undo


def _undo_precheck(p: RolloutUndo, ports: Ports) -> None:
    k8s = ports.need_k8s()
    current = _deployment(ports, p).revision
    revisions = {r.revision for r in k8s.rollout_history(p.namespace, p.deployment)}
    if p.to_revision not in revisions:
        raise PreconditionFailed(
            f"revision {p.to_revision} of {p.namespace}/{p.deployment} no longer exists "
            f"(have {sorted(revisions)})"
        )
    if p.to_revision == current:
        raise PreconditionFailed(f"{p.namespace}/{p.deployment} already runs revision {current}")
    k8s.rollout_undo(p.namespace, p.deployment, p.to_revision, dry_run=True)


def _undo_checkpoint(p: RolloutUndo, ports: Ports) -> dict[str, Any]:
    return {"revision": _deployment(ports, p).revision}


def _undo(p: RolloutUndo, ports: Ports) -> dict[str, Any]:
    ports.need_k8s().rollout_undo(p.namespace, p.deployment, p.to_revision)
    return {"to_revision": p.to_revision}


def _undo_revert(p: RolloutUndo, cp: dict[str, Any], ports: Ports) -> None:
    ports.need_k8s().rollout_undo(p.namespace, p.deployment, int(cp["revision"]))


# rollout_restart


def _restart_precheck(p: DeploymentRef, ports: Ports) -> None:
    _deployment(ports, p)


def _restart(p: DeploymentRef, ports: Ports) -> dict[str, Any]:
    ports.need_k8s().rollout_restart(p.namespace, p.deployment)
    return {}


def _restart_revert(p: DeploymentRef, cp: dict[str, Any], ports: Ports) -> None:
    """A rolling restart changes no desired state: there is nothing to put back."""


# scale


def _scale_checkpoint(p: Scale, ports: Ports) -> dict[str, Any]:
    return {"replicas": _deployment(ports, p).replicas}


def _scale(p: Scale, ports: Ports) -> dict[str, Any]:
    ports.need_k8s().scale(p.namespace, p.deployment, p.replicas)
    return {"replicas": p.replicas}


def _scale_revert(p: Scale, cp: dict[str, Any], ports: Ports) -> None:
    ports.need_k8s().scale(p.namespace, p.deployment, int(cp["replicas"]))


# configmap_revert


def _cm_precheck(p: ConfigMapRevert, ports: Ports) -> None:
    data = ports.need_k8s().config_map(p.namespace, p.configmap)
    if data.get(p.key) == p.value:
        raise PreconditionFailed(f"{p.namespace}/{p.configmap} {p.key} already has the old value")
    if ports.changes is not None:
        change = ports.changes.get(p.change_id)
        old = change.attributes.get("old")
        if old is not None and old != p.value:
            raise PreconditionFailed(f"change {p.change_id} set {p.key} from {old!r}, not from {p.value!r}")


def _cm_checkpoint(p: ConfigMapRevert, ports: Ports) -> dict[str, Any]:
    data = ports.need_k8s().config_map(p.namespace, p.configmap)
    return {"key": p.key, "value": data.get(p.key)}


def _cm(p: ConfigMapRevert, ports: Ports) -> dict[str, Any]:
    ports.need_k8s().patch_config_map(p.namespace, p.configmap, {p.key: p.value})
    return {"key": p.key}


def _cm_revert(p: ConfigMapRevert, cp: dict[str, Any], ports: Ports) -> None:
    if cp.get("value") is not None:
        ports.need_k8s().patch_config_map(p.namespace, p.configmap, {p.key: str(cp["value"])})


# drain_node


def _drain_precheck(p: DrainNode, ports: Ports) -> None:
    if p.node not in {n.name for n in ports.need_k8s().nodes()}:
        raise PreconditionFailed(f"node {p.node} not found")


def _drain_checkpoint(p: DrainNode, ports: Ports) -> dict[str, Any]:
    node = next(n for n in ports.need_k8s().nodes() if n.name == p.node)
    return {"unschedulable": node.unschedulable}


def _drain(p: DrainNode, ports: Ports) -> dict[str, Any]:
    k8s = ports.need_k8s()
    k8s.cordon(p.node, True)
    evicted = []
    for ns in p.namespaces:
        for pod in k8s.pods(ns):
            if pod.node == p.node:
                k8s.evict(ns, pod.name)
                evicted.append(f"{ns}/{pod.name}")
    return {"evicted": evicted}


def _drain_revert(p: DrainNode, cp: dict[str, Any], ports: Ports) -> None:
    if not cp.get("unschedulable"):
        ports.need_k8s().cordon(p.node, False)


# describe_deployment (read-only)


def _describe(p: DeploymentRef, ports: Ports) -> dict[str, Any]:
    d = _deployment(ports, p)
    return {
        "name": d.name, "namespace": d.namespace, "replicas": d.replicas,
        "ready_replicas": d.ready_replicas, "revision": d.revision, "image": d.image,
    }


SPECS = [
    ActionSpec(
        name="k8s.rollout_undo",
        summary=(
            "Roll a Kubernetes deployment back to a pinned earlier revision (kubectl rollout undo --to-revision). "
            "Use when a recent deploy caused the regression. Checked first with a server-side dry run; "
            "undone by rolling forward to the revision that ran before."
        ),
        risk="medium", reversible=True, mitigation_kind="rollback", params_model=RolloutUndo,
        handler=_undo, precheck=_undo_precheck, checkpoint=_undo_checkpoint, revert=_undo_revert,
        resource=_deploy_key, timeout_s=300,
    ),
    ActionSpec(
        name="k8s.rollout_restart",
        summary=(
            "Restart every pod of a deployment, one at a time (kubectl rollout restart). Use for memory or "
            "connection leaks and stuck workers. Changes no desired state, so there is nothing to undo."
        ),
        risk="low", reversible=True, mitigation_kind="restart", params_model=DeploymentRef,
        handler=_restart, precheck=_restart_precheck, revert=_restart_revert, resource=_deploy_key, timeout_s=300,
    ),
    ActionSpec(
        name="k8s.scale",
        summary=(
            f"Set a deployment's replica count (at most {MAX_REPLICAS}). Use when the service is saturated. "
            "Undone by scaling back to the previous count."
        ),
        risk="low", reversible=True, mitigation_kind="scale_out", params_model=Scale,
        handler=_scale, precheck=_restart_precheck, checkpoint=_scale_checkpoint, revert=_scale_revert,
        resource=_deploy_key, timeout_s=120,
    ),
    ActionSpec(
        name="k8s.configmap_revert",
        summary=(
            "Put one key of a ConfigMap back to its value before a given config change. Use when a config "
            "change caused the regression; the app must reload its config (or be restarted) to see it."
        ),
        risk="medium", reversible=True, mitigation_kind="revert_config", params_model=ConfigMapRevert,
        handler=_cm, precheck=_cm_precheck, checkpoint=_cm_checkpoint, revert=_cm_revert,
        resource=lambda p: f"k8s:{p.namespace}/configmap/{p.configmap}", timeout_s=60,
    ),
    ActionSpec(
        name="k8s.drain_node",
        summary=(
            "Cordon a node and evict its pods so they are rescheduled elsewhere. Use when a node is failing. "
            "Undone by uncordoning the node (evicted pods are not moved back)."
        ),
        risk="medium", reversible=True, mitigation_kind="drain_node", params_model=DrainNode,
        handler=_drain, precheck=_drain_precheck, checkpoint=_drain_checkpoint, revert=_drain_revert,
        resource=lambda p: f"k8s:node/{p.node}", timeout_s=600,
    ),
    ActionSpec(
        name="k8s.describe_deployment",
        summary="Read a deployment's replicas, ready replicas, revision and image. Changes nothing.",
        risk="low", reversible=True, mitigation_kind=None, params_model=DeploymentRef,
        handler=_describe, resource=_deploy_key, verify="none", read_only=True, timeout_s=30,
    ),
]
