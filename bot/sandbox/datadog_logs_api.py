"""The sandbox's v2 logs endpoints: search (list) and aggregate, over a Replay.

Query language subset: ``*``, ``key:value`` (service, status, host, env),
``key:(a OR b)``, a leading ``-`` to negate, ``"a phrase"`` and bare words
(case-insensitive substring of the message). Terms are ANDed. Times: ISO 8601,
epoch milliseconds, or ``now``/``now-15m`` date math. Errors answer 400 in the
v2 JSON:API shape ``{"errors": [{"status": "400", "title": "Bad Request", "detail": ...}]}``.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from bot.sandbox.datadog_render import LogBatch, dd_status, log_batches, render_log
from bot.sandbox.replay import Replay

MAX_PAGE = 5000
_REL = re.compile(r"^now(?:-(\d+)([smhdw]))?$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class BadLogsRequest(Exception):
    pass


def v2_error(status: int, detail: str) -> tuple[int, dict[str, Any]]:
    title = {400: "Bad Request", 403: "Forbidden", 404: "Not Found"}.get(status, "Error")
    return status, {"errors": [{"status": str(status), "title": title, "detail": detail}]}


def parse_time(value: Any, now: datetime, what: str) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000.0, UTC)
    if not isinstance(value, str) or not value.strip():
        raise BadLogsRequest(f"invalid '{what}': expected a date, got {value!r}")
    v = value.strip()
    m = _REL.match(v)
    if m:
        if not m.group(1):
            return now
        return now - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    if v.isdigit():
        return datetime.fromtimestamp(int(v) / 1000.0, UTC)
    try:
        dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        raise BadLogsRequest(f"invalid '{what}': unable to parse date {value!r}") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


@dataclass(frozen=True)
class _Term:
    negate: bool
    key: str | None  # None: full-text on the message
    values: tuple[str, ...]


def parse_query(q: str) -> list[_Term]:
    q = (q or "*").strip()
    q = re.sub(r"\(\s*([^()]*?)\s*\)", lambda m: "(" + m.group(1).replace(" ", "\x00") + ")", q)
    try:
        tokens = shlex.split(q)
    except ValueError as e:
        raise BadLogsRequest(f"invalid query {q!r}: {e}") from None
    terms = []
    for tok in tokens:
        tok = tok.replace("\x00", " ")
        if tok in ("*", "AND"):
            continue
        negate = tok.startswith("-")
        tok = tok[1:] if negate else tok
        key, sep, val = tok.partition(":")
        if sep and re.fullmatch(r"@?[A-Za-z_][\w.]*", key):
            val = val.strip()
            if val.startswith("(") and val.endswith(")"):
                vals = tuple(v.strip().strip('"') for v in val[1:-1].split(" OR ") if v.strip())
            else:
                vals = (val.strip('"'),)
            if not vals or any(not v for v in vals):
                raise BadLogsRequest(f"invalid query: empty value for {key!r}")
            terms.append(_Term(negate, key.lstrip("@"), vals))
        else:
            terms.append(_Term(negate, None, (tok,)))
    return terms


def _matches(terms: list[_Term], replay: Replay, batch: LogBatch) -> bool:
    spec = batch.spec
    ns = replay.scenario.service(spec.service)
    fields = {
        "service": spec.service, "status": dd_status(spec.level), "env": "sandbox",
        "kube_namespace": ns.namespace if ns else "default", "level": spec.level,
    }
    for t in terms:
        if t.key is None:
            hit = t.values[0].lower() in spec.message.lower()
        elif t.key == "host":
            hit = any(v.startswith(spec.service) or v == "*" for v in t.values)
        else:
            have = fields.get(t.key)
            hit = have is not None and any(
                v == have or (v.endswith("*") and have.startswith(v[:-1])) for v in t.values
            )
        if hit == t.negate:
            return False
    return True


def _window(replay: Replay, flt: dict[str, Any]) -> tuple[datetime, datetime]:
    now = replay.now()
    start = parse_time(flt.get("from", "now-15m"), now, "from")
    end = parse_time(flt.get("to", "now"), now, "to")
    if end < start:
        raise BadLogsRequest("invalid time range: 'from' is after 'to'")
    return start, end


def _selected(replay: Replay, body: Any) -> tuple[list[LogBatch], datetime, datetime]:
    if not isinstance(body, dict):
        raise BadLogsRequest("the request body must be a JSON object")
    flt = body.get("filter") or {}
    if not isinstance(flt, dict):
        raise BadLogsRequest("'filter' must be an object")
    start, end = _window(replay, flt)
    terms = parse_query(str(flt.get("query", "*")))
    lo, hi = replay.dt_to_minute(start), replay.dt_to_minute(end)
    batches = [b for b in log_batches(replay, lo, hi) if _matches(terms, replay, b)]
    return batches, start, end


def search_logs(replay: Replay, body: Any, url: str) -> tuple[int, dict[str, Any]]:
    try:
        batches, _, _ = _selected(replay, body)
        page = body.get("page") or {}
        limit = int(page.get("limit", 10))
        if not 1 <= limit <= MAX_PAGE:
            raise BadLogsRequest(f"page[limit] must be between 1 and {MAX_PAGE}, got {limit}")
        offset = _decode_cursor(page.get("cursor"))
        sort = body.get("sort", "timestamp")
        if sort not in ("timestamp", "-timestamp"):
            raise BadLogsRequest(f"invalid sort {sort!r}: expected timestamp or -timestamp")
    except (BadLogsRequest, TypeError, ValueError) as e:
        return v2_error(400, str(e))
    if batches:
        minutes = np.concatenate([b.minutes for b in batches])
        which = np.concatenate([np.full(len(b.minutes), k) for k, b in enumerate(batches)])
        index = np.concatenate([np.arange(len(b.minutes)) for b in batches])
        order = np.lexsort((which, minutes))
        if sort == "-timestamp":
            order = order[::-1]
    else:
        minutes = which = index = order = np.array([], dtype=int)
    chosen = order[offset : offset + limit]
    data = []
    for j in chosen:
        b = batches[int(which[j])]
        at = replay.minute_to_dt(float(minutes[j]))
        data.append(render_log(replay, b, int(index[j]), at))
    out: dict[str, Any] = {
        "data": data,
        "meta": {"elapsed": 3, "request_id": f"sandbox-{offset}", "status": "done"},
        "links": {},
    }
    if offset + limit < len(order):
        cursor = _encode_cursor(offset + limit)
        out["meta"]["page"] = {"after": cursor}
        out["links"]["next"] = url
    return 200, out


def aggregate_logs(replay: Replay, body: Any) -> tuple[int, dict[str, Any]]:
    try:
        batches, start, end = _selected(replay, body)
        computes = body.get("compute") or [{"aggregation": "count", "type": "total"}]
        if body.get("group_by"):
            raise BadLogsRequest("the sandbox does not support group_by")
        if any(c.get("aggregation", "count") != "count" for c in computes):
            raise BadLogsRequest("the sandbox supports the count aggregation only")
    except (BadLogsRequest, AttributeError, TypeError) as e:
        return v2_error(400, str(e))
    result: dict[str, Any] = {}
    total = int(sum(len(b.minutes) for b in batches))
    for i, c in enumerate(computes):
        if c.get("type", "total") == "total":
            result[f"c{i}"] = total
            continue
        interval = str(c.get("interval", "1m"))
        m = re.fullmatch(r"(\d+)([smh])", interval)
        if not m:
            return v2_error(400, f"invalid interval {interval!r}")
        step = int(m.group(1)) * {"s": 1, "m": 60, "h": 3600}[m.group(2)]
        base = int(start.timestamp()) // step * step
        counts: dict[int, int] = {}
        for b in batches:
            secs = np.array([replay.minute_to_dt(float(x)).timestamp() for x in (b.minutes[0], b.minutes[-1])])
            # entries are evenly spaced: map every entry's wall time linearly
            ts = np.linspace(secs[0], secs[1], len(b.minutes)) if len(b.minutes) > 1 else secs[:1]
            keys, n = np.unique(((ts - base) // step).astype(int), return_counts=True)
            for k, v in zip(keys.tolist(), n.tolist(), strict=True):
                counts[k] = counts.get(k, 0) + v
        result[f"c{i}"] = [
            {"time": datetime.fromtimestamp(base + k * step, UTC).isoformat().replace("+00:00", "Z"), "value": v}
            for k, v in sorted(counts.items())
        ]
    return 200, {
        "data": {"buckets": [{"by": {}, "computes": result}]},
        "meta": {"elapsed": 2, "request_id": "sandbox-aggregate", "status": "done"},
    }


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def _decode_cursor(cursor: Any) -> int:
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(str(cursor) + "=" * (-len(str(cursor)) % 4))
        return max(0, int(json.loads(raw)["o"]))
    except (ValueError, KeyError, TypeError):
        raise BadLogsRequest(f"invalid page[cursor] {cursor!r}") from None
