"""PostgreSQL-only behaviour: reconnecting, concurrent start-up migrations, type drift."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from bot.store import migrate
from bot.store.db import Database
from bot.store.models import Incident

pytestmark = pytest.mark.postgres


def test_reconnects_after_connections_are_killed(pg_url):
    migrate.upgrade(pg_url)
    db = Database(pg_url)
    try:
        with db.session() as s:
            s.add(Incident(title="before"))
        admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            killed = conn.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar()
        admin.dispose()
        assert killed >= 1  # the pooled connection of ``db``
        with db.session() as s:  # pool_pre_ping replaces the dead connection
            assert s.scalar(sa.select(sa.func.count()).select_from(Incident)) == 1
    finally:
        db.dispose()


def test_concurrent_ensure_schema_migrates_once(pg_url):
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def run() -> None:
        try:
            barrier.wait(timeout=30)
            migrate.ensure_schema(pg_url)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert migrate.current(pg_url) == migrate.head()
    assert migrate.check_models_match(pg_url) == []


def test_type_drift_is_detected(pg_url):
    migrate.upgrade(pg_url)
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE incidents ALTER COLUMN channel_id TYPE varchar(10)"))
    engine.dispose()
    diffs = [
        d
        for group in migrate.check_models_match(pg_url)
        for d in (group if isinstance(group, list) else [group])
    ]
    assert any(d[0] == "modify_type" and d[3] == "channel_id" for d in diffs), diffs
