"""Gathering: ask every source in parallel, each query with a timeout; every result is one Evidence.

A source that fails becomes evidence with status ``error``, one that answers
nothing ``no_data``, one that hangs ``error`` ("timed out"); none stops the
investigation. Items are sorted by a stable key before they are numbered, so
the same inputs give the same ids.
"""

from __future__ import annotations

import concurrent.futures as cf
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.catalog.model import ServiceCatalog
from bot.integrations.errors import IntegrationError, IntegrationNotFound
from bot.investigation import onset
from bot.investigation.evidence import Evidence
from bot.investigation.neighbourhood import scoped
from bot.investigation.signatures import match
from bot.investigation.skills import Signature, Skill
from bot.investigation.sources import AlertContext, Sources

MAX_WORKERS = 16
SERIES_WORKERS = 8  # per service, beside MAX_WORKERS
TIME_ATTRIBUTES = ("expires_at", "not_after", "expires")
SIGNAL_ORDER = ("metrics", "changes", "logs", "pods", "nodes", "db_sessions", "runbooks")


@dataclass
class Draft:
    """An evidence item before it has its id."""

    key: tuple[Any, ...]
    source: str
    query: str
    window: tuple[float, float]
    status: str
    summary: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    alert: AlertContext
    skill: Skill
    catalog: ServiceCatalog
    lexicon: list[Signature]
    now: datetime

    @property
    def window(self) -> tuple[float, float]:
        lo = self.skill.window[0]
        hi = max(self.skill.window[1], self.minute(self.now))
        return (lo, round(hi, 2))

    def minute(self, t: datetime | None) -> float:
        if t is None:
            return float("nan")
        return round((t - self.alert.at).total_seconds() / 60.0, 2)

    def dt(self, minute: float) -> datetime:
        return self.alert.at + timedelta(minutes=minute)

    def services(self, scope: str) -> list[str]:
        return scoped(self.catalog, self.alert.service, scope)


Task = tuple[tuple[Any, ...], str, str, Callable[[], list[Draft]]]  # key, source, query, run


def _metrics_tasks(plan: Plan, src: Any, scope: str, order: int) -> list[Task]:
    tasks: list[Task] = []
    lo, hi = plan.window
    for svc in plan.services(scope):
        def run(svc: str = svc) -> list[Draft]:
            names = sorted(set(src.list_metrics(svc)))
            if not names:
                return [Draft((order, svc, ""), src.name, f"metrics{{service:{svc}}}", (lo, hi), "no_data",
                              f"no metrics for {svc}", {"type": "series", "service": svc})]
            if len(names) == 1:
                return [_series(plan, src, svc, names[0], order)]
            # the series of one service are independent queries: in parallel, not one after another
            with cf.ThreadPoolExecutor(max_workers=min(SERIES_WORKERS, len(names)),
                                       thread_name_prefix="gather-series") as pool:
                return list(pool.map(lambda metric: _series(plan, src, svc, metric, order), names))
        tasks.append(((order, svc), src.name, f"metrics{{service:{svc}}}", run))
    return tasks


def _series(plan: Plan, src: Any, svc: str, metric: str, order: int) -> Draft:
    lo, hi = plan.window
    query = f"avg:{metric}{{service:{svc}}}"
    try:
        s = src.query_series(svc, metric, plan.dt(lo), plan.dt(hi))
    except IntegrationError as e:
        return Draft((order, svc, metric), src.name, query, (lo, hi), "error", f"{query}: {e.message}",
                     {"type": "series", "service": svc, "metric": metric})
    query = s.query or query
    if not s.points:
        return Draft((order, svc, metric), src.name, query, (lo, hi), "no_data", f"{metric} of {svc}: no points",
                     {"type": "series", "service": svc, "metric": metric})
    minutes = [plan.minute(p.at) for p in s.points]
    values = [float(p.value) for p in s.points]
    shape = onset.characterise(minutes, values, metric)
    data = {"type": "series", "service": svc, "metric": metric, "minutes": minutes, "values": values,
            "shape": shape.to_dict()}
    return Draft((order, svc, metric), src.name, query, (lo, hi), "ok", onset.describe(svc, metric, shape), data)


