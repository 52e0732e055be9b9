from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from bot.store.db import Database, StoreUnavailable, StoreUrlError, make_engine, parse_url
from bot.store.models import Action, AlertRow, EvidenceRow, Incident


def test_sqlite_engine_creates_dir_and_sets_pragmas(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'a' / 'b' / 'x.db'}")
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(sa.text("PRAGMA busy_timeout")).scalar() == 5000
            assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        engine.dispose()
    assert (tmp_path / "a" / "b").is_dir()


def test_memory_sqlite_is_shared_between_connections():
    from bot.store.models import metadata

    db = Database("sqlite://")
    metadata.create_all(db.engine)
    with db.session() as s:
        s.add(Incident(title="t"))
    with db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Incident)) == 1


@pytest.mark.parametrize("url", ["bogus", "mysql://u@h/db", "://"])
def test_bad_urls(url):
    with pytest.raises(StoreUrlError):
        parse_url(url)


def test_plain_postgresql_url_uses_psycopg3():
    assert parse_url("postgresql://u@h/db").drivername == "postgresql+psycopg"


def test_unreachable_postgres_is_store_unavailable():
    db = Database("postgresql+psycopg://postgres@127.0.0.1:1/nope")
    with pytest.raises(StoreUnavailable) as e:
        db.ping()
    assert "\n" not in str(e.value)
    with pytest.raises(StoreUnavailable), db.session() as s:
        s.execute(sa.text("SELECT 1"))


def test_incident_key_datetimes_and_json(database):
    opened = datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    with database.session() as s:
        inc = Incident(
            title="checkout 5xx", service="checkout", severity="P1", opened_at=opened, extra={"a": [1, 2]}
        )
        s.add(inc)
        s.flush()
        assert inc.key == f"INC-{inc.id}"
        s.add(
            AlertRow(
                incident_id=inc.id,
                source="datadog",
                fingerprint="fp1",
                title="t",
                starts_at=opened,
                labels={"env": "prod"},
            )
        )
        s.add(
            EvidenceRow(
                incident_id=inc.id,
                evidence_id="ev-1",
                source="prometheus",
                query="q",
                window_start=-30,
                window_end=5.5,
                status="ok",
                summary="s",
            )
        )
        custom = Incident(title="other", key="INC-custom")
        s.add(custom)
        inc_id = inc.id
    with database.session() as s:
        got = s.get(Incident, inc_id)
        assert got is not None
        assert got.opened_at == opened and got.opened_at.tzinfo is not None
        assert got.opened_at.utcoffset() == timedelta(0)
        assert got.extra == {"a": [1, 2]}
        assert got.status == "open" and got.is_false_positive is False
        assert s.scalar(sa.select(Incident.key).where(Incident.title == "other")) == "INC-custom"
        alert = s.scalars(sa.select(AlertRow)).one()
        assert alert.labels == {"env": "prod"} and alert.received_at.tzinfo == UTC
        assert s.scalars(sa.select(EvidenceRow.window_end)).one() == 5.5


def test_evidence_id_unique_per_incident(database):
    with database.session() as s:
        inc = Incident(title="t")
        s.add(inc)
        s.flush()
        inc_id = inc.id
    with pytest.raises(sa.exc.IntegrityError), database.session() as s:
        for _ in range(2):
            s.add(
                EvidenceRow(
                    incident_id=inc_id,
                    evidence_id="ev-1",
                    source="x",
                    query="q",
                    window_start=0,
                    window_end=1,
                    status="ok",
                    summary="s",
                )
            )
        s.flush()


def test_foreign_keys_enforced(database):
    with pytest.raises(sa.exc.IntegrityError), database.session() as s:
        s.add(
            Action(
                incident_id=999,
                name="k8s.scale",
                kind="scale_out",
                target="checkout",
                params_hash="h",
                idempotency_key="k",
            )
        )
