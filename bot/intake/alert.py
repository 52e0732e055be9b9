"""The one Alert type every source parses into."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

AlertSource = Literal["datadog", "alertmanager", "heartbeat", "manual"]
AlertStatus = Literal["firing", "resolved"]


class Alert(BaseModel):
    source: AlertSource
    status: AlertStatus = "firing"
    fingerprint: str  # stable identity of "the same alert" across repeats
    title: str  # untrusted text
    service: str | None = None
    metric: str | None = None
    value: float | None = None
    threshold: float | None = None
    starts_at: datetime
    ends_at: datetime | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)  # untrusted text
    group_key: str | None = None
    truncated: int = 0  # alerts the source left out ("+N more")
    link: str | None = None
    raw: dict[str, Any] = Field(default_factory=dict)
