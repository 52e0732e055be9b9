"""Evidence, hypotheses and proposals: what an investigation produces.

Every source query becomes one :class:`Evidence` envelope, whatever happened
(ok, no_data, error). A :class:`Hypothesis` must cite at least one evidence id;
the constructor refuses one that cites none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

EvidenceStatus = Literal["ok", "no_data", "error"]

CATEGORIES: tuple[str, ...] = (
    "deploy_regression",
    "config_regression",
    "feature_flag",
    "memory_leak",
    "runaway_query",
    "connection_leak",
    "capacity",
    "disk_full",
    "dependency_outage",
    "node_failure",
    "cache_saturation",
    "cert_expiry",
    "network",
    "stuck_job",
    "false_positive",
)

MITIGATION_KINDS: tuple[str, ...] = (
    "rollback",
    "revert_config",
    "disable_flag",
    "restart",
    "kill_query",
    "scale_out",
    "free_disk",
    "drain_node",
    "flush_cache",
    "failover",
    "escalate",
    "none",
)


@dataclass
class Evidence:
    id: str  # "ev-1", "ev-2", ... unique within one investigation
    source: str  # "datadog.metrics", "prometheus", "kubernetes.pods", "postgres.sessions", "runbooks", ...
    query: str
    window: tuple[float, float]  # minutes relative to the alert
    status: EvidenceStatus
    summary: str  # one line for people
    link: str | None = None
    data: dict[str, Any] = field(default_factory=dict)  # structured facts the reasoner reads (not printed)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "source": self.source,
            "query": self.query,
            "window": [_num(self.window[0]), _num(self.window[1])],
            "status": self.status,
            "summary": self.summary,
        }
        if self.link:
            out["link"] = self.link
        return out


@dataclass
class Hypothesis:
    category: str
    culprit: str | None
    confidence: float
    evidence: list[str]
    explanation: str = ""
    target: str | None = None  # what the mitigation acts on
    mitigation: str | None = None  # a mitigation kind

    def __post_init__(self) -> None:
        if not self.evidence:
            raise ValueError("a hypothesis must cite at least one evidence item")
        if self.category not in CATEGORIES:
            raise ValueError(f"unknown category {self.category!r}")

    def to_json(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "culprit": self.culprit,
            "confidence": round(self.confidence, 3),
            "evidence": list(self.evidence),
        }


@dataclass
class Proposal:
    """The recommended first step: a mitigation kind bound to a registry action."""

    kind: str  # a mitigation kind
    target: str
    action: str | None  # registry action name, e.g. "k8s.rollout_undo"; None for "none"
    params: dict[str, Any] = field(default_factory=dict)
    requires_approval: bool = True
    reason: str = ""
    evidence: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "target": self.target,
            "action": self.action,
            "params": self.params,
            "requires_approval": self.requires_approval,
        }


def _num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else round(x, 2)
