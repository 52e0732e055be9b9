"""Fire drills: run an investigation over a scenario and score it (FORMAT.md "drill" and "eval").

``run_drill`` reads the scenario without its truth, starts the sandbox servers
for it, builds the real adapters from the Settings that point at them, and
investigates the alert. ``direct=True`` swaps the servers for in-memory sources
(debugging only). ``score`` compares a drill's output with the truth.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.investigation.pipeline import InvestigationResult, investigate
from bot.investigation.sources import AlertContext, Sources
from bot.sandbox.replay import Replay
from bot.scenarios.model import Scenario, TruthSpec


def drill_json(scenario_id: str, result: InvestigationResult) -> dict[str, Any]:
    mitigation = result.proposal.to_json() if result.proposal is not None else None
    return {
        "scenario": scenario_id,
        "severity": result.severity.level,
        "hypotheses": [h.to_json() for h in result.hypotheses],
        "mitigation": mitigation,
        "evidence": [e.to_json() for e in result.evidence],
        "seconds_to_brief": result.seconds_to_brief,
    }


def direct_sources(replay: Replay) -> Sources:
    from bot.sandbox.direct import DirectChanges, DirectCluster, DirectDatabase, DirectLogs, DirectMetrics

    return Sources(DirectMetrics(replay), DirectLogs(replay), DirectChanges(replay), DirectCluster(replay),
                   [DirectDatabase(replay)])


@contextlib.contextmanager
def server_sources(replay: Replay, *, real_postgres: bool = False) -> Iterator[tuple[Sources, list[str]]]:
    """The sandbox servers for ``replay`` and the real adapters pointed at them."""
    from bot.sandbox.servers import start_all
    from bot.settings import Settings

    notes: list[str] = []
    only = {"datadog", "kubernetes"} | ({"postgres"} if real_postgres else set())  # what the investigation reads
    servers = start_all(replay, only=only)
    try:
        settings = servers.settings(Settings(_env_file=None))  # type: ignore[call-arg]
        sources = Sources()
        if settings.datadog.enabled:
            from bot.integrations.datadog_events import DatadogEvents
            from bot.integrations.datadog_logs import DatadogLogs
            from bot.integrations.datadog_metrics import DatadogMetrics

            sources.metrics = DatadogMetrics(settings.datadog)
            sources.logs = DatadogLogs(settings.datadog)
            sources.changes = DatadogEvents(settings.datadog)
        if settings.kubernetes.enabled:
            from bot.integrations.kubernetes import KubernetesAdapter

            sources.cluster = KubernetesAdapter.from_settings(settings.kubernetes)
        if real_postgres and settings.postgres.enabled and settings.postgres.dsn is not None:
            from bot.integrations.postgres_target import PostgresTarget

            sources.databases = [PostgresTarget.from_settings(settings.postgres)]
        else:
            # PostgreSQL cannot backdate pg_stat_activity.query_start, so session ages would be lost; the
            # sandbox's scenario-backed target serves the same interface with the scenario's start times.
            from bot.sandbox.pg_sessions import ScenarioDatabaseTarget

            sources.databases = [ScenarioDatabaseTarget(replay)]
            notes.append("db sessions served by the sandbox's scenario-backed target")
        for name, why in servers.skipped.items():
            notes.append(f"sandbox {name} skipped: {why}")
        yield sources, notes
    finally:
        servers.stop()


def alert_context(scenario: Scenario, replay: Replay) -> AlertContext:
    a = scenario.alert
    return AlertContext(service=a.service, at=replay.minute_to_dt(a.at), title=a.title, metric=a.metric,
                        value=a.value, threshold=a.threshold, source=a.source)


def run_drill(scenario: Scenario, *, direct: bool = False, real_postgres: bool = False) -> dict[str, Any]:
    blind = scenario.without_truth()
    replay = Replay(scenario)  # the replay keeps the truth for after_action; the bot never sees it
    ctx = alert_context(blind, replay)
    catalog = blind.catalog()
    if direct:
        result = investigate(alert_context=ctx, sources=direct_sources(Replay(blind)), catalog=catalog,
                             clock=replay.now)
        return drill_json(blind.id, result)
    with server_sources(replay, real_postgres=real_postgres) as (sources, _notes):
        result = investigate(alert_context=ctx, sources=sources, catalog=catalog, clock=replay.now)
    return drill_json(blind.id, result)


@dataclass
class Score:
    scenario: str
    category: str
    top1: bool
    top3: bool
    mitigation: bool
    cited: bool
    got: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "category": self.category, "top1": self.top1, "top3": self.top3,
                "mitigation": self.mitigation, "cited": self.cited, **self.got}


def score(drill: dict[str, Any], truth: TruthSpec) -> Score:
    hyps = drill.get("hypotheses") or []

    def hit(h: dict[str, Any]) -> bool:
        return bool(h.get("category") == truth.category and h.get("culprit") == truth.culprit)

    m = drill.get("mitigation")
    if truth.mitigation == "none":
        mit = m is None or m.get("kind") == "none"
    else:
        mit = m is not None and m.get("kind") == truth.mitigation and m.get("target") == truth.target
    ids = {e.get("id") for e in drill.get("evidence") or []}
    cited = all(h.get("evidence") and all(i in ids for i in h["evidence"]) for h in hyps)
    top = hyps[0] if hyps else {}
    got = {"got_category": top.get("category"), "got_culprit": top.get("culprit"),
           "got_mitigation": (m or {}).get("kind"), "got_target": (m or {}).get("target"),
           "seconds_to_brief": drill.get("seconds_to_brief")}
    return Score(drill.get("scenario", "?"), truth.category, bool(hyps) and hit(hyps[0]),
                 any(hit(h) for h in hyps[:3]), mit, cited, got)


def totals(scores: list[Score]) -> dict[str, float]:
    n = len(scores) or 1
    return {
        "top1": sum(s.top1 for s in scores) / n,
        "top3": sum(s.top3 for s in scores) / n,
        "mitigation": sum(s.mitigation for s in scores) / n,
        "cited": sum(s.cited for s in scores) / n,
    }
