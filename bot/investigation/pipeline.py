"""``investigate()``: gather evidence for an alert, reason over it, propose the first step."""

from __future__ import annotations

import concurrent.futures as cf
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from bot.catalog.model import ServiceCatalog
from bot.investigation import gather as gathering
from bot.investigation.evidence import Evidence, Hypothesis, Proposal
from bot.investigation.propose import default_registry, propose
from bot.investigation.reasoner import reason
from bot.investigation.skills import Skill, default_skills, select, signatures
from bot.investigation.sources import AlertContext, Sources
from bot.llm.redact import Redactor


@dataclass(frozen=True)
class Severity:
    level: str
    reason: str


@dataclass
class InvestigationResult:
    alert: AlertContext
    skill: str
    evidence: list[Evidence]
    hypotheses: list[Hypothesis]
    proposal: Proposal | None
    severity: Severity
    seconds_to_brief: float
    notes: list[str] = field(default_factory=list)

    @property
    def top(self) -> Hypothesis | None:
        return self.hypotheses[0] if self.hypotheses else None


def _severity(alert: AlertContext, catalog: ServiceCatalog, hyps: list[Hypothesis],
              evidence: list[Evidence]) -> Severity:
    affected = sorted({str(ev.data.get("service")) for ev in evidence
                       if ev.data.get("type") == "series" and ev.data.get("shape", {}).get("kind", "flat")
                       in ("step_up", "step_down", "ramp_up", "ramp_down")})
    fp = bool(hyps) and hyps[0].category == "false_positive"
    try:
        from bot.intake.triage import triage
    except ImportError:
        svc = catalog.get(alert.service)
        level = "P3" if fp else {"critical": "P1", "standard": "P2"}.get(svc.tier if svc else "standard", "P3")
        return Severity(level, "placeholder: by tier (triage unavailable)")
    sev = triage(service=alert.service, metric=alert.metric, value=alert.value, threshold=alert.threshold,
                 catalog=catalog, affected_services=affected, false_positive=fp)
    return Severity(sev.level, sev.reason)


def _recall_query(alert: AlertContext) -> str:
    """The text the runbook and past-incident searches look for."""
    return f"{alert.title} {alert.service} {alert.metric or ''}".strip()


def _background(fn: Callable[..., list[Evidence]], *args: Any) -> cf.Future[list[Evidence]]:
    """``fn(*args)`` on a daemon thread of its own; the future's result is what it returned.
    (Not an executor: its worker threads are joined at exit, so a hung search would hold the process.)"""
    fut: cf.Future[list[Evidence]] = cf.Future()

    def run() -> None:
        try:
            fut.set_result(fn(*args))
        except BaseException as e:  # noqa: BLE001 - handed to the caller through the future
            fut.set_exception(e)

    threading.Thread(target=run, name="investigation-recall", daemon=True).start()
    return fut


def _recalled(recall: cf.Future[list[Evidence]], deadline: float, alert: AlertContext,
              window: tuple[float, float]) -> list[Evidence]:
    """The search's items, or one error item when it has not answered by ``deadline`` (the
    investigation's own budget, shared with the evidence queries)."""
    try:
        return recall.result(timeout=max(0.05, deadline - time.perf_counter()))
    except cf.TimeoutError:
        return [Evidence(id="ev-0", source="runbooks", query=_recall_query(alert), window=window, status="error",
                         summary="runbook search: no answer within the investigation's time budget")]


def _knowledge_evidence(knowledge: Any, alert: AlertContext, services: list[str],
                        window: tuple[float, float], next_id: int) -> list[Evidence]:
    if knowledge is None:
        return []
    query = _recall_query(alert)
    fn: Callable[..., list[Evidence]] | None = knowledge if callable(knowledge) else None
    kwargs: dict[str, Any] = {"query_text": query, "services": services, "window": window, "next_id": next_id}
    if fn is None:
        try:
            from bot.knowledge import runbook_evidence  # type: ignore[attr-defined]
        except ImportError:
            return []
        fn = runbook_evidence
        kwargs["index"] = knowledge
    try:
        return list(fn(**kwargs))
    except Exception as e:  # noqa: BLE001 - runbooks are optional; a failure is evidence, not a crash
        return [Evidence(id=f"ev-{next_id}", source="runbooks", query=query, window=window, status="error",
                         summary=f"runbook search failed: {type(e).__name__}: {e}")]


