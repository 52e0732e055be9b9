"""Build the investigation sources and the action ports from Settings.

One line per integration: adding one is an adapter, a settings group and a line here.
Disabled integrations are simply absent (the investigation records "no data").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.actions.ports import Ports, SourceMetricsReader
from bot.integrations.types import HealthStatus
from bot.investigation.sources import Sources
from bot.settings import Settings
from bot.wiring.bridges import AutoScalingPort, ChangeHistoryFromSource, FlagsPort, RdsPort, SsmPort


@dataclass
class Integrations:
    sources: Sources
    ports: Ports
    health_checks: list[Any] = field(default_factory=list)  # objects with .health()
    metric_sources: dict[str, Any] = field(default_factory=dict)  # "datadog" / "prometheus" -> MetricsSource

    def health(self) -> list[HealthStatus]:
        out = []
        for adapter in self.health_checks:
            name = str(getattr(adapter, "name", type(adapter).__name__))
            try:
                out.append(adapter.health())
            except Exception as e:  # a health probe never raises to the caller
                out.append(HealthStatus(name, False, f"{type(e).__name__}: {e}"[:200]))
        return out


def build_integrations(settings: Settings) -> Integrations:
    sources = Sources()
    ports = Ports()
    checks: list[Any] = []
    named: dict[str, Any] = {}
    if settings.datadog.enabled:
        from bot.integrations.datadog_events import DatadogEvents
        from bot.integrations.datadog_logs import DatadogLogs
        from bot.integrations.datadog_metrics import DatadogMetrics

        metrics = DatadogMetrics(settings.datadog)
        sources.metrics, sources.logs, sources.changes = metrics, DatadogLogs(settings.datadog), DatadogEvents(settings.datadog)
        checks.append(metrics)
        named["datadog"] = metrics
    if settings.prometheus.enabled:
        from bot.integrations.prometheus import PrometheusMetrics

        prom = PrometheusMetrics(settings.prometheus)
        if sources.metrics is None:
            sources.metrics = prom
        checks.append(prom)
        named["prometheus"] = prom
    if settings.kubernetes.enabled:
        from bot.integrations.kubernetes import KubernetesAdapter

        k8s = KubernetesAdapter.from_settings(settings.kubernetes)
        sources.cluster = ports.k8s = k8s
        checks.append(k8s)
    if settings.postgres.enabled:
        from bot.integrations.postgres_target import PostgresTarget

        pg = PostgresTarget.from_settings(settings.postgres)
        sources.databases = (pg,)
        ports.db = pg
        checks.append(pg)
    if settings.aws.enabled:
        from bot.integrations.aws import AwsAdapter

        aws = AwsAdapter.from_settings(settings.aws)
        ports.asg, ports.ssm, ports.rds = AutoScalingPort(aws), SsmPort(aws), RdsPort(aws)
        checks.append(aws)
    if settings.flags.enabled:
        from bot.integrations.flags import HttpFlags

        flags = HttpFlags(
            settings.flags.url, token=settings.flags.token.get_secret_value() if settings.flags.token else None,
            timeout_s=settings.flags.timeout_s,
        )
        ports.flags = FlagsPort(flags)
        checks.append(flags)
    from bot.integrations.redis_target import RedisCaches

    ports.cache = RedisCaches.from_settings(settings.redis)
    if sources.changes is not None:
        ports.changes = ChangeHistoryFromSource(sources.changes)
    if sources.metrics is not None:
        ports.metrics = SourceMetricsReader(sources.metrics)
    return Integrations(sources=sources, ports=ports, health_checks=checks, metric_sources=named)
