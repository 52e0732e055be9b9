"""Datadog: the shared client, error translation, health and monitors.

The adapters live beside this module, one per concept:

- :class:`~bot.integrations.datadog_metrics.DatadogMetrics` (v1 ``/api/v1/metrics``, ``/api/v1/query``)
- :class:`~bot.integrations.datadog_logs.DatadogLogs` (v2 ``/api/v2/logs/events/search``)
- :class:`~bot.integrations.datadog_events.DatadogEvents` (v1 ``/api/v1/events``)
- :class:`DatadogMonitors` (v1 ``/api/v1/monitor/{id}``)

Every call goes through :func:`call`, which turns ``datadog_api_client`` and
urllib3 exceptions into :mod:`bot.integrations.errors`. The client is built
from :class:`~bot.settings.DatadogSettings` only when an adapter is constructed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from datadog_api_client import ApiClient, Configuration
from datadog_api_client.exceptions import ApiException, ApiTypeError, ApiValueError
from datadog_api_client.v1.api.authentication_api import AuthenticationApi
from datadog_api_client.v1.api.monitors_api import MonitorsApi

from bot.integrations.errors import (
    IntegrationAuthError,
    IntegrationError,
    IntegrationNotFound,
    IntegrationRejected,
    IntegrationUnavailable,
)
from bot.integrations.types import HealthStatus, Monitor
from bot.settings import DatadogSettings

T = TypeVar("T")

__all__ = [
    "DatadogMonitors",
    "api_client",
    "call",
    "health",
]


POOL_SIZE = 16


def api_client(settings: DatadogSettings) -> ApiClient:
    """An ``ApiClient`` for the configured site or ``api_url``; retries off, timeout from settings."""
    host = (settings.api_url or f"https://api.{settings.site}").rstrip("/")
    cfg = Configuration(host=host, request_timeout=settings.timeout_s, enable_retry=False)
    cfg.check_return_type = False  # deserialising thousands of logs with type checks costs seconds
    if settings.api_key is not None:
        cfg.api_key["apiKeyAuth"] = settings.api_key.get_secret_value()
    if settings.app_key is not None:
        cfg.api_key["appKeyAuth"] = settings.app_key.get_secret_value()
    # the v1 list endpoints we use are stable; nothing here needs unstable operations
    client = ApiClient(cfg)
    # the SDK's pool keeps 4 connections; an investigation queries in parallel (bot.investigation.gather)
    from datadog_api_client.rest import RESTClientObject

    client.rest_client = RESTClientObject(cfg, maxsize=POOL_SIZE)
    return client


def _body_message(e: ApiException) -> str:
    body = getattr(e, "body", None)
    if isinstance(body, dict):
        errs = body.get("errors")
        if isinstance(errs, list) and errs:
            return "; ".join(str(x.get("detail", x) if isinstance(x, dict) else x) for x in errs)[:300]
    if isinstance(body, str) and body.strip():
        return body.strip()[:300]
    return str(getattr(e, "reason", "") or "")


def translate(integration: str, exc: BaseException) -> IntegrationError:
    """The :mod:`bot.integrations.errors` exception for a vendor/transport exception."""
    if isinstance(exc, IntegrationError):
        return exc
    if isinstance(exc, ApiException):
        status = int(exc.status or 0)
        msg = f"HTTP {status}: {_body_message(exc)}"
        if status in (401, 403):
            return IntegrationAuthError(integration, msg)
        if status == 404:
            return IntegrationNotFound(integration, msg)
        if status in (400, 409, 422):
            return IntegrationRejected(integration, msg)
        return IntegrationUnavailable(integration, msg)
    if isinstance(exc, ApiTypeError | ApiValueError):
        return IntegrationRejected(integration, f"unexpected data: {exc}")
    # urllib3 timeouts, connection refused, protocol errors, MaxRetryError...
    return IntegrationUnavailable(integration, f"{type(exc).__name__}: {exc}")


@contextmanager
def _translated(integration: str) -> Iterator[None]:
    try:
        yield
    except IntegrationError:
        raise
    except Exception as e:  # vendor and transport exceptions only reach here
        raise translate(integration, e) from e


def call(integration: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call a ``datadog_api_client`` method, translating its errors."""
    with _translated(integration):
        return fn(*args, **kwargs)


def health(name: str, client: ApiClient) -> HealthStatus:
    """``GET /api/v1/validate``: is the API key valid?"""
    try:
        resp = call(name, AuthenticationApi(client).validate)
    except IntegrationError as e:
        return HealthStatus(name, False, e.message)
    ok = bool(_get(resp, "valid", False))
    return HealthStatus(name, ok, "API key valid" if ok else "API key not valid")


def _get(obj: Any, key: str, default: Any = None) -> Any:
    """A field of a vendor model or dict, ``default`` when unset."""
    if isinstance(obj, dict):
        return obj.get(key, default)
    try:
        v = obj.get(key, default) if hasattr(obj, "get") else getattr(obj, key, default)
    except (AttributeError, KeyError):
        return default
    return default if v is None else v


def to_epoch_s(at: datetime) -> int:
    if at.tzinfo is None:
        raise ValueError("expected a timezone-aware datetime")
    return int(at.timestamp())


def from_epoch(value: float, *, ms: bool = False) -> datetime:
    return datetime.fromtimestamp(value / 1000.0 if ms else value, UTC)


def service_of_tags(tags: list[str]) -> str | None:
    for t in tags:
        if t.startswith("service:"):
            return t.split(":", 1)[1]
    return None


_THRESHOLD = re.compile(r"(?:>=|<=|>|<)\s*(-?[0-9.]+(?:e-?[0-9]+)?)\s*$")


class DatadogMonitors:
    """MonitorsSource over ``GET /api/v1/monitor/{monitor_id}``."""

    name = "datadog.monitors"

    def __init__(self, settings: DatadogSettings, client: ApiClient | None = None) -> None:
        self._client = client or api_client(settings)
        self._api = MonitorsApi(self._client)

    def monitor(self, monitor_id: str) -> Monitor:
        try:
            mid = int(monitor_id)
        except ValueError:
            raise IntegrationRejected(self.name, f"monitor id must be a number, got {monitor_id!r}") from None
        m = call(self.name, self._api.get_monitor, mid)
        query = str(_get(m, "query", ""))
        options = _get(m, "options")
        thresholds = _get(options, "thresholds") if options is not None else None
        critical = _get(thresholds, "critical") if thresholds is not None else None
        if critical is None:
            match = _THRESHOLD.search(query)
            critical = float(match.group(1)) if match else None
        tags = [str(t) for t in (_get(m, "tags", []) or [])]
        return Monitor(
            id=str(_get(m, "id", monitor_id)),
            name=str(_get(m, "name", "")),
            query=query,
            threshold=float(critical) if critical is not None else None,
            service=service_of_tags(tags),
        )

    def health(self) -> HealthStatus:
        return health(self.name, self._client)


def __getattr__(name: str) -> Any:  # lazy re-exports, no import cycle
    if name == "DatadogMetrics":
        from bot.integrations.datadog_metrics import DatadogMetrics

        return DatadogMetrics
    if name == "DatadogLogs":
        from bot.integrations.datadog_logs import DatadogLogs

        return DatadogLogs
    if name == "DatadogEvents":
        from bot.integrations.datadog_events import DatadogEvents

        return DatadogEvents
    raise AttributeError(name)
