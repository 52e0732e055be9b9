from __future__ import annotations

import multiprocessing
import time
from datetime import timedelta

import pytest

from bot.store import locks
from bot.store.models import utcnow


def test_two_holders_expiry_release_and_fencing(database):
    t0 = utcnow()
    with database.session() as s:
        assert locks.acquire(session=s, resource="svc:checkout", holder="a", ttl=30, now=t0) == 1
    with database.session() as s:
        assert locks.acquire(session=s, resource="svc:checkout", holder="b", ttl=30, now=t0) is None
        # renewing keeps the token
        assert locks.acquire(session=s, resource="svc:checkout", holder="a", ttl=30, now=t0) == 1
        assert locks.check(session=s, resource="svc:checkout", token=1, now=t0)
        lock = locks.get(session=s, resource="svc:checkout", now=t0)
        assert lock is not None and lock.holder == "a"
    later = t0 + timedelta(seconds=31)
    with database.session() as s:
        assert locks.acquire(session=s, resource="svc:checkout", holder="b", ttl=30, now=later) == 2
        # the old holder's token is stale now
        assert not locks.check(session=s, resource="svc:checkout", token=1, now=later)
        assert not locks.release(session=s, resource="svc:checkout", holder="a")
        assert not locks.release(session=s, resource="svc:checkout", holder="b", token=1)
        assert locks.release(session=s, resource="svc:checkout", holder="b", token=2)
        assert locks.get(session=s, resource="svc:checkout", now=later) is None
    with database.session() as s:
        assert locks.acquire(session=s, resource="svc:checkout", holder="b", ttl=30, now=later) == 3
        assert locks.acquire(session=s, resource="other", holder="b", ttl=30, now=later) == 1


def test_empty_holder_refused(database):
    with pytest.raises(ValueError), database.session() as s:
        locks.acquire(session=s, resource="r", holder="", ttl=5)


def test_cleanup_expired(database):
    t0 = utcnow()
    with database.session() as s:
        locks.acquire(session=s, resource="old", holder="a", ttl=1, now=t0 - timedelta(days=2))
        locks.acquire(session=s, resource="live", holder="a", ttl=60, now=t0)
    with database.session() as s:
        assert locks.cleanup_expired(session=s, now=t0) == 1
        assert locks.get(session=s, resource="live", now=t0) is not None


def _contend(url: str, barrier, results, name: str) -> None:
    from bot.store.db import Database

    db = Database(url)
    try:
        barrier.wait(timeout=30)
        with db.session() as s:
            token = locks.acquire(session=s, resource="k8s:prod/checkout", holder=name, ttl=60)
            time.sleep(0.3)  # keep the transaction open so the others really overlap
        results.put((name, token))
    finally:
        db.dispose()


@pytest.mark.postgres
def test_one_winner_across_processes(pg_url):
    from bot.store.migrate import upgrade

    upgrade(pg_url)
    ctx = multiprocessing.get_context("spawn")
    n = 4
    barrier = ctx.Barrier(n)
    results = ctx.Queue()
    procs = [ctx.Process(target=_contend, args=(pg_url, barrier, results, f"p{i}")) for i in range(n)]
    for p in procs:
        p.start()
    got = [results.get(timeout=60) for _ in range(n)]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    winners = [name for name, token in got if token is not None]
    assert len(winners) == 1, got
    assert [token for _, token in got if token is not None] == [1]
