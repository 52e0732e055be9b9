"""The Claude reasoner, redaction, chat answers and usage accounting.

The composition root builds the reasoner from settings and runs it after the
deterministic investigation::

    from bot.llm import build_reasoner, refine
    llm = build_reasoner(settings.llm, registry=registry)         # None when no API key is set
    result = investigate(alert_context=..., sources=sources, catalog=catalog)
    combined = refine(result, reasoner=llm, sources=sources, catalog=catalog)
    combined.result       # InvestigationResult: deterministic ranking + LLM explanations/extras
    combined.llm_note     # "LLM unavailable: timeout" when the deterministic result stands alone
"""

from __future__ import annotations

from typing import Any

from bot.llm.chat import answer_question, deterministic_answer
from bot.llm.client import AnthropicMessages, LlmUnavailable, MessagesClient
from bot.llm.fence import Fence
from bot.llm.merge import Combined, apply, combine
from bot.llm.reasoner import LlmOutcome, LlmReasoner
from bot.llm.redact import Redactor
from bot.llm.usage import Usage, UsageTotals, record_usage, usage_totals
from bot.settings import LlmSettings


def build_reasoner(settings: LlmSettings, *, registry: Any = None, client: MessagesClient | None = None,
                   max_retries: int = 2) -> LlmReasoner | None:
    """The LLM reasoner, or None when it is off (no API key and no client given)."""
    if client is None:
        if settings.api_key is None:
            return None
        client = AnthropicMessages(settings, max_retries=max_retries)
    return LlmReasoner(client=client, settings=settings, registry=registry)


def refine(result: Any, *, reasoner: LlmReasoner | None, sources: Any = None, catalog: Any = None,
           notes: list[str] | None = None) -> Combined:
    """Run the LLM over an InvestigationResult and fold its answer in; with no reasoner, a no-op."""
    if reasoner is None:
        return Combined(result=result, outcome=LlmOutcome(llm_note="LLM off"))
    outcome = reasoner.reason(alert=result.alert, evidence=list(result.evidence),
                              baseline=list(result.hypotheses), catalog=catalog, sources=sources, notes=notes)
    return apply(result, outcome)


__all__ = [
    "AnthropicMessages", "Combined", "Fence", "LlmOutcome", "LlmReasoner", "LlmUnavailable", "MessagesClient",
    "Redactor", "Usage", "UsageTotals", "answer_question", "apply", "build_reasoner", "combine",
    "deterministic_answer", "record_usage", "refine", "usage_totals",
]
