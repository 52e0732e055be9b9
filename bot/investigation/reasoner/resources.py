"""Resources running out: memory leaks, full disks, saturated caches, capacity, database sessions."""

from __future__ import annotations

from bot.investigation.reasoner.candidate import Candidate
from bot.investigation.reasoner.changes import CAUSE_KINDS, lag_fit
from bot.investigation.reasoner.facts import (
    BACKLOG,
    DISK_SPACE,
    LATENCY,
    MEMORY,
    NOT_SPACE,
    SATURATION,
    TRAFFIC,
    Facts,
    SeriesFact,
    SessionFact,
    has,
    tokens,
)
from bot.investigation.reasoner.schedule import impact, scheduled_work

LONG_RAMP = 30.0  # minutes of steady growth that make a leak rather than a jump
MIN_QUERY_MINUTES = 2.0  # an active query older than this is a suspect
ROUTINE_QUERIES = ("autovacuum", "vacuum", "analyze ", "reindex", "pg_dump", "checkpoint", "replication")


def _sig_logs(f: Facts, service: str, category: str) -> tuple[float, list[str]]:
    hits = [lg for lg in f.logs_of(service) if lg.has(category)]
    return max((lg.has(category) for lg in hits), default=0.0), [lg.ev for lg in hits[:3]]


def _ramp_long(s: SeriesFact) -> bool:
    sh = s.shape
    if sh.kind != "ramp_up" or sh.onset is None:
        return False
    end = sh.reached if sh.reached is not None else 0.0
    return end - sh.onset >= LONG_RAMP or sh.onset <= -LONG_RAMP


def memory_leak(f: Facts) -> list[Candidate]:
    out = []
    for svc in f.catalog.names():
        if f.kind(svc) in ("cache", "external"):
            continue
        mem = [s for s in f.of(svc) if has(s.metric, MEMORY) and not s.metric.startswith("cache")]
        ramps = [s for s in mem if _ramp_long(s)]
        oom = [p for p in f.pods_of(svc) if "oom" in (p.reason or "").lower()]
        if not ramps and not oom:
            continue
        c = Candidate("memory_leak", svc, svc)
        for s in ramps[:1]:
            c.add("ramp", 0.4, 1.0, f"{s.metric} of {svc} climbs steadily since {s.shape.onset:+.0f}", s.ev)
            high = s.shape.pinned or s.shape.now >= 85 or s.shape.new_high
            c.add("high", 0.1, 1.0 if high else 0.0)
        if oom:
            c.add("oom", 0.25, 1.0, f"{len(oom)} pod(s) of {svc} OOMKilled", oom[0].ev)
        sig, evs = _sig_logs(f, svc, "memory_leak")
        c.add("signature", 0.1, sig, "", *evs)
        restarts = [s for s in f.of(svc) if "restart" in s.metric and s.shape.rising]
        c.add("restarts", 0.05, 1.0 if restarts else 0.0, "", *[s.ev for s in restarts[:1]])
        c.add("graph", 0.1, f.relation(svc))
        # a climb that began right after a deploy of the same service is that deploy's regression
        for s in ramps[:1]:
            for ch in f.changes:
                if (ch.service == svc and ch.kind in CAUSE_KINDS and s.shape.onset is not None
                        and lag_fit(s.shape.onset - ch.at) >= 0.8):
                    c.penalise(0.5, f"the climb began right after {ch.id}")
        if not ramps:
            c.penalise(0.6)
        out.append(c)
    return out


def disk_full(f: Facts) -> list[Candidate]:
    out = []
    for svc in f.catalog.names():
        disks = [s for s in f.of(svc) if has(s.metric, DISK_SPACE) and not has(s.metric, NOT_SPACE)]
        full = [s for s in disks if s.shape.pinned or (s.shape.rising and s.shape.now >= 90)]
        sig, evs = _sig_logs(f, svc, "disk_full")
        if not full and not sig:
            continue
        c = Candidate("disk_full", svc, svc)
        for s in full[:1]:
            c.add("full", 0.35, 1.0, f"{s.metric} of {svc} at {s.shape.now:.0f}", s.ev)
            c.add("growth", 0.15, 1.0 if s.shape.rising else 0.3)
        c.add("signature", 0.3, sig, "disk-full errors in the logs", *evs)
        c.add("graph", 0.15, f.relation(svc))
        out.append(c)
    return out


