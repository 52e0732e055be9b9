"""The Redis caches the bot may flush (implements :class:`bot.actions.ports.CacheTarget`).

``caches`` maps a cache service name to a Redis URL (``RedisTargetSettings.caches``);
a name not listed uses the default URL. A flush without a pattern is ``FLUSHDB`` on
that URL's database (never ``FLUSHALL``); with a pattern it is ``SCAN MATCH`` +
``UNLINK`` in batches, so a large cache is not blocked. Both return the number of
keys removed. Redis errors become :mod:`bot.integrations.errors` exceptions.
"""

from __future__ import annotations

from collections.abc import Mapping

import redis
import redis.exceptions

from bot.integrations.errors import IntegrationAuthError, IntegrationError, IntegrationUnavailable
from bot.integrations.types import HealthStatus

NAME = "redis"
BATCH = 500


class RedisCaches:
    name = NAME

    def __init__(
        self, default_url: str, caches: Mapping[str, str] | None = None, *, timeout_s: float = 5.0
    ) -> None:
        self._default = default_url
        self._urls = dict(caches or {})
        self._timeout = timeout_s
        self._clients: dict[str, redis.Redis] = {}

    @classmethod
    def from_settings(cls, settings: object) -> RedisCaches:
        return cls(settings.url, settings.caches)  # type: ignore[attr-defined]

    def _client(self, cache: str) -> redis.Redis:
        url = self._urls.get(cache, self._default)
        if url not in self._clients:
            self._clients[url] = redis.Redis.from_url(
                url, socket_timeout=self._timeout, socket_connect_timeout=self._timeout
            )
        return self._clients[url]

    def flush(self, cache: str, pattern: str | None = None) -> int:
        client = self._client(cache)
        try:
            if pattern is None:
                before = int(client.dbsize())  # type: ignore[arg-type]
                client.flushdb()
                return before
            removed = 0
            batch: list[bytes] = []
            for key in client.scan_iter(match=pattern, count=BATCH):
                batch.append(key)
                if len(batch) >= BATCH:
                    removed += int(client.unlink(*batch))  # type: ignore[arg-type]
                    batch = []
            if batch:
                removed += int(client.unlink(*batch))  # type: ignore[arg-type]
            return removed
        except redis.RedisError as e:
            raise _translate(cache, e) from e

    def size(self, cache: str) -> int:
        try:
            return int(self._client(cache).dbsize())  # type: ignore[arg-type]
        except redis.RedisError as e:
            raise _translate(cache, e) from e

    def health(self) -> HealthStatus:
        try:
            self._client("").ping()
            return HealthStatus(NAME, True)
        except redis.RedisError as e:
            return HealthStatus(NAME, False, str(e).splitlines()[0] if str(e) else type(e).__name__)


def _translate(cache: str, e: redis.RedisError) -> IntegrationError:
    msg = f"cache {cache!r}: {e}"
    if isinstance(e, redis.AuthenticationError | redis.exceptions.AuthorizationError):
        return IntegrationAuthError(NAME, msg)
    if isinstance(e, redis.ConnectionError | redis.TimeoutError):
        return IntegrationUnavailable(NAME, msg)
    return IntegrationError(NAME, msg)
