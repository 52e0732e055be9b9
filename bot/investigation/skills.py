"""Declarative skills (``skills/*.yaml``): what to gather for a symptom and how to read it.

A skill names the alerts it applies to (metric-name globs and title words),
the signals to gather in order with their scope in the service graph, the
window, small category priors, and log-signature lexicons (phrases mapped to a
root-cause category with a weight). Adding a skill is one file; the loader
validates every file and reports ``<file>: <key path>: <problem>`` lines.

Signatures are read from every loaded skill, whatever the symptom: a log line
saying "no space left on device" means the same under any alert.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.investigation.evidence import CATEGORIES

Signal = Literal["metrics", "changes", "logs", "pods", "nodes", "db_sessions", "runbooks"]
Scope = Literal["self", "dependencies", "dependents", "siblings", "neighbourhood", "all"]

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "skills"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Match(_Strict):
    metrics: list[str] = Field(default_factory=list)  # globs over the alert metric name
    title: list[str] = Field(default_factory=list)  # words in the alert title (case-insensitive)
    sources: list[str] = Field(default_factory=list)  # alert sources (heartbeat, ...)


class Step(_Strict):
    signal: Signal
    scope: Scope = "neighbourhood"
    timeout_s: float = Field(5.0, gt=0, le=60)


class Signature(_Strict):
    category: str
    weight: float = Field(1.0, ge=0, le=1)
    levels: list[str] = Field(default_factory=lambda: ["warn", "warning", "error", "fatal", "critical"])
    phrases: list[str] = Field(min_length=1)

    @field_validator("category")
    @classmethod
    def _category(cls, v: str) -> str:
        if v not in CATEGORIES:
            raise ValueError(f"expected one of {', '.join(CATEGORIES)}, got {v!r}")
        return v

    @field_validator("phrases")
    @classmethod
    def _lower(cls, v: list[str]) -> list[str]:
        return [p.lower() for p in v]


class Skill(_Strict):
    name: str
    description: str = ""
    match: Match = Field(default_factory=Match)
    window: tuple[float, float] = (-360.0, 0.0)
    gather: list[Step] = Field(default_factory=list)
    priors: dict[str, float] = Field(default_factory=dict)
    signatures: list[Signature] = Field(default_factory=list)
    file: str = ""

    @field_validator("priors")
    @classmethod
    def _priors(cls, v: dict[str, float]) -> dict[str, float]:
        for k, w in v.items():
            if k not in CATEGORIES:
                raise ValueError(f"unknown category {k!r}")
            if not -0.2 <= w <= 0.2:
                raise ValueError(f"prior for {k} must be within [-0.2, 0.2], got {w}")
        return v

    def matches(self, *, metric: str | None, title: str, source: str | None) -> int:
        """How specifically this skill matches an alert (0: not at all)."""
        score = 0
        if metric and any(fnmatch.fnmatch(metric.lower(), g.lower()) for g in self.match.metrics):
            score += 3
        t = title.lower()
        if any(w.lower() in t for w in self.match.title):
            score += 1
        if source and source in self.match.sources:
            score += 2
        return score


class SkillError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for p in loc:
        out += f"[{p}]" if isinstance(p, int) else (("." if out else "") + str(p))
    return out or "(top level)"


def parse_skill(text: str, name: str) -> Skill:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise SkillError([f"{name}: not valid YAML: {e}"]) from None
    if not isinstance(data, dict):
        raise SkillError([f"{name}: expected a mapping at the top level"])
    try:
        skill = Skill.model_validate(data)
    except ValidationError as e:
        raise SkillError([f"{name}: {_loc(tuple(err['loc']))}: {err['msg']}" for err in e.errors()]) from None
    return skill.model_copy(update={"file": name})


def load_skills(directory: Path | None = None) -> list[Skill]:
    d = directory or DEFAULT_DIR
    skills: list[Skill] = []
    problems: list[str] = []
    for f in sorted(d.glob("*.yaml")):
        try:
            skills.append(parse_skill(f.read_text(encoding="utf-8"), f.name))
        except SkillError as e:
            problems.extend(e.problems)
    names = [s.name for s in skills]
    for n in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"{d}: skill name {n!r} is used by more than one file")
    if problems:
        raise SkillError(problems)
    return skills


_CACHE: dict[str, list[Skill]] = {}


def default_skills() -> list[Skill]:
    key = str(DEFAULT_DIR)
    if key not in _CACHE:
        _CACHE[key] = load_skills(DEFAULT_DIR)
    return _CACHE[key]


def select(skills: list[Skill], *, metric: str | None, title: str, source: str | None) -> Skill:
    """The most specific skill for an alert; the one named "generic" (or the first) when none matches."""
    ranked = sorted(skills, key=lambda s: (-s.matches(metric=metric, title=title, source=source), s.name))
    if ranked and ranked[0].matches(metric=metric, title=title, source=source) > 0:
        return ranked[0]
    return next((s for s in skills if s.name == "generic"), ranked[0] if ranked else Skill(name="generic"))


def signatures(skills: list[Skill]) -> list[Signature]:
    return [sig for s in skills for sig in s.signatures]
