"""A small generic HTTP feature-flag adapter.

The protocol (served by the sandbox, and easy to put in front of LaunchDarkly,
Unleash or an in-house flag store with a thin proxy):

- ``GET   {base}/flags/{service}``        -> ``{"flags": [<flag>, ...]}``
- ``GET   {base}/flags/{service}/{flag}`` -> ``<flag>``
- ``PATCH {base}/flags/{service}/{flag}`` with ``{"enabled": false}`` (turn it off)
  or ``{"value": <v>}`` (set a value) -> the updated ``<flag>``

where ``<flag>`` is ``{"service", "flag", "value", "enabled", "previous", "updated_at", "updated_by"}``.
Authentication: ``Authorization: Bearer <token>`` when a token is configured.
Errors are JSON ``{"error": "..."}`` with 400/401/404/422.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from bot.integrations.errors import (
    IntegrationAuthError,
    IntegrationNotFound,
    IntegrationRejected,
    IntegrationUnavailable,
)
from bot.integrations.types import HealthStatus

Value = str | int | float | bool | None


@dataclass(frozen=True)
class FlagState:
    service: str
    flag: str
    value: Value
    enabled: bool
    previous: Value = None
    updated_at: datetime | None = None
    updated_by: str | None = None


def _state(d: dict[str, Any]) -> FlagState:
    at = d.get("updated_at")
    return FlagState(
        service=str(d.get("service", "")),
        flag=str(d.get("flag", "")),
        value=d.get("value"),
        enabled=bool(d.get("enabled", True)),
        previous=d.get("previous"),
        updated_at=datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(UTC) if isinstance(at, str) else None,
        updated_by=d.get("updated_by"),
    )


class HttpFlags:
    name = "flags"

    def __init__(
        self, base_url: str, *, token: str | None = None, timeout_s: float = 5.0,
        actor: str = "ai-sre", transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.base_url = base_url.rstrip("/")
        self.actor = actor
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout_s, headers=headers, transport=transport)

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, json: Any = None) -> Any:
        try:
            r = self._http.request(method, path, json=json)
        except httpx.HTTPError as e:
            raise IntegrationUnavailable(self.name, f"{type(e).__name__}: {e}") from e
        try:
            body = r.json()
        except ValueError:
            body = None
        if r.status_code < 300 and isinstance(body, dict):
            return body
        msg = f"HTTP {r.status_code}: " + (
            str(body.get("error")) if isinstance(body, dict) and "error" in body else r.text[:200]
        )
        if r.status_code in (401, 403):
            raise IntegrationAuthError(self.name, msg)
        if r.status_code == 404:
            raise IntegrationNotFound(self.name, msg)
        if r.status_code in (400, 409, 422):
            raise IntegrationRejected(self.name, msg)
        raise IntegrationUnavailable(self.name, msg)

    @staticmethod
    def _path(service: str, flag: str | None = None) -> str:
        p = f"/flags/{quote(service, safe='')}"
        return p + (f"/{quote(flag, safe='')}" if flag is not None else "")

    def flags(self, service: str) -> list[FlagState]:
        return [_state(d) for d in self._request("GET", self._path(service)).get("flags", [])]

    def get(self, service: str, flag: str) -> FlagState:
        return _state(self._request("GET", self._path(service, flag)))

    def disable(self, service: str, flag: str) -> FlagState:
        return _state(self._request("PATCH", self._path(service, flag), {"enabled": False, "actor": self.actor}))

    def set_value(self, service: str, flag: str, value: Value) -> FlagState:
        return _state(self._request("PATCH", self._path(service, flag), {"value": value, "actor": self.actor}))

    def health(self) -> HealthStatus:
        try:
            self._request("GET", "/flags")
        except (IntegrationUnavailable, IntegrationAuthError) as e:
            return HealthStatus(self.name, False, e.message)
        except (IntegrationNotFound, IntegrationRejected):
            pass
        return HealthStatus(self.name, True, "reachable")
