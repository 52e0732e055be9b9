"""The deterministic reasoner: pure functions from evidence and the catalog to ranked hypotheses.

Each category has a detector that proposes candidates with named, weighted
feature scores (timing against the onset, graph position, signatures, shapes
of series); multiplicative penalties encode what rules a candidate out (the
symptom started first, peers failed without it, load explained by a change).
Scores are combined with small optional priors (skill, runbooks, past
incidents), ties are broken by graph position, and one hypothesis is kept per
(category, culprit). A hypothesis always cites evidence that exists.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.catalog.model import ServiceCatalog
from bot.investigation.evidence import Evidence, Hypothesis
from bot.investigation.reasoner import changes, infra, resources
from bot.investigation.reasoner.candidate import Candidate
from bot.investigation.reasoner.facts import Facts, build

MAX_HYPOTHESES = 5
KNOWLEDGE_WEIGHT = 0.03
MIN_SCORE = 0.05


def candidates(f: Facts) -> list[Candidate]:
    out: list[Candidate] = []
    out += changes.detect(f)
    for d in resources.DETECTORS + infra.DETECTORS:
        out += d(f)
    return out


def rank(f: Facts, cands: list[Candidate], priors: Mapping[str, float] | None = None) -> list[Hypothesis]:
    priors = dict(priors or {})
    scored: list[tuple[float, float, str, Candidate]] = []
    for c in cands:
        c.evidence = [e for e in c.evidence if e in f.ids]
        if not c.evidence:
            continue
        bonus = priors.get(c.category, 0.0)
        for ev, cats in f.knowledge:
            if c.category in cats:
                bonus += KNOWLEDGE_WEIGHT
                c.cite(ev)
        score = max(0.0, min(0.99, c.score + bonus))
        if score < MIN_SCORE:
            continue
        scored.append((score, f.relation(c.target) if c.culprit else 0.0, c.category, c))
    scored.sort(key=lambda x: (-round(x[0], 4), -x[1], x[2], x[3].culprit or ""))
    out: list[Hypothesis] = []
    seen: set[tuple[str, str | None]] = set()
    for score, _, _, c in scored:
        if (c.category, c.culprit) in seen:
            continue
        seen.add((c.category, c.culprit))
        out.append(Hypothesis(
            category=c.category, culprit=c.culprit, confidence=round(score, 3), evidence=list(c.evidence),
            explanation="; ".join(dict.fromkeys(b for b in c.because if b)) or c.category,
            target=c.target, mitigation=c.mitigation,
        ))
        if len(out) >= MAX_HYPOTHESES:
            break
    return out


def reason(
    evidence: list[Evidence],
    catalog: ServiceCatalog,
    *,
    alert_service: str,
    alert_metric: str | None = None,
    alert_source: str | None = None,
    window: tuple[float, float] = (-360.0, 0.0),
    priors: Mapping[str, float] | None = None,
) -> list[Hypothesis]:
    f = build(evidence, catalog, alert_service=alert_service, alert_metric=alert_metric,
              alert_source=alert_source, window=window)
    return rank(f, candidates(f), priors)


__all__ = ["Candidate", "Facts", "build", "candidates", "rank", "reason"]
