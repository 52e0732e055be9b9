"""Datadog logs: LogsSource over the v2 logs search and aggregate APIs.

Datadog has no public "patterns" API, so the adapter works in two bounded steps:

1. discover: ``POST /api/v2/logs/events/search`` lists the service's logs in the
   window (newest first, ``page.limit`` 1000, following ``meta.page.after``
   cursors): warnings and errors first, at most ``sample_logs`` of them, then a
   small sample of info/debug logs, so chatty info lines never crowd out the
   signal; it groups them client-side by
   (status, normalised message): numbers, hex ids and UUIDs are masked so
   "timed out after 212ms" and "timed out after 198ms" are one pattern;
2. count: for each of the ``max_patterns`` largest patterns one
   ``POST /api/v2/logs/analytics/aggregate`` (count, 1-minute timeseries) with
   ``service:X status:S "<longest literal phrase>"`` gives the exact count in the
   whole window and the first and last minute it was seen. If that call fails
   or returns nothing, the sample's own count and times are kept.

Each pattern reports the most frequent raw message as its example text.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from datadog_api_client import ApiClient
from datadog_api_client.v2.api.logs_api import LogsApi
from datadog_api_client.v2.model.logs_aggregate_request import LogsAggregateRequest
from datadog_api_client.v2.model.logs_aggregation_function import LogsAggregationFunction
from datadog_api_client.v2.model.logs_compute import LogsCompute
from datadog_api_client.v2.model.logs_compute_type import LogsComputeType
from datadog_api_client.v2.model.logs_list_request import LogsListRequest
from datadog_api_client.v2.model.logs_list_request_page import LogsListRequestPage
from datadog_api_client.v2.model.logs_query_filter import LogsQueryFilter
from datadog_api_client.v2.model.logs_sort import LogsSort

from bot.integrations.datadog import _get, api_client, call, health
from bot.integrations.errors import IntegrationError, IntegrationRejected
from bot.integrations.types import HealthStatus, LogPattern
from bot.settings import DatadogSettings

PAGE_LIMIT = 1000
SAMPLE_LOGS = 2000  # problems (warn and worse): the signal
SAMPLE_INFO = 300  # info and debug: context only, so a small sample
MAX_PATTERNS = 20
PROBLEM_FILTER = "-status:(info OR debug)"
INFO_FILTER = "status:(info OR debug)"

_MASKS = (
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "<uuid>"),
    (re.compile(r"\b0x[0-9a-f]+\b|\b[0-9a-f]{12,}\b", re.I), "<hex>"),
    (re.compile(r"\d+(?:\.\d+)?"), "<n>"),
)


def normalise(message: str) -> str:
    """The pattern of a log message: variable parts masked, whitespace collapsed."""
    out = message.strip()
    for rx, repl in _MASKS:
        out = rx.sub(repl, out)
    return " ".join(out.split())[:500]


def literal_phrases(message: str, limit: int = 6) -> list[str]:
    """The runs of words without digits or quotes, longest first: each searchable as a phrase."""
    runs: list[list[str]] = [[]]
    for word in message.split():
        if re.search(r"[0-9\"\\*?]", word):
            runs.append([])
        else:
            runs[-1].append(word)
    phrases = [" ".join(r)[:200] for r in runs if r]
    return sorted(phrases, key=len, reverse=True)[:limit]


def pattern_query(service: str, level: str, example: str) -> str:
    """``service:X status:S "phrase" "phrase"``: the aggregate query that counts one pattern."""
    quoted = ['"' + p.replace('"', '\\"') + '"' for p in literal_phrases(example)]
    return " ".join([f"service:{service}", f"status:{level}", *quoted])


def _parse_time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


@dataclass
class _Group:
    service: str
    level: str
    count: int = 0
    first: datetime | None = None
    last: datetime | None = None
    examples: Counter[str] = field(default_factory=Counter)

    def add(self, message: str, at: datetime) -> None:
        self.count += 1
        self.first = at if self.first is None or at < self.first else self.first
        self.last = at if self.last is None or at > self.last else self.last
        if len(self.examples) < 50 or message in self.examples:
            self.examples[message] += 1


class DatadogLogs:
    name = "datadog.logs"

    def __init__(
        self, settings: DatadogSettings, client: ApiClient | None = None, *,
        sample_logs: int = SAMPLE_LOGS, max_patterns: int = MAX_PATTERNS,
    ) -> None:
        self._client = client or api_client(settings)
        self._api = LogsApi(self._client)
        self.sample_logs = sample_logs
        self.max_patterns = max_patterns

    def query(self, service: str) -> str:
        return f"service:{service}"

    def log_patterns(self, service: str, start: datetime, end: datetime) -> list[LogPattern]:
        if end <= start:
            raise IntegrationRejected(self.name, f"empty window: start {start.isoformat()} >= end {end.isoformat()}")
        groups: dict[tuple[str, str], _Group] = {}
        # warnings and errors first, sampled on their own, so chatty info logs never crowd them out
        self._discover(groups, f"{self.query(service)} {PROBLEM_FILTER}", service, start, end, self.sample_logs)
        self._discover(groups, f"{self.query(service)} {INFO_FILTER}", service, start, end,
                       min(SAMPLE_INFO, self.sample_logs))
        return self._rank(groups, service, start, end)

    def _discover(self, groups: dict[tuple[str, str], _Group], query: str, service: str, start: datetime,
                  end: datetime, budget: int) -> None:
        cursor: str | None = None
        seen = 0
        while seen < budget:
            limit = min(PAGE_LIMIT, budget - seen)
            page = LogsListRequestPage(limit=limit, cursor=cursor) if cursor else LogsListRequestPage(limit=limit)
            body = LogsListRequest(
                filter=LogsQueryFilter(query=query, _from=start.isoformat(), to=end.isoformat()),
                page=page,
                sort=LogsSort.TIMESTAMP_DESCENDING,
            )
            resp = call(self.name, self._api.list_logs, body=body)
            data = _get(resp, "data", []) or []
            for log in data:
                attrs = _get(log, "attributes")
                if attrs is None:
                    continue
                message = str(_get(attrs, "message", "") or "")
                level = str(_get(attrs, "status", "info") or "info").lower()
                at = _parse_time(_get(attrs, "timestamp"))
                if at is None:
                    continue
                key = (level, normalise(message))
                g = groups.get(key)
                if g is None:
                    g = groups[key] = _Group(str(_get(attrs, "service", service) or service), level)
                g.add(message, at)
            seen += len(data)
            meta_page = _get(_get(resp, "meta"), "page")
            cursor = _get(meta_page, "after") if meta_page is not None else None
            if not data or not cursor:
                break

    def _rank(self, groups: dict[tuple[str, str], _Group], service: str, start: datetime,
              end: datetime) -> list[LogPattern]:
        ranked = sorted(groups.values(), key=lambda g: (g.level in ("info", "debug"), -g.count))[: self.max_patterns]
        queries = [pattern_query(service, g.level, g.examples.most_common(1)[0][0]) for g in ranked]
        for g, q in zip(ranked, queries, strict=True):
            if queries.count(q) == 1:  # a query shared by two patterns would count both: keep the sample
                self._count(g, q, start, end)
        out = [
            LogPattern(
                service=g.service, level=g.level, message=g.examples.most_common(1)[0][0], count=g.count,
                first_seen=g.first, last_seen=g.last,  # type: ignore[arg-type]
            )
            for g in groups.values()
            if g.first is not None and g.last is not None and g.examples
        ]
        out.sort(key=lambda p: (-p.count, p.level, p.message))
        return out

    def _count(self, g: _Group, query: str, start: datetime, end: datetime) -> None:
        """Replace a sampled group's count and times with the aggregate API's, when it answers."""
        body = LogsAggregateRequest(
            filter=LogsQueryFilter(query=query, _from=start.isoformat(), to=end.isoformat()),
            compute=[LogsCompute(aggregation=LogsAggregationFunction.COUNT, type=LogsComputeType.TIMESERIES,
                                 interval="1m")],
        )
        try:
            resp = call(self.name, self._api.aggregate_logs, body=body)
        except IntegrationError:
            return
        total, first, last = 0, None, None
        for bucket in _get(_get(resp, "data"), "buckets", []) or []:
            computes = _get(bucket, "computes", {}) or {}
            points = computes.get("c0") if hasattr(computes, "get") else None
            if points is None:
                continue
            for p in getattr(points, "value", points):
                n = int(float(_get(p, "value", 0) or 0))
                at = _parse_time(_get(p, "time"))
                if n <= 0 or at is None:
                    continue
                total += n
                first = at if first is None or at < first else first
                last = at if last is None or at > last else last
        if total and first is not None and last is not None:
            g.count = total
            g.first = max(first, start) if g.first is None else min(g.first, max(first, start))
            g.last = max(g.last or last, last + timedelta(seconds=59))
            g.last = min(g.last, end)

    def health(self) -> HealthStatus:
        return health(self.name, self._client)
