"""The LLM reasoner: the Messages API with tool use over the evidence and the deterministic ranking.

    reasoner = LlmReasoner(client=AnthropicMessages(settings.llm), settings=settings.llm, registry=registry)
    outcome = reasoner.reason(alert=..., evidence=..., baseline=hyps, catalog=catalog, sources=sources)

One call per round: the model may call read-only gathering tools (each result a
new Evidence), suggest registry actions (validated, returned as Proposals, never
run), and must finish with ``submit_hypotheses``. Rounds stop at
``settings.max_tool_rounds`` or when ``settings.token_budget`` is spent; the last
call then forces ``submit_hypotheses``. Any timeout, API error, refusal or
malformed output leaves ``outcome.hypotheses`` empty and sets ``llm_note``
("LLM unavailable: timeout"); the deterministic result then stands.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from bot.catalog.model import ServiceCatalog
from bot.integrations.errors import IntegrationError
from bot.investigation.evidence import Evidence, Hypothesis, Proposal
from bot.investigation.sources import AlertContext, Sources
from bot.llm import prompt as P
from bot.llm.client import LlmUnavailable, MessagesClient
from bot.llm.fence import Fence
from bot.llm.proposals import Refused, action_tools, to_proposal
from bot.llm.redact import Redactor
from bot.llm.tools import (
    GATHER_NAMES,
    GATHER_TOOLS,
    SUBMIT,
    SUBMIT_TOOL,
    ToolContext,
    ToolError,
    run_gather_tool,
)
from bot.llm.usage import Usage
from bot.llm.validate import Dropped, Malformed, parse_submission
from bot.settings import LlmSettings

log = logging.getLogger("bot.llm")


@dataclass
class LlmOutcome:
    hypotheses: list[Hypothesis] = field(default_factory=list)  # accepted, in the model's order
    new_evidence: list[Evidence] = field(default_factory=list)  # what its tool calls gathered
    proposals: list[Proposal] = field(default_factory=list)  # validated, not executed
    refused: list[Refused] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    summary: str = ""
    usage: Usage = field(default_factory=lambda: Usage(model=""))
    llm_note: str | None = None  # set when the model's answer was not used
    fence_token: str = ""
    rounds: int = 0

    @property
    def ok(self) -> bool:
        return self.llm_note is None


def _assistant_blocks(content: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for b in content:
        if b.get("type") == "text":
            out.append({"type": "text", "text": b.get("text", "")})
        elif b.get("type") == "tool_use":
            out.append({"type": "tool_use", "id": b["id"], "name": b["name"], "input": b.get("input", {})})
    return out


class LlmReasoner:
    def __init__(self, *, client: MessagesClient, settings: LlmSettings, registry: Any = None,
                 redactor: Redactor | None = None) -> None:
        self.client = client
        self.settings = settings
        self.registry = registry
        self.redactor = redactor or Redactor(settings.redact_patterns)
        self.tools = P.cached_tools(GATHER_TOOLS + action_tools(registry) + [SUBMIT_TOOL])
        self._action_names = {t["name"] for t in action_tools(registry)}

    def reason(self, *, alert: AlertContext, evidence: list[Evidence], baseline: list[Hypothesis],
               catalog: ServiceCatalog | None = None, sources: Sources | None = None,
               notes: list[str] | None = None, fence: Fence | None = None) -> LlmOutcome:
        fence = fence or Fence()
        out = LlmOutcome(usage=Usage(model=self.settings.model), fence_token=fence.token)
        names = {s.name for s in catalog.services} if catalog is not None else set()
        ctx = ToolContext(alert=alert, sources=sources,
                          namespaces={s.name: s.namespace for s in catalog.services} if catalog else {})
        known = list(evidence)
        rendered = {ev.id: P.render_evidence(ev, self.redactor) for ev in known}
        messages: list[dict[str, Any]] = [{"role": "user", "content": P.investigation_prompt(
            alert=alert, evidence=known, baseline=baseline, fence=fence, redactor=self.redactor, notes=notes)}]
        try:
            for rnd in range(self.settings.max_tool_rounds + 1):
                out.rounds = rnd + 1
                force = rnd == self.settings.max_tool_rounds or out.usage.total_tokens >= self.settings.token_budget
                msg = self._call(messages, force)
                out.usage.add(msg.get("usage"))
                stop = msg.get("stop_reason")
                if stop == "refusal":
                    raise LlmUnavailable("refusal")
                content = msg.get("content") or []
                if not isinstance(content, list):
                    raise LlmUnavailable("malformed output")
                results: list[dict[str, Any]] = []
                submitted = None
                for block in content:
                    if not isinstance(block, dict) or block.get("type") != "tool_use":
                        continue
                    name, args, tid = block.get("name"), block.get("input"), block.get("id")
                    if not isinstance(name, str) or not isinstance(tid, str):
                        raise LlmUnavailable("malformed output")
                    if name == SUBMIT:
                        submitted = args
                        continue
                    results.append(self._run_tool(name, args, tid, ctx, known, rendered, fence, out))
                if submitted is not None:
                    try:
                        hyps, dropped, summary = parse_submission(submitted, rendered, names)
                    except Malformed:
                        raise LlmUnavailable("malformed output") from None
                    out.hypotheses, out.dropped, out.summary = hyps, out.dropped + dropped, summary
                    if not hyps and dropped:
                        out.llm_note = "LLM answer not used: every hypothesis failed the citation checks"
                    return out
                if force:
                    reason = "token budget exceeded" if out.usage.total_tokens >= self.settings.token_budget \
                        else "malformed output"
                    raise LlmUnavailable(reason)
                if stop == "max_tokens":
                    raise LlmUnavailable("output cut off (max_tokens)")
                messages.append({"role": "assistant", "content": _assistant_blocks(content)})
                if results:
                    messages.append({"role": "user", "content": results})
                else:
                    messages.append({"role": "user", "content": "Call submit_hypotheses now."})
            raise LlmUnavailable("malformed output")
        except LlmUnavailable as e:
            log.warning("LLM unavailable: %s", e.reason)
            out.hypotheses, out.llm_note = [], f"LLM unavailable: {e.reason}"
            return out

    def _call(self, messages: list[dict[str, Any]], force: bool) -> dict[str, Any]:
        req: dict[str, Any] = {
            "model": self.settings.model, "max_tokens": self.settings.max_tokens,
            "system": P.cached_system(), "tools": self.tools, "messages": messages,
            "tool_choice": {"type": "tool", "name": SUBMIT} if force else {"type": "auto"},
        }
        msg = self.client.create(**req)
        if not isinstance(msg, dict) or msg.get("type") != "message":
            raise LlmUnavailable("malformed output")
        return msg

    def _run_tool(self, name: str, args: Any, tid: str, ctx: ToolContext, known: list[Evidence],
                  rendered: dict[str, str], fence: Fence, out: LlmOutcome) -> dict[str, Any]:
        def error(text: str) -> dict[str, Any]:
            return {"type": "tool_result", "tool_use_id": tid, "content": text, "is_error": True}

        if name in GATHER_NAMES:
            try:
                items = run_gather_tool(name, args if isinstance(args, dict) else {}, ctx, len(known) + 1)
            except ToolError as e:
                return error(str(e))
            except IntegrationError as e:
                return error(f"{name}: {e.message}")
            except Exception as e:  # noqa: BLE001 - a failing source is an answer, not a crash
                return error(f"{name}: {type(e).__name__}")
            for ev in items:
                known.append(ev)
                rendered[ev.id] = P.render_evidence(ev, self.redactor)
                out.new_evidence.append(ev)
            return {"type": "tool_result", "tool_use_id": tid, "content": P.tool_result_text(items, fence,
                                                                                          self.redactor)}
        result = to_proposal(self.registry, name, args)
        if isinstance(result, Refused):
            out.refused.append(result)
            return error(f"refused: {result.reason}")
        out.proposals.append(result)
        return {"type": "tool_result", "tool_use_id": tid,
                "content": f"recorded {result.action} as a suggestion; nothing was executed; the policy decides"}
