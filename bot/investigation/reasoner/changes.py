"""Changes as causes: deploys, config changes and feature flags, judged by timing and the graph.

A change fits when symptoms of its own service (or of the services it calls or
that call it) begin shortly after it. It loses when the onset came first, when
its service stayed flat, when it is far from the alerting service, or when the
same symptom began at the same minute on services it cannot explain.
"""

from __future__ import annotations

import math

from bot.investigation.reasoner.candidate import Candidate
from bot.investigation.reasoner.facts import TRAFFIC, ChangeFact, Facts, SeriesFact, has

CAUSE_KINDS = {"deploy": "deploy_regression", "config": "config_regression", "feature_flag": "feature_flag"}
FIT_FULL = 5.0  # minutes: an onset this soon after a change fits fully
FIT_DECAY = 6.0  # then the fit halves roughly every four minutes
SAME_MINUTE = 2.0


def lag_fit(lag: float) -> float:
    """How well an onset ``lag`` minutes after a change fits it being the cause."""
    if math.isnan(lag) or lag < -1.0:
        return 0.0
    if lag < 0:
        return 0.8
    if lag <= FIT_FULL:
        return 1.0
    return math.exp(-(lag - FIT_FULL) / FIT_DECAY)


def _best_onset(f: Facts, services: set[str], at: float) -> tuple[float, SeriesFact | None, float]:
    """(fit, series, lag) of the abnormal series in ``services`` whose onset best follows ``at``."""
    best: tuple[float, SeriesFact | None, float] = (0.0, None, math.nan)
    for svc in sorted(services):
        for o, s in f.onsets(svc):
            fit = lag_fit(o - at)
            if has(s.metric, TRAFFIC) and not s.shape.rising:
                fit *= 0.5
            if fit > best[0]:
                best = (fit, s, o - at)
    return best


def _simultaneous(f: Facts, onset: float) -> set[str]:
    out = set()
    for svc in f.catalog.names():
        o = f.symptom_onset(svc)
        if o is not None and abs(o[0] - onset) <= SAME_MINUTE and f.symptomatic(svc):
            out.add(svc)
    return out


def detect(f: Facts) -> list[Candidate]:
    out: list[Candidate] = []
    for ch in f.changes:
        cat = CAUSE_KINDS.get(ch.kind)
        if cat is None or ch.at > 0.5:
            continue
        out.append(_judge(f, ch, cat))
    return [c for c in out if c.score > 0]


def _judge(f: Facts, ch: ChangeFact, cat: str) -> Candidate:
    c = Candidate(cat, ch.id, ch.service)
    c.cite(ch.ev)
    own_fit, own_s, own_lag = _best_onset(f, {ch.service}, ch.at)
    near = f.deps(ch.service) | f.callers(ch.service)
    near_fit, near_s, near_lag = _best_onset(f, near, ch.at)
    fit, s, lag = (own_fit, own_s, own_lag) if own_fit >= 0.8 * near_fit else (0.8 * near_fit, near_s, near_lag)
    if s is None:
        # its service and neighbours stayed flat (or only a passing blip): a weak suspect at most
        c.add("timing", 0.1, 0.3, f"{ch.id} on {ch.service}, but no symptom followed it")
        c.penalise(0.5)
        return c
    c.add("timing", 0.6, fit, f"{s.metric} of {s.service} changed {lag:+.0f} min after {ch.id}", s.ev)
    # the alerting service's own symptoms must not precede the change
    a_on = f.symptom_onset(f.alert_service)
    if a_on is not None and a_on[0] < ch.at - 1.0:
        c.penalise(0.3, f"{f.alert_service} was already failing before {ch.id}")
    elif a_on is not None:
        c.cite(a_on[1].ev)
    rel = f.relation(ch.service)
    c.add("graph", 0.2, rel * fit)
    # explained away: the same symptom began at the same minute on services this change cannot reach
    onset = s.shape.onset if s.shape.onset is not None else ch.at
    peers = _simultaneous(f, onset) - {ch.service} - near
    if peers:
        share = len(peers) / (len(peers) + 1.0)
        c.penalise(1.0 - 0.7 * share, f"{', '.join(sorted(peers))} failed at the same minute without it")
    # log lines that look like what this kind of change breaks
    sig = max((lg.has(cat) for lg in f.logs_of(ch.service) if lg.first >= ch.at - 1), default=0.0)
    if sig:
        c.add("signature", 0.08, sig, "", *[lg.ev for lg in f.logs_of(ch.service) if lg.has(cat)][:2])
    errs = [lg for lg in f.logs_of(ch.service) + f.logs_of(f.alert_service)
            if lg.problem and lg.first >= ch.at - 1 and abs(lg.first - onset) <= 3]
    if errs:
        c.add("logs_follow", 0.1, fit, "", *[lg.ev for lg in errs[:2]])
    if ch.kind == "deploy" and ch.attrs.get("status") == "failed":
        c.add("failed_rollout", 0.05, 1.0)
    return c
