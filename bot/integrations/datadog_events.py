"""Datadog events: ChangesSource over ``GET /api/v1/events``.

Convention (docs/datadog.md) for events CI/CD posts so the bot understands them:

- tags ``service:<name>`` and ``change_kind:<kind>`` (deploy, config, feature_flag,
  scaling, cron, status_page, certificate, maintenance); without ``change_kind``
  a ``source:<x>`` tag or the event's source type is mapped (``source:launchdarkly``
  -> feature_flag, ``source:argocd`` -> deploy, ...); anything else is ``other``;
- ``change_id:<id>`` names the change (else the Datadog event id is used);
- attributes (version, previous, key, old, new, flag, job, status, provider, host,
  expires_at, author, note) as ``key:value`` tags, or as ``key: value`` lines in
  the event text. The text wins: tags are lower-cased and lose characters such
  as ``%`` or spaces, text lines keep them.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, cast

from datadog_api_client import ApiClient
from datadog_api_client.v1.api.events_api import EventsApi

from bot.integrations.datadog import _get, api_client, call, from_epoch, health, to_epoch_s
from bot.integrations.errors import IntegrationRejected
from bot.integrations.types import ChangeEvent, ChangeKind, HealthStatus
from bot.settings import DatadogSettings

PAGE_SIZE = 1000  # Datadog's fixed page size for unaggregated event lists
MAX_PAGES = 10

KINDS: tuple[str, ...] = (
    "deploy", "config", "feature_flag", "scaling", "cron", "status_page", "certificate", "maintenance",
)
ATTRIBUTES: tuple[str, ...] = (
    "version", "previous", "key", "old", "new", "flag", "job", "status", "provider", "host",
    "expires_at", "author", "note",
)
SOURCE_KINDS: dict[str, str] = {
    "deploy": "deploy", "deployment": "deploy", "argocd": "deploy", "spinnaker": "deploy", "jenkins": "deploy",
    "github": "deploy", "gitlab": "deploy", "circleci": "deploy", "octopus": "deploy", "kubernetes": "deploy",
    "config": "config", "consul": "config", "terraform": "config", "chef": "config", "puppet": "config",
    "ansible": "config", "feature_flag": "feature_flag", "launchdarkly": "feature_flag",
    "split": "feature_flag", "flagsmith": "feature_flag", "unleash": "feature_flag",
    "scaling": "scaling", "autoscaling": "scaling", "hpa": "scaling", "cron": "cron", "airflow": "cron",
    "status_page": "status_page", "statuspage": "status_page", "certificate": "certificate",
    "maintenance": "maintenance",
}
_LINE = re.compile(r"^\s*(" + "|".join(ATTRIBUTES) + r")\s*:\s*(.*?)\s*$", re.M)


def kind_of(tags: list[str], source_type: str | None) -> ChangeKind:
    values = {t.split(":", 1)[0]: t.split(":", 1)[1] for t in tags if ":" in t}
    k = values.get("change_kind", "").lower()
    if k in KINDS:
        return cast(ChangeKind, k)
    for cand in (values.get("source", ""), source_type or ""):
        mapped = SOURCE_KINDS.get(cand.lower().replace(" ", "_"))
        if mapped:
            return cast(ChangeKind, mapped)
    return "other"


def attributes_of(tags: list[str], text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for t in tags:
        k, sep, v = t.partition(":")
        if sep and k in ATTRIBUTES:
            out[k] = v
    for m in _LINE.finditer(text or ""):
        out[m.group(1)] = m.group(2)
    return out


def to_change(ev: Any, default_service: str | None = None) -> ChangeEvent | None:
    tags = [str(t) for t in (_get(ev, "tags", []) or [])]
    happened = _get(ev, "date_happened")
    if happened is None:
        return None
    values = {t.split(":", 1)[0]: t.split(":", 1)[1] for t in tags if ":" in t}
    service = values.get("service") or default_service
    if not service:
        return None
    ev_id = values.get("change_id") or str(_get(ev, "id_str", "") or _get(ev, "id", ""))
    return ChangeEvent(
        id=ev_id,
        kind=kind_of(tags, _get(ev, "source_type_name")),
        at=from_epoch(float(happened)),
        service=service,
        title=str(_get(ev, "title", "") or ""),
        attributes=attributes_of(tags, str(_get(ev, "text", "") or "")),
    )


class DatadogEvents:
    name = "datadog.events"

    def __init__(self, settings: DatadogSettings, client: ApiClient | None = None) -> None:
        self._client = client or api_client(settings)
        self._api = EventsApi(self._client)

    def changes(self, services: list[str] | None, start: datetime, end: datetime) -> list[ChangeEvent]:
        if end <= start:
            raise IntegrationRejected(self.name, f"empty window: start {start.isoformat()} >= end {end.isoformat()}")
        found: dict[str, ChangeEvent] = {}
        for service in services if services is not None else [None]:
            for ev in self._list(service, start, end):
                ch = to_change(ev, service)
                if ch is not None and (services is None or ch.service in services):
                    found.setdefault(f"{ch.id}|{ch.service}|{ch.at.isoformat()}", ch)
        return sorted(found.values(), key=lambda c: (c.at, c.id))

    def _list(self, service: str | None, start: datetime, end: datetime) -> list[Any]:
        out: list[Any] = []
        kwargs: dict[str, Any] = {"unaggregated": True}
        if service is not None:
            kwargs["tags"] = f"service:{service}"
        for page in range(MAX_PAGES):
            resp = call(self.name, self._api.list_events, to_epoch_s(start), to_epoch_s(end), page=page, **kwargs)
            events = list(_get(resp, "events", []) or [])
            out.extend(events)
            if len(events) < PAGE_SIZE:
                break
        return out

    def health(self) -> HealthStatus:
        return health(self.name, self._client)
