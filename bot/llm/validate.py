"""Enforcement of what the model says: citations exist, figures are in the cited evidence.

A hypothesis that fails is dropped, and the drop is returned (and logged to the
``bot.llm.audit`` logger) with the reason, for the audit trail.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.investigation.evidence import CATEGORIES, Hypothesis
from bot.investigation.reasoner.candidate import MITIGATION
from bot.llm.figures import unsupported

audit = logging.getLogger("bot.llm.audit")


@dataclass(frozen=True)
class Dropped:
    claim: dict[str, Any]
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"claim": self.claim, "reason": self.reason}


class Malformed(Exception):
    """The submission as a whole does not have the schema's shape."""


def check_claim(text: str, cited: list[str], rendered: Mapping[str, str]) -> str | None:
    """Why ``text`` citing ``cited`` is not acceptable, or None."""
    if not cited:
        return "cites no evidence"
    missing = [c for c in cited if c not in rendered]
    if missing:
        return f"cites evidence that does not exist: {', '.join(missing)}"
    bad = unsupported(text, [rendered[c] for c in cited])
    if bad:
        return f"states figures not in the cited evidence: {', '.join(bad)}"
    return None


def parse_submission(payload: Any, rendered: Mapping[str, str],
                     known_names: set[str] | None = None) -> tuple[list[Hypothesis], list[Dropped], str]:
    """The accepted hypotheses, the dropped ones and the summary. Raises :class:`Malformed`."""
    if not isinstance(payload, dict) or not isinstance(payload.get("hypotheses"), list):
        raise Malformed("submit_hypotheses: expected an object with a 'hypotheses' list")
    summary = str(payload["summary"]) if isinstance(payload.get("summary"), str) else ""
    accepted: list[Hypothesis] = []
    dropped: list[Dropped] = []
    for raw in payload["hypotheses"]:
        reason = _shape(raw)
        if reason is None:
            assert isinstance(raw, dict)
            cited = [str(c) for c in raw["evidence"]]
            reason = check_claim(str(raw.get("explanation", "")), cited, rendered)
            culprit = raw.get("culprit")
            if reason is None and culprit and not any(str(culprit) in rendered[c] for c in cited) \
                    and str(culprit) not in (known_names or set()):
                reason = f"culprit {culprit!r} appears in none of the cited evidence"
        if reason is not None:
            d = Dropped(raw if isinstance(raw, dict) else {"value": raw}, reason)
            audit.warning("llm hypothesis dropped: %s: %s", reason, d.claim)
            dropped.append(d)
            continue
        assert isinstance(raw, dict)
        accepted.append(Hypothesis(
            category=raw["category"], culprit=raw.get("culprit"), confidence=max(0.0, min(1.0, float(
                raw["confidence"]))), evidence=list(dict.fromkeys(str(c) for c in raw["evidence"])),
            explanation=str(raw.get("explanation", "")), target=raw.get("target") or raw.get("culprit"), mitigation=MITIGATION.get(raw["category"]),
        ))
    if summary:
        all_ids = [c for h in accepted for c in h.evidence]
        if unsupported(summary, [rendered[c] for c in all_ids]):
            summary = ""
    return accepted, dropped, summary


def _shape(raw: Any) -> str | None:
    if not isinstance(raw, dict):
        return "not an object"
    if raw.get("category") not in CATEGORIES:
        return f"unknown category {raw.get('category')!r}"
    ev = raw.get("evidence")
    if not isinstance(ev, list) or not ev:
        return "cites no evidence"
    c = raw.get("confidence")
    if isinstance(c, bool) or not isinstance(c, int | float):
        return "confidence is not a number"
    if raw.get("culprit") is not None and not isinstance(raw.get("culprit"), str):
        return "culprit is not a string"
    return None
