"""The cache-saturation example's cache as a real Redis database; a flush reaches the replay."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis

from bot.sandbox import redis_cache
from bot.sandbox.replay import Replay
from bot.scenarios.loader import load_scenario

EXAMPLES = Path("/work/shared/scenarios/examples")


def _redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.mark.skipif(not _redis_up(), reason="no Redis at 127.0.0.1:6379")
def test_flush_is_seen_as_flush_cache() -> None:
    replay = Replay(load_scenario(EXAMPLES / "cache-saturation.yaml"))
    handle = redis_cache.start(replay, db=13, keys=2000, poll_s=0.05)
    try:
        assert set(handle.caches) == {"address-cache"} and handle.url == handle.caches["address-cache"]
        client = redis.Redis.from_url(handle.caches["address-cache"])
        assert client.ttl("autocomplete:address-cache:000001") == -1
        assert client.dbsize() > 2000
        time.sleep(0.2)
        assert replay.mitigations == []
        client.flushdb()
        deadline = time.monotonic() + 5
        while not replay.mitigations and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [(m.kind, m.target, m.effect) for m in replay.mitigations] == [
            ("flush_cache", "address-cache", "recovers")]
        assert replay.writes[-1]["operation"] == "flush"
        client.close()
    finally:
        handle.stop()


def test_no_cache_service_and_no_redis() -> None:
    replay = Replay(load_scenario(EXAMPLES / "runaway-query.yaml"))
    handle = redis_cache.start(replay)
    assert handle.caches == {} and handle.url is None
    handle.stop()
    replay = Replay(load_scenario(EXAMPLES / "cache-saturation.yaml"))
    handle = redis_cache.start(replay, url="redis://127.0.0.1:1")
    assert not handle.available and handle.caches == {}
    handle.stop()