def _changes_task(plan: Plan, src: Any, scope: str, order: int) -> Task:
    lo, hi = plan.window
    services = plan.services(scope)
    query = "tags:" + ",".join(f"service:{s}" for s in services)

    def run() -> list[Draft]:
        events = src.changes(services, plan.dt(lo), plan.dt(hi))
        if not events:
            return [Draft((order, ""), src.name, query, (lo, hi), "no_data", "no changes in the window",
                          {"type": "change"})]
        out = []
        for e in sorted(events, key=lambda e: (e.at, e.id)):
            at = plan.minute(e.at)
            attrs = dict(e.attributes)
            for k in TIME_ATTRIBUTES:
                if k in attrs and (mm := _attr_minute(plan, attrs[k])) is not None:
                    attrs[k] = f"{mm:g}"
            data = {"type": "change", "id": e.id, "kind": e.kind, "service": e.service, "at": at,
                    "attributes": attrs, "title": e.title}
            out.append(Draft((order, at, e.id), src.name, query, (lo, hi), "ok", _change_line(e.kind, e.id,
                             e.service, at, attrs), data))
        return out
    return ((order,), src.name, query, run)


def _change_line(kind: str, cid: str, svc: str, at: float, a: dict[str, str]) -> str:
    m = onset.minute(at)
    if kind == "deploy":
        st = f" ({a['status']})" if a.get("status") else ""
        return f"deploy {cid} of {svc} {a.get('previous', '?')} -> {a.get('version', '?')} at {m} by {a.get('author', '?')}{st}"
    if kind == "config":
        return f"config change {cid} of {svc} at {m}: {a.get('key')} {a.get('old')} -> {a.get('new')} by {a.get('author', '?')}"
    if kind == "feature_flag":
        return f"feature flag {cid} of {svc} at {m}: {a.get('flag')} {a.get('old')} -> {a.get('new')} by {a.get('author', '?')}"
    if kind == "scaling":
        return f"scaling {cid} of {svc} at {m}: replicas {a.get('old')} -> {a.get('new')}"
    if kind == "cron":
        return f"cron {cid}: {a.get('job')} on {svc} {a.get('status')} at {m}"
    if kind == "status_page":
        return f"status page {cid} of {a.get('provider', svc)} ({svc}) at {m}: {a.get('status')}"
    if kind == "certificate":
        return f"certificate {cid} of {svc} for {a.get('host', '?')} expires at {onset.minute(_float(a.get('expires_at')))}"
    if kind == "maintenance":
        return f"maintenance {cid} on {svc} at {m}: {a.get('note', '')}"
    return f"{kind} {cid} on {svc} at {m}"


def _attr_minute(plan: Plan, value: str) -> float | None:
    """A time attribute (ISO timestamp, epoch seconds, or minutes) as minutes relative to the alert."""
    v = _float(value)
    if v is not None:
        return plan.minute(datetime.fromtimestamp(v, tz=UTC)) if abs(v) > 1e8 else v
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return plan.minute(t if t.tzinfo else t.replace(tzinfo=UTC))


def _float(x: Any) -> float | None:
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def _logs_tasks(plan: Plan, src: Any, scope: str, order: int) -> list[Task]:
    lo, hi = plan.window
    tasks: list[Task] = []
    for svc in plan.services(scope):
        if (s := plan.catalog.get(svc)) is not None and s.kind == "external":
            continue
        query = f"service:{svc}"

        def run(svc: str = svc, query: str = query) -> list[Draft]:
            pats = src.log_patterns(svc, plan.dt(lo), plan.dt(hi))
            if not pats:
                return [Draft((order, svc, ""), src.name, query, (lo, hi), "no_data", f"no logs from {svc}",
                              {"type": "log", "service": svc})]
            out = []
            for p in sorted(pats, key=lambda p: (p.first_seen, p.level, p.message)):
                first, last = plan.minute(p.first_seen), plan.minute(p.last_seen)
                sigs = match(p.message, p.level, plan.lexicon)
                data = {"type": "log", "service": p.service or svc, "level": p.level, "message": p.message,
                        "count": p.count, "first": first, "last": last, "signatures": sigs}
                line = (f"{svc} logged {p.count} x {p.level} from {onset.minute(first)} to {onset.minute(last)}: "
                        f"\"{p.message[:140]}\"")
                out.append(Draft((order, svc, first, p.message), src.name, f"{query} status:{p.level}", (lo, hi),
                                 "ok", line, data))
            return out
        tasks.append(((order, svc), src.name, query, run))
    return tasks


