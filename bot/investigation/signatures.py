"""Matching log messages against the skills' signature lexicons (pure)."""

from __future__ import annotations

import re
from typing import Any

from bot.investigation.skills import Signature

_SPACE = re.compile(r"\s+")


def normalise(message: str) -> str:
    return _SPACE.sub(" ", message.lower())


def match(message: str, level: str, lexicon: list[Signature]) -> list[dict[str, Any]]:
    """Categories a message points at: [{category, weight, phrase}], strongest first, one per category."""
    text = normalise(message)
    lvl = level.lower()
    best: dict[str, dict[str, Any]] = {}
    for sig in lexicon:
        if sig.levels and lvl not in sig.levels:
            continue
        for phrase in sig.phrases:
            if phrase in text:
                cur = best.get(sig.category)
                if cur is None or sig.weight > cur["weight"]:
                    best[sig.category] = {"category": sig.category, "weight": sig.weight, "phrase": phrase}
                break
    return sorted(best.values(), key=lambda d: (-d["weight"], d["category"]))
