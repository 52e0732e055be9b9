"""The drill through the sandbox servers and the real adapters (one scenario; the eval covers the rest)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from bot.cli.main import _register, app

from .conftest import EXAMPLES


def test_aisre_drill_json_through_the_servers() -> None:
    _register()
    r = CliRunner().invoke(app, ["drill", str(EXAMPLES / "deploy-regression.yaml"), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout[r.stdout.index("{"):])
    assert out["hypotheses"][0]["category"] == "deploy_regression"
    assert out["hypotheses"][0]["culprit"] == "ev-2"
    assert out["mitigation"]["kind"] == "rollback" and out["mitigation"]["target"] == "label-svc"
    sources = {e["source"] for e in out["evidence"]}
    assert {"datadog.metrics", "datadog.logs", "datadog.events", "kubernetes.pods"} <= sources


def test_aisre_eval_ends_with_the_summary_line() -> None:
    _register()
    r = CliRunner().invoke(app, ["eval", str(EXAMPLES), "--direct"])
    assert r.exit_code == 0, r.output
    last = r.stdout.strip().splitlines()[-1]
    assert last.startswith("top1=") and "scenarios=15 failed_to_load=0" in last
