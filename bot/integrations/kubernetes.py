"""The Kubernetes adapter: :class:`~bot.integrations.interfaces.KubernetesCluster` over the official client.

Built from ``settings.kubernetes``: a kubeconfig path (and optional context), or
the in-cluster service account when no path is set. Every call carries the
configured request timeout. Vendor errors become :mod:`bot.integrations.errors`:
401/403 → IntegrationAuthError, 404 → IntegrationNotFound, 400/409/422 →
IntegrationRejected, 5xx / connection / timeout → IntegrationUnavailable; the
message is the API's ``Status.message``.

Writes do what kubectl does: ``rollout restart`` patches the pod template's
``kubectl.kubernetes.io/restartedAt`` annotation; ``rollout undo`` reads the
target ReplicaSet's pod template and JSON-patches the deployment's
``/spec/template`` (and annotations) to it, with ``dryRun=All`` on a dry run;
``scale`` patches the scale subresource; ``cordon`` patches
``spec.unschedulable``; ``evict`` posts a policy/v1 Eviction.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from bot.integrations.errors import (
    IntegrationAuthError,
    IntegrationError,
    IntegrationNotFound,
    IntegrationRejected,
    IntegrationUnavailable,
)
from bot.integrations.types import (
    ChangeEvent,
    ChangeKind,
    DeploymentStatus,
    HealthStatus,
    NodeStatus,
    PodStatus,
    RolloutRevision,
)
from bot.settings import KubernetesSettings

NAME = "kubernetes"
REVISION = "deployment.kubernetes.io/revision"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
HASH_LABEL = "pod-template-hash"
# annotations kubectl keeps from the deployment rather than copying from the ReplicaSet
SKIP_ANNOTATIONS = {
    "kubectl.kubernetes.io/last-applied-configuration", REVISION, "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas", "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
}
SCALING_REASONS = {"ScalingReplicaSet", "SuccessfulRescale"}
WAITING_AS_PHASE = {"CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError"}
T = TypeVar("T")


def translate(e: Exception) -> IntegrationError:
    if isinstance(e, ApiException):
        message = _status_message(e)
        if e.status in (401, 403):
            return IntegrationAuthError(NAME, f"{e.status} {message}")
        if e.status == 404:
            return IntegrationNotFound(NAME, message)
        if e.status in (400, 409, 415, 422):
            return IntegrationRejected(NAME, f"{e.status} {message}")
        return IntegrationUnavailable(NAME, f"{e.status or 'no answer'} {message}")
    return IntegrationUnavailable(NAME, f"API server did not answer: {type(e).__name__}: {e}")


def _status_message(e: ApiException) -> str:
    import json

    try:
        body = json.loads(e.body or "")
        if isinstance(body, dict) and body.get("message"):
            return str(body["message"])
    except (ValueError, TypeError):
        pass
    return str(e.reason or "error")


def build_api_client(settings: KubernetesSettings) -> client.ApiClient:
    cfg = client.Configuration()
    try:
        if settings.kubeconfig is not None:
            config.load_kube_config(config_file=str(settings.kubeconfig), context=settings.context,
                                    client_configuration=cfg, persist_config=False)
        else:
            config.load_incluster_config(client_configuration=cfg)
    except (ConfigException, OSError, TypeError, ValueError) as e:
        where = f"kubeconfig {settings.kubeconfig}" if settings.kubeconfig else "in-cluster service account"
        raise IntegrationUnavailable(
            NAME, f"cannot load {where} (AISRE_KUBERNETES__KUBECONFIG / __CONTEXT): {e}"
        ) from None
    cfg.retries = urllib3.Retry(total=1, connect=1, read=0, redirect=0, status=0)
    return client.ApiClient(cfg)


class KubernetesAdapter:
    """One cluster; ``name`` is ``"kubernetes"``."""

    name = NAME

    def __init__(self, settings: KubernetesSettings, *, api_client: client.ApiClient | None = None) -> None:
        self.settings = settings
        self.timeout = settings.timeout_s
        self.api = api_client or build_api_client(settings)
        self.core = client.CoreV1Api(self.api)
        self.apps = client.AppsV1Api(self.api)
        self.policy = client.PolicyV1Api(self.api)
        self.version_api = client.VersionApi(self.api)

    @classmethod
    def from_settings(cls, settings: KubernetesSettings) -> KubernetesAdapter:
        return cls(settings)

    def close(self) -> None:
        self.api.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except ApiException as e:
            raise translate(e) from None
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise translate(e) from None

    def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self._errors():
            return fn(*args, _request_timeout=self.timeout, **kwargs)

    # --- reads ----------------------------------------------------------------------------

    def deployments(self, namespace: str) -> list[DeploymentStatus]:
        items = self._call(self.apps.list_namespaced_deployment, namespace).items
        out = []
        for d in items:
            annotations = d.metadata.annotations or {}
            containers = d.spec.template.spec.containers or []
            out.append(DeploymentStatus(
                name=d.metadata.name, namespace=d.metadata.namespace, replicas=d.spec.replicas or 0,
                ready_replicas=(d.status.ready_replicas or 0) if d.status else 0,
                revision=_int(annotations.get(REVISION)), image=containers[0].image if containers else None,
            ))
        return sorted(out, key=lambda d: d.name)

    def _replicasets(self, namespace: str, deployment: str) -> tuple[Any, list[Any]]:
        dep = self._call(self.apps.read_namespaced_deployment, deployment, namespace)
        labels = (dep.spec.selector.match_labels or {}) if dep.spec.selector else {}
        selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or None
        rs_items = self._call(self.apps.list_namespaced_replica_set, namespace, label_selector=selector).items
        owned = [r for r in rs_items if any(o.uid == dep.metadata.uid and o.kind == "Deployment"
                                            for o in (r.metadata.owner_references or []))]
        return dep, sorted(owned, key=lambda r: _int((r.metadata.annotations or {}).get(REVISION)))

    def rollout_history(self, namespace: str, deployment: str) -> list[RolloutRevision]:
        _, owned = self._replicasets(namespace, deployment)
        out = []
        for r in owned:
            containers = r.spec.template.spec.containers or []
            out.append(RolloutRevision(
                revision=_int((r.metadata.annotations or {}).get(REVISION)), replicaset=r.metadata.name,
                image=containers[0].image if containers else None, created=_utc(r.metadata.creation_timestamp),
            ))
        return out

    def pods(self, namespace: str, service: str | None = None) -> list[PodStatus]:
        selector = f"app={service}" if service else None
        items = self._call(self.core.list_namespaced_pod, namespace, label_selector=selector).items
        return sorted((pod_status(p, service) for p in items), key=lambda p: p.name)

    def nodes(self) -> list[NodeStatus]:
        items = self._call(self.core.list_node).items
        return sorted((node_status(n) for n in items), key=lambda n: n.name)

    def events(self, namespace: str, since: datetime) -> list[ChangeEvent]:
        items = self._call(self.core.list_namespaced_event, namespace).items
        out = []
        for e in items:
            at = _utc(e.last_timestamp or e.event_time or e.first_timestamp or e.metadata.creation_timestamp)
            if at is None or at < since:
                continue
            obj = e.involved_object
            kind: ChangeKind = "scaling" if e.reason in SCALING_REASONS else "other"
            out.append(ChangeEvent(
                id=e.metadata.uid or e.metadata.name, kind=kind, at=at, service=_service_of(obj.kind, obj.name),
                title=f"{e.reason}: {e.message}",
                attributes={"reason": e.reason or "", "type": e.type or "", "object": f"{obj.kind}/{obj.name}",
                            "message": e.message or "", "count": str(e.count or 1)},
            ))
        return sorted(out, key=lambda c: c.at)

    def config_map(self, namespace: str, name: str) -> dict[str, str]:
        cm = self._call(self.core.read_namespaced_config_map, name, namespace)
        return dict(cm.data or {})

    # --- writes ---------------------------------------------------------------------------

    def rollout_restart(self, namespace: str, deployment: str) -> None:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}}
        self._call(self.apps.patch_namespaced_deployment, deployment, namespace, body)

    def rollout_undo(self, namespace: str, deployment: str, to_revision: int, dry_run: bool = False) -> None:
        dep, owned = self._replicasets(namespace, deployment)
        current = _int((dep.metadata.annotations or {}).get(REVISION))
        by_rev = {_int((r.metadata.annotations or {}).get(REVISION)): r for r in owned}
        if to_revision == 0:
            earlier = [rev for rev in by_rev if rev < current]
            if not earlier:
                raise IntegrationRejected(NAME, f"deployment {namespace}/{deployment}: no rollout history to undo")
            to_revision = max(earlier)
        target = by_rev.get(to_revision)
        if target is None:
            raise IntegrationNotFound(
                NAME, f"deployment {namespace}/{deployment}: unable to find specified revision {to_revision} in history"
            )
        template = self.api.sanitize_for_serialization(target.spec.template)
        template = copy.deepcopy(template)
        (template.get("metadata") or {}).get("labels", {}).pop(HASH_LABEL, None)
        if to_revision == current:
            raise IntegrationRejected(
                NAME, f"deployment {namespace}/{deployment}: revision {to_revision} is already the current one"
            )
        annotations = {k: v for k, v in (dep.metadata.annotations or {}).items() if k in SKIP_ANNOTATIONS}
        annotations.update({k: v for k, v in (target.metadata.annotations or {}).items() if k not in SKIP_ANNOTATIONS})
        patch = [
            {"op": "replace", "path": "/spec/template", "value": template},
            {"op": "replace", "path": "/metadata/annotations", "value": annotations},
        ]
        kwargs: dict[str, Any] = {"dry_run": "All"} if dry_run else {}
        self._call(self.apps.patch_namespaced_deployment, deployment, namespace, patch, **kwargs)

    def scale(self, namespace: str, deployment: str, replicas: int) -> None:
        self._call(self.apps.patch_namespaced_deployment_scale, deployment, namespace, {"spec": {"replicas": replicas}})

    def cordon(self, node: str, unschedulable: bool = True) -> None:
        self._call(self.core.patch_node, node, {"spec": {"unschedulable": True if unschedulable else None}})

    def evict(self, namespace: str, pod: str) -> None:
        body = client.V1Eviction(
            api_version="policy/v1", kind="Eviction", metadata=client.V1ObjectMeta(name=pod, namespace=namespace)
        )
        self._call(self.core.create_namespaced_pod_eviction, pod, namespace, body)

    def patch_config_map(self, namespace: str, name: str, data: dict[str, str]) -> None:
        self._call(self.core.patch_namespaced_config_map, name, namespace, {"data": dict(data)})

    def health(self) -> HealthStatus:
        try:
            info = self._call(self.version_api.get_code)
        except IntegrationError as e:
            return HealthStatus(NAME, False, e.message)
        return HealthStatus(NAME, True, f"Kubernetes {info.git_version}")


def pod_status(p: Any, service: str | None = None) -> PodStatus:
    """kubectl's STATUS column and the reason behind it, from a V1Pod."""
    st = p.status
    phase = (st.phase if st else None) or "Unknown"
    reason: str | None = (st.reason if st else None) or None
    restarts = 0
    for cs in (st.container_statuses or []) if st else []:
        restarts += cs.restart_count or 0
        state, last = cs.state, cs.last_state
        if state and state.waiting and state.waiting.reason in WAITING_AS_PHASE:
            phase = state.waiting.reason
        elif state and state.terminated:
            phase = "Error"
            reason = reason or state.terminated.reason
        if last and last.terminated and last.terminated.reason:
            reason = last.terminated.reason if reason in (None, "Error") else reason
    if phase == "Pending" and st:
        cond = next((c for c in st.conditions or [] if c.type == "PodScheduled" and c.status == "False"), None)
        reason = reason or (cond.reason if cond else None)
    if p.metadata.deletion_timestamp is not None:
        phase = "Terminating"
    ready = next((c for c in (st.conditions or []) if c.type == "Ready"), None) if st else None
    since = _utc(ready.last_transition_time) if ready and ready.last_transition_time else _utc(
        st.start_time if st else None)
    labels = p.metadata.labels or {}
    return PodStatus(
        name=p.metadata.name, service=labels.get("app") or service or "", namespace=p.metadata.namespace,
        node=p.spec.node_name if p.spec else None, phase=phase, reason=reason, restarts=restarts, since=since,
    )


def node_status(n: Any) -> NodeStatus:
    ready = next((c for c in (n.status.conditions or []) if c.type == "Ready"), None) if n.status else None
    status = ready.status if ready else "Unknown"
    return NodeStatus(
        name=n.metadata.name, ready=status, status="Ready" if status == "True" else "NotReady",
        reason=ready.reason if ready else None, since=_utc(ready.last_transition_time) if ready else None,
        unschedulable=bool(n.spec.unschedulable) if n.spec else False,
    )


def _service_of(kind: str | None, name: str | None) -> str:
    name = name or ""
    parts = name.split("-")
    if kind == "ReplicaSet" and len(parts) > 1:
        return "-".join(parts[:-1])
    if kind == "Pod" and len(parts) > 2:
        return "-".join(parts[:-2])
    return name


def _int(v: Any) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return 0


def _utc(v: Any) -> datetime | None:
    if not isinstance(v, datetime):
        return None
    return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)
