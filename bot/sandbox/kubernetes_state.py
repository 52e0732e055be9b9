"""The cluster a scenario describes, as the Kubernetes-compatible server holds it.

One Deployment per ``kind: deployment`` service with ``replicas`` pods (the
scenario's listed pods keep their status, reason, restarts, node and since; the
rest are Running), ReplicaSets carrying the revision history (a deploy event
gives the previous and the current image), the scenario's nodes plus any a pod
names, a ConfigMap ``<service>-config`` per service holding its config keys,
and core/v1 events for scaling, deploys, NotReady nodes and crash-looping pods.

Objects are kept as small records with minutes relative to the alert and are
rendered into the API's JSON shapes (:mod:`bot.sandbox.kubernetes_objects`) at
request time, so their timestamps follow the replay clock. The mutations the
server performs (rolling a deployment to a template, scaling, cordoning,
evicting, patching a ConfigMap) live in :mod:`bot.sandbox.kubernetes_writes`.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.replay import Replay

HASH_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
REVISION = "deployment.kubernetes.io/revision"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
HASH_LABEL = "pod-template-hash"
IMAGE_REGISTRY = "registry.sandbox.local"
DEFAULT_VERSION = "1.0.0"


@dataclass
class PodRec:
    name: str
    namespace: str
    service: str
    replicaset: str
    node: str | None
    status: str
    reason: str | None
    restarts: int
    since: float | None
    created: float
    uid: str


@dataclass
class ReplicaSetRec:
    name: str
    namespace: str
    service: str
    revision: int
    hash: str
    template: dict[str, Any]
    created: float
    uid: str
    replicas: int = 0


@dataclass
class DeploymentRec:
    name: str
    namespace: str
    replicas: int
    template: dict[str, Any]
    revision: int
    created: float
    uid: str
    generation: int = 1
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass
class NodeRec:
    name: str
    status: str  # Ready | NotReady | Unknown
    reason: str | None
    since: float | None
    unschedulable: bool
    uid: str


@dataclass
class ConfigMapRec:
    name: str
    namespace: str
    service: str
    data: dict[str, str]
    uid: str
    created: float


@dataclass
class EventRec:
    name: str
    namespace: str
    at: float
    reason: str
    message: str
    kind: str  # involved object kind
    object_name: str
    type: str = "Normal"
    component: str = "deployment-controller"


def short_hash(*parts: object, n: int = 10) -> str:
    digest = hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()
    return "".join(HASH_ALPHABET[b % len(HASH_ALPHABET)] for b in digest[:n])


def image_of(service: str, version: object) -> str:
    return f"{IMAGE_REGISTRY}/{service}:{version}"


def template_for(service: str, image: str) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": service}},
        "spec": {
            "containers": [{"name": service, "image": image, "imagePullPolicy": "IfNotPresent"}],
            "restartPolicy": "Always",
        },
    }


def normalized(template: dict[str, Any]) -> Any:
    """A pod template without the hash label and empty values, for comparing templates."""
    t = copy.deepcopy(template)
    t.get("metadata", {}).get("labels", {}).pop(HASH_LABEL, None)
    t.get("metadata", {}).pop("creationTimestamp", None)
    return _prune(t)


def _prune(v: Any) -> Any:
    if isinstance(v, dict):
        out = {k: _prune(x) for k, x in v.items()}
        return {k: x for k, x in out.items() if x not in (None, {}, [])}
    if isinstance(v, list):
        return [_prune(x) for x in v]
    return v


def template_image(template: dict[str, Any]) -> str | None:
    containers = template.get("spec", {}).get("containers") or []
    return str(containers[0].get("image")) if containers and containers[0].get("image") else None


class ClusterState:
    """Everything the server serves; guard every read and write with :attr:`lock`."""

    def __init__(self, replay: Replay) -> None:
        self.replay = replay
        self.lock = threading.RLock()
        self._rv = itertools.count(1000)
        self.resource_version = next(self._rv)
        self._uids = itertools.count(1)
        self.deployments: dict[tuple[str, str], DeploymentRec] = {}
        self.replicasets: dict[tuple[str, str], ReplicaSetRec] = {}
        self.pods: dict[tuple[str, str], PodRec] = {}
        self.nodes: dict[str, NodeRec] = {}
        self.config_maps: dict[tuple[str, str], ConfigMapRec] = {}
        self.events: list[EventRec] = []
        self._build()

    # --- helpers --------------------------------------------------------------------------

    def uid(self, *parts: object) -> str:
        h = hashlib.sha256("/".join(str(p) for p in (self.replay.scenario.id, *parts, next(self._uids))).encode())
        x = h.hexdigest()
        return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:32]}"

    def bump(self) -> str:
        self.resource_version = next(self._rv)
        return str(self.resource_version)

    def namespaces(self) -> list[str]:
        names = {s.namespace for s in self.replay.scenario.services} | {"default", "kube-system"}
        return sorted(names)

    def schedulable_nodes(self, exclude: str | None = None) -> list[str]:
        return [
            n.name for n in self.nodes.values()
            if n.status == "Ready" and not n.unschedulable and n.name != exclude
        ]

    def pods_of(self, namespace: str, service: str) -> list[PodRec]:
        return [p for p in self.pods.values() if p.namespace == namespace and p.service == service]

    def replicasets_of(self, namespace: str, service: str) -> list[ReplicaSetRec]:
        return sorted(
            (r for r in self.replicasets.values() if r.namespace == namespace and r.service == service),
            key=lambda r: r.revision,
        )

    def new_pod_name(self, rs: ReplicaSetRec) -> str:
        for i in itertools.count():
            name = f"{rs.service}-{rs.hash}-{short_hash(rs.name, 'pod', i, len(self.pods), n=5)}"
            if (rs.namespace, name) not in self.pods:
                return name
        raise AssertionError("unreachable")

    def add_event(self, namespace: str, at: float, reason: str, message: str, kind: str, name: str,
                  type_: str = "Normal", component: str = "deployment-controller") -> None:
        ev_name = f"{name}.{short_hash(name, reason, at, len(self.events), n=16)}"
        self.events.append(EventRec(ev_name, namespace, at, reason, message, kind, name, type_, component))

    # --- construction ---------------------------------------------------------------------

    def _build(self) -> None:
        sc = self.replay.scenario
        start = float(sc.first_minute)
        for n in sc.nodes:
            status = n.status if n.status in ("Ready", "NotReady", "Unknown") else "Ready"
            self.nodes[n.name] = NodeRec(
                n.name, status, n.reason, n.since, n.status == "SchedulingDisabled", self.uid("node", n.name)
            )
            if status != "Ready":
                self.add_event("default", n.since if n.since is not None else start, "NodeNotReady",
                               f"Node {n.name} status is now: NodeNotReady", "Node", n.name,
                               component="node-controller")
        for p in sc.pods:
            if p.node and p.node not in self.nodes:
                self.nodes[p.node] = NodeRec(p.node, "Ready", None, None, False, self.uid("node", p.node))
        if not self.nodes:
            for i in (1, 2, 3):
                name = f"sandbox-node-{i}"
                self.nodes[name] = NodeRec(name, "Ready", None, None, False, self.uid("node", name))
        for svc in sc.services:
            if svc.kind == "deployment":
                self._build_deployment(svc.name, svc.namespace, svc.replicas, start)
        for p in sc.pods:
            svc_spec = sc.service(p.service)
            if svc_spec is not None and svc_spec.kind != "deployment":  # a StatefulSet's pod (cache, database)
                ns = svc_spec.namespace
                self.pods[(ns, p.name)] = PodRec(
                    p.name, ns, p.service, "", p.node, p.status, p.reason, p.restarts, p.since,
                    p.since if p.since is not None else start, self.uid("pod", p.name),
                )
        for svc in sc.services:
            keys = self._config_of(svc.name)
            if svc.kind == "deployment" or keys:
                cm = f"{svc.name}-config"
                self.config_maps[(svc.namespace, cm)] = ConfigMapRec(
                    cm, svc.namespace, svc.name, keys, self.uid("cm", cm), start
                )
        for ev in sc.events:
            if ev.kind == "scaling" and ev.at <= sc.alert.at:
                ns = self._namespace_of(ev.service)
                rs = self.replicasets_of(ns, ev.service)
                rs_name = rs[-1].name if rs else ev.service
                verb = "up" if (ev.new or 0) >= (ev.old or 0) else "down"  # type: ignore[operator]
                self.add_event(ns, ev.at, "ScalingReplicaSet",
                               f"Scaled {verb} replica set {rs_name} from {ev.old} to {ev.new}",
                               "Deployment", ev.service)

    def _config_of(self, service: str) -> dict[str, str]:
        sc = self.replay.scenario
        out: dict[str, str] = {}
        for ev in sorted(sc.events, key=lambda e: e.at):
            if ev.kind == "config" and ev.service == service and ev.key and ev.at <= sc.alert.at:
                out[ev.key] = ev.attributes().get("new", "")
        return out

    def _namespace_of(self, service: str) -> str:
        s = self.replay.scenario.service(service)
        return s.namespace if s else "default"

    def _build_deployment(self, name: str, ns: str, replicas: int, start: float) -> None:
        sc = self.replay.scenario
        deploys = sorted((e for e in sc.events if e.kind == "deploy" and e.service == name and e.at <= sc.alert.at),
                         key=lambda e: e.at)
        versions: list[tuple[object, float]] = []
        if deploys:
            first = deploys[0]
            versions.append((first.previous if first.previous is not None else DEFAULT_VERSION, start))
            versions.extend((d.version, d.at) for d in deploys)
        else:
            versions.append((DEFAULT_VERSION, start))
        for ev in sorted(sc.events, key=lambda e: e.at):
            if ev.kind == "scaling" and ev.service == name and ev.at <= sc.alert.at and isinstance(ev.new, int):
                replicas = ev.new
        listed = [p for p in sc.pods if p.service == name]
        current_hash = _hash_from_names(name, [p.name for p in listed])
        rs_list: list[ReplicaSetRec] = []
        for i, (version, at) in enumerate(versions, start=1):
            is_current = i == len(versions)
            h = current_hash if (is_current and current_hash) else short_hash(sc.id, name, i, version)
            tpl = template_for(name, image_of(name, version))
            tpl["metadata"]["labels"][HASH_LABEL] = h
            rs = ReplicaSetRec(f"{name}-{h}", ns, name, i, h, tpl, at, self.uid("rs", name, i))
            rs_list.append(rs)
            self.replicasets[(ns, rs.name)] = rs
            if i > 1:
                self.add_event(ns, at, "ScalingReplicaSet", f"Scaled up replica set {rs.name} to {replicas}",
                               "Deployment", name)
        current = rs_list[-1]
        current.replicas = replicas
        dep_tpl = copy.deepcopy(current.template)
        dep_tpl["metadata"]["labels"].pop(HASH_LABEL, None)
        self.deployments[(ns, name)] = DeploymentRec(
            name, ns, replicas, dep_tpl, current.revision, start, self.uid("deploy", name),
            generation=len(versions),
        )
        for p in listed:
            self.pods[(ns, p.name)] = PodRec(
                p.name, ns, name, current.name, p.node, p.status, p.reason, p.restarts, p.since,
                p.since if p.since is not None else start, self.uid("pod", p.name),
            )
            if p.status == "CrashLoopBackOff":
                self.add_event(ns, p.since if p.since is not None else start, "BackOff",
                               "Back-off restarting failed container", "Pod", p.name, "Warning", "kubelet")
        self.fill_replicas(ns, name, start)

    def fill_replicas(self, ns: str, service: str, minute: float, status: str = "Running") -> list[PodRec]:
        """Create Running pods of the current ReplicaSet until the deployment has its replica count."""
        dep = self.deployments[(ns, service)]
        rs = next(r for r in self.replicasets_of(ns, service) if r.revision == dep.revision)
        created = []
        nodes = self.schedulable_nodes() or sorted(self.nodes)
        while len(self.pods_of(ns, service)) < dep.replicas:
            i = len(self.pods_of(ns, service))
            node = nodes[i % len(nodes)] if nodes else None
            name = self.new_pod_name(rs)
            pod = PodRec(name, ns, service, rs.name, node, status if node else "Pending",
                         None if node else "Unschedulable", 0, None, minute, self.uid("pod", name))
            self.pods[(ns, name)] = pod
            created.append(pod)
        rs.replicas = dep.replicas
        return created


def _hash_from_names(service: str, names: list[str]) -> str | None:
    """The pod-template-hash the scenario's pod names carry (``svc-<hash>-<suffix>``), if any."""
    for n in names:
        rest = n[len(service) + 1:] if n.startswith(service + "-") else ""
        parts = rest.split("-")
        if len(parts) == 2 and all(parts):
            return parts[0]
    return None
