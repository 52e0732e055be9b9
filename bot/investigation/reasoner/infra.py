"""Causes outside the service's code: nodes, certificates, providers, the network, stuck jobs; false alarms."""

from __future__ import annotations

import math

from bot.investigation.reasoner.candidate import Candidate
from bot.investigation.reasoner.changes import lag_fit
from bot.investigation.reasoner.facts import (
    BACKLOG,
    ERRORS,
    LATENCY,
    MEMORY,
    SATURATION,
    TRAFFIC,
    Facts,
    SeriesFact,
    has,
    tokens,
)
from bot.investigation.reasoner.schedule import (
    OVERDUE,
    STILL_GROWING,
    drained,
    impact,
    job_runs,
    rise_start,
    scheduled_work,
)

BAD_PODS = ("Unknown", "Terminating", "Pending", "Error", "CrashLoopBackOff")


def node_failure(f: Facts) -> list[Candidate]:
    out = []
    for n in f.nodes:
        if n.status == "Ready" and n.ready == "True":
            continue
        c = Candidate("node_failure", n.name, n.name)
        c.add("not_ready", 0.35, 1.0, f"{n.name} {n.status}" + (f" since {n.since:+.0f}" if n.since else ""), n.ev)
        on_it = [p for p in f.pods if p.node == n.name and p.phase in BAD_PODS]
        if on_it:
            c.add("pods", 0.25, 1.0, f"{len(on_it)} pod(s) on it {on_it[0].phase}", *[p.ev for p in on_it[:3]])
        services = {p.service for p in on_it}
        c.add("graph", 0.15, max((f.relation(s) for s in services), default=0.2))
        onsets = [o[0] for s in services if (o := f.symptom_onset(s)) is not None]
        if n.since is not None and onsets:
            c.add("timing", 0.15, lag_fit(min(onsets) - n.since))
        sig = [lg for lg in f.logs if lg.has("node_failure") or n.name in lg.message
               or any(p.name in lg.message for p in on_it)]
        c.add("signature", 0.1, 1.0 if sig else 0.0, "", *[lg.ev for lg in sig[:2]])
        out.append(c)
    return out


def cert_expiry(f: Facts) -> list[Candidate]:
    out = []
    tls_logs = [lg for lg in f.logs if lg.has("cert_expiry") and lg.problem]
    certs = [ch for ch in f.changes if ch.kind == "certificate"]
    for ch in certs:
        try:
            exp = float(ch.attrs.get("expires_at", "nan"))
        except ValueError:
            exp = math.nan
        if math.isnan(exp) or exp > 5:
            continue
        c = Candidate("cert_expiry", ch.id, ch.service)
        c.add("expired", 0.35, 1.0 if exp <= 0.5 else 0.5, f"certificate {ch.id} expired at {exp:+.0f}", ch.ev)
        mine = [lg for lg in tls_logs if lg.service == ch.service or ch.attrs.get("host", "\0") in lg.message]
        c.add("tls_errors", 0.25, 1.0 if mine else (0.4 if tls_logs else 0.0), "TLS errors in the logs",
              *[lg.ev for lg in (mine or tls_logs)[:2]])
        on = f.symptom_onset(ch.service)
        if on is not None:
            c.add("timing", 0.2, lag_fit(on[0] - exp), "", on[1].ev)
        elif mine:
            c.add("timing", 0.2, lag_fit(min(lg.first for lg in mine) - exp))
        c.add("graph", 0.15, f.relation(ch.service))
        out.append(c)
    if not certs:  # TLS failures with no certificate event: the service whose handshakes fail
        for svc in sorted({lg.service for lg in tls_logs if "expir" in lg.message.lower()}):
            c = Candidate("cert_expiry", svc, svc)
            c.add("tls_errors", 0.35, 1.0, "certificate-expired errors", *[lg.ev for lg in tls_logs if lg.service == svc][:2])
            c.add("graph", 0.15, f.relation(svc))
            out.append(c)
    return out


