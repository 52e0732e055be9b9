"""Alembic, configured from code (there is no ``alembic.ini``).

The scripts live in the repository's ``migrations/`` directory, found next to the
``bot`` package, so this works from a checkout and from an editable install.

``ensure_schema(url)`` is what start-up calls: it upgrades to head under a
PostgreSQL advisory lock, so replicas starting together migrate once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import exc
from sqlalchemy.engine import URL

import bot
from bot.store.db import is_unavailable, make_engine, unavailable

MIGRATIONS_DIR = Path(bot.__file__).resolve().parent.parent / "migrations"
_ADVISORY_LOCK_ID = 0x61697372  # "aisr"


class MigrationsNotFound(RuntimeError):
    """``migrations/`` is missing (the bot must run from a checkout or an editable install)."""


def alembic_config(url: str | URL | None = None) -> Config:
    if not (MIGRATIONS_DIR / "env.py").is_file():
        raise MigrationsNotFound(
            f"migrations not found at {MIGRATIONS_DIR}: install the bot from a checkout (pip install -e .)"
        )
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", _url_str(url).replace("%", "%%"))
    return cfg


def _url_str(url: str | URL) -> str:
    return url.render_as_string(hide_password=False) if isinstance(url, URL) else url


def head() -> str | None:
    """The newest revision in ``migrations/versions``."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade(url: str | URL, revision: str = "head") -> None:
    """Upgrade the schema at ``url`` to ``revision``; raises StoreUnavailable if unreachable."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK_ID})
            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except exc.SQLAlchemyError as e:
        if is_unavailable(e):
            raise unavailable(e, url) from e
        raise
    finally:
        engine.dispose()


def downgrade(url: str | URL, revision: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, revision)
    finally:
        engine.dispose()


def ensure_schema(url: str | URL) -> None:
    """Bring the schema to head (run at start-up)."""
    upgrade(url, "head")


def current(url: str | URL) -> str | None:
    """The revision the database is at; None for an empty database."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except exc.SQLAlchemyError as e:
        if is_unavailable(e):
            raise unavailable(e, url) from e
        raise
    finally:
        engine.dispose()


def check_models_match(url: str | URL) -> list[Any]:
    """Autogenerate's diff between the models and the database; empty when they agree."""
    from bot.store.models import metadata

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(ctx, metadata))
    finally:
        engine.dispose()
