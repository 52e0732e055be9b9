"""What the adapters actually call, derived from their source; what deploy/ grants, parsed from its files.

- Kubernetes: every ``self.<api>.<method>`` in ``bot/integrations/kubernetes.py`` where
  ``self.<api> = client.<X>Api(...)``; the method's ``*_with_http_info`` source in the
  official client names the HTTP path and verb, which give the RBAC rule
  (``PATCH /apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale`` ->
  ``apps``, ``deployments/scale``, ``patch``).
- AWS: every ``self.<client>.<operation>`` in ``bot/integrations/aws.py`` where
  ``self.<client>`` is assigned from ``make_client(settings, "<service>")``; botocore's
  service model turns the snake-case name into the API operation (``describe_db_clusters``
  -> ``rds:DescribeDBClusters``).
"""

from __future__ import annotations

import ast
import inspect
import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S_ADAPTER = ROOT / "bot" / "integrations" / "kubernetes.py"
AWS_ADAPTER = ROOT / "bot" / "integrations" / "aws.py"
RBAC_FILE = ROOT / "deploy" / "kubernetes" / "rbac.yaml"
IAM_FILE = ROOT / "deploy" / "iam-policy.json"

# (group, resource, verb) for resources; ("nonresource", path, verb) for paths like /version/.
Rule = tuple[str, str, str]

# IAM service prefix when it differs from boto3's client name.
IAM_PREFIX = {"cloudwatch": "cloudwatch"}
# Calls AWS answers for any principal: no statement needed (and none can deny them).
NO_PERMISSION_NEEDED = {"sts:GetCallerIdentity"}


def _self_attr(node: ast.AST) -> str | None:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
        return node.attr
    return None


def _used_methods(tree: ast.AST, clients: dict[str, str]) -> dict[str, set[str]]:
    """client attribute's kind -> method names used as ``self.<attr>.<method>``."""
    out: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            attr = _self_attr(node.value)
            if attr in clients:
                out.setdefault(clients[attr], set()).add(node.attr)
    return out


def kubernetes_calls(source: Path = K8S_ADAPTER) -> dict[str, set[str]]:
    """``"AppsV1Api" -> {"list_namespaced_deployment", ...}`` from the adapter's source."""
    tree = ast.parse(source.read_text(encoding="utf-8"))
    apis: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            fn = node.value.func
            if isinstance(fn, ast.Attribute) and fn.attr.endswith("Api"):
                for t in node.targets:
                    attr = _self_attr(t)
                    if attr:
                        apis[attr] = fn.attr
    return _used_methods(tree, apis)


_PATH_CALL = re.compile(r"'(/[^']*)',\s*'([A-Z]+)'")


def rbac_rule(api: str, method: str) -> Rule:
    """The RBAC rule one client method needs, read from the client's own request path."""
    from kubernetes import client

    cls = getattr(client, api)
    src = inspect.getsource(getattr(cls, f"{method}_with_http_info"))
    found = _PATH_CALL.findall(src)
    if len(found) != 1:
        raise AssertionError(f"{api}.{method}: cannot read its request path from the kubernetes client")
    path, http = found[0]
    m = re.fullmatch(r"/apis?/(?:(?P<group>[^/{}]+)/)?v[0-9a-z]+(?:/namespaces/\{namespace\})?"
                     r"/(?P<resource>[a-z]+)(?P<name>/\{name\})?(?P<sub>/[a-z]+)?", path)
    if m is None:
        return ("nonresource", path, {"GET": "get", "POST": "post"}[http])
    group = "" if path.startswith("/api/") else m.group("group")
    resource = m.group("resource") + (m.group("sub") or "")
    named = m.group("name") is not None
    verb = {
        "GET": "get" if named else "list", "POST": "create", "PATCH": "patch", "PUT": "update",
        "DELETE": "delete" if named else "deletecollection",
    }[http]
    return (group, resource, verb)


def kubernetes_needed() -> set[Rule]:
    return {rbac_rule(api, m) for api, methods in kubernetes_calls().items() for m in methods}


def rbac_granted(path: Path = RBAC_FILE) -> set[Rule]:
    """Every (group, resource, verb) the ClusterRoles / Roles in ``path`` grant."""
    out: set[Rule] = set()
    for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
        if not doc or doc.get("kind") not in ("ClusterRole", "Role"):
            continue
        for rule in doc.get("rules", []):
            verbs = rule["verbs"]
            if "nonResourceURLs" in rule:
                out |= {("nonresource", u, v) for u in rule["nonResourceURLs"] for v in verbs}
                continue
            out |= {(g, r, v) for g in rule["apiGroups"] for r in rule["resources"] for v in verbs}
    return out


def aws_calls(source: Path = AWS_ADAPTER) -> dict[str, set[str]]:
    """``"rds" -> {"describe_db_clusters", ...}`` from the adapter's source."""
    tree = ast.parse(source.read_text(encoding="utf-8"))
    clients: dict[str, str] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assign):
            continue
        for call in ast.walk(node.value):
            if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "make_client"
                    and len(call.args) >= 2 and isinstance(call.args[1], ast.Constant)):
                for t in node.targets:
                    attr = _self_attr(t)
                    if attr:
                        clients[attr] = str(call.args[1].value)
    return _used_methods(tree, clients)


def iam_needed() -> set[str]:
    """IAM actions (``rds:FailoverDBCluster``) for every boto3 operation the adapter uses."""
    import botocore.session
    from botocore import xform_name

    session = botocore.session.get_session()
    out: set[str] = set()
    for service, methods in aws_calls().items():
        model = session.get_service_model(service)
        ops = {xform_name(op): op for op in model.operation_names}
        prefix = IAM_PREFIX.get(service, model.endpoint_prefix)
        for m in methods:
            if m in ops:
                out.add(f"{prefix}:{ops[m]}")
            elif m not in ("meta", "close", "exceptions"):
                raise AssertionError(f"bot/integrations/aws.py: {service}.{m} is not a {service} operation")
    return out - NO_PERMISSION_NEEDED


def iam_granted(path: Path = IAM_FILE) -> set[str]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for st in doc["Statement"]:
        assert st["Effect"] == "Allow", f"{path}: only Allow statements are expected"
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        out |= set(actions)
    return out