def cache_saturation(f: Facts) -> list[Candidate]:
    out = []
    for svc in f.catalog.names():
        series = f.of(svc)
        if f.kind(svc) != "cache" and not any(s.metric.startswith("cache") for s in series):
            continue
        mem = [s for s in series if has(s.metric, MEMORY) and (s.shape.pinned or (s.shape.rising and s.shape.now >= 90))]
        ev_up = [s for s in series if "evict" in s.metric and s.shape.rising]
        hit_down = [s for s in series if "hit" in s.metric and s.shape.falling]
        sig, evs = _sig_logs(f, svc, "cache_saturation")
        if not (mem or ev_up or hit_down):
            continue
        c = Candidate("cache_saturation", svc, svc)
        c.add("memory", 0.25, 1.0 if mem else 0.0, "cache memory at its limit", *[s.ev for s in mem[:1]])
        c.add("evictions", 0.25, 1.0 if ev_up else 0.0, "evictions up", *[s.ev for s in ev_up[:1]])
        c.add("hit_rate", 0.2, 1.0 if hit_down else 0.0, "hit rate down", *[s.ev for s in hit_down[:1]])
        c.add("signature", 0.1, sig, "", *evs)
        a_on = f.symptom_onset(f.alert_service)
        c_on = [s.shape.onset for s in ev_up + hit_down if s.shape.onset is not None]
        if a_on is not None and c_on:
            c.add("timing", 0.1, lag_fit(a_on[0] - min(c_on)))
        c.add("graph", 0.1, f.relation(svc))
        out.append(c)
    return out


def demand(f: Facts, svc: str) -> tuple[list[SeriesFact], bool]:
    """Traffic series that show ``svc``'s demand growing, and whether they are its own.

    A service without a traffic metric of its own is asked what its direct callers are asked: their
    requests pass through it (a call path), so their growth is its growth."""
    own = [s for s in f.of(svc) if has(s.metric, TRAFFIC)]
    grew = [s for s in own if s.shape.rising and s.shape.ratio >= 1.3]
    if own:
        return grew, True
    callers = [s for c in sorted(f.catalog.dependents(svc)) for s in f.of(c)
               if has(s.metric, TRAFFIC) and s.shape.rising and s.shape.ratio >= 1.3]
    return callers, False


def capacity(f: Facts) -> list[Candidate]:
    out = []
    for svc in f.catalog.names():
        if f.kind(svc) == "external":
            continue  # a provider's saturation is its outage; there is nothing of ours to scale
        series = f.of(svc)
        sat = [s for s in series if has(s.metric, SATURATION) and (s.shape.pinned or (s.shape.rising and s.shape.now >= 85))]
        if not sat:
            continue
        traffic, own = demand(f, svc)
        if not traffic:
            continue
        c = Candidate("capacity", svc, svc)
        t = traffic[0]
        c.add("saturated", 0.3, 1.0, f"{sat[0].metric} of {svc} pinned at {sat[0].shape.now:.0f}", sat[0].ev)
        c.add("traffic", 0.25, (1.0 if t.shape.kind == "ramp_up" else 0.5) * (1.0 if own else 0.8),
              f"{t.metric} of {t.service} grew {t.shape.ratio:.1f}x" + ("" if own else f", all of it through {svc}"),
              t.ev)
        # work waiting on it: its latency, or a backlog of its own, rising
        waiting = [s for s in series if (has(s.metric, LATENCY) or has(s.metric, BACKLOG)) and s.shape.rising]
        c.add("latency", 0.1, 1.0 if waiting else 0.0, "", *[s.ev for s in waiting[:1]])
        sig, evs = _sig_logs(f, svc, "capacity")
        c.add("signature", 0.1, sig, "", *evs)
        c.add("graph", 0.15, f.relation(svc))
        # load that a change created is that change's story, not capacity
        t_on = t.shape.onset if t.shape.onset is not None else 0.0
        movers = {svc} | f.callers(svc)
        for ch in f.changes:
            if ch.kind in CAUSE_KINDS and ch.service in movers and lag_fit(t_on - ch.at) >= 0.5:
                c.penalise(0.3, f"the load follows {ch.id}")
                break
        else:
            c.add("unexplained", 0.1, 1.0)
        # planned load that nobody waits on is headroom in use, not a shortage
        sched = [ch for ch in scheduled_work(f, t_on) if ch.service in movers]
        if sched and not impact(f, svc, t_on):
            c.penalise(0.5, f"the load is scheduled work ({sched[0].id}) and nobody waits on {svc}")
        out.append(c)
    return out


