"""An action as data: :class:`ActionSpec`, plus the errors the registry raises.

    ActionError
     ├── UnknownAction     no such action name (with a did-you-mean)
     ├── InvalidParams     the parameters do not fit the action's model (one line per field)
     ├── PreconditionFailed the target is not in the state the action expects (nothing changed)
     ├── ActionFailed      the target system reported a failure while acting
     └── NoActionFor       no registry action implements a mitigation kind for a target

Handlers, prechecks, checkpoints and reverts take the validated parameter model
and the :class:`~bot.actions.ports.Ports`; they return plain JSON-able dicts so
the executor can store them (the checkpoint is what a revert restores).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from bot.actions.ports import Ports

Risk = Literal["low", "medium", "high"]

Handler = Callable[[Any, Ports], dict[str, Any]]
Precheck = Callable[[Any, Ports], None]  # raises PreconditionFailed
Checkpoint = Callable[[Any, Ports], dict[str, Any]]
Revert = Callable[[Any, dict[str, Any], Ports], None]
Resource = Callable[[Any], str]


class ActionError(Exception):
    pass


class UnknownAction(ActionError):
    def __init__(self, name: str, suggestions: list[str]) -> None:
        hint = f"; did you mean {' or '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        super().__init__(f"unknown action {name!r}{hint}")
        self.name = name
        self.suggestions = suggestions


class InvalidParams(ActionError):
    def __init__(self, action: str, problems: list[str]) -> None:
        super().__init__("\n".join(f"{action}: {p}" for p in problems))
        self.action = action
        self.problems = problems


class PreconditionFailed(ActionError):
    """The target is not as expected; nothing was changed."""


class ActionFailed(ActionError):
    """The target system reported that the action did not succeed."""


class NoActionFor(ActionError):
    pass


def _no_checkpoint(params: Any, ports: Ports) -> dict[str, Any]:
    return {}


def _no_precheck(params: Any, ports: Ports) -> None:
    return None


@dataclass(frozen=True)
class ActionSpec:
    """One allowlisted action. Adding an action is one catalog entry and a test."""

    name: str  # dotted: "k8s.rollout_undo"
    summary: str  # for people and the model: what it does, when to use it, what it cannot undo
    risk: Risk
    reversible: bool
    mitigation_kind: str | None  # a FORMAT.md kind; None for read-only actions
    params_model: type[BaseModel]
    handler: Handler
    resource: Resource  # the lock key, e.g. "k8s:shop/deploy/checkout"
    precheck: Precheck = _no_precheck
    checkpoint: Checkpoint = _no_checkpoint
    revert: Revert | None = None  # None: cannot be undone by the bot
    verify: Literal["metrics", "none"] = "metrics"  # metrics: watch error_rate and latency after it
    timeout_s: float = 60.0
    concurrency: int = 1  # how many of this action may run on one resource at once
    read_only: bool = False

    def __post_init__(self) -> None:
        if "." not in self.name:
            raise ValueError(f"action name {self.name!r} must be dotted, e.g. 'k8s.rollout_undo'")
        if self.reversible and self.revert is None and not self.read_only:
            raise ValueError(f"{self.name}: a reversible action needs a revert")
        if self.concurrency < 1:
            raise ValueError(f"{self.name}: concurrency must be at least 1")

    @property
    def tool_name(self) -> str:
        """The name in LLM tool definitions (dots are not allowed there)."""
        return self.name.replace(".", "__")

    @property
    def mutates(self) -> bool:
        return not self.read_only
