"""The bot's own figures, in Prometheus format, on a registry per process (no globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class BotMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.alerts_received = Counter("aisre_alerts_received", "Alerts accepted by intake", ["source"], registry=r)
        self.intake_rejected = Counter("aisre_intake_rejected", "Payloads refused by intake", ["reason"], registry=r)
        self.intake_unavailable = Counter(
            "aisre_intake_unavailable", "Payloads answered 503 (store down)", ["source"], registry=r
        )
        self.incidents_opened = Counter("aisre_incidents_opened", "Incidents opened", ["severity"], registry=r)
        self.briefs_posted = Counter("aisre_briefs_posted", "Incident briefs posted", registry=r)
        self.brief_latency = Histogram(
            "aisre_brief_latency_seconds", "Alert intake to brief posted", registry=r,
            buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
        )
        self.actions = Counter("aisre_actions", "Actions by outcome", ["outcome"], registry=r)
        self.llm_tokens = Counter("aisre_llm_tokens", "LLM tokens", ["kind"], registry=r)
        self.slack_events = Counter("aisre_slack_requests", "Slack requests received", ["kind"], registry=r)
        self.open_incidents = Gauge("aisre_open_incidents", "Incidents not resolved", registry=r)

    def count(self, name: str, label: str) -> None:
        """The small callback intake and others take: ``count("alerts_received", "datadog")``."""
        metric = getattr(self, name, None)
        if isinstance(metric, Counter):
            metric.labels(label).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