def _pods_tasks(plan: Plan, src: Any, scope: str, order: int) -> list[Task]:
    lo, hi = plan.window
    tasks: list[Task] = []
    for svc in plan.services(scope):
        s = plan.catalog.get(svc)
        if s is not None and s.kind == "external":
            continue
        ns = s.namespace if s else "default"
        query = f"pods -n {ns} -l app={svc}"

        def run(svc: str = svc, ns: str = ns, query: str = query) -> list[Draft]:
            pods = src.pods(ns, svc)
            if not pods:
                return [Draft((order, svc), "kubernetes.pods", query, (lo, hi), "no_data", f"no pods for {svc}",
                              {"type": "pods", "service": svc, "pods": []})]
            rows = [{"name": p.name, "node": p.node, "phase": p.phase, "reason": p.reason, "restarts": p.restarts,
                     "since": plan.minute(p.since) if p.since else None} for p in sorted(pods, key=lambda p: p.name)]
            bad = [r for r in rows if r["phase"] != "Running" or r["reason"] or r["restarts"]]
            counts: dict[str, int] = {}
            for r in rows:
                counts[r["phase"]] = counts.get(r["phase"], 0) + 1
            line = f"{len(rows)} pods of {svc}: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
            for r in bad[:3]:
                line += (f"; {r['name']} {r['phase']}" + (f" ({r['reason']})" if r["reason"] else "")
                         + (f" {r['restarts']} restarts" if r["restarts"] else "")
                         + (f" since {onset.minute(r['since'])}" if r["since"] is not None else "")
                         + (f" on {r['node']}" if r["node"] else ""))
            return [Draft((order, svc), "kubernetes.pods", query, (lo, hi), "ok", line,
                          {"type": "pods", "service": svc, "namespace": ns, "pods": rows})]
        tasks.append(((order, svc), "kubernetes.pods", query, run))
    return tasks


def _nodes_task(plan: Plan, src: Any, order: int) -> Task:
    lo, hi = plan.window

    def run() -> list[Draft]:
        nodes = src.nodes()
        if not nodes:
            return [Draft((order,), "kubernetes.nodes", "nodes", (lo, hi), "no_data", "no nodes reported",
                          {"type": "nodes", "nodes": []})]
        rows = [{"name": n.name, "ready": n.ready, "status": n.status, "reason": n.reason,
                 "since": plan.minute(n.since) if n.since else None} for n in sorted(nodes, key=lambda n: n.name)]
        bad = [r for r in rows if r["status"] != "Ready" or r["ready"] != "True"]
        line = f"{len(rows)} nodes, {len(rows) - len(bad)} Ready"
        for r in bad:
            line += (f"; {r['name']} {r['status']}" + (f" since {onset.minute(r['since'])}" if r["since"] is not None
                                                       else "") + (f" ({r['reason']})" if r["reason"] else ""))
        return [Draft((order,), "kubernetes.nodes", "nodes", (lo, hi), "ok", line, {"type": "nodes", "nodes": rows})]
    return ((order,), "kubernetes.nodes", "nodes", run)


def _sessions_tasks(plan: Plan, dbs: list[Any], scope: str, order: int) -> list[Task]:
    lo, hi = plan.window
    tasks: list[Task] = []
    for svc in plan.services(scope):
        s = plan.catalog.get(svc)
        if s is None or s.kind != "database":
            continue
        query = f"SELECT * FROM pg_stat_activity WHERE datname = '{svc}'"

        def run(svc: str = svc, query: str = query) -> list[Draft]:
            last: Exception | None = None
            for db in dbs:
                try:
                    sessions = db.sessions(svc)
                except IntegrationNotFound as e:
                    last = e
                    continue
                return [_sessions_draft(plan, svc, query, sessions, order)]
            if last is not None:
                raise last
            return []
        tasks.append(((order, svc), "postgres.sessions", query, run))
    return tasks


