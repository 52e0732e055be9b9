"""A scenario's ``kind: cache`` services as real Redis databases.

Each cache service gets a dedicated logical database on the Redis server
(``db``, ``db + 1``, ... ; default 12), which must be empty. It is seeded with
``keys`` TTL-less ``autocomplete:*`` keys (the cache-saturation story) plus a
few ``geo:*`` keys that expire. A watcher polls ``DBSIZE`` every ``poll_s``:
when a seeded database drops below 10% of its keys (``FLUSHDB``, ``FLUSHALL``
or a mass delete) it calls ``replay.apply_mitigation("flush_cache", service)``
and ``replay.record_write("redis", "flush", ...)``, once per service.

Point the bot at it::

    AISRE_REDIS__CACHES='<json of handle.caches>'   # cache service name -> redis://host:port/db

``start(replay, url=..., db=12)`` returns a :class:`RedisCacheHandle` with
``.url`` (the first cache's), ``.caches`` and ``.stop()`` (which empties the
seeded databases). Without a Redis server it prints why on stderr and returns
a handle with ``available = False`` and no caches.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from dataclasses import dataclass, field

import redis

from bot.sandbox.replay import Replay

DEFAULT_URL = "redis://127.0.0.1:6379"
MARKER = "aisre-sbx:seeded"


@dataclass
class _Cache:
    service: str
    url: str
    client: redis.Redis
    seeded: int
    flushed: bool = False


@dataclass
class RedisCacheHandle:
    url: str | None
    caches: dict[str, str] = field(default_factory=dict)
    available: bool = True
    _caches: list[_Cache] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for c in self._caches:
            with contextlib.suppress(redis.RedisError):
                c.client.flushdb()
            c.client.close()


def _seed(client: redis.Redis, service: str, keys: int) -> int:
    pipe = client.pipeline(transaction=False)
    for i in range(keys):
        pipe.set(f"autocomplete:{service}:{i:06d}", f'{{"q":"addr-{i}","hits":{i % 97}}}')
    for i in range(max(keys // 20, 1)):
        pipe.set(f"geo:{service}:{i:06d}", f"{52.0 + i / 1e4},{4.0 + i / 1e4}", ex=3600)
    pipe.set(MARKER, service)
    pipe.execute()
    return int(client.dbsize())


def start(replay: Replay, *, url: str = DEFAULT_URL, db: int = 12, keys: int = 3000,
          poll_s: float = 0.5) -> RedisCacheHandle:
    services = [s.name for s in replay.scenario.services if s.kind == "cache"]
    base = url.rstrip("/")
    handle = RedisCacheHandle(None)
    try:
        for i, svc in enumerate(services):
            cache_url = f"{base}/{db + i}"
            client = redis.Redis.from_url(cache_url, socket_timeout=3, socket_connect_timeout=3)
            size = int(client.dbsize())  # type: ignore[arg-type]
            if size and not client.exists(MARKER):
                client.close()
                raise RuntimeError(f"sandbox redis: database {cache_url} holds {size} keys that are not the "
                                   f"sandbox's; pick another with db=")
            client.flushdb()
            handle._caches.append(_Cache(svc, cache_url, client, _seed(client, svc, keys)))
            handle.caches[svc] = cache_url
    except redis.RedisError as e:
        print(f"sandbox redis: no Redis at {url} ({e}); cache flushes will not be seen", file=sys.stderr)
        handle.stop()
        return RedisCacheHandle(None, available=False)
    handle.url = next(iter(handle.caches.values()), None)
    if handle._caches:
        handle._thread = threading.Thread(target=_watch, args=(replay, handle, poll_s), daemon=True,
                                          name="aisre-sbx-redis-watch")
        handle._thread.start()
    return handle


def _watch(replay: Replay, handle: RedisCacheHandle, poll_s: float) -> None:
    while not handle._stop.wait(poll_s):
        for c in handle._caches:
            if c.flushed:
                continue
            try:
                size = int(c.client.dbsize())  # type: ignore[arg-type]
            except redis.RedisError:
                continue
            if size < c.seeded * 0.1:
                c.flushed = True
                replay.record_write("redis", "flush", service=c.service, url=c.url, keys_before=c.seeded,
                                    keys_after=size)
                replay.apply_mitigation("flush_cache", c.service, f"keys {c.seeded} -> {size}")
