"""A scenario's alert, built exactly as its real source would send it to the bot.

Each builder returns a :class:`Firing` ``(url, headers, body)``; ``body`` is the
JSON object to POST. :func:`fire` posts one with retries on 5xx and connection
errors. ``resolved=True`` gives the recovery notification.

| source | url | auth header | body |
|---|---|---|---|
| datadog | ``{bot}/intake/datadog`` | ``X-AISRE-Token: <datadog.webhook_secret>`` | ``bot/intake/templates/datadog_webhook.json`` rendered |
| alertmanager | ``{bot}/intake/alertmanager`` | ``Authorization: Bearer <prometheus.alertmanager_token>`` | webhook version 4 |
| heartbeat / manual | ``{bot}/intake/heartbeat`` / ``{bot}/intake/manual`` | ``Authorization: Bearer <intake_token>`` | :func:`simple_body` |
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import httpx

from bot.sandbox.datadog_render import monitor_id, monitor_query, stable_int
from bot.sandbox.replay import Replay
from bot.settings import Settings

TEMPLATE = Path(__file__).resolve().parents[1] / "intake" / "templates" / "datadog_webhook.json"
ORG_ID = "1200001"
ORG_NAME = "ai-sre sandbox"
ZERO_TIME = "0001-01-01T00:00:00Z"


class Firing(NamedTuple):
    url: str
    headers: dict[str, str]
    body: dict[str, Any]


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _alertname(metric: str | None) -> str:
    return "".join(w.capitalize() for w in re.split(r"[^A-Za-z0-9]+", metric or "alert") if w) + "High"


def render_template(variables: dict[str, str], template: str | None = None) -> dict[str, Any]:
    """Substitute ``$VARS`` as Datadog does (JSON-escaped inside the quoted strings); unknown ones -> ``""``."""
    text = template if template is not None else TEMPLATE.read_text(encoding="utf-8")

    def sub(m: re.Match[str]) -> str:
        return json.dumps(variables.get(m.group(1), ""))[1:-1]

    result: dict[str, Any] = json.loads(re.sub(r"\$([A-Z][A-Z0-9_]*)", sub, text))
    return result


def datadog_variables(replay: Replay, *, resolved: bool = False, at: datetime | None = None) -> dict[str, str]:
    a = replay.scenario.alert
    name = re.sub(r"^\[[^\]]*\]\s*", "", a.title)
    transition = "Recovered" if resolved else "Triggered"
    scope = f"service:{a.service}"
    when = at or replay.minute_to_dt(a.at)
    mid = monitor_id(replay)
    eid = stable_int(replay.scenario.id, "alert-event", transition, int(when.timestamp()))
    metric = a.metric or ""
    op = ">"
    summary = (
        f"{metric} over {scope} was {op} {a.threshold:g} on average during the last 5m."
        if a.threshold is not None else f"{metric} over {scope}"
    )
    lines = [a.title, ""]
    if a.value is not None:
        lines.append(f"value: {a.value:g}")
    if a.threshold is not None:
        lines.append(f"threshold: {a.threshold:g}")
    lines += ["", "@webhook-ai-sre"]
    msg = "\n".join(lines)
    tags = sorted({scope, "env:sandbox", "monitor", "team:sre"})
    return {
        "ID": str(eid),
        "ALERT_ID": str(mid),
        "AGGREG_KEY": hashlib.sha1(f"{mid}:{scope}".encode()).hexdigest()[:32],
        "ALERT_CYCLE_KEY": str(stable_int(replay.scenario.id, "cycle", mid)),
        "ALERT_TRANSITION": transition,
        "ALERT_TYPE": "success" if resolved else "error",
        "ALERT_STATUS": summary,
        "ALERT_TITLE": name,
        "ALERT_METRIC": metric,
        "ALERT_QUERY": monitor_query(replay),
        "ALERT_SCOPE": scope,
        "ALERT_PRIORITY": "P2",
        "EVENT_TITLE": f"[{transition} on {{{scope}}}] {name}",
        "EVENT_TYPE": "query_alert_monitor",
        "EVENT_MSG": f"%%%\n{msg}\n%%%",
        "TEXT_ONLY_MSG": msg,
        "TAGS": ",".join(tags),
        "DATE": str(int(when.timestamp() * 1000)),
        "LAST_UPDATED": str(int(when.timestamp() * 1000)),
        "LINK": f"https://app.datadoghq.com/event/event?id={eid}",
        "PRIORITY": "normal",
        "HOSTNAME": "",
        "ORG_ID": ORG_ID,
        "ORG_NAME": ORG_NAME,
    }


def datadog_firing(
    replay: Replay, bot_url: str, secret: str, *, resolved: bool = False, at: datetime | None = None
) -> Firing:
    body = render_template(datadog_variables(replay, resolved=resolved, at=at))
    headers = {"Content-Type": "application/json", "X-AISRE-Token": secret}
    return Firing(f"{bot_url.rstrip('/')}/intake/datadog", headers, body)


def alertmanager_body(replay: Replay, *, resolved: bool = False, at: datetime | None = None) -> dict[str, Any]:
    a = replay.scenario.alert
    svc = replay.scenario.service(a.service)
    starts = replay.minute_to_dt(a.at)
    alertname = _alertname(a.metric)
    labels = {"alertname": alertname, "service": a.service, "severity": "page",
              "namespace": svc.namespace if svc else "default"}
    if a.metric:
        labels["metric"] = a.metric
    annotations = {"summary": a.title, "description": f"{a.title} (scenario {replay.scenario.id})"}
    if a.value is not None:
        annotations["value"] = f"{a.value:g}"
    if a.threshold is not None:
        annotations["threshold"] = f"{a.threshold:g}"
    expr = f'{a.metric or "up"}{{service="{a.service}"}} > {a.threshold if a.threshold is not None else 0:g}'
    fingerprint = hashlib.sha256(json.dumps(sorted(labels.items())).encode()).hexdigest()[:16]
    status = "resolved" if resolved else "firing"
    alert = {
        "status": status,
        "labels": labels,
        "annotations": annotations,
        "startsAt": _iso(starts),
        "endsAt": _iso(at or replay.now()) if resolved else ZERO_TIME,
        "generatorURL": "http://prometheus.sandbox:9090/graph?g0.expr=" + httpx.QueryParams({"q": expr})["q"]
        .replace(" ", "+"),
        "fingerprint": fingerprint,
    }
    return {
        "receiver": "ai-sre",
        "status": status,
        "alerts": [alert],
        "groupLabels": {"alertname": alertname, "service": a.service},
        "commonLabels": dict(labels),
        "commonAnnotations": dict(annotations),
        "externalURL": "http://alertmanager.sandbox:9093",
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{alertname}", service="{a.service}"}}',
        "truncatedAlerts": 0,
    }


def alertmanager_firing(
    replay: Replay, bot_url: str, token: str, *, resolved: bool = False, at: datetime | None = None
) -> Firing:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    return Firing(f"{bot_url.rstrip('/')}/intake/alertmanager", headers,
                  alertmanager_body(replay, resolved=resolved, at=at))


def simple_body(replay: Replay, *, resolved: bool = False, at: datetime | None = None) -> dict[str, Any]:
    """The heartbeat/manual shape: {check, title, service, metric, value, threshold, status, at}."""
    a = replay.scenario.alert
    return {
        "check": f"{a.service}-{a.metric or 'check'}",
        "title": a.title,
        "service": a.service,
        "metric": a.metric,
        "value": a.value,
        "threshold": a.threshold,
        "status": "resolved" if resolved else "firing",
        "at": _iso(at or (replay.now() if resolved else replay.minute_to_dt(a.at))),
    }


def simple_firing(
    replay: Replay, bot_url: str, kind: str, token: str | None = None, *, resolved: bool = False,
    at: datetime | None = None,
) -> Firing:
    if kind not in ("heartbeat", "manual"):
        raise ValueError(f"expected heartbeat or manual, got {kind!r}")
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return Firing(f"{bot_url.rstrip('/')}/intake/{kind}", headers, simple_body(replay, resolved=resolved, at=at))


def build(replay: Replay, bot_url: str, settings: Settings, *, resolved: bool = False,
          at: datetime | None = None) -> Firing:
    """The alert of ``replay``'s scenario as its ``alert.source`` sends it, with the secrets from settings."""
    source = replay.scenario.alert.source
    if source == "datadog":
        return datadog_firing(replay, bot_url, settings.datadog.webhook_secret.get_secret_value(),
                              resolved=resolved, at=at)
    if source == "alertmanager":
        tok = settings.prometheus.alertmanager_token
        return alertmanager_firing(replay, bot_url, tok.get_secret_value() if tok else "", resolved=resolved, at=at)
    return simple_firing(replay, bot_url, source, settings.intake_token.get_secret_value(),
                         resolved=resolved, at=at)


def fire(firing: Firing, *, retries: int = 3, timeout_s: float = 10.0, backoff_s: float = 0.5,
         transport: httpx.BaseTransport | None = None) -> httpx.Response:
    """POST a firing; retry 5xx answers and connection errors, raise after the last attempt."""
    last: Exception | None = None
    with httpx.Client(timeout=timeout_s, transport=transport) as client:
        for attempt in range(retries + 1):
            try:
                r = client.post(firing.url, headers=firing.headers, json=firing.body)
            except httpx.TransportError as e:
                last = e
            else:
                if r.status_code < 500:
                    return r
                last = httpx.HTTPStatusError(f"HTTP {r.status_code} from {firing.url}", request=r.request,
                                             response=r)
            if attempt < retries:
                time.sleep(backoff_s * (2**attempt))
    assert last is not None
    raise last
