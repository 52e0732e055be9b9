"""The tools the model may call: read-only gathering over the investigation's Sources, and submit.

Gathering tools run through the same :class:`~bot.investigation.sources.Sources`
as the investigation; each result becomes a new :class:`Evidence` with the next
id (``ev-25``, ...). Action tools come from the registry's JSON Schemas (see
:mod:`bot.llm.proposals`); nothing is ever executed from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.investigation import onset
from bot.investigation.evidence import CATEGORIES, Evidence
from bot.investigation.sources import AlertContext, Sources

SUBMIT = "submit_hypotheses"
_WINDOW = {
    "type": "object", "additionalProperties": False, "required": ["from_minute", "to_minute"],
    "description": "Minutes relative to the alert (0); -60 is an hour before it.",
    "properties": {"from_minute": {"type": "number"}, "to_minute": {"type": "number"}},
}


def _tool(name: str, description: str, props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"name": name, "description": description,
            "input_schema": {"type": "object", "additionalProperties": False, "properties": props,
                             "required": required}}


GATHER_TOOLS: list[dict[str, Any]] = [
    _tool("query_metric", "Read one metric of one service over a window (one-minute points); the result is a new "
          "evidence item describing its shape (change point, ramp, flat). Read-only.",
          {"service": {"type": "string"}, "metric": {"type": "string", "description": "e.g. error_rate, "
           "latency_p95_ms, rps, cpu_pct, memory_pct, db_connections_pct"}, "window": _WINDOW},
          ["service", "metric"]),
    _tool("list_metrics", "List the metric names that exist for a service. Read-only.",
          {"service": {"type": "string"}}, ["service"]),
    _tool("search_logs", "Search the log patterns of a service in a window, optionally only those containing a "
          "phrase; each pattern is returned with level, count, first and last minute. Read-only.",
          {"service": {"type": "string"}, "contains": {"type": "string"}, "window": _WINDOW}, ["service"]),
    _tool("list_changes", "List deploys, config changes, feature flags, scaling, cron runs, status pages and "
          "certificates of some services (all when omitted) in a window. Read-only.",
          {"services": {"type": "array", "items": {"type": "string"}}, "window": _WINDOW}, []),
    _tool("list_pods", "List the Kubernetes pods of a service: phase, reason, restarts, node. Read-only.",
          {"service": {"type": "string"}, "namespace": {"type": "string"}}, ["service"]),
    _tool("list_nodes", "List the Kubernetes nodes and whether they are Ready. Read-only.", {}, []),
    _tool("list_db_sessions", "List the sessions of a database as pg_stat_activity shows them. Read-only.",
          {"database": {"type": "string"}}, ["database"]),
]

SUBMIT_TOOL: dict[str, Any] = {
    "name": SUBMIT,
    "description": "Submit the final ranked root-cause hypotheses, best first. Every hypothesis cites the evidence "
                   "ids it rests on; every figure in an explanation must appear in the evidence it cites.",
    "strict": True,
    "input_schema": {
        "type": "object", "additionalProperties": False, "required": ["hypotheses", "summary"],
        "properties": {
            "summary": {"type": "string", "description": "Two sentences for the incident brief."},
            "hypotheses": {"type": "array", "items": {
                "type": "object", "additionalProperties": False,
                "required": ["category", "culprit", "target", "confidence", "evidence", "explanation"],
                "properties": {
                    "category": {"type": "string", "enum": list(CATEGORIES)},
                    "culprit": {"type": ["string", "null"], "description": "event id, pod, node, session id or "
                                "service name; null for false_positive"},
                    "target": {"type": ["string", "null"], "description": "what the mitigation acts on"},
                    "confidence": {"type": "number", "description": "0 to 1"},
                    "evidence": {"type": "array", "items": {"type": "string"}, "description": "ids like ev-3"},
                    "explanation": {"type": "string"},
                },
            }},
        },
    },
}


@dataclass
class ToolContext:
    alert: AlertContext
    sources: Sources | None
    namespaces: dict[str, str]  # service -> namespace, from the catalog


class ToolError(Exception):
    """The call cannot be run; the message goes back to the model as an is_error tool_result."""


def _window(args: dict[str, Any], default: tuple[float, float] = (-60.0, 0.0)) -> tuple[float, float]:
    w = args.get("window") or {}
    try:
        lo, hi = float(w.get("from_minute", default[0])), float(w.get("to_minute", default[1]))
    except (TypeError, ValueError, AttributeError):
        raise ToolError("window: expected {from_minute: number, to_minute: number}") from None
    if lo >= hi or lo < -7 * 24 * 60 or hi > 24 * 60:
        raise ToolError("window: expected from_minute < to_minute within a week before the alert")
    return lo, hi


def _str(args: dict[str, Any], key: str) -> str:
    v = args.get(key)
    if not isinstance(v, str) or not v.strip():
        raise ToolError(f"{key}: required string")
    return v.strip()


def run_gather_tool(name: str, args: dict[str, Any], ctx: ToolContext, next_id: int) -> list[Evidence]:
    """Run one gathering tool; the new evidence items, numbered from ``next_id``. Raises :class:`ToolError`."""
    src, a = ctx.sources, ctx.alert
    if src is None:
        raise ToolError("no sources are connected to this investigation")

    def dt(m: float) -> Any:
        return a.at + timedelta(minutes=m)

    def minute(t: Any) -> float:
        return round((t - a.at).total_seconds() / 60.0, 2)

    def ev(source: str, query: str, window: tuple[float, float], status: str, summary: str,
           data: dict[str, Any], k: int = 0) -> Evidence:
        return Evidence(id=f"ev-{next_id + k}", source=source, query=query, window=window,
                        status=status, summary=summary, data=dict(data, via="llm"))  # type: ignore[arg-type]

    if name == "query_metric":
        svc, metric, w = _str(args, "service"), _str(args, "metric"), _window(args)
        if src.metrics is None:
            raise ToolError("no metrics source")
        s = src.metrics.query_series(svc, metric, dt(w[0]), dt(w[1]))
        query = s.query or f"avg:{metric}{{service:{svc}}}"
        if not s.points:
            return [ev(src.metrics.name, query, w, "no_data", f"{metric} of {svc}: no points",
                       {"type": "series", "service": svc, "metric": metric})]
        mins, vals = [minute(p.at) for p in s.points], [float(p.value) for p in s.points]
        shape = onset.characterise(mins, vals, metric)
        return [ev(src.metrics.name, query, w, "ok", onset.describe(svc, metric, shape),
                   {"type": "series", "service": svc, "metric": metric, "minutes": mins, "values": vals,
                    "shape": shape.to_dict()})]
    if name == "list_metrics":
        svc = _str(args, "service")
        if src.metrics is None:
            raise ToolError("no metrics source")
        names = sorted(set(src.metrics.list_metrics(svc)))
        return [ev(src.metrics.name, f"metrics{{service:{svc}}}", (-60.0, 0.0), "ok" if names else "no_data",
                   f"metrics of {svc}: {', '.join(names) or 'none'}", {"type": "metric_names", "names": names})]
    if name == "search_logs":
        svc, w = _str(args, "service"), _window(args)
        phrase = str(args.get("contains") or "").lower()
        if src.logs is None:
            raise ToolError("no logs source")
        pats = [p for p in src.logs.log_patterns(svc, dt(w[0]), dt(w[1])) if phrase in p.message.lower()]
        query = f"service:{svc}" + (f' "{phrase}"' if phrase else "")
        if not pats:
            return [ev(src.logs.name, query, w, "no_data", f"no matching logs from {svc}", {"type": "log"})]
        return [ev(src.logs.name, query, w, "ok",
                   f"{svc} logged {p.count} x {p.level} from {onset.minute(minute(p.first_seen))} to "
                   f"{onset.minute(minute(p.last_seen))}: \"{p.message[:200]}\"",
                   {"type": "log", "service": p.service or svc, "level": p.level, "message": p.message,
                    "count": p.count, "first": minute(p.first_seen), "last": minute(p.last_seen), "signatures": []},
                   k)
                for k, p in enumerate(sorted(pats, key=lambda p: (p.first_seen, p.message))[:10])]
    if name == "list_changes":
        w = _window(args, (-360.0, 0.0))
        services = args.get("services") or None
        if src.changes is None:
            raise ToolError("no changes source")
        events = src.changes.changes(list(services) if services else None, dt(w[0]), dt(w[1]))
        query = "tags:" + ",".join(f"service:{s}" for s in services) if services else "changes"
        if not events:
            return [ev(src.changes.name, query, w, "no_data", "no changes in the window", {"type": "change"})]
        return [ev(src.changes.name, query, w, "ok",
                   f"{e.kind} {e.id} of {e.service} at {onset.minute(minute(e.at))}: {e.title} "
                   + " ".join(f"{k}={v}" for k, v in sorted(e.attributes.items())),
                   {"type": "change", "id": e.id, "kind": e.kind, "service": e.service, "at": minute(e.at),
                    "attributes": dict(e.attributes), "title": e.title}, k)
                for k, e in enumerate(sorted(events, key=lambda e: (e.at, e.id))[:20])]
    if name in ("list_pods", "list_nodes"):
        if src.cluster is None:
            raise ToolError("no Kubernetes cluster")
        if name == "list_nodes":
            nodes = src.cluster.nodes()
            nrows = [{"name": n.name, "status": n.status, "reason": n.reason} for n in nodes]
            line = "; ".join(f"{r['name']} {r['status']}" + (f" ({r['reason']})" if r["reason"] else "")
                             for r in nrows) or "no nodes reported"
            return [ev("kubernetes.nodes", "nodes", (-60.0, 0.0), "ok" if nrows else "no_data", line,
                       {"type": "nodes", "nodes": nrows})]
        svc = _str(args, "service")
        ns = str(args.get("namespace") or ctx.namespaces.get(svc, "default"))
        pods = src.cluster.pods(ns, svc)
        rows: list[dict[str, Any]] = [
            {"name": p.name, "node": p.node, "phase": p.phase, "reason": p.reason, "restarts": p.restarts}
            for p in sorted(pods, key=lambda p: p.name)]
        line = f"{len(rows)} pods of {svc}: " + "; ".join(
            f"{r['name']} {r['phase']}" + (f" ({r['reason']})" if r["reason"] else "")
            + (f" {r['restarts']} restarts" if r["restarts"] else "") for r in rows[:8])
        return [ev("kubernetes.pods", f"pods -n {ns} -l app={svc}", (-60.0, 0.0), "ok" if rows else "no_data",
                   line if rows else f"no pods for {svc}", {"type": "pods", "service": svc, "namespace": ns,
                                                            "pods": rows})]
    if name == "list_db_sessions":
        db = _str(args, "database")
        for target in src.databases:
            try:
                sessions = target.sessions(db)
            except Exception:  # noqa: BLE001 - try the next target
                continue
            srows: list[dict[str, Any]] = [{"id": x.scenario_id or f"pid-{x.pid}", "pid": x.pid, "user": x.user, "state": x.state,
                     "started": minute(x.query_start) if x.query_start else None, "query": x.query[:200]}
                    for x in sorted(sessions, key=lambda x: x.pid)]
            line = f"{len(srows)} sessions on {db}" + "".join(
                f"; {r['id']} (pid {r['pid']}, {r['user']}, {r['state']}) since {onset.minute(r['started'])}"
                for r in srows[:6])
            return [ev("postgres.sessions", f"SELECT * FROM pg_stat_activity WHERE datname = '{db}'",
                       (-60.0, 0.0), "ok" if srows else "no_data", line,
                       {"type": "db_sessions", "database": db, "sessions": srows})]
        raise ToolError(f"database {db} not found")
    raise ToolError(f"unknown tool {name!r}")


GATHER_NAMES = frozenset(t["name"] for t in GATHER_TOOLS)
