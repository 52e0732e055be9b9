"""The service catalog: services, owners, tiers, dependencies (``services.yaml``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Tier = Literal["critical", "standard", "batch"]
ServiceKind = Literal["deployment", "database", "cache", "queue", "external"]


class Service(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    namespace: str = "default"
    tier: Tier = "standard"
    kind: ServiceKind = "deployment"
    replicas: int = 1
    depends_on: list[str] = Field(default_factory=list)
    owners: list[str] = Field(default_factory=list)  # Slack user ids or handles
    slack_channel: str | None = None  # route this service's incidents here
    customer_facing: bool | None = None  # None: critical tier implies customer-facing
    traffic_share: float | None = None  # share of total traffic, 0..1, when known

    @property
    def is_customer_facing(self) -> bool:
        return self.customer_facing if self.customer_facing is not None else self.tier == "critical"


class ServiceCatalog(BaseModel):
    model_config = ConfigDict(extra="forbid")

    services: list[Service] = Field(default_factory=list)

    def get(self, name: str) -> Service | None:
        for s in self.services:
            if s.name == name:
                return s
        return None

    def names(self) -> list[str]:
        return [s.name for s in self.services]

    def dependencies(self, name: str) -> list[str]:
        s = self.get(name)
        return list(s.depends_on) if s else []

    def dependents(self, name: str) -> list[str]:
        return [s.name for s in self.services if name in s.depends_on]

    def related(self, a: str, b: str) -> bool:
        """True when one service depends on the other, directly or through a shared dependency chain."""
        return b in self.transitive_dependencies(a) or a in self.transitive_dependencies(b)

    def transitive_dependencies(self, name: str) -> set[str]:
        seen: set[str] = set()
        stack = self.dependencies(name)
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            stack.extend(self.dependencies(n))
        return seen
