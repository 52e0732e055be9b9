"""Render the sandbox cluster's records into the Kubernetes API's JSON shapes.

Timestamps are RFC 3339 in UTC, computed from the replay clock at request time.
Pod statuses follow what the kubelet reports: a crash-looping container is
``state.waiting.reason: CrashLoopBackOff`` with the last termination's reason
(``OOMKilled``) in ``lastState.terminated``; an Unknown pod has phase
``Unknown`` and a Ready condition of ``Unknown``; a Terminating pod carries a
``deletionTimestamp``.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from bot.sandbox.kubernetes_state import (
    DEFAULT_VERSION,
    HASH_LABEL,
    REVISION,
    ClusterState,
    ConfigMapRec,
    DeploymentRec,
    EventRec,
    NodeRec,
    PodRec,
    ReplicaSetRec,
    image_of,
    template_image,
)

KUBE_VERSION = {
    "major": "1", "minor": "31", "gitVersion": "v1.31.4-aisre-sandbox", "gitCommit": "sandbox",
    "gitTreeState": "clean", "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.22.10",
    "compiler": "gc", "platform": "linux/amd64",
}


def ts(state: ClusterState, minute: float | None) -> str | None:
    if minute is None:
        return None
    dt: datetime = state.replay.minute_to_dt(minute)
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _meta(state: ClusterState, name: str, namespace: str | None, uid: str, created: float,
          labels: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    m: dict[str, Any] = {
        "name": name, "uid": uid, "resourceVersion": str(state.resource_version),
        "creationTimestamp": ts(state, created),
    }
    if namespace is not None:
        m["namespace"] = namespace
    if labels:
        m["labels"] = labels
    m.update({k: v for k, v in extra.items() if v is not None})
    return m


def status_obj(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Success" if code < 400 else "Failure", "message": message, "reason": reason, "code": code,
    }
    if details:
        out["details"] = details
    return out


def deployment(state: ClusterState, d: DeploymentRec) -> dict[str, Any]:
    pods = state.pods_of(d.namespace, d.name)
    ready = sum(1 for p in pods if p.status == "Running")
    current = next((r for r in state.replicasets_of(d.namespace, d.name) if r.revision == d.revision), None)
    updated = sum(1 for p in pods if current and p.replicaset == current.name)
    annotations = {**d.annotations, REVISION: str(d.revision)}
    available = ready >= max(d.replicas - max(1, d.replicas // 4), 0)
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": _meta(state, d.name, d.namespace, d.uid, d.created, {"app": d.name},
                          annotations=annotations, generation=d.generation),
        "spec": {
            "replicas": d.replicas,
            "selector": {"matchLabels": {"app": d.name}},
            "template": copy.deepcopy(d.template),
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
            "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
        },
        "status": {
            "observedGeneration": d.generation, "replicas": len(pods), "updatedReplicas": updated,
            "readyReplicas": ready, "availableReplicas": ready,
            "unavailableReplicas": max(len(pods) - ready, 0) or None,
            "conditions": [
                {"type": "Available", "status": "True" if available else "False",
                 "reason": "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
                 "message": "Deployment has minimum availability." if available
                 else "Deployment does not have minimum availability.",
                 "lastTransitionTime": ts(state, d.created), "lastUpdateTime": ts(state, d.created)},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                 "message": f'ReplicaSet "{current.name if current else d.name}" has successfully progressed.',
                 "lastTransitionTime": ts(state, d.created), "lastUpdateTime": ts(state, d.created)},
            ],
        },
    }


def scale(state: ClusterState, d: DeploymentRec) -> dict[str, Any]:
    return {
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": _meta(state, d.name, d.namespace, d.uid, d.created),
        "spec": {"replicas": d.replicas},
        "status": {"replicas": len(state.pods_of(d.namespace, d.name)), "selector": f"app={d.name}"},
    }


def replicaset(state: ClusterState, r: ReplicaSetRec) -> dict[str, Any]:
    d = state.deployments.get((r.namespace, r.service))
    pods = [p for p in state.pods_of(r.namespace, r.service) if p.replicaset == r.name]
    owner = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": r.service, "uid": d.uid,
              "controller": True, "blockOwnerDeletion": True}] if d else None
    return {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": _meta(state, r.name, r.namespace, r.uid, r.created, {"app": r.service, HASH_LABEL: r.hash},
                          annotations={REVISION: str(r.revision),
                                       "deployment.kubernetes.io/desired-replicas": str(d.replicas if d else 0)},
                          ownerReferences=owner),
        "spec": {
            "replicas": len(pods),
            "selector": {"matchLabels": {"app": r.service, HASH_LABEL: r.hash}},
            "template": copy.deepcopy(r.template),
        },
        "status": {"replicas": len(pods), "readyReplicas": sum(1 for p in pods if p.status == "Running"),
                   "availableReplicas": sum(1 for p in pods if p.status == "Running"),
                   "observedGeneration": 1},
    }


def pod(state: ClusterState, p: PodRec) -> dict[str, Any]:
    rs = state.replicasets.get((p.namespace, p.replicaset))
    image = template_image(rs.template) if rs else image_of(p.service, DEFAULT_VERSION)
    since = ts(state, p.since if p.since is not None else p.created)
    started = ts(state, p.created)
    ready = p.status == "Running"
    cstatus: dict[str, Any] = {"name": p.service, "image": image, "imageID": f"{image}@sha256:{'0' * 64}",
                               "ready": ready, "restartCount": p.restarts, "started": ready,
                               "containerID": f"containerd://{p.uid.replace('-', '')}"}
    exit_code = 137 if (p.reason or "") == "OOMKilled" else 1
    last_terminated = {"reason": p.reason or "Error", "exitCode": exit_code, "startedAt": started,
                       "finishedAt": since, "containerID": cstatus["containerID"]}
    phase = "Running"
    conditions = [{"type": "PodScheduled", "status": "True", "lastTransitionTime": started}]
    ready_status = "True" if ready else "False"
    status: dict[str, Any] = {"hostIP": _ip(p.node), "podIP": _ip(p.name, 10), "startTime": started,
                              "qosClass": "Burstable"}
    if p.status == "Running":
        cstatus["state"] = {"running": {"startedAt": since}}
        if p.reason or p.restarts:
            cstatus["lastState"] = {"terminated": last_terminated}
    elif p.status == "CrashLoopBackOff":
        cstatus["state"] = {"waiting": {"reason": "CrashLoopBackOff", "message":
                                        f"back-off 5m0s restarting failed container={p.service} pod={p.name}"}}
        cstatus["lastState"] = {"terminated": last_terminated}
    elif p.status == "Error":
        cstatus["state"] = {"terminated": {**last_terminated, "reason": "Error", "exitCode": 1}}
        if p.reason and p.reason != "Error":
            cstatus["lastState"] = {"terminated": last_terminated}
    elif p.status == "Pending":
        phase = "Pending"
        conditions = [{"type": "PodScheduled", "status": "False", "reason": p.reason or "Unschedulable",
                       "message": "0/3 nodes are available: 3 node(s) were unschedulable.",
                       "lastTransitionTime": since}]
        cstatus = {}
        status.pop("podIP")
    elif p.status == "Unknown":
        phase = "Unknown"
        ready_status = "Unknown"
        cstatus["state"] = {"running": {"startedAt": started}}
        status["reason"] = "NodeLost"
        status["message"] = f"Node {p.node} which was running pod {p.name} is unresponsive"
    elif p.status == "Terminating":
        cstatus["state"] = {"running": {"startedAt": started}}
    status["phase"] = phase
    status["conditions"] = [*conditions, {"type": "Ready", "status": ready_status, "lastTransitionTime": since,
                                          **({} if ready else {"reason": "ContainersNotReady"})}]
    if cstatus:
        status["containerStatuses"] = [cstatus]
    labels = {"app": p.service, HASH_LABEL: rs.hash} if rs else {"app": p.service}
    owner = [{"apiVersion": "apps/v1", "kind": "ReplicaSet" if rs else "StatefulSet",
              "name": p.replicaset or p.service, "uid": rs.uid if rs else p.uid, "controller": True,
              "blockOwnerDeletion": True}]
    deletion = since if p.status == "Terminating" else None
    spec = copy.deepcopy(rs.template["spec"]) if rs else {"containers": [{"name": p.service, "image": image}]}
    if p.node:
        spec["nodeName"] = p.node
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": _meta(state, p.name, p.namespace, p.uid, p.created, labels, ownerReferences=owner,
                          generateName=f"{p.replicaset or p.service}-", deletionTimestamp=deletion),
        "spec": spec, "status": status,
    }


def node(state: ClusterState, n: NodeRec) -> dict[str, Any]:
    since = ts(state, n.since if n.since is not None else state.replay.scenario.first_minute)
    if n.status == "Ready":
        cond = {"status": "True", "reason": n.reason or "KubeletReady", "message": "kubelet is posting ready status"}
    elif n.status == "Unknown":
        cond = {"status": "Unknown", "reason": n.reason or "NodeStatusUnknown",
                "message": "Kubelet stopped posting node status."}
    else:
        cond = {"status": "False", "reason": n.reason or "KubeletNotReady", "message": "kubelet is not ready"}
    taints = []
    if n.status != "Ready":
        key = "node.kubernetes.io/unreachable" if n.status == "Unknown" else "node.kubernetes.io/not-ready"
        taints.append({"key": key, "effect": "NoSchedule", "timeAdded": since})
    if n.unschedulable:
        taints.append({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"})
    spec: dict[str, Any] = {"podCIDR": "10.244.0.0/24"}
    if n.unschedulable:
        spec["unschedulable"] = True
    if taints:
        spec["taints"] = taints
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": _meta(state, n.name, None, n.uid, state.replay.scenario.first_minute,
                          {"kubernetes.io/hostname": n.name, "kubernetes.io/os": "linux"}),
        "spec": spec,
        "status": {
            "conditions": [
                {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory",
                 "lastTransitionTime": since, "lastHeartbeatTime": since},
                {"type": "Ready", **cond, "lastTransitionTime": since, "lastHeartbeatTime": since},
            ],
            "addresses": [{"type": "InternalIP", "address": _ip(n.name)}, {"type": "Hostname", "address": n.name}],
            "nodeInfo": {"kubeletVersion": KUBE_VERSION["gitVersion"], "osImage": "sandbox", "machineID": "",
                         "systemUUID": "", "bootID": "", "kernelVersion": "6.1", "containerRuntimeVersion":
                         "containerd://1.7", "kubeProxyVersion": "", "operatingSystem": "linux",
                         "architecture": "amd64"},
        },
    }


def config_map(state: ClusterState, c: ConfigMapRec) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": _meta(state, c.name, c.namespace, c.uid, c.created, {"app": c.service}),
            "data": dict(c.data)}


def event(state: ClusterState, e: EventRec) -> dict[str, Any]:
    at = ts(state, e.at)
    ns = e.namespace if e.kind != "Node" else "default"
    return {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": e.name, "namespace": ns, "uid": e.name, "resourceVersion": str(state.resource_version),
                     "creationTimestamp": at},
        "involvedObject": {"kind": e.kind, "name": e.object_name, "namespace": None if e.kind == "Node" else ns,
                           "apiVersion": "apps/v1" if e.kind == "Deployment" else "v1"},
        "reason": e.reason, "message": e.message, "type": e.type, "count": 1,
        "firstTimestamp": at, "lastTimestamp": at, "source": {"component": e.component},
        "reportingComponent": e.component, "reportingInstance": "",
    }


def _ip(name: str | None, base: int = 172) -> str | None:
    if not name:
        return None
    h = sum(name.encode()) % 250
    return f"{base}.16.{len(name) % 250}.{h + 2}"
