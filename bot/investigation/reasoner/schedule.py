"""Scheduled work and its reach: cron runs (on time or overdue), maintenance, and whether anyone is hurt (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.investigation.reasoner.facts import (
    BACKLOG,
    ERRORS,
    LATENCY,
    TRAFFIC,
    ChangeFact,
    Facts,
    SeriesFact,
    has,
)

OVERDUE = 1.5  # a run this many times longer than its longest earlier run is stuck
TYPICAL_RUN = 30.0  # minutes, when no earlier run of the job is in the window


@dataclass(frozen=True)
class JobRuns:
    service: str
    job: str
    events: list[ChangeFact]
    durations: list[float]
    open_run: ChangeFact | None

    @property
    def typical(self) -> float:
        return max(self.durations) if self.durations else TYPICAL_RUN

    def overdue(self, now: float = 0.0) -> float:
        """Elapsed time of the open run over the job's typical duration (0 when no run is open)."""
        if self.open_run is None:
            return 0.0
        return (now - self.open_run.at) / max(self.typical, 1.0)


def job_runs(f: Facts) -> list[JobRuns]:
    """Cron events grouped into runs per (service, job): the durations of finished runs and the open one."""
    runs: dict[tuple[str, str], list[ChangeFact]] = {}
    for ch in sorted(f.changes, key=lambda x: x.at):
        if ch.kind == "cron":
            runs.setdefault((ch.service, ch.attrs.get("job", "")), []).append(ch)
    out = []
    for (svc, job), evs in sorted(runs.items()):
        durations: list[float] = []
        open_run: ChangeFact | None = None
        for ch in evs:
            st = ch.attrs.get("status")
            if st in ("started", "running") and (open_run is None or st == "started"):
                open_run = ch if st == "started" or open_run is None else open_run
            elif st in ("finished", "failed") and open_run is not None:
                durations.append(ch.at - open_run.at)
                open_run = None
        out.append(JobRuns(svc, job, evs, durations, open_run))
    return out


SCHEDULED_LEAD = 5.0  # a scheduled start up to this many minutes before an onset can explain it
STILL_GROWING = 5.0  # a ramp that reached its level less than this many minutes ago has not levelled off


def impact(f: Facts, service: str, since: float, *, besides: SeriesFact | None = None) -> list[str]:
    """Evidence that users feel something around ``service`` since ``since``: the service and its callers
    with errors, latency or a backlog that rose, unhealthy pods, or warnings and errors in their logs that
    began with it (a warning that was there all along is not news). ``besides`` is the signal being
    explained, which is not evidence against its own explanation."""
    around = {service} | f.callers(service)
    out: list[str] = []
    for svc in sorted(around):
        for x in f.primary(svc):
            if besides is not None and x.ev == besides.ev:
                continue
            if x.shape.rising and (has(x.metric, ERRORS) or has(x.metric, LATENCY) or has(x.metric, BACKLOG)):
                out.append(x.ev)
        out += [p.ev for p in f.pods_of(svc) if p.unhealthy]
        out += [lg.ev for lg in f.logs_of(svc) if lg.problem and lg.first >= since - SCHEDULED_LEAD]
    return list(dict.fromkeys(out))


def scheduled_work(f: Facts, onset: float, until: float = 0.0) -> list[ChangeFact]:
    """Scheduled work still under way (a cron run not yet overdue, or a maintenance) that began just before
    ``onset`` (or after it, up to ``until``) on the alerting service or a service next to it. A finished run
    cannot hold a signal up, and an overdue one is a stuck job, not this."""
    near = {f.alert_service} | f.callers(f.alert_service) | f.deps(f.alert_service)
    running = {r.open_run.id for r in job_runs(f) if r.open_run is not None and r.overdue() < OVERDUE}
    return [ch for ch in f.changes
            if (ch.kind == "maintenance" or ch.id in running) and ch.service in near
            and onset - SCHEDULED_LEAD <= ch.at <= until + 1]




RISE_SHARE = 0.03  # a series has left its baseline once it is this share of the way to its present level


def rise_start(s: SeriesFact) -> float | None:
    """The minute a rising series first left its baseline: a steady fill read as a step has its onset at the
    middle of the climb, but what filled it began where the climb did."""
    sh = s.shape
    if sh.onset is None or not s.minutes or len(s.minutes) != len(s.values):
        return sh.onset
    delta = sh.now - sh.baseline
    if delta <= 0:
        return sh.onset
    floor = sh.baseline + max(RISE_SHARE * delta, 4 * sh.noise)
    i = next((k for k, m in enumerate(s.minutes) if m >= sh.onset), None)
    if i is None:
        return sh.onset
    while i > 0 and s.values[i - 1] > floor:
        i -= 1
    return min(sh.onset, float(s.minutes[i]))


def drained(f: Facts, backlog: SeriesFact) -> list[str] | None:
    """Evidence that a backlog is being worked off at least at the usual pace: throughput of the services that
    fill or drain it (or of the backlog itself) rose or held up, and none of it fell. None when nothing shows
    processing, or some of it slowed: a backlog behind a consumer that stopped is not harmless."""
    svc = backlog.service
    around = {svc} | f.callers(svc) | f.deps(svc)
    flow = [x for x in f.series if x.service in around and x.ev != backlog.ev
            and has(x.metric, TRAFFIC) and not has(x.metric, BACKLOG)]
    if not flow or any(x.shape.falling for x in flow):
        return None
    kept = [x for x in flow if x.shape.rising or x.shape.now > 0]
    if not kept:
        return None
    return [x.ev for x in sorted(kept, key=lambda x: (not x.shape.rising, x.service, x.metric))]
