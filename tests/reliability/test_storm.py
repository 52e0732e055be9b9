"""The alert storm at its reduced size: no alert lost, one incident per group.

Runs ``benchmarks/storm.py --quick`` as a separate process (it starts its own load process,
the Slack emulator and the real bot) and reads its last line. Correctness only: the
timings it prints are not asserted (speed lives in ``benchmarks/``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _storm(*extra: str) -> dict[str, str]:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "storm.py"), "--quick", "--no-knowledge", *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
    )
    lines = proc.stdout.strip().splitlines()
    assert lines, f"storm printed nothing (rc {proc.returncode}):\n{proc.stderr[-3000:]}"
    figures = dict(part.split("=", 1) for part in lines[-1].split())
    assert set(figures) == {"alerts_sent", "alerts_lost", "incidents_expected", "incidents_made", "ack_p99_ms",
                            "rss_mb"}, lines[-1]
    return figures | {"_rc": str(proc.returncode), "_stderr": proc.stderr[-3000:]}


def _check(figures: dict[str, str]) -> None:
    detail = f"{figures}"
    assert int(figures["alerts_sent"]) > 0, detail
    assert int(figures["alerts_lost"]) == 0, detail
    assert int(figures["incidents_expected"]) > 1, detail
    assert int(figures["incidents_made"]) == int(figures["incidents_expected"]), detail
    assert figures["_rc"] == "0", detail


def test_storm_quick_sqlite() -> None:
    _check(_storm())


@pytest.mark.postgres
def test_storm_quick_postgres() -> None:
    from tests.conftest import _pg_server_url

    _check(_storm("--postgres", _pg_server_url()))
