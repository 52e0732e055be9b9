"""What a write to the sandbox cluster does: state changes, replay mitigations, recorded writes.

- A deployment whose pod template goes back to an older ReplicaSet's template
  (what ``kubectl rollout undo`` sends) is a ``rollback``; one whose template
  differs only in ``kubectl.kubernetes.io/restartedAt`` is a ``restart``; either
  replaces the pods (restarts reset; crash-looping pods come up Running when
  the replay says the mitigation recovers).
- Raising ``spec.replicas`` (directly or through the scale subresource) is
  ``scale_out``; cordoning a node is ``drain_node``; a ConfigMap key set back to
  a config event's ``old`` value is ``revert_config`` on that service.
- Evicting a pod moves it to another Ready, schedulable node.

Every write calls ``replay.record_write("kubernetes", op, ...)``. With
``dry_run`` the request is validated and nothing changes.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from bot.sandbox.kubernetes_state import (
    HASH_LABEL,
    RESTARTED_AT,
    REVISION,
    ClusterState,
    ConfigMapRec,
    DeploymentRec,
    PodRec,
    ReplicaSetRec,
    normalized,
    short_hash,
    template_image,
)

BAD = ("CrashLoopBackOff", "Error")


class ApiError(Exception):
    """An error the server answers with a ``kind: Status`` body."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details


def invalid(kind: str, name: str, field: str, value: object, detail: str) -> ApiError:
    msg = f'{kind} "{name}" is invalid: {field}: Invalid value: {json.dumps(value)}: {detail}'
    group, _, _ = kind.partition(".")
    return ApiError(422, "Invalid", msg, {
        "name": name, "group": kind.split(".", 1)[1] if "." in kind else "", "kind": group,
        "causes": [{"reason": "FieldValueInvalid", "message": f"Invalid value: {json.dumps(value)}: {detail}",
                    "field": field}],
    })


# --- deployments --------------------------------------------------------------------------


def update_deployment(state: ClusterState, d: DeploymentRec, new: dict[str, Any], dry_run: bool) -> None:
    spec = new.get("spec") or {}
    replicas = spec.get("replicas", d.replicas)
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise invalid("Deployment.apps", d.name, "spec.replicas", replicas, "must be greater than or equal to 0")
    template = spec.get("template") or {}
    containers = (template.get("spec") or {}).get("containers") or []
    if not containers or not all(isinstance(c, dict) and c.get("name") and c.get("image") for c in containers):
        raise invalid("Deployment.apps", d.name, "spec.template.spec.containers", containers,
                      "each container needs a name and an image")
    labels = (template.get("metadata") or {}).get("labels") or {}
    if labels.get("app") != d.name:
        raise invalid("Deployment.apps", d.name, "spec.template.metadata.labels", labels,
                      "`selector` does not match template `labels`")
    if dry_run:
        state.replay.record_write("kubernetes", "update_deployment", namespace=d.namespace, name=d.name,
                                  dry_run=True)
        return
    annotations = dict((new.get("metadata") or {}).get("annotations") or {})
    annotations.pop(REVISION, None)
    d.annotations = annotations
    if normalized(template) != normalized(d.template):
        _roll(state, d, template)
    if replicas != d.replicas:
        set_replicas(state, d, replicas)
    state.bump()


def _without_restart(template: dict[str, Any]) -> Any:
    t = copy.deepcopy(template)
    (t.get("metadata") or {}).get("annotations", {}).pop(RESTARTED_AT, None)
    return normalized(t)


