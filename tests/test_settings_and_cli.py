"""Settings: safe defaults, one clear line per bad setting, no traceback; the CLI lists its commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError, load_settings

AISRE = str(Path(sys.executable).with_name("aisre"))


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AISRE_")}
    return subprocess.run([AISRE, *args], capture_output=True, text=True, timeout=60, env={**clean, **(env or {})})


def test_defaults_run_the_demo_with_no_credentials() -> None:
    s = Settings()
    assert s.database_url.startswith("sqlite:///")
    assert s.slack.api_url.startswith("http://127.0.0.1")
    assert s.llm.api_key is None and not s.datadog.enabled


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"AISRE_DATABASE_URL": "mysql://x"}, "AISRE_DATABASE_URL='mysql://x': Value error, expected a sqlite or postgresql URL"),
        ({"AISRE_DATABASE_URL": "::::"}, "AISRE_DATABASE_URL='::::'"),
        ({"AISRE_LOG_LEVEL": "LOUD"}, "AISRE_LOG_LEVEL='LOUD': Input should be 'DEBUG', 'INFO', 'WARNING', 'ERROR' or 'CRITICAL'"),
        ({"AISRE_PORT": "seventy"}, "AISRE_PORT='seventy'"),
        ({"AISRE_SCHEDULER__DIGEST_TIMEZONE": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
    ],
)
def test_a_bad_setting_stops_start_up_with_one_line(env: dict[str, str], needle: str) -> None:
    out = run("serve", env=env)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], out.stderr
    assert "Traceback" not in out.stderr


def test_secrets_are_hidden_in_setting_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AISRE_SLACK__MAX_RETRIES", "99")
    with pytest.raises(SettingsError) as e:
        load_settings()
    assert str(e.value).startswith("AISRE_SLACK__MAX_RETRIES=") and "less than or equal to 10" in str(e.value)


def test_help_lists_the_commands() -> None:
    out = run("--help")
    assert out.returncode == 0
    for cmd in ("serve", "demo", "drill", "eval", "scenario", "runbooks", "sandbox", "db", "heartbeats", "docs"):
        assert f" {cmd} " in out.stdout, cmd


def test_unknown_command_is_a_usage_error_not_a_traceback() -> None:
    out = run("explode")
    assert out.returncode == 2 and "No such command" in out.stderr and "Traceback" not in out.stderr


def test_a_bad_skill_file_stops_start_up_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.investigation import skills
    from bot.wiring.bot import build_bot

    bad = tmp_path / "skills"
    bad.mkdir()
    (bad / "broken.yaml").write_text("name: broken\ngather:\n  - {signal: telepathy}\n")
    monkeypatch.setattr(skills, "DEFAULT_DIR", bad)
    monkeypatch.setattr(skills, "_CACHE", {})
    settings = Settings.model_validate({"database_url": f"sqlite:///{tmp_path / 'bot.db'}", "data_dir": str(tmp_path)})
    bot = build_bot(settings)
    try:
        with pytest.raises(skills.SkillError) as e:
            bot.start()
        assert e.value.problems[0].startswith("broken.yaml: gather[0].signal:"), e.value.problems
    finally:
        bot.stop()
