"""What an investigation reads from: the alert's context and a bundle of optional sources."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.integrations.interfaces import (
    ChangesSource,
    DatabaseTarget,
    KubernetesCluster,
    LogsSource,
    MetricsSource,
)


@dataclass(frozen=True)
class AlertContext:
    """The alert being investigated; ``at`` is minute 0 of every window."""

    service: str
    at: datetime
    title: str = ""
    metric: str | None = None
    value: float | None = None
    threshold: float | None = None
    source: str | None = None
    fingerprint: str | None = None

    @classmethod
    def of(cls, alert: Any) -> AlertContext:
        """From an :class:`~bot.intake.alert.Alert`, an AlertContext, or anything with the same attributes."""
        if isinstance(alert, AlertContext):
            return alert
        at = getattr(alert, "at", None) or getattr(alert, "starts_at", None)
        if not isinstance(at, datetime):
            raise ValueError("the alert context needs a datetime 'at' or 'starts_at'")
        service = getattr(alert, "service", None)
        if not service:
            raise ValueError("the alert context needs a service")
        return cls(
            service=str(service), at=at, title=str(getattr(alert, "title", "") or ""),
            metric=getattr(alert, "metric", None), value=getattr(alert, "value", None),
            threshold=getattr(alert, "threshold", None), source=getattr(alert, "source", None),
            fingerprint=getattr(alert, "fingerprint", None),
        )


@dataclass
class Sources:
    """Every source is optional; a missing one is simply not asked."""

    metrics: MetricsSource | None = None
    logs: LogsSource | None = None
    changes: ChangesSource | None = None
    cluster: KubernetesCluster | None = None
    databases: Sequence[DatabaseTarget] = field(default_factory=tuple)
