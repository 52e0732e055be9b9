from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.knowledge.conftest import REPO, runbook_text


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("AISRE_KNOWLEDGE__CHROMA_URL", None)
    return subprocess.run([sys.executable, "-m", "bot.cli.main", "runbooks", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=240)


def test_lint_bad_file_prints_precise_line_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "runbooks" / "db-pool.md").write_text(runbook_text(actions="[{name: k8s.restartt}]"))
    r = run(["lint", "runbooks/db-pool.md"], tmp_path)
    assert r.returncode == 1
    assert r.stdout.splitlines() == [
        'runbooks/db-pool.md: front matter: actions[0].name: no action named "k8s.restartt"; '
        'did you mean "k8s.rollout_restart"?'
    ]


def test_lint_good_exits_0_and_index_then_search(tmp_path: Path) -> None:
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "runbooks" / "db-pool.md").write_text(runbook_text())
    assert run(["lint", "runbooks"], tmp_path).returncode == 0
    first = run(["index"], tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("indexed 1, unchanged 0, removed 0")
    second = run(["index"], tmp_path)
    assert second.stdout.startswith("indexed 0, unchanged 1, removed 0")
    s = run(["search", "connection pool timeouts", "--k", "1"], tmp_path)
    assert s.returncode == 0 and "runbooks/db-pool.md" in s.stdout
