from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from bot.store import leases
from bot.store.models import utcnow


def test_leader_lease_lifecycle(database):
    t0 = utcnow()
    with database.session() as s:
        assert leases.try_acquire_or_renew(session=s, name="scheduler", holder="r1", ttl=15, now=t0) == 1
        assert leases.try_acquire_or_renew(session=s, name="scheduler", holder="r2", ttl=15, now=t0) is None
    t1 = t0 + timedelta(seconds=10)
    with database.session() as s:
        assert leases.try_acquire_or_renew(session=s, name="scheduler", holder="r1", ttl=15, now=t1) == 1
        assert leases.try_acquire_or_renew(session=s, name="scheduler", holder="r2", ttl=15, now=t1) is None
        lease = leases.get(session=s, name="scheduler", now=t1)
        assert lease is not None and lease.holder == "r1"
    t2 = t1 + timedelta(seconds=16)  # r1 failed to renew
    with database.session() as s:
        assert leases.get(session=s, name="scheduler", now=t2) is None
        assert leases.try_acquire_or_renew(session=s, name="scheduler", holder="r2", ttl=15, now=t2) == 2
        assert leases.try_acquire_or_renew(session=s, name="scheduler", holder="r1", ttl=15, now=t2) is None
        assert not leases.release(session=s, name="scheduler", holder="r1")
        assert leases.release(session=s, name="scheduler", holder="r2")
    with database.session() as s:
        assert leases.try_acquire_or_renew(session=s, name="scheduler", holder="r1", ttl=15, now=t2) == 3


@pytest.mark.postgres
def test_one_leader_among_threads(pg_url):
    from bot.store.db import Database
    from bot.store.migrate import upgrade

    upgrade(pg_url)
    db = Database(pg_url)
    n = 6
    barrier = threading.Barrier(n)
    tokens: dict[str, int | None] = {}

    def run(name: str) -> None:
        barrier.wait(timeout=30)
        with db.session() as s:
            tokens[name] = leases.try_acquire_or_renew(session=s, name="scheduler", holder=name, ttl=15)

    threads = [threading.Thread(target=run, args=(f"r{i}",)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    db.dispose()
    assert len(tokens) == n
    assert sorted(v for v in tokens.values() if v is not None) == [1]
