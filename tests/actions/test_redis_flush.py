"""redis.flush end to end against the local Redis (db 13), through the registry and the executor."""

from __future__ import annotations

import pytest

from bot.actions.ports import Ports
from bot.actions.runtime import ActionRequest
from bot.integrations.errors import IntegrationUnavailable
from bot.integrations.redis_target import RedisCaches
from bot.store.models import Action

URL = "redis://127.0.0.1:6379/13"


@pytest.fixture
def rdb():
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(URL)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    client.flushdb()
    yield client
    client.flushdb()


def test_flush_by_pattern_and_whole_db(rdb):
    caches = RedisCaches("redis://127.0.0.1:6379/0", {"sessions": URL})
    for i in range(1200):
        rdb.set(f"session:{i}", "x")
    for i in range(5):
        rdb.set(f"config:{i}", "y")
    assert caches.size("sessions") == 1205
    assert caches.flush("sessions", "session:*") == 1200
    assert caches.size("sessions") == 5
    assert caches.flush("sessions") == 5
    assert caches.size("sessions") == 0
    assert caches.health().ok


def test_unreachable_redis_raises_ours():
    caches = RedisCaches("redis://127.0.0.1:1/0", timeout_s=0.5)
    with pytest.raises(IntegrationUnavailable, match="cache 'x'"):
        caches.flush("x")
    assert not caches.health().ok


def test_flush_through_registry_and_executor(world, rdb):
    for i in range(50):
        rdb.set(f"session:{i}", "x")
    rdb.set("keep:me", "1")
    svc = world.service(ports=Ports(cache=RedisCaches("redis://127.0.0.1:6379/0", {"sessions-cache": URL}),
                                    metrics=world.metrics))
    name, params = svc.d.registry.for_mitigation("flush_cache", "sessions-cache", {"pattern": "session:*"})
    assert name == "redis.flush"
    sub = svc.submit(ActionRequest(action=name, params=params, target="sessions-cache",
                                   incident_id=world.incident("sessions-cache"), requested_by="U_REQ"))
    assert sub.state == "awaiting_approval"  # irreversible: approval whatever the level
    assert not svc.decide(sub.action_id, user="U_REQ", approve=True, shown_hash=sub.params_hash).changed
    assert svc.decide(sub.action_id, user="U_APPROVER", approve=True, shown_hash=sub.params_hash).changed
    out = svc.executor.run(sub.action_id)
    assert out.state == "done", out.text
    assert rdb.dbsize() == 1 and rdb.get("keep:me") == b"1"
    with world.database.session() as s:
        assert s.get(Action, sub.action_id).result["output"] == {"keys_removed": 50}
