"""A Kubernetes-compatible API server backed by a scenario replay.

It answers exactly the requests the official ``kubernetes`` Python client (and
so the bot's adapter) sends, in the real shapes: ``/version``, discovery
(``/api``, ``/apis``), core/v1 pods, nodes, events, configmaps and namespaces,
apps/v1 deployments (with the ``scale`` subresource) and replicasets,
policy/v1 evictions; PATCH as strategic-merge, merge or JSON patch; ``dryRun=All``;
label and field selectors of the ``key=value`` forms; errors as ``kind: Status``
bodies (401 Unauthorized, 404 NotFound, 409 Conflict, 415, 422 Invalid, 400 BadRequest).
What writes do to the cluster and the replay is in :mod:`bot.sandbox.kubernetes_writes`.

Point the bot at it (the handle writes the kubeconfig)::

    AISRE_KUBERNETES__ENABLED=true
    AISRE_KUBERNETES__KUBECONFIG=<handle.kubeconfig_path>   # context "aisre-sandbox" is current

``start(replay, token=None, kubeconfig_path=None)`` returns a
:class:`KubernetesSandbox` with ``.url``, ``.token``, ``.kubeconfig_path`` and ``.stop()``.
"""

from __future__ import annotations

import hmac
import json
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.sandbox import kubernetes_objects as obj
from bot.sandbox import kubernetes_writes as writes
from bot.sandbox.kubernetes_patch import apply_patch, match_fields, match_labels
from bot.sandbox.kubernetes_state import ClusterState
from bot.sandbox.kubernetes_writes import ApiError
from bot.sandbox.replay import Replay

Handler = Callable[[Request], Awaitable[Response]]

CORE_RESOURCES = [
    ("pods", "Pod", True, ["get", "list", "delete", "patch"]), ("pods/eviction", "Eviction", True, ["create"]),
    ("nodes", "Node", False, ["get", "list", "patch"]), ("events", "Event", True, ["get", "list"]),
    ("configmaps", "ConfigMap", True, ["get", "list", "patch", "update"]),
    ("namespaces", "Namespace", False, ["get", "list"]),
]
APPS_RESOURCES = [
    ("deployments", "Deployment", True, ["get", "list", "patch", "update"]),
    ("deployments/scale", "Scale", True, ["get", "patch", "update"]),
    ("replicasets", "ReplicaSet", True, ["get", "list"]),
]


def _json(body: dict[str, Any], code: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=code)


def _err(e: ApiError) -> JSONResponse:
    return _json(obj.status_obj(e.code, e.reason, e.message, e.details), e.code)


def not_found(resource: str, name: str, group: str = "") -> ApiError:
    full = f"{resource}.{group}" if group else resource
    return ApiError(404, "NotFound", f'{full} "{name}" not found', {"name": name, "group": group, "kind": resource})


def _dry_run(request: Request) -> bool:
    values = request.query_params.getlist("dryRun")
    for v in values:
        if v != "All":
            raise ApiError(400, "BadRequest", f'dryRun: Unsupported value: "{v}": supported values: "All"')
    return bool(values)


async def _body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw or b"null")
    except ValueError as e:
        raise ApiError(400, "BadRequest", f"the body of the request was in an unknown format: {e}") from None