def _rollback_context(sources: Sources, catalog: ServiceCatalog, target: str) -> dict[str, Any]:
    cluster = sources.cluster
    svc = catalog.get(target)
    if cluster is None or svc is None:
        return {}
    try:
        revs = cluster.rollout_history(svc.namespace, target)
        current = next((d.revision for d in cluster.deployments(svc.namespace) if d.name == target), None)
    except Exception:  # noqa: BLE001
        return {}
    nums = sorted(r.revision for r in revs)
    if current is None and nums:
        current = nums[-1]
    older = [n for n in nums if current is not None and n < current]
    return {"to_revision": older[-1]} if older else ({"to_revision": current} if current else {})


def redact_evidence(evidence: list[Evidence]) -> list[Evidence]:
    """Evidence with secrets masked (bot.llm.redact's patterns, e-mail addresses kept).

    Log lines are quoted in summaries, briefs, the store and postmortems; an application that logs
    a key or a ``password=...`` must not have it posted to Slack or kept by the bot.
    """
    r = Redactor(skip=("email",))
    return [replace(e, query=r.redact(e.query), summary=r.redact(e.summary), data=_redact_data(r, e.data))
            for e in evidence]


def _redact_data(r: Redactor, value: Any) -> Any:
    if isinstance(value, str):
        return r.redact(value)
    if isinstance(value, dict):
        return {k: _redact_data(r, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact_data(r, v) for v in value)
    return value


def investigate(
    *,
    alert_context: Any,
    sources: Sources,
    catalog: ServiceCatalog,
    knowledge: Any = None,
    clock: Callable[[], datetime] | None = None,
    skills: list[Skill] | None = None,
    priors: Mapping[str, float] | None = None,
    registry: Any = None,
    timeout_s: float = 5.0,
) -> InvestigationResult:
    started = time.perf_counter()
    alert = AlertContext.of(alert_context)
    now = (clock or (lambda: datetime.now(UTC)))()
    all_skills = skills if skills is not None else default_skills()
    skill = select(all_skills, metric=alert.metric, title=alert.title, source=alert.source)
    plan = gathering.Plan(alert=alert, skill=skill, catalog=catalog, lexicon=signatures(all_skills), now=now)
    services = plan.services("neighbourhood")
    # the runbook and memory search needs only the plan: it runs beside the evidence queries, and
    # its items are numbered after theirs once both are in
    recall = _background(_knowledge_evidence, knowledge, alert, services, plan.window, 1) if knowledge else None
    evidence = redact_evidence(gathering.gather(plan, sources, timeout_s=timeout_s))
    base = len(evidence)
    recalled = _recalled(recall, started + timeout_s, alert, plan.window) if recall is not None else []
    evidence += [replace(e, id=f"ev-{base + i}") for i, e in enumerate(recalled, start=1)]
    merged = dict(skill.priors)
    for k, v in (priors or {}).items():
        merged[k] = merged.get(k, 0.0) + max(-0.1, min(0.1, float(v)))
    hyps = reason(evidence, catalog, alert_service=alert.service, alert_metric=alert.metric,
                  alert_source=alert.source, window=plan.window, priors=merged)
    top = hyps[0] if hyps else None
    extra = _rollback_context(sources, catalog, top.target or alert.service) if top and top.mitigation == "rollback" else {}
    proposal = propose(top, catalog=catalog, evidence=evidence, alert_service=alert.service,
                       registry=registry if registry is not None else default_registry(), extra=extra)
    severity = _severity(alert, catalog, hyps, evidence)
    return InvestigationResult(alert=alert, skill=skill.name, evidence=evidence, hypotheses=hyps,
                               proposal=proposal, severity=severity,
                               seconds_to_brief=round(time.perf_counter() - started, 3))
