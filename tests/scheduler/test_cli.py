"""``aisre heartbeats check FILE``."""

from __future__ import annotations

from typer.testing import CliRunner

from bot.cli.heartbeats import app


def test_check_reports_problems_and_exits_1(tmp_path):
    f = tmp_path / "heartbeats.yaml"
    f.write_text("checks:\n  - {name: a, kind: http, url: 'http://x/', interval: soon}\n")
    r = CliRunner().invoke(app, [str(f)])
    assert r.exit_code == 1
    assert r.output.strip() == f'{f}: checks[0].interval: expected a duration like 30s, 5m or 1h, got "soon"'


def test_check_summarises_a_valid_file(tmp_path):
    f = tmp_path / "heartbeats.yaml"
    f.write_text("checks:\n  - {name: a, kind: disk, path: /, above: 90, interval: 30s, for: 1m}\n")
    r = CliRunner().invoke(app, [str(f)])
    assert r.exit_code == 0 and "a: disk every 30s, breach after 3 failing checks (for 60s)" in r.output
