"""The policy: may this action run now, and how? Pure logic over data, no I/O but :func:`load_policy`.

Autonomy levels, least to most: ``shadow`` (record what it would do, post nothing
actionable) < ``advisory`` (post the suggestion, no button) < ``supervised`` (a person
approves) < ``autonomous`` (run it). The level of an action on a service is the most
specific entry that exists: a runtime override, then ``services.<svc>.actions.<action>``,
``services.<svc>.level``, ``actions.<action>``, ``default`` (``supervised`` built in).
See docs/policy.md for the rules :func:`decide` applies, in order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.actions.spec import ActionSpec

Level = Literal["shadow", "advisory", "supervised", "autonomous"]
LEVELS: tuple[Level, ...] = ("shadow", "advisory", "supervised", "autonomous")
Mode = Literal["shadow", "advisory", "needs_approval", "execute", "refuse"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServicePolicy(_Strict):
    level: Level | None = Field(None, description="Autonomy level of every action on this service")
    actions: dict[str, Level] = Field(default_factory=dict, description="Per-action level on this service")


class RateLimits(_Strict):
    per_service_per_hour: int = Field(4, ge=0, description="Changes per service per rolling hour")
    global_per_hour: int = Field(20, ge=0, description="Changes in total per rolling hour")


class PolicyFile(_Strict):
    version: Literal[1] = 1
    default: Level = "supervised"
    actions: dict[str, Level] = Field(default_factory=dict)
    services: dict[str, ServicePolicy] = Field(default_factory=dict)
    rate_limits: RateLimits = Field(default_factory=RateLimits)  # type: ignore[arg-type]
    max_auto_attempts: int | None = Field(default=None, ge=0, description="Overrides PolicySettings.max_auto_attempts")

    def check_actions(self, known: set[str]) -> list[str]:
        """Key paths naming an action the registry does not have."""
        bad = [f"actions.{a}" for a in self.actions if a not in known]
        for svc, sp in self.services.items():
            bad += [f"services.{svc}.actions.{a}" for a in sp.actions if a not in known]
        return bad


class PolicyError(Exception):
    """policy.yaml is invalid; ``str()`` is one line per problem naming the key path."""


def parse_policy(data: object, source: str = "policy.yaml", known_actions: set[str] | None = None) -> PolicyFile:
    try:
        pf = PolicyFile.model_validate(data if data is not None else {})
    except ValidationError as e:
        lines = []
        for err in e.errors():
            path = ".".join(str(p) for p in err["loc"]) or "(top level)"
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            lines.append(f"{source}: {path}: {msg}")
        raise PolicyError("\n".join(lines)) from None
    if known_actions is not None and (bad := pf.check_actions(known_actions)):
        raise PolicyError("\n".join(f"{source}: {p}: unknown action" for p in bad))
    return pf


def load_policy(path: Path | None, known_actions: set[str] | None = None) -> PolicyFile:
    if path is None:
        return PolicyFile()
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as e:
        raise PolicyError(f"{path}: cannot read: {e.strerror}") from None
    except yaml.MarkedYAMLError as e:  # one line: where, and what
        mark = e.problem_mark or e.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise PolicyError(f"{path}: {where}not valid YAML: {e.problem or e.context}") from None
    except yaml.YAMLError as e:
        raise PolicyError(f"{path}: not valid YAML: {' '.join(str(e).split())}") from None
    return parse_policy(data, str(path), known_actions)


def automation_key(action: str, service: str) -> str:
    """What a circuit breaker and its revert count are kept per: "<service>:<action name>"."""
    return f"{service}:{action}"


@dataclass(frozen=True)
class PolicyContext:
    """The facts the policy decides on, gathered by the caller from the store and the catalog."""

    tier: str = "standard"  # critical | standard | batch
    freeze: bool = False
    open_breakers: Mapping[str, str] = field(default_factory=dict)  # automation key -> why it opened
    attempts_this_incident: int = 0  # automatic (bot-initiated) attempts already made
    service_actions_last_hour: int = 0
    global_actions_last_hour: int = 0
    requested_by: str | None = None  # a person's user id; None when the bot proposes it
    overrides: Mapping[tuple[str | None, str | None], Level] = field(default_factory=dict)  # (service, action)


@dataclass(frozen=True)
class Decision:
    mode: Mode
    reasons: list[str]
    level: Level
    requester_may_approve: bool = True

    @property
    def escalate(self) -> bool:
        return self.mode == "refuse" and any(r.startswith("escalate") for r in self.reasons)


class Policy:
    def __init__(self, file: PolicyFile | None = None, *, max_auto_attempts: int = 2) -> None:
        self.file = file or PolicyFile()
        self.max_auto_attempts = (
            self.file.max_auto_attempts if self.file.max_auto_attempts is not None else max_auto_attempts
        )

    def level(
        self, service: str, action: str, overrides: Mapping[tuple[str | None, str | None], Level] | None = None
    ) -> Level:
        ov = overrides or {}
        sp = self.file.services.get(service)
        for candidate in (
            ov.get((service, action)),
            sp.actions.get(action) if sp else None,
            ov.get((service, None)),
            sp.level if sp else None,
            ov.get((None, action)),
            self.file.actions.get(action),
            ov.get((None, None)),
        ):
            if candidate is not None:
                return candidate
        return self.file.default

    def decide(self, spec: ActionSpec, service: str, ctx: PolicyContext) -> Decision:
        level = self.level(service, spec.name, ctx.overrides)
        may_self_approve = spec.reversible
        if spec.read_only:
            return Decision("execute", ["read-only: changes nothing"], level)
        if ctx.freeze:
            return Decision("shadow", ["change freeze: monitor-only, nothing is changed"], level)
        key = automation_key(spec.name, service)
        if key in ctx.open_breakers:
            why = ctx.open_breakers[key]
            return Decision("refuse", [f"circuit breaker open for {key}: {why}; a person must re-enable it"], level)
        if level == "shadow":
            return Decision("shadow", [f"{spec.name} on {service} is at level shadow"], level)
        human = ctx.requested_by is not None
        if not human and ctx.attempts_this_incident >= self.max_auto_attempts:
            return Decision(
                "refuse",
                [f"escalate: {ctx.attempts_this_incident} automatic attempts already made this incident "
                 f"(max {self.max_auto_attempts})"],
                level,
            )
        limits = self.file.rate_limits
        if ctx.service_actions_last_hour >= limits.per_service_per_hour:
            return Decision(
                "refuse",
                [f"rate limit: {ctx.service_actions_last_hour} changes on {service} in the last hour "
                 f"(max {limits.per_service_per_hour})"],
                level,
            )
        if ctx.global_actions_last_hour >= limits.global_per_hour:
            return Decision(
                "refuse",
                [f"rate limit: {ctx.global_actions_last_hour} changes in the last hour "
                 f"(max {limits.global_per_hour})"],
                level,
            )
        if level == "advisory" and not human:
            return Decision("advisory", [f"{spec.name} on {service} is at level advisory"], level)
        reasons = []
        if level == "advisory":
            reasons.append(f"requested by <@{ctx.requested_by}>; level advisory needs a person's approval")
        elif level == "supervised":
            reasons.append(f"{spec.name} on {service} is at level supervised")
        if ctx.tier == "critical":
            reasons.append(f"{service} is a critical-tier service")
        if not spec.reversible:
            reasons.append(f"{spec.name} cannot be undone")
        if spec.risk != "low":
            reasons.append(f"{spec.name} is {spec.risk} risk")
        if level == "autonomous" and not reasons:
            return Decision("execute", [f"autonomous: low risk and reversible on a {ctx.tier}-tier service"], level)
        return Decision("needs_approval", reasons, level, requester_may_approve=may_self_approve)
