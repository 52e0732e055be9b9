"""Shared fixtures: databases on SQLite and PostgreSQL.

- ``sqlite_url``: a fresh SQLite file under ``tmp_path``.
- ``pg_url``: a fresh PostgreSQL database ``aisre_test_<random>`` on the server of
  ``AISRE_TEST_DATABASE_URL``, dropped afterwards. Without that variable the test
  is skipped, or fails when ``CI=true``.
- ``db_url``: parametrised over both (ids ``sqlite`` and ``postgresql``).
- ``database``: a migrated :class:`bot.store.db.Database` on ``db_url``.

Area-specific fixtures belong in ``tests/<area>/conftest.py``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from bot.store.db import Database

PG_ENV = "AISRE_TEST_DATABASE_URL"


def _pg_server_url() -> str:
    url = os.environ.get(PG_ENV, "").strip()
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{PG_ENV} is not set and CI=true: PostgreSQL tests must run in CI", pytrace=False)
        pytest.skip(f"{PG_ENV} not set: PostgreSQL tests skipped")
    return url


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'aisre.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    server = make_url(_pg_server_url())
    if server.drivername == "postgresql":
        server = server.set(drivername="postgresql+psycopg")
    name = f"aisre_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield server.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    from bot.store.migrate import upgrade

    upgrade(db_url)
    db = Database(db_url)
    yield db
    db.dispose()
