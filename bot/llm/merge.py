"""Combine the deterministic ranking with the LLM's, conservatively: never worse than deterministic.

The rule (docs/llm.md): the deterministic ranking is kept as it is, order and
confidences included, so top-1, top-3 and the proposed mitigation are the
deterministic ones. The LLM contributes

- explanations: a deterministic hypothesis the LLM also made (same category and
  culprit) takes the LLM's validated explanation, and its citations are added;
- extra hypotheses: validated LLM hypotheses the deterministic reasoner did not
  make go below the deterministic ones (at most ``MAX_EXTRA``), with a
  confidence capped under the last deterministic one;
- when the deterministic reasoner has no hypothesis at all, the LLM's validated
  ones stand on their own (there is nothing to do worse than).

Its proposals are returned separately and never replace the deterministic one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from bot.investigation.evidence import Hypothesis, Proposal
from bot.llm.reasoner import LlmOutcome

MAX_EXTRA = 3


def combine(baseline: list[Hypothesis], llm: list[Hypothesis]) -> list[Hypothesis]:
    if not baseline:
        return sorted((dataclasses.replace(h) for h in llm), key=lambda h: -h.confidence)[:5]
    by_key = {(h.category, h.culprit): h for h in llm}
    out = []
    for h in baseline:
        twin = by_key.get((h.category, h.culprit))
        if twin is None:
            out.append(dataclasses.replace(h))
            continue
        out.append(dataclasses.replace(h, explanation=twin.explanation or h.explanation,
                                       evidence=list(dict.fromkeys(h.evidence + twin.evidence))))
    floor = min(h.confidence for h in baseline)
    seen = {(h.category, h.culprit) for h in baseline}
    extra = [h for h in llm if (h.category, h.culprit) not in seen][:MAX_EXTRA]
    for i, h in enumerate(extra):
        out.append(dataclasses.replace(h, confidence=round(max(0.0, min(h.confidence, floor - 0.01 * (i + 1))), 3)))
    return out


@dataclass
class Combined:
    """An investigation result with the LLM's contribution folded in."""

    result: Any  # bot.investigation.pipeline.InvestigationResult, hypotheses and evidence combined
    outcome: LlmOutcome
    llm_proposals: list[Proposal] = field(default_factory=list)

    @property
    def llm_note(self) -> str | None:
        return self.outcome.llm_note

    @property
    def dropped(self) -> list[Any]:
        return self.outcome.dropped


def apply(result: Any, outcome: LlmOutcome) -> Combined:
    """Fold ``outcome`` into an InvestigationResult (a copy; the original is not changed)."""
    hyps = combine(list(result.hypotheses), outcome.hypotheses) if outcome.ok else list(result.hypotheses)
    notes = list(getattr(result, "notes", []))
    if outcome.llm_note:
        notes.append(outcome.llm_note)
    if outcome.dropped:
        notes.append(f"LLM: {len(outcome.dropped)} hypothesis(es) dropped by the citation checks")
    if outcome.refused:
        notes.append(f"LLM: {len(outcome.refused)} action suggestion(s) refused by the registry")
    new = dataclasses.replace(result, hypotheses=hyps, evidence=list(result.evidence) + outcome.new_evidence,
                              notes=notes)
    return Combined(result=new, outcome=outcome, llm_proposals=list(outcome.proposals))
