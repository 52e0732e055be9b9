from __future__ import annotations

import sqlalchemy as sa

from bot.store import migrate
from bot.store.models import metadata


def test_migrations_dir_is_next_to_the_package():
    assert (migrate.MIGRATIONS_DIR / "env.py").is_file()
    assert (migrate.MIGRATIONS_DIR / "versions" / "0001_initial.py").is_file()
    assert migrate.head() == "0001"


def test_upgrade_and_current(db_url):
    assert migrate.current(db_url) is None
    migrate.ensure_schema(db_url)
    assert migrate.current(db_url) == migrate.head()
    migrate.upgrade(db_url)  # idempotent
    assert migrate.current(db_url) == migrate.head()


def test_models_match_migrations(db_url):
    migrate.upgrade(db_url)
    assert migrate.check_models_match(db_url) == []


def test_every_model_table_is_created(db_url):
    migrate.upgrade(db_url)
    engine = sa.create_engine(db_url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert set(metadata.tables) <= tables


def test_comparison_detects_drift(db_url):
    migrate.upgrade(db_url)
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP INDEX ix_alerts_fingerprint"))
    finally:
        engine.dispose()
    diffs = migrate.check_models_match(db_url)
    assert any(d[0] == "add_index" and d[1].name == "ix_alerts_fingerprint" for d in diffs)


def test_downgrade_to_base_and_back(db_url):
    migrate.upgrade(db_url)
    migrate.downgrade(db_url, "base")
    assert migrate.current(db_url) is None
    migrate.upgrade(db_url)
    assert migrate.check_models_match(db_url) == []
