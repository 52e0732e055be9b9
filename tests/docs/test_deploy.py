"""The Containerfile, the Kubernetes manifests, the Procfile and the settings agree."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from bot.docs_gen import settings_rows
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "kubernetes"
PORT = Settings().port


def _docs(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((K8S / name).read_text(encoding="utf-8")) if d]


def _one(name: str, kind: str) -> dict[str, Any]:
    (doc,) = [d for d in _docs(name) if d["kind"] == kind]
    return doc


def _served_paths() -> set[str]:
    from bot.web.app import create_web_app

    web = create_web_app(intake=None, metrics=None, readiness=list)  # type: ignore[arg-type]
    return {r.path for r in web.routes}  # type: ignore[attr-defined]


def test_deployment_probes_port_and_command() -> None:
    dep = _one("deployment.yaml", "Deployment")
    pod = dep["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"http": PORT}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert {"/healthz", "/readyz"} <= _served_paths()
    assert c["args"][0] == "serve" and c["args"][c["args"].index("--port") + 1] == str(PORT)
    assert pod["serviceAccountName"] == _one("serviceaccount.yaml", "ServiceAccount")["metadata"]["name"]
    assert pod["initContainers"][0]["args"] == ["db", "upgrade"]
    # readiness checks take up to 10 s in the app: the probe must wait longer
    assert c["readinessProbe"]["timeoutSeconds"] > 10
    assert _one("configmap.yaml", "ConfigMap")["data"]["AISRE_PORT"] == str(PORT)


def test_selectors_and_namespaces_agree() -> None:
    dep = _one("deployment.yaml", "Deployment")
    labels = dep["spec"]["template"]["metadata"]["labels"]
    assert dep["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert _one("service.yaml", "Service")["spec"]["selector"].items() <= labels.items()
    assert _one("pdb.yaml", "PodDisruptionBudget")["spec"]["selector"]["matchLabels"].items() <= labels.items()
    svc_port = _one("service.yaml", "Service")["spec"]["ports"][0]
    assert svc_port["targetPort"] == "http"
    for f in K8S.glob("*.yaml"):
        for d in yaml.safe_load_all(f.read_text(encoding="utf-8")):
            if d and d.get("kind") not in (None, "Namespace", "ClusterRole", "ClusterRoleBinding", "Kustomization",
                                           "RoleBinding"):
                assert d["metadata"]["namespace"] == "aisre", f"{f.name}: {d['kind']} outside the aisre namespace"


def test_kustomization_lists_every_manifest_but_the_secret_example() -> None:
    kust = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "secret.example.yaml"}
    assert set(kust["resources"]) == files


def test_config_and_secret_keys_are_real_settings() -> None:
    rows = {r.env: r for r in settings_rows()}
    config = _one("configmap.yaml", "ConfigMap")["data"]
    secret = _one("secret.example.yaml", "Secret")["stringData"]
    commented = re.findall(r"#\s*(AISRE_[A-Z_]+):", (K8S / "secret.example.yaml").read_text(encoding="utf-8"))
    for key in [*config, *secret, *commented]:
        assert key in rows, f"{key} is not a setting (see docs/configuration.md)"
    for key in config:
        assert rows[key].type.split(" ")[0] != "secret", f"{key} is a secret: put it in the Secret"
    for key in [*secret, *commented]:
        assert rows[key].type.startswith("secret") or key == "AISRE_DATABASE_URL", f"{key} need not be secret"


def test_containerfile_runs_aisre_serve_on_the_port() -> None:
    text = (ROOT / "deploy" / "Containerfile").read_text(encoding="utf-8")
    assert re.search(rf"^EXPOSE {PORT}$", text, re.M)
    assert re.search(r'^ENTRYPOINT \["aisre"\]$', text, re.M)
    cmd = re.search(r"^CMD (\[.*\])$", text, re.M)
    assert cmd is not None
    args = yaml.safe_load(cmd.group(1))
    assert args[0] == "serve" and args[args.index("--port") + 1] == str(PORT)
    assert f"AISRE_PORT={PORT}" in text and "/healthz" in text
    assert re.search(r"^USER \d+$", text, re.M), "the image runs as a non-root uid"
    dep = _one("deployment.yaml", "Deployment")["spec"]["template"]["spec"]
    assert dep["securityContext"]["runAsUser"] == int(re.search(r"^USER (\d+)$", text, re.M).group(1))  # type: ignore[union-attr]


def test_procfile_matches_the_docs() -> None:
    procfile = (ROOT / "Procfile").read_text(encoding="utf-8").strip()
    m = re.fullmatch(r"web: aisre serve --host 0\.0\.0\.0 --port \$\{PORT:-(\d+)\}", procfile)
    assert m and int(m.group(1)) == PORT
    assert procfile.removeprefix("web: ") in (ROOT / "docs" / "install-slack.md").read_text(encoding="utf-8")
