"""A scenario as Datadog would hold it: events, log entries, the monitor.

Pure functions over a :class:`~bot.sandbox.replay.Replay`; the Datadog-compatible
server (:mod:`bot.sandbox.datadog_server`) serialises what these return.
Ids are deterministic (hashes of the scenario id and the item), so repeated
requests and pages agree.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from bot.sandbox.replay import Replay
from bot.scenarios.model import EventSpec, LogSpec

# scenario log level -> Datadog log status
DD_STATUS = {"warning": "warn", "fatal": "emergency"}
# tag convention kinds -> the source tag a CI/CD integration would set
EVENT_SOURCE = {
    "deploy": "deploy", "config": "config", "feature_flag": "feature_flag", "scaling": "autoscaling",
    "cron": "cron", "status_page": "statuspage", "certificate": "certificate", "maintenance": "maintenance",
}


def stable_int(*parts: object, bits: int = 52) -> int:
    h = hashlib.sha1(":".join(str(p) for p in parts).encode()).hexdigest()
    return int(h, 16) % (1 << bits) or 1


def tag_value(v: str) -> str:
    """What Datadog makes of a tag value: lower-case, unsupported characters -> ``_``."""
    return re.sub(r"[^a-z0-9_\-:./]", "_", v.lower())[:200]


def dd_status(level: str) -> str:
    return DD_STATUS.get(level, level)


# --- events ---------------------------------------------------------------------------


def event_attributes(replay: Replay, ev: EventSpec) -> dict[str, str]:
    attrs = ev.attributes()
    if ev.expires_at is not None:
        at = replay.minute_to_dt(ev.expires_at).replace(microsecond=0)
        attrs["expires_at"] = at.isoformat().replace("+00:00", "Z")
    return attrs


def event_title(ev: EventSpec, attrs: dict[str, str]) -> str:
    a = attrs.get
    titles = {
        "deploy": f"Deployed {ev.service} {a('version', '')} (was {a('previous', '?')})",
        "config": f"Config change on {ev.service}: {a('key', '?')} {a('old', '?')} -> {a('new', '?')}",
        "feature_flag": f"Feature flag {a('flag', '?')} on {ev.service}: {a('old', '?')} -> {a('new', '?')}",
        "scaling": f"Scaled {ev.service} from {a('old', '?')} to {a('new', '?')} replicas",
        "cron": f"Job {a('job', '?')} on {ev.service} {a('status', '')}",
        "status_page": f"{a('provider', ev.service)} status: {a('status', '?')}",
        "certificate": f"Certificate for {a('host', ev.service)} expires at {a('expires_at', '?')}",
        "maintenance": f"Maintenance on {ev.service}: {a('note', '')}",
    }
    return titles.get(ev.kind, f"{ev.kind} on {ev.service}").strip()


def render_event(replay: Replay, ev: EventSpec) -> dict[str, Any]:
    """A v1 event with the tag convention of docs/datadog.md."""
    attrs = event_attributes(replay, ev)
    eid = stable_int(replay.scenario.id, "event", ev.id)
    tags = [
        f"service:{ev.service}", f"change_kind:{ev.kind}", f"change_id:{tag_value(ev.id)}",
        f"source:{EVENT_SOURCE.get(ev.kind, ev.kind)}", "env:sandbox",
    ] + [f"{k}:{tag_value(v)}" for k, v in attrs.items()]
    text = "\n".join(f"{k}: {v}" for k, v in attrs.items())
    failed = attrs.get("status") in ("failed", "major_outage")
    return {
        "id": eid,
        "id_str": str(eid),
        "title": event_title(ev, attrs),
        "text": text,
        "date_happened": int(replay.minute_to_dt(ev.at).timestamp()),
        "tags": tags,
        "alert_type": "error" if failed else "info",
        "priority": "normal",
        "source_type_name": "My Apps",
        "host": None,
        "device_name": None,
        "url": f"/event/event?id={eid}",
        "is_aggregate": False,
        "comments": [],
        "children": [],
    }


# --- logs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LogBatch:
    """All entries of one log pattern in a window: ``minutes`` (sorted) and the pattern."""

    index: int
    spec: LogSpec
    minutes: np.ndarray


def log_batches(replay: Replay, start_min: float, end_min: float) -> list[LogBatch]:
    out = []
    specs = list(replay.scenario.logs)
    for w in replay.logs_between(None, start_min, end_min):
        idx = specs.index(w.spec)
        span = w.last_minute - w.first_minute
        if w.count <= 0:
            continue
        if span <= 0:
            minutes = np.full(w.count, w.first_minute)
        else:
            minutes = w.first_minute + (np.arange(w.count) + 0.5) * (span / w.count)
        out.append(LogBatch(idx, w.spec, minutes))
    return out


def render_log(replay: Replay, batch: LogBatch, i: int, at: datetime) -> dict[str, Any]:
    spec = batch.spec
    status = dd_status(spec.level)
    host = f"{spec.service}-{stable_int(replay.scenario.id, spec.service, bits=20) % 9000 + 1000}"
    lid = "AQAAAY" + hashlib.sha1(f"{replay.scenario.id}:{batch.index}:{i}".encode()).hexdigest()[:26]
    return {
        "id": lid,
        "type": "log",
        "attributes": {
            "timestamp": at.isoformat().replace("+00:00", "Z"),
            "service": spec.service,
            "status": status,
            "message": spec.message,
            "host": host,
            "tags": [f"service:{spec.service}", f"status:{status}", "env:sandbox", f"host:{host}"],
            "attributes": {"service": spec.service, "status": status, "level": spec.level},
        },
    }


# --- monitor --------------------------------------------------------------------------


def monitor_id(replay: Replay) -> int:
    return stable_int(replay.scenario.id, "monitor", bits=31)


def monitor_query(replay: Replay) -> str:
    a = replay.scenario.alert
    metric = a.metric or "error_rate"
    threshold = a.threshold if a.threshold is not None else 0
    return f"avg(last_5m):avg:{metric}{{service:{a.service}}} > {threshold:g}"


def render_monitor(replay: Replay) -> dict[str, Any]:
    a = replay.scenario.alert
    mid = monitor_id(replay)
    created = replay.minute_to_dt(replay.scenario.first_minute).isoformat()
    return {
        "id": mid,
        "name": a.title.removeprefix("[Triggered] "),
        "type": "query alert",
        "query": monitor_query(replay),
        "message": f"{a.title}\n@webhook-ai-sre",
        "tags": [f"service:{a.service}", "env:sandbox", "team:sre"],
        "options": {
            "thresholds": {"critical": a.threshold} if a.threshold is not None else {},
            "notify_no_data": False,
            "include_tags": True,
        },
        "overall_state": "OK" if replay.recovered() else "Alert",
        "priority": 2,
        "created": created,
        "modified": created,
        "multi": False,
        "restricted_roles": None,
        "deleted": None,
    }
