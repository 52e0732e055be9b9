"""The scenario file's schema (FORMAT.md version 1), as strict pydantic models.

Strict mode: a number must be a YAML number, a string a YAML string. Unknown
keys are errors everywhere.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.catalog.model import Service, ServiceCatalog

Minute = float  # minutes relative to the alert
Scalar = str | int | float | bool | None

METRIC_NAMES = (
    "error_rate", "latency_p95_ms", "rps", "cpu_pct", "memory_pct", "restarts", "db_cpu_pct",
    "db_connections_pct", "disk_pct", "queue_depth", "cache_memory_pct", "cache_evictions",
)
EVENT_KINDS = ("deploy", "config", "feature_flag", "scaling", "cron", "status_page", "certificate", "maintenance")
# Fields each event kind may carry beyond id/kind/at/service; the set after "|" are required.
EVENT_FIELDS: dict[str, tuple[set[str], set[str]]] = {
    "deploy": ({"version", "previous", "author", "status"}, {"version"}),
    "config": ({"key", "old", "new", "author"}, {"key", "new"}),
    "feature_flag": ({"flag", "old", "new", "author"}, {"flag", "new"}),
    "scaling": ({"old", "new"}, {"new"}),
    "cron": ({"job", "status"}, {"job", "status"}),
    "status_page": ({"provider", "status"}, {"status"}),
    "certificate": ({"host", "expires_at"}, {"expires_at"}),
    "maintenance": ({"note"}, set()),
}
EVENT_STATUS: dict[str, tuple[str, ...]] = {
    "deploy": ("succeeded", "failed", "in_progress"),
    "cron": ("started", "running", "finished", "failed"),
    "status_page": ("operational", "degraded", "major_outage"),
}

_strict = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


class ServiceSpec(BaseModel):
    model_config = _strict

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    namespace: str = "default"
    tier: Literal["critical", "standard", "batch"] = "standard"
    replicas: int = Field(1, ge=0)
    depends_on: list[str] = Field(default_factory=list)
    kind: Literal["deployment", "database", "cache", "queue", "external"] = "deployment"


class Segment(BaseModel):
    model_config = _strict

    from_: Minute = Field(alias="from")
    to: Minute | None = None
    value: float | None = None
    ramp_to: float | None = None


class MetricSpec(BaseModel):
    model_config = _strict

    service: str
    name: str
    baseline: float
    noise: float = Field(0.05, ge=0)
    segments: list[Segment] = Field(default_factory=list)


class EventSpec(BaseModel):
    model_config = _strict

    id: str
    kind: Literal["deploy", "config", "feature_flag", "scaling", "cron", "status_page", "certificate", "maintenance"]
    at: Minute
    service: str
    version: Scalar = None
    previous: Scalar = None
    author: str | None = None
    status: str | None = None
    key: str | None = None
    old: Scalar = None
    new: Scalar = None
    flag: str | None = None
    job: str | None = None
    provider: str | None = None
    host: str | None = None
    expires_at: Minute | None = None
    note: str | None = None

    def attributes(self) -> dict[str, str]:
        """The kind-specific fields that are set, as strings."""
        allowed, _ = EVENT_FIELDS[self.kind]
        out: dict[str, str] = {}
        for f in sorted(allowed):
            v = getattr(self, f)
            if v is not None:
                out[f] = _scalar_str(v)
        return out


class LogSpec(BaseModel):
    model_config = _strict

    service: str
    level: Literal["debug", "info", "warn", "warning", "error", "fatal", "critical"] = "info"
    from_: Minute = Field(alias="from")
    to: Minute
    per_min: float = Field(ge=0)
    message: str


class PodSpec(BaseModel):
    model_config = _strict

    service: str
    name: str
    node: str | None = None
    status: Literal["Running", "Pending", "CrashLoopBackOff", "Error", "Terminating", "Unknown"] = "Running"
    reason: str | None = None
    restarts: int = Field(0, ge=0)
    since: Minute | None = None


class NodeSpec(BaseModel):
    model_config = _strict

    name: str
    status: Literal["Ready", "NotReady", "Unknown", "SchedulingDisabled"] = "Ready"
    since: Minute | None = None
    reason: str | None = None


class DbSessionSpec(BaseModel):
    model_config = _strict

    id: str
    database: str
    pid: int
    user: str
    state: Literal["active", "idle", "idle in transaction", "idle in transaction (aborted)", "fastpath function call", "disabled"]
    started: Minute
    query: str


class AlertSpec(BaseModel):
    model_config = _strict

    source: Literal["datadog", "alertmanager", "heartbeat", "manual"]
    title: str
    service: str
    metric: str | None = None
    value: float | None = None
    threshold: float | None = None
    at: Minute = 0


MitigationKind = Literal[
    "rollback", "revert_config", "disable_flag", "restart", "kill_query", "scale_out", "free_disk",
    "drain_node", "flush_cache", "failover", "escalate", "none",
]
Category = Literal[
    "deploy_regression", "config_regression", "feature_flag", "memory_leak", "runaway_query",
    "connection_leak", "capacity", "disk_full", "dependency_outage", "node_failure", "cache_saturation",
    "cert_expiry", "network", "stuck_job", "false_positive",
]


class AfterActionSpec(BaseModel):
    model_config = _strict

    kind: MitigationKind
    target: str
    effect: Literal["recovers", "no_change", "worse"]
    metrics: dict[str, float] = Field(default_factory=dict)  # "service.metric" -> value

    @field_validator("metrics")
    @classmethod
    def _keys(cls, v: dict[str, float]) -> dict[str, float]:
        for k in v:
            if "." not in k:
                raise ValueError(f'expected keys of the form "service.metric", got "{k}"')
        return v


class TruthSpec(BaseModel):
    model_config = _strict

    category: Category
    culprit: str | None
    mitigation: MitigationKind
    target: str


class Scenario(BaseModel):
    model_config = _strict

    version: Literal[1]
    id: str = Field(pattern=r"^[a-z0-9-]+$")
    title: str
    window: list[Minute] = Field(default_factory=lambda: [-360.0, 30.0])
    seed: int = 0
    services: list[ServiceSpec] = Field(min_length=1)
    metrics: list[MetricSpec] = Field(default_factory=list)
    events: list[EventSpec] = Field(default_factory=list)
    logs: list[LogSpec] = Field(default_factory=list)
    pods: list[PodSpec] = Field(default_factory=list)
    nodes: list[NodeSpec] = Field(default_factory=list)
    db_sessions: list[DbSessionSpec] = Field(default_factory=list)
    alert: AlertSpec
    after_action: list[AfterActionSpec] = Field(default_factory=list)
    truth: TruthSpec | None = None

    @field_validator("window")
    @classmethod
    def _window(cls, v: list[float]) -> list[float]:
        if len(v) != 2 or v[0] >= v[1]:
            raise ValueError("expected [first_minute, last_minute] with first < last")
        return v

    @property
    def first_minute(self) -> int:
        return int(self.window[0])

    @property
    def last_minute(self) -> int:
        return int(self.window[1])

    def service(self, name: str) -> ServiceSpec | None:
        return next((s for s in self.services if s.name == name), None)

    def catalog(self) -> ServiceCatalog:
        return ServiceCatalog(
            services=[
                Service(
                    name=s.name, namespace=s.namespace, tier=s.tier, kind=s.kind,
                    replicas=s.replicas, depends_on=list(s.depends_on),
                )
                for s in self.services
            ]
        )

    def without_truth(self) -> Scenario:
        return self.model_copy(update={"truth": None})


def _scalar_str(v: Scalar) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)
