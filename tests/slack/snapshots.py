"""Committed JSON snapshots: ``UPDATE_SNAPSHOTS=1 pytest tests/slack`` rewrites them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

DIR = Path(__file__).parent / "snapshots"


def assert_snapshot(name: str, value: Any) -> None:
    path = DIR / f"{name}.json"
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not path.exists():
        DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if os.environ.get("UPDATE_SNAPSHOTS") != "1":
            raise AssertionError(f"snapshot {path.name} was missing and has been written; run again")
        return
    expected = path.read_text()
    assert text == expected, f"snapshot {path.name} differs; UPDATE_SNAPSHOTS=1 rewrites it after review"
