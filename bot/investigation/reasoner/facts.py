"""The facts the reasoner reads, parsed once from evidence ``data`` (pure)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from bot.catalog.model import ServiceCatalog
from bot.investigation.evidence import Evidence
from bot.investigation.neighbourhood import dependents_closure
from bot.investigation.onset import Shape

TRAFFIC = ("rps", "qps", "requests", "throughput", "request_rate", "traffic", "commands", "messages", "msgs",
           "per_s", "per_sec", "per_min", "ops", "events_in", "bytes_in", "bytes_out", "ingress")
SATURATION = ("cpu", "utilization", "load")
LATENCY = ("latency", "duration", "response_time", "p95", "p99")
ERRORS = ("error", "5xx", "fail")
MEMORY = ("memory", "heap", "rss")
DISK_SPACE = ("disk", "volume", "filesystem", "inode", "fs_", "storage")
NOT_SPACE = ("io_", "_io", "util", "iops", "read", "write", "latency", "await", "throughput", "bytes", "ops")
BACKLOG = ("queue", "backlog", "lag", "pending", "inflight", "in_flight", "waiting")
# name parts that mark a series as a smoothed view of another: "queue_depth_avg_15m", "rolling_error_rate_5m"
SMOOTHING = frozenset(("avg", "average", "mean", "rolling", "moving", "smoothed", "ewma", "ema", "sma", "windowed"))
_WINDOW = re.compile(r"^(last)?\d+(s|sec|m|min|mins|h|hr|d)$")


def has(metric: str, words: tuple[str, ...]) -> bool:
    m = metric.lower()
    return any(w in m for w in words)


def tokens(name: str) -> set[str]:
    out = set()
    for t in re.split(r"[^a-z0-9]+", name.lower()):
        if len(t) >= 3:
            out.add(t)
            out.add(t.rstrip("s"))
    return out


def raw_name(metric: str) -> str | None:
    """The raw series a smoothed metric averages ("queue_depth_avg_15m" -> "queue_depth"), or None if it is raw."""
    parts = [p for p in re.split(r"[_.:]+", metric) if p]
    kept = [p for p in parts if p.lower() not in SMOOTHING and not _WINDOW.match(p.lower()) and p.lower() != "over"]
    marked = [p for p in parts if p.lower() in SMOOTHING or _WINDOW.match(p.lower())]
    if not kept or not marked:
        return None
    return "_".join(kept)


@dataclass(frozen=True)
class SeriesFact:
    ev: str
    service: str
    metric: str
    shape: Shape
    minutes: tuple[float, ...] = ()
    values: tuple[float, ...] = ()


@dataclass(frozen=True)
class ChangeFact:
    ev: str
    id: str
    kind: str
    service: str
    at: float
    attrs: dict[str, str]


@dataclass(frozen=True)
class LogFact:
    ev: str
    service: str
    level: str
    message: str
    count: int
    first: float
    last: float
    sigs: tuple[dict[str, Any], ...]

    def has(self, category: str) -> float:
        return max((s["weight"] for s in self.sigs if s["category"] == category), default=0.0)

    @property
    def problem(self) -> bool:
        return self.level.lower() in ("warn", "warning", "error", "fatal", "critical")


@dataclass(frozen=True)
class PodFact:
    ev: str
    service: str
    name: str
    node: str | None
    phase: str
    reason: str | None
    restarts: int
    since: float | None

    @property
    def unhealthy(self) -> bool:
        return self.phase != "Running" or bool(self.reason and self.since is not None and self.since > -30)


@dataclass(frozen=True)
class NodeFact:
    ev: str
    name: str
    status: str
    ready: str
    reason: str | None
    since: float | None


@dataclass(frozen=True)
class SessionFact:
    ev: str
    database: str
    id: str
    pid: int
    user: str
    state: str
    started: float
    query: str


@dataclass
class Facts:
    alert_service: str
    alert_metric: str | None
    alert_source: str | None
    catalog: ServiceCatalog
    window: tuple[float, float] = (-360.0, 0.0)
    series: list[SeriesFact] = field(default_factory=list)
    changes: list[ChangeFact] = field(default_factory=list)
    logs: list[LogFact] = field(default_factory=list)
    pods: list[PodFact] = field(default_factory=list)
    nodes: list[NodeFact] = field(default_factory=list)
    sessions: list[SessionFact] = field(default_factory=list)
    knowledge: list[tuple[str, list[str]]] = field(default_factory=list)  # (ev id, categories)
    pod_evidence: dict[str, str] = field(default_factory=dict)  # service -> ev id
    node_evidence: str | None = None
    session_evidence: dict[str, str] = field(default_factory=dict)  # database -> ev id
    ids: set[str] = field(default_factory=set)

    # --- lookups ---------------------------------------------------------------------

    def of(self, service: str) -> list[SeriesFact]:
        return [s for s in self.series if s.service == service]

    def get(self, service: str, metric: str) -> SeriesFact | None:
        return next((s for s in self.series if s.service == service and s.metric == metric), None)

    def alert_series(self) -> SeriesFact | None:
        if self.alert_metric:
            s = self.get(self.alert_service, self.alert_metric)
            if s is not None:
                return s
        return None

    def raw_of(self, s: SeriesFact) -> SeriesFact | None:
        """The raw counterpart of a smoothed series on the same service, when it was gathered."""
        name = raw_name(s.metric)
        if name is None:
            return None
        return self.get(s.service, name) or next(
            (x for x in self.of(s.service) if x.metric.lower() == name.lower()), None)

    def primary(self, service: str) -> list[SeriesFact]:
        """A service's series without the smoothed views of series it also has: an average lags what it
        averages, so its onset is late and it stays high after the raw signal has recovered."""
        return [s for s in self.of(service) if self.raw_of(s) is None]

    def logs_of(self, service: str) -> list[LogFact]:
        return [lg for lg in self.logs if lg.service == service]

    def pods_of(self, service: str) -> list[PodFact]:
        return [p for p in self.pods if p.service == service]

    def kind(self, service: str) -> str:
        s = self.catalog.get(service)
        return s.kind if s else "deployment"

    def deps(self, service: str) -> set[str]:
        return self.catalog.transitive_dependencies(service)

    def callers(self, service: str) -> set[str]:
        return dependents_closure(self.catalog, service)

    def relation(self, culprit_service: str) -> float:
        """How well a cause on ``culprit_service`` can explain the alert (graph reasoning)."""
        a = self.alert_service
        if culprit_service == a:
            return 1.0
        if culprit_service in self.deps(a):
            return 0.95  # upstream cause, downstream symptom
        if a in self.deps(culprit_service):
            return 0.85  # a caller that changed what it sends
        if self.deps(a) & self.deps(culprit_service):
            return 0.45
        return 0.25

    def onsets(self, service: str, *, recent: float = 240.0) -> list[tuple[float, SeriesFact]]:
        """Onsets of a service's abnormal series that began inside the window (not at its edge)."""
        out = []
        lo = self.window[0]
        for s in self.primary(service):
            sh = s.shape
            if sh.abnormal and sh.onset is not None and sh.onset > lo + 5 and sh.onset >= -recent:
                out.append((sh.onset, s))
        return sorted(out, key=lambda x: (x[0], x[1].metric))

    def symptom_onset(self, service: str) -> tuple[float, SeriesFact] | None:
        """The latest-beginning abnormal state a service is in now: its most recent step, else earliest ramp."""
        steps = [(o, s) for o, s in self.onsets(service, recent=120.0) if s.shape.kind.startswith("step")]
        if steps:
            return min(steps, key=lambda x: (x[0], x[1].metric))
        ramps = self.onsets(service)
        return ramps[0] if ramps else None

    def symptomatic(self, service: str) -> bool:
        return any(s.shape.abnormal and not has(s.metric, TRAFFIC) for s in self.primary(service))


