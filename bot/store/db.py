"""Engine and sessions of the bot's own store.

Errors::

    StoreUnavailable   the database cannot be reached (or is locked/timing out);
                       intake answers 503 and the caller may retry later.
    StoreUrlError      the URL itself is wrong (a ValueError); the user must fix it.

Usage::

    db = Database(settings.database_url)
    with db.session() as session:   # commits on success, rolls back on error
        session.add(Incident(title="checkout 5xx"))
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

SQLITE_BUSY_TIMEOUT_MS = 5000
PG_CONNECT_TIMEOUT_S = 5


class StoreUnavailable(Exception):
    """The store cannot be reached right now; ``str()`` is one line."""


class StoreUrlError(ValueError):
    """The database URL is not a usable sqlite or postgresql URL."""


def parse_url(url: str | URL) -> URL:
    try:
        parsed = make_url(url)
    except exc.ArgumentError:
        raise StoreUrlError(
            f"invalid database URL {str(url)!r}: expected sqlite:///path.db or postgresql+psycopg://user@host/db"
        ) from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise StoreUrlError(f"unsupported database backend {backend!r}: expected sqlite or postgresql")
    if backend == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3 is what we install
    return parsed


def _is_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or (url.database or "").startswith("file::memory:")


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine tuned for the backend.

    SQLite: the parent directory is created, WAL journal, ``busy_timeout``,
    foreign keys on, usable from any thread. PostgreSQL: ``pool_pre_ping`` so a
    server restart costs one failed ping rather than an error, and a connect timeout.
    """
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        connect_args: dict[str, Any] = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        if _is_memory(parsed):
            kwargs.setdefault("poolclass", StaticPool)
        else:
            Path(parsed.database or "").expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, connect_args=connect_args, **kwargs)
        memory = _is_memory(parsed)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    connect_args = {"connect_timeout": PG_CONNECT_TIMEOUT_S}
    connect_args.update(kwargs.pop("connect_args", {}))
    return sa.create_engine(parsed, pool_pre_ping=True, connect_args=connect_args, **kwargs)


def describe_url(url: str | URL) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except exc.ArgumentError:
        return "<invalid URL>"


def is_unavailable(err: BaseException) -> bool:
    """True for errors that mean "the database is not reachable right now"."""
    if isinstance(err, exc.DBAPIError) and err.connection_invalidated:
        return True
    return isinstance(err, exc.OperationalError | exc.InterfaceError | exc.TimeoutError)


def unavailable(err: BaseException, url: str | URL) -> StoreUnavailable:
    orig = getattr(err, "orig", None) or err
    first = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    return StoreUnavailable(f"database {describe_url(url)} unavailable: {first}")


class Database:
    """An engine plus a session factory. One per process; share it."""

    def __init__(self, url: str | URL, *, engine: Engine | None = None) -> None:
        self.url = parse_url(url)
        self.engine = engine or make_engine(self.url)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: commit on success, rollback on error.

        Connection failures surface as :class:`StoreUnavailable`; other errors
        (IntegrityError, ...) pass through unchanged.
        """
        session = self.sessionmaker()
        try:
            yield session
            session.commit()
        except BaseException as e:
            with suppress(exc.SQLAlchemyError):  # the connection may be gone; close() discards it
                session.rollback()
            if isinstance(e, exc.SQLAlchemyError) and is_unavailable(e):
                raise unavailable(e, self.url) from e
            raise
        finally:
            session.close()

    def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless ``SELECT 1`` works."""
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except exc.SQLAlchemyError as e:
            raise unavailable(e, self.url) from e

    def dispose(self) -> None:
        self.engine.dispose()
