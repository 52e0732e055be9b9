"""PostgreSQL target databases: :class:`~bot.integrations.interfaces.DatabaseTarget` over psycopg 3.

Not the bot's own store: these are the databases of the services the bot looks
after. ``settings.postgres.dsn`` names the server (any database on it: the
views used are cluster-wide); ``settings.postgres.databases`` maps a service
name (``shipments-db``) to the database name on that server (``shipments``);
a name not in the map is used as is. Every connection has a connect timeout
and a ``statement_timeout`` of ``settings.postgres.timeout_s``.

- ``sessions(db)``: client backends of ``pg_stat_activity`` on that database.
  An ``application_name`` of the form ``aisre-sbx:<id>`` is reported as
  ``scenario_id`` (plain data; this module knows nothing of the sandbox).
- ``connection_usage(db)``: backends on the database against its
  ``CONNECTION LIMIT``, or the server's ``max_connections`` when it has none.
- ``cancel`` / ``terminate``: ``pg_cancel_backend`` / ``pg_terminate_backend``
  on a pid of that database; True when a backend was signalled.

Errors: connection refused / timeout → IntegrationUnavailable; authentication
or privilege → IntegrationAuthError; anything else from the server → IntegrationRejected.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from bot.integrations.errors import (
    IntegrationAuthError,
    IntegrationError,
    IntegrationRejected,
    IntegrationUnavailable,
)
from bot.integrations.types import ConnectionUsage, DbSession, HealthStatus
from bot.settings import PostgresTargetSettings

NAME = "postgres"
SCENARIO_PREFIX = "aisre-sbx:"

SESSIONS_SQL = """
SELECT pid, datname, usename, state, query, query_start, backend_start, application_name
FROM pg_stat_activity
WHERE datname = %s AND pid <> pg_backend_pid() AND backend_type = 'client backend'
ORDER BY backend_start, pid
"""
USAGE_SQL = """
SELECT (SELECT count(*) FROM pg_stat_activity WHERE datname = d.datname AND backend_type = 'client backend'),
       d.datconnlimit, current_setting('max_connections')::int
FROM pg_database d WHERE d.datname = %s
"""
SIGNAL_SQL = "SELECT {fn}(pid) FROM pg_stat_activity WHERE pid = %s AND datname = %s"


def translate(e: Exception) -> IntegrationError:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    if isinstance(e, pg_errors.InsufficientPrivilege | pg_errors.InvalidAuthorizationSpecification):
        return IntegrationAuthError(NAME, text)
    if isinstance(e, psycopg.OperationalError):
        lowered = text.lower()
        if "authentication failed" in lowered or "no pg_hba.conf entry" in lowered or "role" in lowered and (
                "does not exist" in lowered):
            return IntegrationAuthError(NAME, text)
        return IntegrationUnavailable(NAME, text)
    if isinstance(e, pg_errors.QueryCanceled):
        return IntegrationUnavailable(NAME, f"statement timed out: {text}")
    return IntegrationRejected(NAME, text)


class PostgresTarget:
    """The target databases on one PostgreSQL server; ``name`` is ``"postgres"``."""

    name = NAME

    def __init__(self, settings: PostgresTargetSettings) -> None:
        if settings.dsn is None:
            raise IntegrationUnavailable(NAME, "AISRE_POSTGRES__DSN is not set: expected a postgresql:// DSN")
        self.settings = settings
        self._dsn = settings.dsn.get_secret_value()
        self.timeout_s = settings.timeout_s

    @classmethod
    def from_settings(cls, settings: PostgresTargetSettings) -> PostgresTarget:
        return cls(settings)

    def database_name(self, database: str) -> str:
        return self.settings.databases.get(database, database)

    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            conn = psycopg.connect(
                self._dsn, autocommit=True, connect_timeout=max(1, math.ceil(self.timeout_s)),
                options=f"-c statement_timeout={int(self.timeout_s * 1000)}", application_name="ai-sre",
            )
        except psycopg.Error as e:
            raise translate(e) from None
        try:
            yield conn
        except psycopg.Error as e:
            raise translate(e) from None
        finally:
            conn.close()

    def sessions(self, database: str) -> list[DbSession]:
        with self._conn() as conn:
            rows = conn.execute(SESSIONS_SQL, (self.database_name(database),)).fetchall()
        out = []
        for pid, _datname, user, state, query, query_start, backend_start, app in rows:
            scenario_id = app[len(SCENARIO_PREFIX):] if app and app.startswith(SCENARIO_PREFIX) else None
            out.append(DbSession(
                pid=int(pid), database=database, user=user or "", state=state or "", query=query or "",
                query_start=query_start, backend_start=backend_start, scenario_id=scenario_id,
            ))
        return out

    def connection_usage(self, database: str) -> ConnectionUsage:
        real = self.database_name(database)
        with self._conn() as conn:
            row = conn.execute(USAGE_SQL, (real,)).fetchone()
        if row is None:
            raise IntegrationRejected(NAME, f"database {real!r} (for {database!r}) does not exist")
        used, limit, max_connections = row
        return ConnectionUsage(database, int(used), int(limit) if limit is not None and limit >= 0 else
                               int(max_connections))

    def _signal(self, fn: str, database: str, pid: int) -> bool:
        with self._conn() as conn:
            row = conn.execute(SIGNAL_SQL.format(fn=fn), (pid, self.database_name(database))).fetchone()
        return bool(row and row[0])

    def cancel(self, database: str, pid: int) -> bool:
        return self._signal("pg_cancel_backend", database, pid)

    def terminate(self, database: str, pid: int) -> bool:
        return self._signal("pg_terminate_backend", database, pid)

    def health(self) -> HealthStatus:
        try:
            with self._conn() as conn:
                row = conn.execute("SHOW server_version").fetchone()
        except IntegrationError as e:
            return HealthStatus(NAME, False, e.message)
        return HealthStatus(NAME, True, f"PostgreSQL {row[0] if row else '?'}")