def _roll(state: ClusterState, d: DeploymentRec, template: dict[str, Any]) -> None:
    now = state.replay.now_minute()
    history = state.replicasets_of(d.namespace, d.name)
    top = max((r.revision for r in history), default=0)
    match = next((r for r in history if r.revision != d.revision and normalized(r.template) == normalized(template)),
                 None)
    only_restart = _without_restart(template) == _without_restart(d.template)
    old_image = template_image(d.template)
    if match is not None:
        rs = match
        rs.revision = top + 1
        op = "rollout_undo" if template_image(template) != old_image or not only_restart else "rollout_restart"
        kind = "rollback" if op == "rollout_undo" else "restart"
    else:
        h = short_hash(d.name, json.dumps(normalized(template), sort_keys=True), top + 1)
        tpl = copy.deepcopy(template)
        tpl.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = h
        rs = ReplicaSetRec(f"{d.name}-{h}", d.namespace, d.name, top + 1, h, tpl, now, state.uid("rs", d.name, h))
        state.replicasets[(d.namespace, rs.name)] = rs
        op = "rollout_restart" if only_restart else "rollout"
        kind = "restart" if only_restart else ""
    from_revision = d.revision
    d.template = copy.deepcopy(template)
    d.template.get("metadata", {}).get("labels", {}).pop(HASH_LABEL, None)
    d.revision = rs.revision
    d.generation += 1
    effect = state.replay.apply_mitigation(kind, d.name, f"{op} to revision {rs.revision}").effect if kind else ""
    _replace_pods(state, d, rs, effect, now)
    state.add_event(d.namespace, now, "ScalingReplicaSet", f"Scaled up replica set {rs.name} to {d.replicas}",
                    "Deployment", d.name)
    state.replay.record_write("kubernetes", op, namespace=d.namespace, name=d.name, from_revision=from_revision,
                              to_revision=rs.revision, image=template_image(template), effect=effect)


def _replace_pods(state: ClusterState, d: DeploymentRec, rs: ReplicaSetRec, effect: str, now: float) -> None:
    old = sorted(state.pods_of(d.namespace, d.name), key=lambda p: p.name)
    for p in old:
        del state.pods[(p.namespace, p.name)]
    nodes = state.schedulable_nodes() or sorted(state.nodes)
    for i in range(d.replicas):
        prev = old[i] if i < len(old) else None
        status, reason, restarts = "Running", None, 0
        if prev is not None and prev.status in BAD and effect != "recovers":
            status, reason, restarts = prev.status, prev.reason, 1
        node = nodes[i % len(nodes)] if nodes else None
        name = state.new_pod_name(rs)
        state.pods[(d.namespace, name)] = PodRec(
            name, d.namespace, d.name, rs.name, node, status if node else "Pending",
            reason if node else "Unschedulable", restarts, now, now, state.uid("pod", name),
        )
    rs.replicas = d.replicas


def set_replicas(state: ClusterState, d: DeploymentRec, replicas: int) -> None:
    now = state.replay.now_minute()
    before = d.replicas
    d.replicas = replicas
    effect = ""
    if replicas > before:
        effect = state.replay.apply_mitigation("scale_out", d.name, f"replicas {before} -> {replicas}").effect
        state.fill_replicas(d.namespace, d.name, now)
    else:
        if replicas < before:  # scaling back in undoes a scale-out (a revert)
            state.replay.undo_mitigation("scale_out", d.name)
        rank = {"Unknown": 0, "Pending": 1, "CrashLoopBackOff": 2, "Error": 2, "Terminating": 0, "Running": 9}
        pods = sorted(state.pods_of(d.namespace, d.name), key=lambda p: (rank.get(p.status, 5), p.name))
        for p in pods[: max(len(pods) - replicas, 0)]:
            del state.pods[(p.namespace, p.name)]
    verb = "up" if replicas > before else "down"
    state.add_event(d.namespace, now, "ScalingReplicaSet",
                    f"Scaled {verb} replica set {d.name} from {before} to {replicas}", "Deployment", d.name)
    state.replay.record_write("kubernetes", "scale", namespace=d.namespace, name=d.name, old=before, new=replicas,
                              effect=effect)
    state.bump()


def scale(state: ClusterState, d: DeploymentRec, replicas: Any, dry_run: bool) -> None:
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise invalid("Scale.autoscaling", d.name, "spec.replicas", replicas, "must be greater than or equal to 0")
    if dry_run:
        state.replay.record_write("kubernetes", "scale", namespace=d.namespace, name=d.name, new=replicas,
                                  dry_run=True)
        return
    if replicas != d.replicas:
        set_replicas(state, d, replicas)


