"""RBAC and IAM grant exactly what the adapters call: no more, no less.

The needed sets are derived from the adapters' source (see ``privileges.py``); the granted
sets are parsed from deploy/ and from the policy blocks in the docs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from tests.docs.privileges import (
    IAM_FILE,
    ROOT,
    aws_calls,
    iam_granted,
    iam_needed,
    kubernetes_calls,
    kubernetes_needed,
    rbac_granted,
)

DOCS = ROOT / "docs"


def _blocks(path: Path, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)


def _diff(needed: set, granted: set) -> str:
    return f"missing: {sorted(needed - granted)}; not needed: {sorted(granted - needed)}"


def test_the_adapter_scan_finds_the_calls() -> None:
    calls = kubernetes_calls()
    assert "patch_namespaced_deployment" in calls["AppsV1Api"]
    assert "create_namespaced_pod_eviction" in calls["CoreV1Api"]
    assert "failover_db_cluster" in aws_calls()["rds"]


def test_rbac_manifest_grants_exactly_what_the_kubernetes_adapter_calls() -> None:
    needed, granted = kubernetes_needed(), rbac_granted()
    assert ("apps", "deployments/scale", "patch") in needed and ("", "nodes", "patch") in needed
    assert needed == granted, f"deploy/kubernetes/rbac.yaml: {_diff(needed, granted)}"


def test_rbac_in_the_docs_matches_the_manifest(tmp_path: Path) -> None:
    blocks = [b for b in _blocks(DOCS / "connect-kubernetes.md", "yaml") if "kind: ClusterRole" in b]
    assert blocks, "docs/connect-kubernetes.md: expected the ClusterRoles in a ```yaml block"
    doc = tmp_path / "rbac.yaml"
    doc.write_text("\n---\n".join(blocks), encoding="utf-8")
    needed, granted = kubernetes_needed(), rbac_granted(doc)
    assert needed == granted, f"docs/connect-kubernetes.md: {_diff(needed, granted)}"


def test_rbac_is_bound_to_the_bots_service_account() -> None:
    docs = [d for d in yaml.safe_load_all((ROOT / "deploy/kubernetes/rbac.yaml").read_text()) if d]
    roles = {d["metadata"]["name"] for d in docs if d["kind"] == "ClusterRole"}
    bindings = [d for d in docs if d["kind"] in ("ClusterRoleBinding", "RoleBinding")]
    assert {b["roleRef"]["name"] for b in bindings} == roles
    for b in bindings:
        assert b["subjects"] == [{"kind": "ServiceAccount", "name": "aisre", "namespace": "aisre"}]
    node_binding = next(b for b in bindings if b["roleRef"]["name"] == "aisre-nodes")
    assert node_binding["kind"] == "ClusterRoleBinding"  # nodes are cluster-scoped
    workloads = next(b for b in bindings if b["roleRef"]["name"] == "aisre-workloads")
    assert workloads["kind"] == "RoleBinding"  # granted per namespace, never cluster-wide


def test_iam_policy_allows_exactly_what_the_aws_adapter_calls() -> None:
    needed, granted = iam_needed(), iam_granted()
    assert "rds:FailoverDBCluster" in needed and "ssm:SendCommand" in needed
    assert needed == granted, f"deploy/iam-policy.json: {_diff(needed, granted)}"
    for st in json.loads(IAM_FILE.read_text())["Statement"]:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        assert all("*" not in a for a in actions), f"{st['Sid']}: no wildcard actions"


def test_iam_policy_in_the_docs_is_the_file() -> None:
    blocks = [b for b in _blocks(DOCS / "connect-aws.md", "json") if '"Statement"' in b]
    assert len(blocks) == 1, "docs/connect-aws.md: expected the policy in one ```json block"
    assert json.loads(blocks[0]) == json.loads(IAM_FILE.read_text())
