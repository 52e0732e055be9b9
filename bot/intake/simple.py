"""The bot's own alerts: heartbeat breaches and manual declarations → ``Alert``.

Body (JSON)::

    {"check": "checkout-http", "title": "...", "service": "checkout", "metric": "latency_ms",
     "value": 2300, "threshold": 1000, "status": "firing" | "resolved", "at": "2026-12-02T01:00:00Z"}
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.intake.alert import Alert
from bot.intake.errors import PayloadError
from bot.intake.fields import number, obj, text, timestamp


def parse_simple(payload: Any, source: str) -> Alert:
    body = obj(payload, "body")
    title = text(body, "title", "body", required=source == "manual") or ""
    check = text(body, "check", "body", required=False)
    service = text(body, "service", "body", required=False) or None
    if not title:
        if not check:
            raise PayloadError("body.title: missing (or give body.check)")
        title = f"Heartbeat breached: {check}"
    status = text(body, "status", "body", required=False, default="firing")
    if status not in ("firing", "resolved"):
        raise PayloadError(f"body.status: expected \"firing\" or \"resolved\", got {status[:30]!r}")
    at = timestamp(body.get("at"), "body.at", required=False) or datetime.now(UTC)
    key = check or f"{service or '-'}:{title}"
    return Alert(
        source=source,  # type: ignore[arg-type]
        status=status,  # type: ignore[arg-type]
        fingerprint=f"{source}:{key}",
        title=title,
        service=service,
        metric=text(body, "metric", "body", required=False) or None,
        value=number(body.get("value"), "body.value"),
        threshold=number(body.get("threshold"), "body.threshold"),
        starts_at=at,
        ends_at=at if status == "resolved" else None,
        labels={"check": check} if check else {},
        raw=body,
    )