def runaway_query(f: Facts) -> list[Candidate]:
    out = []
    by_db: dict[str, list[SessionFact]] = {}
    for ses in f.sessions:
        by_db.setdefault(ses.database, []).append(ses)
    for db, sessions in sorted(by_db.items()):
        active = [x for x in sessions if x.state == "active"]
        if not active:
            continue
        cpu = [s for s in f.of(db) if has(s.metric, SATURATION) and s.shape.rising]
        for q in active:
            age = -q.started
            if age < MIN_QUERY_MINUTES:
                continue
            c = Candidate("runaway_query", q.id, db)
            c.add("long", 0.2, min(1.0, age / 10.0), f"session {q.id} ({q.user}) active for {age:.0f} min", q.ev)
            if cpu:
                s = cpu[0]
                o = s.shape.onset if s.shape.onset is not None else 0.0
                fit = 1.0 if abs(o - q.started) <= 3 else max(0.0, 1 - (abs(o - q.started) - 3) / 15)
                c.add("cpu_onset", 0.45, fit, f"{s.metric} of {db} rose at {o:+.0f}, when {q.id} started", s.ev)
                c.add("pinned", 0.05, 1.0 if s.shape.pinned or s.shape.now >= 85 else 0.0)
            c.add("graph", 0.15, f.relation(db))
            sig = max((lg.has("runaway_query") for lg in f.logs), default=0.0)
            c.add("signature", 0.05, sig)
            if any(w in q.query.lower() for w in ROUTINE_QUERIES):
                c.penalise(0.7, f"{q.id} is routine maintenance")
            out.append(c)
    return out


def _user_service(f: Facts, user: str) -> str | None:
    ut = tokens(user)
    best, score = None, 0
    for svc in f.catalog.names():
        if f.kind(svc) in ("database", "external", "cache"):
            continue
        st = tokens(svc)
        common = {t for t in ut if any(x.startswith(t) or t.startswith(x) for x in st)}
        if len(common) > score:
            best, score = svc, len(common)
    return best


def connection_leak(f: Facts) -> list[Candidate]:
    out = []
    for db in sorted({s.database for s in f.sessions} | {n for n in f.catalog.names() if f.kind(n) == "database"}):
        conns = [s for s in f.of(db) if has(s.metric, ("connection", "conn", "session"))]
        climbing = [s for s in conns if s.shape.rising and (s.shape.kind == "ramp_up" or s.shape.pinned)]
        idle = [x for x in f.sessions if x.database == db and x.state.startswith("idle in transaction")
                and -x.started >= 15]
        by_user: dict[str, list[SessionFact]] = {}
        for x in idle:
            by_user.setdefault(x.user, []).append(x)
        suspects: dict[str, Candidate] = {}
        for user, ss in by_user.items():
            svc = _user_service(f, user)
            if svc is None:
                continue
            c = suspects.setdefault(svc, Candidate("connection_leak", svc, svc))
            c.add("idle_sessions", 0.3, min(1.0, len(ss) / 2.0),
                  f"{len(ss)} sessions of {user} idle in transaction, oldest {-min(x.started for x in ss):.0f} min",
                  ss[0].ev)
        # services whose own pool/connection metric climbs with the database's
        for svc in f.catalog.names():
            if svc == db or db not in f.deps(svc):
                continue
            pool = [s for s in f.of(svc) if has(s.metric, ("pool", "conn")) and s.shape.kind == "ramp_up"]
            if pool:
                c = suspects.setdefault(svc, Candidate("connection_leak", svc, svc))
                c.add("pool_climb", 0.2, 1.0, f"{pool[0].metric} of {svc} climbs with {db}'s connections", pool[0].ev)
        for svc, c in suspects.items():
            if climbing:
                c.add("db_connections", 0.25, 1.0, f"connections of {db} climbing to {climbing[0].shape.now:.0f}",
                      climbing[0].ev)
            sig_logs = [lg for lg in f.logs if lg.has("connection_leak")]
            c.add("signature", 0.1, max((lg.has("connection_leak") for lg in sig_logs), default=0.0), "",
                  *[lg.ev for lg in sig_logs[:2]])
            c.add("graph", 0.1, max(f.relation(db), f.relation(svc)))
            out.append(c)
    return out


DETECTORS = (memory_leak, disk_full, cache_saturation, capacity, runaway_query, connection_leak)