# --- nodes and pods -----------------------------------------------------------------------


def set_unschedulable(state: ClusterState, name: str, unschedulable: bool, dry_run: bool) -> None:
    n = state.nodes[name]
    op = "cordon" if unschedulable else "uncordon"
    if dry_run:
        state.replay.record_write("kubernetes", op, name=name, dry_run=True)
        return
    effect = ""
    if unschedulable and not n.unschedulable:
        effect = state.replay.apply_mitigation("drain_node", name, "node cordoned").effect
    n.unschedulable = unschedulable
    state.replay.record_write("kubernetes", op, name=name, effect=effect)
    state.bump()


def evict(state: ClusterState, p: PodRec, dry_run: bool) -> None:
    if dry_run:
        state.replay.record_write("kubernetes", "evict", namespace=p.namespace, name=p.name, dry_run=True)
        return
    now = state.replay.now_minute()
    del state.pods[(p.namespace, p.name)]
    d = state.deployments.get((p.namespace, p.service))
    rs = state.replicasets.get((p.namespace, p.replicaset))
    moved_to = None
    if d is None and rs is None:  # a StatefulSet's pod comes back under the same name elsewhere
        nodes = state.schedulable_nodes(exclude=p.node)
        moved_to = nodes[0] if nodes else None
        state.pods[(p.namespace, p.name)] = PodRec(
            p.name, p.namespace, p.service, "", moved_to, "Running" if moved_to else "Pending",
            None if moved_to else "Unschedulable", 0, now, now, state.uid("pod", p.name),
        )
    elif d is not None and rs is not None and len(state.pods_of(p.namespace, p.service)) < d.replicas:
        nodes = state.schedulable_nodes(exclude=p.node)
        crash = p.status in BAD and not state.replay.recovered()
        name = state.new_pod_name(rs)
        moved_to = nodes[len(state.pods) % len(nodes)] if nodes else None
        state.pods[(p.namespace, name)] = PodRec(
            name, p.namespace, p.service, rs.name, moved_to,
            (p.status if crash else "Running") if moved_to else "Pending",
            (p.reason if crash else None) if moved_to else "Unschedulable", 0, now, now, state.uid("pod", name),
        )
    state.add_event(p.namespace, now, "Evicted", f"Evicted pod {p.name}", "Pod", p.name, component="eviction")
    state.replay.record_write("kubernetes", "evict", namespace=p.namespace, name=p.name, node=p.node,
                              moved_to=moved_to)
    state.bump()


def delete_pod(state: ClusterState, p: PodRec, dry_run: bool) -> None:
    """A deleted pod is replaced by its ReplicaSet, like an eviction."""
    evict(state, p, dry_run)


# --- config maps --------------------------------------------------------------------------


def update_config_map(state: ClusterState, c: ConfigMapRec, new: dict[str, Any], dry_run: bool) -> None:
    data = new.get("data") or {}
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise invalid("ConfigMap", c.name, "data", data, "values must be strings")
    if dry_run:
        state.replay.record_write("kubernetes", "patch_config_map", namespace=c.namespace, name=c.name,
                                  dry_run=True)
        return
    changed = {k: v for k, v in data.items() if c.data.get(k) != v}
    reverted = []
    sc = state.replay.scenario
    for ev in sc.events:
        if ev.kind != "config" or ev.service != c.service or ev.key is None or ev.key not in changed:
            continue
        attrs = ev.attributes()
        if "old" in attrs and changed[ev.key] == attrs["old"] and c.data.get(ev.key) == attrs.get("new"):
            reverted.append(ev.id)
    c.data = {str(k): str(v) for k, v in data.items()}
    effect = ""
    if reverted:
        effect = state.replay.apply_mitigation("revert_config", c.service, f"reverted {', '.join(reverted)}").effect
    state.replay.record_write("kubernetes", "patch_config_map", namespace=c.namespace, name=c.name,
                              changed=sorted(changed), reverted=reverted, effect=effect)
    state.bump()