def _sessions_draft(plan: Plan, db: str, query: str, sessions: list[Any], order: int) -> Draft:
    lo, hi = plan.window
    rows = []
    for x in sorted(sessions, key=lambda x: x.pid):
        started = plan.minute(x.query_start or x.backend_start)
        rows.append({"id": x.scenario_id or f"pid-{x.pid}", "pid": x.pid, "user": x.user, "state": x.state,
                     "started": started, "query": x.query})
    if not rows:
        return Draft((order, db), "postgres.sessions", query, (lo, hi), "no_data", f"no sessions on {db}",
                     {"type": "db_sessions", "database": db, "sessions": []})
    line = f"{len(rows)} sessions on {db}"
    active = [r for r in rows if r["state"] == "active" and r["started"] == r["started"]]
    if active:
        a = min(active, key=lambda r: r["started"])
        line += f"; longest active {a['id']} (pid {a['pid']}, {a['user']}) since {onset.minute(a['started'])}"
    idle = [r for r in rows if r["state"].startswith("idle in transaction")]
    if idle:
        users = sorted({r["user"] for r in idle})
        oldest = min(r["started"] for r in idle)
        line += f"; {len(idle)} idle in transaction ({', '.join(users)}), oldest since {onset.minute(oldest)}"
    return Draft((order, db), "postgres.sessions", query, (lo, hi), "ok", line,
                 {"type": "db_sessions", "database": db, "sessions": rows})


def plan_tasks(plan: Plan, sources: Sources) -> list[Task]:
    tasks: list[Task] = []
    seen: set[str] = set()
    ordered = [(st.signal, st.scope) for st in plan.skill.gather] + [(s, "neighbourhood") for s in SIGNAL_ORDER]
    for signal, scope in ordered:
        if signal in seen:
            continue
        seen.add(signal)
        order = SIGNAL_ORDER.index(signal)
        if signal == "metrics" and sources.metrics is not None:
            tasks += _metrics_tasks(plan, sources.metrics, scope, order)
        elif signal == "changes" and sources.changes is not None:
            tasks.append(_changes_task(plan, sources.changes, scope, order))
        elif signal == "logs" and sources.logs is not None:
            tasks += _logs_tasks(plan, sources.logs, scope, order)
        elif signal == "pods" and sources.cluster is not None:
            tasks += _pods_tasks(plan, sources.cluster, scope, order)
        elif signal == "nodes" and sources.cluster is not None:
            tasks.append(_nodes_task(plan, sources.cluster, order))
        elif signal == "db_sessions" and sources.databases:
            tasks += _sessions_tasks(plan, list(sources.databases), scope, order)
    return tasks


def run_tasks(plan: Plan, tasks: list[Task], timeout_s: float) -> list[Draft]:
    lo, hi = plan.window
    drafts: list[Draft] = []
    pool = cf.ThreadPoolExecutor(max_workers=min(MAX_WORKERS, max(1, len(tasks))), thread_name_prefix="gather")
    try:
        futures = [(t, pool.submit(t[3])) for t in tasks]
        deadline = time.monotonic() + timeout_s
        for (key, source, query, _), fut in futures:
            try:
                drafts.extend(fut.result(timeout=max(0.0, deadline - time.monotonic())))
            except cf.TimeoutError:
                drafts.append(Draft(key, source, query, (lo, hi), "error", f"{query}: no answer within {timeout_s:g}s",
                                    {"type": "failed"}))
            except IntegrationNotFound as e:
                drafts.append(Draft(key, source, query, (lo, hi), "no_data", f"{query}: {e.message}", {"type": "failed"}))
            except Exception as e:  # noqa: BLE001 - any failing source becomes evidence, never a crash
                msg = e.message if isinstance(e, IntegrationError) else f"{type(e).__name__}: {e}"
                drafts.append(Draft(key, source, query, (lo, hi), "error", f"{query}: {msg}", {"type": "failed"}))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return drafts


def number(drafts: list[Draft], start: int = 1) -> list[Evidence]:
    ordered = sorted(drafts, key=lambda d: tuple(_sortable(k) for k in d.key) + (d.source, d.query, d.summary))
    out = []
    for i, d in enumerate(ordered, start=start):
        out.append(Evidence(id=f"ev-{i}", source=d.source, query=d.query, window=d.window,
                            status=d.status, summary=d.summary, data=d.data))  # type: ignore[arg-type]
    return out


def _sortable(k: Any) -> tuple[int, Any]:
    if isinstance(k, int | float):
        return (0, float(k))
    return (1, str(k))


def gather(plan: Plan, sources: Sources, *, timeout_s: float = 5.0) -> list[Evidence]:
    return number(run_tasks(plan, plan_tasks(plan, sources), timeout_s))
