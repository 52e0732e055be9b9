"""Datadog monitor webhooks → ``Alert``.

The body is what our template (``bot/intake/templates/datadog_webhook.json``,
documented in ``docs/datadog.md``) renders. Datadog re-sends a notification
("Re-Notification") for a monitor that stays in alert: same monitor and scope,
so the same fingerprint, so a duplicate.
"""

from __future__ import annotations

import re
from typing import Any

from bot.intake.alert import Alert
from bot.intake.errors import PayloadError
from bot.intake.fields import number, obj, text, timestamp

RESOLVED_TRANSITIONS = {"recovered", "ok", "resolved", "recovery"}
FIRING_TRANSITIONS = {
    "triggered", "re-triggered", "retriggered", "re-notification", "renotify", "renotification", "warn",
    "warning", "no data", "alert", "re-warned",
}
SERVICE_TAGS = ("service", "app", "kube_deployment", "kube_service")
_VALUE_RE = re.compile(r"\bvalue\s*[:=]\s*(-?\d+(?:\.\d+)?)", re.I)
_THRESHOLD_RE = re.compile(r"\bthreshold\s*[:=]\s*(-?\d+(?:\.\d+)?)", re.I)
_QUERY_THRESHOLD_RE = re.compile(r"(?:>=|<=|>|<)\s*(-?\d+(?:\.\d+)?)\s*$")


def parse_tags(raw: Any, path: str) -> dict[str, str]:
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str):
        items = [t.strip() for t in raw.split(",")]
    elif isinstance(raw, list) and all(isinstance(t, str) for t in raw):
        items = [t.strip() for t in raw]
    else:
        raise PayloadError(f"{path}: expected a comma-separated string or an array of strings")
    out: dict[str, str] = {}
    for t in items:
        if not t:
            continue
        k, sep, v = t.partition(":")
        out[k[:128]] = v[:512] if sep else "true"
    return out


def parse_datadog(payload: Any) -> Alert:
    body = obj(payload, "body")
    monitor = text(body, "alert_id", "body", required=False) or text(body, "monitor_id", "body", required=False)
    if not monitor:
        raise PayloadError("body.alert_id: missing (the template's $ALERT_ID)")
    transition = text(body, "transition", "body", required=False) or text(body, "alert_transition", "body", required=False)
    status_text = text(body, "alert_status", "body", required=False)
    t = transition.strip().lower()
    if t in RESOLVED_TRANSITIONS:
        status = "resolved"
    elif t in FIRING_TRANSITIONS or not t:
        status = "firing"
    else:
        raise PayloadError(f"body.transition: unknown alert transition {transition[:40]!r}")
    tags = parse_tags(body.get("tags"), "body.tags")
    title = text(body, "title", "body", required=False) or text(body, "alert_title", "body", required=False)
    if not title:
        raise PayloadError("body.title: missing (the template's $ALERT_TITLE)")
    scope = text(body, "scope", "body", required=False) or text(body, "alert_scope", "body", required=False)
    at = timestamp(body.get("date") or body.get("last_updated"), "body.date", required=False)
    if at is None:
        raise PayloadError("body.date: missing (the template's $DATE)")
    service = next((tags[k] for k in SERVICE_TAGS if tags.get(k)), None)
    if service is None and scope:
        scope_tags = parse_tags(scope, "body.scope")
        service = next((scope_tags[k] for k in SERVICE_TAGS if scope_tags.get(k)), None)
    metric = (text(body, "metric", "body", required=False) or text(body, "alert_metric", "body", required=False)
              or tags.get("metric") or None)
    value = number(body.get("value"), "body.value")
    threshold = number(body.get("threshold"), "body.threshold")
    message = (text(body, "message", "body", required=False) or text(body, "event_msg", "body", required=False)
               or text(body, "text_only_msg", "body", required=False))
    query = text(body, "alert_query", "body", required=False)
    if value is None and message and (m := _VALUE_RE.search(message)):
        value = float(m.group(1))
    if threshold is None and message and (m := _THRESHOLD_RE.search(message)):
        threshold = float(m.group(1))
    if threshold is None and query and (m := _QUERY_THRESHOLD_RE.search(query.strip())):
        threshold = float(m.group(1))
    aggreg = text(body, "aggreg_key", "body", required=False)
    return Alert(
        source="datadog",
        status=status,  # type: ignore[arg-type]
        fingerprint=f"dd:{monitor}:{scope or aggreg or '*'}",
        title=title,
        service=service,
        metric=metric.split("{")[0].split(":")[-1] if metric else None,
        value=value,
        threshold=threshold,
        starts_at=at,
        ends_at=at if status == "resolved" else None,
        labels={**tags, "monitor_id": monitor, **({"transition": transition} if transition else {})},
        annotations={k: v for k, v in (("message", message), ("alert_status", status_text), ("query", query)) if v},
        group_key=aggreg or None,
        link=text(body, "link", "body", required=False) or None,
        raw=body,
    )