def _callers_with(f: Facts, dep: str, category: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for svc in sorted(f.catalog.dependents(dep)):
        hits = [lg for lg in f.logs_of(svc) if lg.has(category) and lg.problem and lg.first > f.window[0] + 5]
        if hits:
            out[svc] = hits
    return out


def _mentions(dep: str, logs: list) -> bool:
    dt = tokens(dep)
    return any(dep.lower() in lg.message.lower() or (dt and dt <= tokens(lg.message)) for lg in logs)


def dependency_outage(f: Facts) -> list[Candidate]:
    out = []
    for dep in f.catalog.names():
        pages = [ch for ch in f.changes if ch.kind == "status_page" and ch.service == dep and ch.at <= 0
                 and ch.attrs.get("status") not in (None, "operational")]
        callers = _callers_with(f, dep, "dependency_outage")
        own = [s for s in f.of(dep) if (has(s.metric, LATENCY) or has(s.metric, ERRORS)) and s.shape.rising]
        external = f.kind(dep) == "external"
        if not pages and not (external and (callers or own)):
            continue
        page = max(pages, key=lambda p: p.at) if pages else None
        c = Candidate("dependency_outage", page.id if page else dep, dep)
        sick_callers = [s for s in f.catalog.dependents(dep) if f.symptomatic(s)]
        onsets = [o[0] for s in sick_callers if (o := f.symptom_onset(s)) is not None]
        if page is not None:
            sev = 1.0 if page.attrs.get("status") == "major_outage" else 0.6
            c.add("status_page", 0.3, sev, f"{page.attrs.get('provider', dep)} status page: {page.attrs.get('status')}",
                  page.ev)
            if onsets:
                gap = page.at - min(onsets)  # status pages usually trail the onset
                c.add("timing", 0.2, 1.0 if -5 <= gap <= 15 else max(0.0, 1 - (abs(gap) - 15) / 10))
        c.add("provider_errors", 0.2, 1.0 if callers else 0.0, "callers get provider errors",
              *[lg.ev for ls in callers.values() for lg in ls[:1]])
        c.add("own_metrics", 0.15, 1.0 if own else 0.0, "", *[s.ev for s in own[:1]])
        if page is None and own and onsets:
            # no status page yet: the provider's own degradation began when its callers started failing
            own_on = min(s.shape.onset for s in own if s.shape.onset is not None) if any(
                s.shape.onset is not None for s in own) else None
            if own_on is not None:
                c.add("timing", 0.2, 1.0 if abs(own_on - min(onsets)) <= 2 else 0.0,
                      f"{dep} degraded at {own_on:+.0f}, when its callers began to fail")
        named = [lg for s in sick_callers for lg in f.logs_of(s) if lg.problem and _mentions(dep, [lg])
                 or (lg.problem and any(t in tokens(lg.message) for t in tokens(dep) if len(t) >= 4))]
        c.add("named", 0.1, 1.0 if named else 0.0, "", *[lg.ev for lg in named[:1]])
        c.add("graph", 0.1, f.relation(dep))
        healthy = [s for s in f.catalog.dependents(dep) if f.of(s) and not f.symptomatic(s)]
        if healthy and sick_callers:
            c.penalise(0.6, f"{', '.join(healthy)} call(s) {dep} without trouble")
        if not external:
            c.penalise(0.7)
        if c.evidence:
            out.append(c)
    return out


def network(f: Facts) -> list[Candidate]:
    out = []
    for dep in f.catalog.names():
        callers = _callers_with(f, dep, "network")
        if not callers:
            continue
        logs = [lg for ls in callers.values() for lg in ls]
        firsts = sorted(min(lg.first for lg in ls) for ls in callers.values())
        c = Candidate("network", dep, dep)
        n = len(callers)
        c.add("callers", 0.35, 1.0 if n >= 2 else 0.4, f"{n} caller(s) cannot reach {dep}", *[ls[0].ev for ls in callers.values()])
        c.add("same_minute", 0.15, 1.0 if n >= 2 and firsts[-1] - firsts[0] <= 2 else 0.0)
        c.add("named", 0.15, 1.0 if _mentions(dep, logs) else 0.0)
        own = f.of(dep)
        falls = [s for s in own if (has(s.metric, TRAFFIC) or has(s.metric, SATURATION)) and s.shape.falling]
        rises = [s for s in own if (has(s.metric, TRAFFIC) or has(s.metric, SATURATION) or has(s.metric, MEMORY))
                 and s.shape.rising]
        c.add("load_falls", 0.2, 1.0 if falls else 0.0, f"{dep}'s own load fell", *[s.ev for s in falls[:2]])
        if rises and not falls:
            c.penalise(0.6, f"{dep}'s own load rose")
        sick = [p for p in f.pods_of(dep) if p.phase in BAD_PODS]
        c.add("dep_healthy", 0.05, 0.0 if sick else 1.0, "", f.pod_evidence.get(dep))
        c.add("graph", 0.1, 1.0 if f.alert_service in callers else f.relation(dep) * 0.5)
        if f.kind(dep) == "external" and any(ch.kind == "status_page" and ch.service == dep for ch in f.changes):
            c.penalise(0.8)
        out.append(c)
    return out


def stuck_job(f: Facts) -> list[Candidate]:
    out = []
    for run in job_runs(f):
        svc, job, evs, open_run = run.service, run.job, run.events, run.open_run
        if open_run is None:
            continue
        elapsed = 0.0 - open_run.at
        typical = run.typical
        over = run.overdue()
        if over < OVERDUE:
            continue
        c = Candidate("stuck_job", open_run.id, svc)
        c.add("overdue", 0.4, min(1.0, (over - 1.0) / 1.0),
              f"{job} run {open_run.id} started {elapsed:.0f} min ago; runs took up to {typical:.0f} min",
              open_run.ev, *[e.ev for e in evs[-3:]])
        beat = [s for s in f.of(svc) if s.shape.new_high or (s.metric == f.alert_metric and s.shape.rising)]
        heartbeat = f.alert_source == "heartbeat" or any(s.shape.new_high for s in beat)
        c.add("heartbeat", 0.2, 1.0 if heartbeat else 0.0, "", *[s.ev for s in beat[:1]])
        idle = [s for s in f.of(svc) if has(s.metric, SATURATION) and s.shape.falling]
        c.add("idle", 0.1, 1.0 if idle else 0.0, "", *[s.ev for s in idle[:1]])
        c.add("graph", 0.2, f.relation(svc))
        out.append(c)
    return out


def false_positive(f: Facts) -> list[Candidate]:
    s = f.alert_series()
    if s is None:
        return []
    svc = f.alert_service
    c = Candidate("false_positive", None, svc)
    signal = s
    if s.shape.abnormal:
        raw = f.raw_of(s)
        if raw is not None and not raw.shape.abnormal:
            # the alert watches an average over a window; the raw signal it averages is already back
            signal = raw
            past_peak = s.shape.peak_at is not None and s.shape.peak_at < -1 and abs(s.shape.now) < abs(s.shape.peak)
            c.penalise(1.0 if past_peak else 0.8,
                       f"{s.metric} is an average that lags {raw.metric}" + (", past its peak" if past_peak else ""))
            c.cite(s.ev)
        else:
            return _explained_by_schedule(f, s)
    c.add("recovered", 0.45, 1.0 if signal.shape.kind == "transient" else 0.7,
          f"{signal.metric} of {svc} is back at {signal.shape.now:.3g} (baseline {signal.shape.baseline:.3g})",
          signal.ev)
    bad = [p for p in f.pods_of(svc) if p.unhealthy]
    c.add("pods_ok", 0.15, 0.0 if bad else 1.0, "", f.pod_evidence.get(svc))
    others = [x for x in f.primary(svc) if x.shape.abnormal and (has(x.metric, ERRORS) or has(x.metric, LATENCY))]
    c.add("no_symptoms", 0.15, 0.0 if others else 1.0)
    if others:
        c.penalise(0.4, f"{others[0].metric} of {svc} is still abnormal")
    if signal.shape.kind == "transient" and signal.shape.onset is not None:
        lo, hi = signal.shape.onset - 5, (signal.shape.recovered_at or 0.0) + 1
        sched = [ch for ch in f.changes if ch.kind in ("cron", "maintenance") and lo <= ch.at <= hi]
        finished = [ch for ch in sched if ch.attrs.get("status") in ("finished", None) or ch.kind == "maintenance"]
        c.add("scheduled", 0.2, 1.0 if finished else (0.5 if sched else 0.0), "a scheduled job explains it",
              *[ch.ev for ch in sched[:3]])
    return [c]


def _explained_by_schedule(f: Facts, s: SeriesFact) -> list[Candidate]:
    """A signal that is still high but is fully explained by scheduled work that began when it rose, and
    hurts no one: no errors, latency or backlog on the service or its callers, healthy pods, quiet logs."""
    sh, on = s.shape, s.shape.onset
    if on is None or not sh.rising or has(s.metric, ERRORS) or has(s.metric, LATENCY):
        return []
    if sh.kind == "ramp_up" and (sh.reached is None or sh.reached > -STILL_GROWING):
        return []  # still growing: not a level that the work holds steady
    backlog = has(s.metric, BACKLOG)
    flow: list[str] | None = None
    if backlog:
        # a backlog is harmless only while it is worked off: the work that filled it began where it rose,
        # and whoever drains it keeps processing
        flow = drained(f, s)
        on = rise_start(s)
        if flow is None or on is None:
            return []
    sched = scheduled_work(f, on)
    if not sched or impact(f, f.alert_service, on, besides=s if backlog else None):
        return []
    svc = f.alert_service
    first = min(sched, key=lambda ch: abs(ch.at - on))
    c = Candidate("false_positive", None, svc)
    c.add("scheduled", 0.45, lag_fit(on - first.at),
          f"{s.metric} of {svc} rose at {on:+.0f}, when scheduled {first.attrs.get('job') or first.kind} "
          f"{first.id} on {first.service} began", s.ev, *[ch.ev for ch in sched[:3]])
    c.add("pods_ok", 0.15, 1.0, "every pod is healthy", f.pod_evidence.get(svc))
    callers = sorted(f.callers(svc))
    quiet = [x.ev for x in f.series if x.service in callers and (has(x.metric, ERRORS) or has(x.metric, LATENCY))]
    c.add("no_symptoms", 0.2, 1.0, "no errors, latency or backlog on it or its callers", *quiet[:2])
    if flow:
        c.because.append(f"{s.metric} of {svc} is being worked off: throughput held up")
        c.cite(*flow[:2])
    return [c]


DETECTORS = (node_failure, cert_expiry, dependency_outage, network, stuck_job, false_positive)
