"""Prometheus Alertmanager webhooks (payload version 4) → ``Alert``."""

from __future__ import annotations

import hashlib
from typing import Any

from bot.intake.alert import Alert
from bot.intake.errors import PayloadError
from bot.intake.fields import number, obj, str_map, text, timestamp

SERVICE_LABELS = ("service", "app", "app_kubernetes_io_name", "job", "service_name", "deployment")


def parse_alertmanager(payload: Any) -> list[Alert]:
    body = obj(payload, "body")
    version = body.get("version")
    if version is not None and str(version) != "4":
        raise PayloadError(f"body.version: expected \"4\", got {version!r}")
    alerts = body.get("alerts")
    if not isinstance(alerts, list):
        raise PayloadError("body.alerts: expected an array of alerts")
    if not alerts:
        raise PayloadError("body.alerts: the array is empty")
    group_key = text(body, "groupKey", "body", required=False) or None
    truncated = body.get("truncatedAlerts", 0)
    if not isinstance(truncated, int) or isinstance(truncated, bool) or truncated < 0:
        raise PayloadError("body.truncatedAlerts: expected a whole number")
    common_labels = str_map(body, "commonLabels", "body")
    common_ann = str_map(body, "commonAnnotations", "body")
    out = []
    for i, raw in enumerate(alerts):
        path = f"body.alerts[{i}]"
        a = obj(raw, path)
        status = text(a, "status", path)
        if status not in ("firing", "resolved"):
            raise PayloadError(f"{path}.status: expected \"firing\" or \"resolved\", got {status[:30]!r}")
        labels = {**common_labels, **str_map(a, "labels", path)}
        annotations = {**common_ann, **str_map(a, "annotations", path)}
        if not labels:
            raise PayloadError(f"{path}.labels: missing; an alert needs at least alertname")
        starts = timestamp(a.get("startsAt"), f"{path}.startsAt")
        assert starts is not None
        ends = timestamp(a.get("endsAt"), f"{path}.endsAt", required=False)
        fingerprint = text(a, "fingerprint", path, required=False) or _label_fingerprint(labels)
        service = next((labels[k] for k in SERVICE_LABELS if labels.get(k)), None)
        name = labels.get("alertname", "alert")
        summary = annotations.get("summary") or annotations.get("description") or ""
        title = f"{name}: {summary}" if summary and not summary.startswith(name) else (summary or name)
        out.append(
            Alert(
                source="alertmanager",
                status=status,  # type: ignore[arg-type]
                fingerprint=f"am:{fingerprint}",
                title=title,
                service=service,
                metric=labels.get("metric") or annotations.get("metric"),
                value=number(annotations.get("value"), f"{path}.annotations.value"),
                threshold=number(annotations.get("threshold"), f"{path}.annotations.threshold"),
                starts_at=starts,
                ends_at=ends if status == "resolved" else None,
                labels=labels,
                annotations=annotations,
                group_key=group_key,
                truncated=truncated if i == 0 else 0,
                link=text(a, "generatorURL", path, required=False) or None,
                raw=a,
            )
        )
    return out


def _label_fingerprint(labels: dict[str, str]) -> str:
    canon = ",".join(f"{k}={labels[k]}" for k in sorted(labels))
    return hashlib.sha256(canon.encode()).hexdigest()[:16]
