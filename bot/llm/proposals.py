"""The model's action suggestions: registry tools in, :class:`Proposal` out, never executed.

An unknown action or bad parameters are refused by the registry
(:class:`~bot.actions.spec.UnknownAction`, :class:`~bot.actions.spec.InvalidParams`);
the refusal goes back to the model as an ``is_error`` tool_result and into the
result for the audit. An accepted one becomes a Proposal with
``requires_approval=True`` that the caller routes through the policy like any
other; nothing here calls an executor.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot.actions.spec import InvalidParams, UnknownAction
from bot.investigation.evidence import Proposal

audit = logging.getLogger("bot.llm.audit")


@dataclass(frozen=True)
class Refused:
    tool: str
    params: dict[str, Any]
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"tool": self.tool, "params": self.params, "reason": self.reason}


def action_tools(registry: Any) -> list[dict[str, Any]]:
    if registry is None:
        return []
    tools: list[dict[str, Any]] = registry.tool_definitions(include_read_only=False)
    for t in tools:
        t["description"] = "Suggest (never run) this action; the bot's policy and a person decide. " + t["description"]
    return tools


def _target(params: dict[str, Any]) -> str:
    for key in ("service", "deployment", "database", "cache", "node", "configmap"):
        v = params.get(key)
        if isinstance(v, str) and v:
            return v
    return "unknown"


def to_proposal(registry: Any, tool: str, params: Any, reason: str = "") -> Proposal | Refused:
    raw = params if isinstance(params, dict) else {}
    if registry is None:
        return _refuse(tool, raw, "no action registry")
    try:
        spec = registry.get(tool)
        model = registry.validate(spec.name, raw)
    except UnknownAction as e:
        return _refuse(tool, raw, str(e))
    except InvalidParams as e:
        return _refuse(tool, raw, f"invalid parameters: {e}")
    if not isinstance(params, dict):
        return _refuse(tool, {}, "invalid parameters: expected an object")
    if spec.read_only:
        return _refuse(tool, raw, "read-only actions are not proposals")
    clean = model.model_dump(mode="json")
    kind = getattr(spec, "mitigation_kind", None) or "escalate"
    audit.info("llm proposed %s %s (not executed; goes through the policy)", spec.name, clean)
    return Proposal(kind=kind, target=_target(clean), action=spec.name, params=clean, requires_approval=True,
                    reason=reason or "suggested by the LLM reasoner")


def _refuse(tool: str, params: dict[str, Any], reason: str) -> Refused:
    audit.warning("llm action refused: %s %s: %s", tool, params, reason)
    return Refused(tool, params, reason)
