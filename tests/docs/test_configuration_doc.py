"""docs/configuration.md is generated from Settings: stale docs fail here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr

from bot.docs_gen import DOCS_FILE, check_configuration, render_configuration, settings_rows
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_configuration_reference_is_up_to_date() -> None:
    problem = check_configuration(DOCS_FILE)
    assert problem is None, f"{problem}\n(run: .venv/bin/aisre docs config)"


def test_every_leaf_setting_has_a_row_with_a_description() -> None:
    rows = {r.env: r for r in settings_rows()}
    assert "AISRE_SLACK__BOT_TOKEN" in rows and "AISRE_PORT" in rows and "AISRE_LLM__MODEL" in rows
    for name, info in Settings.model_fields.items():
        if not isinstance(info.default_factory, type):
            assert f"AISRE_{name.upper()}" in rows
    missing = [r.env for r in rows.values() if not r.description]
    assert not missing, f"settings without a description in bot/settings.py: {missing}"


def test_secrets_are_never_shown() -> None:
    text = render_configuration()
    for secret in ("xoxb-local-emulator", "local-emulator-signing-secret", "local-datadog-webhook-secret",
                   "local-alertmanager-token", "local-intake-token"):
        assert secret not in text
    rows = {r.env: r for r in settings_rows()}
    assert rows["AISRE_SLACK__SIGNING_SECRET"].default == "(secret)"
    assert rows["AISRE_SLACK__APP_TOKEN"].default == "unset"
    assert rows["AISRE_SLACK__MODE"].type == "`http` | `socket`"


def test_nested_groups_and_types() -> None:
    class Inner(BaseModel):
        token: SecretStr = Field(SecretStr("x"), description="A token")
        hosts: list[str] = Field(default_factory=lambda: ["a"], description="Hosts")
        limit: int = Field(3, ge=1, description="Limit")

    class Outer(BaseModel):
        inner: Inner = Field(default_factory=Inner)  # type: ignore[arg-type]
        flag: bool = Field(True, description="A flag")

    rows = {r.env: r for r in settings_rows(Outer)}
    assert rows["AISRE_INNER__TOKEN"].default == "(secret)"
    assert rows["AISRE_INNER__HOSTS"].default == '`["a"]`'
    assert rows["AISRE_INNER__LIMIT"].description == "Limit (≥ 1)"
    assert rows["AISRE_FLAG"].default == "`true`" and rows["AISRE_FLAG"].group == "general"


def test_check_reports_stale_and_missing_files(tmp_path: Path) -> None:
    stale = tmp_path / "configuration.md"
    stale.write_text(render_configuration().replace("AISRE_PORT", "AISRE_PORTX"), encoding="utf-8")
    problem = check_configuration(stale)
    assert problem is not None and "stale" in problem and "aisre docs config" in problem
    problem = check_configuration(tmp_path / "nope.md")
    assert problem is not None and "missing" in problem


def test_cli_writes_then_checks(tmp_path: Path) -> None:
    out = tmp_path / "configuration.md"
    cmd = [sys.executable, "-m", "bot.cli.main", "docs", "config", "--path", str(out)]
    run = subprocess.run(cmd + ["--check"], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 1 and "aisre docs config" in run.stderr
    assert subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT).returncode == 0
    assert out.read_text(encoding="utf-8") == render_configuration()
    run = subprocess.run(cmd + ["--check"], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
