from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

AISRE = str(Path(sys.executable).with_name("aisre"))


def _run(args: list[str], url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AISRE_")}
    env["AISRE_DATABASE_URL"] = url
    return subprocess.run([AISRE, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_db_upgrade_then_current(db_url, tmp_path):
    before = _run(["db", "current"], db_url, tmp_path)
    assert before.returncode == 0, before.stderr
    assert before.stdout.startswith("<none>")
    up = _run(["db", "upgrade"], db_url, tmp_path)
    assert up.returncode == 0, up.stderr
    assert "at revision 0001" in up.stdout
    cur = _run(["db", "current"], db_url, tmp_path)
    assert cur.returncode == 0, cur.stderr
    assert cur.stdout.strip() == "0001 (head)"


@pytest.mark.parametrize(
    "url",
    ["bogus", "postgresql+psycopg://postgres@127.0.0.1:1/nothing"],
    ids=["bad-url", "unreachable"],
)
def test_db_errors_are_one_line(url, tmp_path):
    r = _run(["db", "current"], url, tmp_path)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("aisre: "), r.stderr
    assert "AISRE_DATABASE_URL" in lines[0] or "unavailable" in lines[0]