def _f(x: Any, default: float = math.nan) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return default


def build(evidence: list[Evidence], catalog: ServiceCatalog, *, alert_service: str, alert_metric: str | None,
          alert_source: str | None, window: tuple[float, float] = (-360.0, 0.0)) -> Facts:
    f = Facts(alert_service, alert_metric, alert_source, catalog, window)
    for ev in evidence:
        f.ids.add(ev.id)
        d = ev.data or {}
        t = d.get("type")
        if ev.source in ("runbooks", "memory") and d.get("categories"):
            f.knowledge.append((ev.id, [str(c) for c in d["categories"]]))
            continue
        if ev.status != "ok":
            continue
        if t == "series" and "shape" in d:
            f.series.append(SeriesFact(ev.id, d["service"], d["metric"], Shape.from_dict(d["shape"]),
                                       tuple(d.get("minutes", ())), tuple(d.get("values", ()))))
        elif t == "change":
            f.changes.append(ChangeFact(ev.id, d["id"], d["kind"], d["service"], _f(d["at"]),
                                        dict(d.get("attributes", {}))))
        elif t == "log":
            f.logs.append(LogFact(ev.id, d["service"], d.get("level", "info"), d.get("message", ""),
                                  int(d.get("count", 0)), _f(d.get("first")), _f(d.get("last")),
                                  tuple(d.get("signatures", ()))))
        elif t == "pods":
            f.pod_evidence[d["service"]] = ev.id
            for p in d.get("pods", []):
                f.pods.append(PodFact(ev.id, d["service"], p["name"], p.get("node"), p.get("phase", "Running"),
                                      p.get("reason"), int(p.get("restarts") or 0),
                                      None if p.get("since") is None else _f(p["since"])))
        elif t == "nodes":
            f.node_evidence = ev.id
            for n in d.get("nodes", []):
                f.nodes.append(NodeFact(ev.id, n["name"], n.get("status", "Ready"), n.get("ready", "True"),
                                        n.get("reason"), None if n.get("since") is None else _f(n["since"])))
        elif t == "db_sessions":
            f.session_evidence[d["database"]] = ev.id
            for s in d.get("sessions", []):
                f.sessions.append(SessionFact(ev.id, d["database"], str(s["id"]), int(s["pid"]), s.get("user", ""),
                                              s.get("state", ""), _f(s.get("started"), 0.0), s.get("query", "")))
    return f
