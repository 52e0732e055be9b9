"""A detector's candidate: a category, culprit and target with named feature scores and cited evidence."""

from __future__ import annotations

from dataclasses import dataclass, field

# category -> mitigation kind (FORMAT.md's "usual mitigation")
MITIGATION: dict[str, str] = {
    "deploy_regression": "rollback",
    "config_regression": "revert_config",
    "feature_flag": "disable_flag",
    "memory_leak": "restart",
    "runaway_query": "kill_query",
    "connection_leak": "restart",
    "capacity": "scale_out",
    "disk_full": "free_disk",
    "dependency_outage": "escalate",
    "node_failure": "drain_node",
    "cache_saturation": "flush_cache",
    "cert_expiry": "escalate",
    "network": "escalate",
    "stuck_job": "restart",
    "false_positive": "none",
}


@dataclass
class Candidate:
    category: str
    culprit: str | None
    target: str
    features: dict[str, float] = field(default_factory=dict)  # name -> weighted contribution
    factor: float = 1.0  # multiplicative penalties (explained away, wrong timing, ...)
    evidence: list[str] = field(default_factory=list)
    because: list[str] = field(default_factory=list)

    def add(self, name: str, weight: float, value: float, why: str = "", *evidence: str | None) -> None:
        value = max(0.0, min(1.0, value))
        if value <= 0:
            return
        self.features[name] = self.features.get(name, 0.0) + weight * value
        if why:
            self.because.append(why)
        for e in evidence:
            self.cite(e)

    def penalise(self, factor: float, why: str = "") -> None:
        self.factor *= max(0.0, min(1.0, factor))
        if why:
            self.because.append(why)

    def cite(self, *ids: str | None) -> None:
        for i in ids:
            if i and i not in self.evidence:
                self.evidence.append(i)

    @property
    def score(self) -> float:
        return max(0.0, min(1.0, sum(self.features.values()) * self.factor))

    @property
    def mitigation(self) -> str:
        return MITIGATION[self.category]
