"""Plain data the Block Kit builders render: no ORM objects, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    text: str
    actor: str | None = None


@dataclass(frozen=True)
class EvidenceItem:
    id: str
    source: str
    query: str
    summary: str
    status: str
    link: str | None = None


@dataclass(frozen=True)
class HypothesisItem:
    rank: int
    category: str
    culprit: str | None
    confidence: float
    evidence: tuple[str, ...]
    explanation: str = ""
    reasoner: str = "deterministic"


@dataclass(frozen=True)
class ProposalItem:
    kind: str
    target: str
    action: str | None
    params: dict[str, object]
    requires_approval: bool
    reason: str = ""
    action_id: int | None = None  # the stored action, once submitted
    mode: str | None = None  # policy decision: shadow | advisory | needs_approval | execute | refuse
    policy_reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class IncidentView:
    id: int
    key: str
    title: str
    service: str | None
    severity: str
    severity_reason: str
    status: str
    opened_at: datetime
    channel_id: str | None = None
    services: tuple[str, ...] = ()
    timeline: tuple[TimelineItem, ...] = ()
    changes: tuple[EvidenceItem, ...] = ()
    hypotheses: tuple[HypothesisItem, ...] = ()
    evidence: tuple[EvidenceItem, ...] = ()
    proposal: ProposalItem | None = None
    runbooks: tuple[tuple[str, str], ...] = ()  # (title, link or path)
    similar: tuple[str, ...] = ()  # "INC-42: same deploy pattern, rollback worked in 4 min"
    investigating: bool = False
    llm_note: str | None = None  # e.g. "LLM unavailable: timeout"
    truncated_alerts: int = 0
    maintenance: str | None = None
    extra: dict[str, object] = field(default_factory=dict)