class KubeApp:
    def __init__(self, state: ClusterState, token: str) -> None:
        self.state = state
        self.token = token

    def _guard(self, fn: Handler) -> Handler:
        async def wrapped(request: Request) -> Response:
            header = request.headers.get("authorization", "")
            given = header[7:] if header.lower().startswith("bearer ") else ""
            if not given or not hmac.compare_digest(given.encode(), self.token.encode()):
                return _json(obj.status_obj(401, "Unauthorized", "Unauthorized"), 401)
            try:
                return await fn(request)
            except ApiError as e:
                return _err(e)
        return wrapped

    def routes(self) -> list[Route]:
        core = "/api/v1"
        apps = "/apis/apps/v1"
        table: list[tuple[str, Handler, list[str]]] = [
            ("/version", self.version, ["GET"]), ("/version/", self.version, ["GET"]),
            ("/api", self.api_versions, ["GET"]), ("/api/", self.api_versions, ["GET"]),
            ("/apis", self.api_groups, ["GET"]), ("/apis/", self.api_groups, ["GET"]),
            (core, self.core_resources, ["GET"]), (apps, self.apps_resources, ["GET"]),
            ("/apis/policy/v1", self.policy_resources, ["GET"]),
            (f"{core}/namespaces", self.list_namespaces, ["GET"]),
            (f"{core}/pods", self.list_pods, ["GET"]),
            (f"{core}/namespaces/{{ns}}/pods", self.list_pods, ["GET"]),
            (f"{core}/namespaces/{{ns}}/pods/{{name}}", self.pod, ["GET", "DELETE"]),
            (f"{core}/namespaces/{{ns}}/pods/{{name}}/eviction", self.evict, ["POST"]),
            (f"{core}/nodes", self.list_nodes, ["GET"]),
            (f"{core}/nodes/{{name}}", self.node, ["GET", "PATCH"]),
            (f"{core}/events", self.list_events, ["GET"]),
            (f"{core}/namespaces/{{ns}}/events", self.list_events, ["GET"]),
            (f"{core}/configmaps", self.list_config_maps, ["GET"]),
            (f"{core}/namespaces/{{ns}}/configmaps", self.list_config_maps, ["GET"]),
            (f"{core}/namespaces/{{ns}}/configmaps/{{name}}", self.config_map, ["GET", "PATCH", "PUT"]),
            (f"{apps}/deployments", self.list_deployments, ["GET"]),
            (f"{apps}/namespaces/{{ns}}/deployments", self.list_deployments, ["GET"]),
            (f"{apps}/namespaces/{{ns}}/deployments/{{name}}", self.deployment, ["GET", "PATCH", "PUT"]),
            (f"{apps}/namespaces/{{ns}}/deployments/{{name}}/scale", self.scale, ["GET", "PATCH", "PUT"]),
            (f"{apps}/replicasets", self.list_replicasets, ["GET"]),
            (f"{apps}/namespaces/{{ns}}/replicasets", self.list_replicasets, ["GET"]),
            (f"{apps}/namespaces/{{ns}}/replicasets/{{name}}", self.replicaset, ["GET"]),
        ]
        return [Route(path, self._guard(fn), methods=methods) for path, fn, methods in table]

    # --- discovery ------------------------------------------------------------------------

    async def version(self, request: Request) -> Response:
        return _json(dict(obj.KUBE_VERSION))

    async def api_versions(self, request: Request) -> Response:
        return _json({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": request.url.netloc}]})

    async def api_groups(self, request: Request) -> Response:
        groups = [{"name": g, "versions": [{"groupVersion": f"{g}/v1", "version": "v1"}],
                   "preferredVersion": {"groupVersion": f"{g}/v1", "version": "v1"}} for g in ("apps", "policy")]
        return _json({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})

    @staticmethod
    def _resource_list(group_version: str, resources: list[tuple[str, str, bool, list[str]]]) -> dict[str, Any]:
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": [
            {"name": n, "singularName": "", "namespaced": ns, "kind": k, "verbs": v} for n, k, ns, v in resources]}

    async def core_resources(self, request: Request) -> Response:
        return _json(self._resource_list("v1", CORE_RESOURCES))

    async def apps_resources(self, request: Request) -> Response:
        return _json(self._resource_list("apps/v1", APPS_RESOURCES))

    async def policy_resources(self, request: Request) -> Response:
        return _json(self._resource_list("policy/v1", [("poddisruptionbudgets", "PodDisruptionBudget", True,
                                                        ["get", "list"])]))

    # --- lists ----------------------------------------------------------------------------

    def _list(self, request: Request, kind: str, api_version: str, items: list[dict[str, Any]]) -> Response:
        labels = request.query_params.get("labelSelector")
        fields = request.query_params.get("fieldSelector")
        try:
            items = [i for i in items if match_labels(i, labels) and match_fields(i, fields)]
        except ValueError as e:
            raise ApiError(400, "BadRequest", f"unable to parse requirement: {e}") from None
        return _json({"kind": kind, "apiVersion": api_version,
                      "metadata": {"resourceVersion": str(self.state.resource_version)}, "items": items})

    async def list_namespaces(self, request: Request) -> Response:
        items = [{"metadata": {"name": n, "uid": n, "creationTimestamp": obj.ts(self.state, -1440)},
                  "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
                 for n in self.state.namespaces()]
        return self._list(request, "NamespaceList", "v1", items)

    async def list_pods(self, request: Request) -> Response:
        ns = request.path_params.get("ns")
        with self.state.lock:
            items = [obj.pod(self.state, p) for p in sorted(self.state.pods.values(), key=lambda p: p.name)
                     if ns is None or p.namespace == ns]
        return self._list(request, "PodList", "v1", items)

    async def list_nodes(self, request: Request) -> Response:
        with self.state.lock:
            items = [obj.node(self.state, n) for n in sorted(self.state.nodes.values(), key=lambda n: n.name)]
        return self._list(request, "NodeList", "v1", items)

    async def list_events(self, request: Request) -> Response:
        ns = request.path_params.get("ns")
        now = self.state.replay.now_minute()
        with self.state.lock:
            evs = sorted((e for e in self.state.events if e.at <= now), key=lambda e: e.at)
            items = [obj.event(self.state, e) for e in evs]
        items = [i for i in items if ns is None or i["metadata"]["namespace"] == ns]
        return self._list(request, "EventList", "v1", items)

    async def list_config_maps(self, request: Request) -> Response:
        ns = request.path_params.get("ns")
        with self.state.lock:
            items = [obj.config_map(self.state, c) for c in self.state.config_maps.values()
                     if ns is None or c.namespace == ns]
        return self._list(request, "ConfigMapList", "v1", items)

    async def list_deployments(self, request: Request) -> Response:
        ns = request.path_params.get("ns")
        with self.state.lock:
            items = [obj.deployment(self.state, d) for d in self.state.deployments.values()
                     if ns is None or d.namespace == ns]
        return self._list(request, "DeploymentList", "apps/v1", items)

    async def list_replicasets(self, request: Request) -> Response:
        ns = request.path_params.get("ns")
        with self.state.lock:
            items = [obj.replicaset(self.state, r) for r in self.state.replicasets.values()
                     if ns is None or r.namespace == ns]
        return self._list(request, "ReplicaSetList", "apps/v1", items)

    # --- single objects -------------------------------------------------------------------

    async def _patched(self, request: Request, current: dict[str, Any]) -> dict[str, Any]:
        body = await _body(request)
        if request.method == "PUT":
            if not isinstance(body, dict):
                raise ApiError(400, "BadRequest", "the body of the request was in an unknown format")
            return body
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            return apply_patch(current, body, ctype)
        except TypeError as e:
            raise ApiError(415, "UnsupportedMediaType", str(e)) from None
        except ValueError as e:
            raise ApiError(400, "BadRequest", f"the server rejected our request due to an error in our request: "
                                              f"{e}") from None

    async def pod(self, request: Request) -> Response:
        ns, name = request.path_params["ns"], request.path_params["name"]
        with self.state.lock:
            p = self.state.pods.get((ns, name))
            if p is None:
                raise not_found("pods", name)
            if request.method == "GET":
                return _json(obj.pod(self.state, p))
            dry = _dry_run(request)
            body = obj.pod(self.state, p)
            writes.delete_pod(self.state, p, dry)
            return _json(body)

    async def evict(self, request: Request) -> Response:
        ns, name = request.path_params["ns"], request.path_params["name"]
        body = await _body(request)
        with self.state.lock:
            p = self.state.pods.get((ns, name))
            if p is None:
                raise not_found("pods", name)
            if not isinstance(body, dict) or body.get("kind") not in (None, "Eviction"):
                raise ApiError(400, "BadRequest", "expected an Eviction object")
            meta_name = (body.get("metadata") or {}).get("name")
            if meta_name not in (None, name):
                raise ApiError(400, "BadRequest", f"name in URL does not match name in Eviction object: {meta_name}")
            dry = _dry_run(request) or bool((body.get("deleteOptions") or {}).get("dryRun"))
            writes.evict(self.state, p, dry)
        return _json(obj.status_obj(201, "", ""), 201)

    async def node(self, request: Request) -> Response:
        name = request.path_params["name"]
        with self.state.lock:
            n = self.state.nodes.get(name)
            if n is None:
                raise not_found("nodes", name)
            current = obj.node(self.state, n)
            if request.method == "GET":
                return _json(current)
            dry = _dry_run(request)
            new = await self._patched(request, current)
            unsched = bool((new.get("spec") or {}).get("unschedulable"))
            if unsched != n.unschedulable:
                writes.set_unschedulable(self.state, name, unsched, dry)
            return _json(new if dry else obj.node(self.state, n))

    async def config_map(self, request: Request) -> Response:
        ns, name = request.path_params["ns"], request.path_params["name"]
        with self.state.lock:
            c = self.state.config_maps.get((ns, name))
            if c is None:
                raise not_found("configmaps", name)
            current = obj.config_map(self.state, c)
            if request.method == "GET":
                return _json(current)
            dry = _dry_run(request)
            new = await self._patched(request, current)
            writes.update_config_map(self.state, c, new, dry)
            return _json(new if dry else obj.config_map(self.state, c))

    async def deployment(self, request: Request) -> Response:
        ns, name = request.path_params["ns"], request.path_params["name"]
        with self.state.lock:
            d = self.state.deployments.get((ns, name))
            if d is None:
                raise not_found("deployments", name, "apps")
            current = obj.deployment(self.state, d)
            if request.method == "GET":
                return _json(current)
            dry = _dry_run(request)
            new = await self._patched(request, current)
            writes.update_deployment(self.state, d, new, dry)
            return _json(new if dry else obj.deployment(self.state, d))

    async def scale(self, request: Request) -> Response:
        ns, name = request.path_params["ns"], request.path_params["name"]
        with self.state.lock:
            d = self.state.deployments.get((ns, name))
            if d is None:
                raise not_found("deployments", name, "apps")
            current = obj.scale(self.state, d)
            if request.method == "GET":
                return _json(current)
            dry = _dry_run(request)
            new = await self._patched(request, current)
            writes.scale(self.state, d, (new.get("spec") or {}).get("replicas"), dry)
            return _json(new if dry else obj.scale(self.state, d))

    async def replicaset(self, request: Request) -> Response:
        ns, name = request.path_params["ns"], request.path_params["name"]
        with self.state.lock:
            r = self.state.replicasets.get((ns, name))
            if r is None:
                raise not_found("replicasets", name, "apps")
            return _json(obj.replicaset(self.state, r))


def create_app(replay: Replay, token: str) -> tuple[Starlette, ClusterState]:
    state = ClusterState(replay)
    app = KubeApp(state, token)

    async def missing(request: Request, exc: Exception) -> Response:
        path = request.url.path
        return _json(obj.status_obj(404, "NotFound", f"the server could not find the requested resource ({path})"),
                     404)

    async def method_not_allowed(request: Request, exc: Exception) -> Response:
        return _json(obj.status_obj(405, "MethodNotAllowed",
                                    "the server does not allow this method on the requested resource"), 405)

    return Starlette(routes=app.routes(), exception_handlers={404: missing, 405: method_not_allowed}), state


def write_kubeconfig(path: Path, url: str, token: str, namespace: str = "default") -> Path:
    cfg = {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": "aisre-sandbox", "cluster": {"server": url}}],
        "users": [{"name": "aisre-sandbox", "user": {"token": token}}],
        "contexts": [{"name": "aisre-sandbox",
                      "context": {"cluster": "aisre-sandbox", "user": "aisre-sandbox", "namespace": namespace}}],
        "current-context": "aisre-sandbox",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(cfg, indent=2))  # JSON is YAML; every kubeconfig loader reads it
    path.chmod(0o600)
    return path


@dataclass
class KubernetesSandbox:
    url: str
    token: str
    kubeconfig_path: Path
    state: ClusterState
    context: str
    _server: uvicorn.Server
    _thread: threading.Thread
    _owned_dir: Path | None = None  # the temporary directory start() made for the kubeconfig

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        if self._owned_dir is not None:
            shutil.rmtree(self._owned_dir, ignore_errors=True)


def serve_in_thread(app: Any, name: str, host: str = "127.0.0.1", port: int = 0) -> tuple[uvicorn.Server,
                                                                                          threading.Thread, int]:
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"{name}: uvicorn did not start on {host}:{port}")
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, int(bound)


def start(replay: Replay, *, token: str | None = None, kubeconfig_path: Path | str | None = None,
          host: str = "127.0.0.1", port: int = 0) -> KubernetesSandbox:
    """Serve the replay's cluster on loopback; write a kubeconfig pointing at it."""
    token = token or secrets.token_urlsafe(24)
    app, state = create_app(replay, token)
    server, thread, bound = serve_in_thread(app, "aisre-sandbox-kubernetes", host, port)
    url = f"http://{host}:{bound}"
    owned = None
    if kubeconfig_path is None:
        owned = Path(tempfile.mkdtemp(prefix="aisre-sbx-kube-"))
        kubeconfig_path = owned / "kubeconfig"
    namespace = next((s.namespace for s in replay.scenario.services if s.kind == "deployment"), "default")
    path = write_kubeconfig(Path(kubeconfig_path), url, token, namespace)
    print(f"sandbox kubernetes API at {url} (kubeconfig {path})", file=sys.stderr)
    return KubernetesSandbox(url, token, path, state, "aisre-sandbox", server, thread, owned)
