"""The scenario's database sessions as real PostgreSQL sessions.

For every ``kind: database`` service, ``start`` creates a real database
``aisre_sbx_<run>_<name with _>`` (with a ``CONNECTION LIMIT`` that makes the
scenario's ``db_connections_pct`` at minute 0 come out of the real numbers),
a login role per session user (``aisre_sbx_<run>_<user>``), and opens one real
session per ``db_sessions`` entry under that role, with
``application_name = aisre-sbx:<session id>`` and the scenario's query text
visible in ``pg_stat_activity.query``:

- ``active``: ``/* <query> */ SELECT pg_sleep(86400)`` runs until cancelled;
- ``idle in transaction``: ``BEGIN`` + ``/* <query> */ SELECT 1``, left open;
- ``idle``: ``/* <query> */ SELECT 1``, then the connection stays open.

Session start times are the real ones (when the sandbox opened them).
A watcher polls ``pg_stat_activity`` every ``poll_s``: when the truth's culprit
session ends (cancelled or terminated, by anyone), it applies
``replay.apply_mitigation("kill_query", <database service>)``; every session
end is ``replay.record_write("postgres", "cancel" | "terminate", ...)``. For a
connection leak the fix is restarting the service, so ending its sessions is
only recorded.

Without a PostgreSQL server, ``start`` serves the sessions from the scenario
through :class:`ScenarioDatabaseTarget` (same interface) and says so on stderr.

Point the bot at it::

    AISRE_POSTGRES__ENABLED=true
    AISRE_POSTGRES__DSN=<handle.dsn>
    AISRE_POSTGRES__DATABASES='<json of handle.databases>'   # service name -> real database

``stop()`` terminates the sessions and drops the databases and roles.
"""

from __future__ import annotations

import secrets
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from bot.integrations.types import ConnectionUsage, DbSession, HealthStatus
from bot.sandbox.replay import Replay
from bot.scenarios.model import DbSessionSpec

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
PREFIX = "aisre_sbx_"
APP_PREFIX = "aisre-sbx:"


def _ident(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text.lower())


def _comment(query: str) -> str:
    return "/* " + query.replace("*/", "* /") + " */"


@dataclass
class _Session:
    spec: DbSessionSpec
    database: str  # the real database
    role: str
    conn: psycopg.Connection[Any] | None = None
    pid: int | None = None
    thread: threading.Thread | None = None
    ended: str | None = None  # cancel | terminate


@dataclass
class PgSessionsHandle:
    dsn: str | None
    databases: dict[str, str]  # service name -> real database name
    pid_map: dict[int, str] = field(default_factory=dict)  # real pid -> scenario session id
    target: ScenarioDatabaseTarget | None = None  # set when no PostgreSQL answered
    _sandbox: PgSandbox | None = None

    @property
    def fallback(self) -> bool:
        return self.target is not None

    def stop(self) -> None:
        if self._sandbox is not None:
            self._sandbox.stop()


class PgSandbox:
    def __init__(self, replay: Replay, admin_dsn: str, poll_s: float) -> None:
        self.replay = replay
        self.admin_dsn = admin_dsn
        self.poll_s = poll_s
        self.run = secrets.token_hex(3)
        self.admin = psycopg.connect(admin_dsn, autocommit=True, connect_timeout=3, application_name="aisre-sbx")
        self.databases: dict[str, str] = {}
        self.roles: set[str] = set()
        self.sessions: list[_Session] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None

    def name(self, text: str) -> str:
        return f"{PREFIX}{self.run}_{_ident(text)}"[:63]

    def setup(self) -> None:
        sc = self.replay.scenario
        db_services = [s.name for s in sc.services if s.kind == "database"]
        db_services += [s.database for s in sc.db_sessions if s.database not in db_services]
        for svc in db_services:
            real = self.name(svc)
            self.databases[svc] = real
            self.admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(real)))
        for s in sc.db_sessions:
            role = self.name(s.user)
            if role not in self.roles:
                self.admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
                self.roles.add(role)
            self.sessions.append(_Session(s, self.databases[s.database], role))
        for sess in self.sessions:
            self._open(sess)
        self._set_limits()
        self._wait_visible()
        self._watcher = threading.Thread(target=self._watch, name="aisre-sbx-pg-watch", daemon=True)
        self._watcher.start()

    def _set_limits(self) -> None:
        for svc, real in self.databases.items():
            pct = self.replay.value(svc, "db_connections_pct", 0)
            used = sum(1 for s in self.sessions if s.database == real)
            if pct and used:
                limit = max(used, round(used * 100.0 / pct))
                self.admin.execute(sql.SQL("ALTER DATABASE {} CONNECTION LIMIT {}").format(
                    sql.Identifier(real), sql.Literal(limit)))

    def _open(self, sess: _Session) -> None:
        info = psycopg.conninfo.conninfo_to_dict(self.admin_dsn)
        info.update(dbname=sess.database, user=sess.role, application_name=f"{APP_PREFIX}{sess.spec.id}")
        info.pop("password", None)
        info["connect_timeout"] = 3
        conn = psycopg.connect(psycopg.conninfo.make_conninfo("", **info),
                               autocommit=sess.spec.state != "idle in transaction")
        sess.conn = conn
        sess.pid = conn.info.backend_pid
        text = _comment(sess.spec.query)
        if sess.spec.state == "active":
            sess.thread = threading.Thread(target=self._run_active, args=(sess, text), daemon=True,
                                           name=f"aisre-sbx-pg-{sess.spec.id}")
            sess.thread.start()
        else:
            conn.execute(text + " SELECT 1")  # type: ignore[call-overload]

    def _run_active(self, sess: _Session, text: str) -> None:
        assert sess.conn is not None
        try:
            sess.conn.execute(text + " SELECT pg_sleep(86400)")  # type: ignore[call-overload]
        except psycopg.errors.QueryCanceled:
            self._ended(sess, "cancel")
        except psycopg.Error:
            self._ended(sess, "terminate")

    def _wait_visible(self) -> None:
        want = {s.pid for s in self.sessions}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            rows = self.admin.execute(
                "SELECT pid, state FROM pg_stat_activity WHERE application_name LIKE %s", (f"{APP_PREFIX}%",)
            ).fetchall()
            states = {pid: state for pid, state in rows}
            if all(states.get(s.pid) == s.spec.state for s in self.sessions if s.pid in want):
                return
            time.sleep(0.05)
        print("sandbox postgres: sessions did not all reach their scenario state in 10 s", file=sys.stderr)

    def _watch(self) -> None:
        while not self._stopping.wait(self.poll_s):
            try:
                rows = self.admin.execute("SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend'")
                alive = {r[0] for r in rows.fetchall()}
            except psycopg.Error:
                continue
            for sess in self.sessions:
                if sess.ended is None and sess.pid not in alive:
                    self._ended(sess, "terminate")

    def _ended(self, sess: _Session, how: str) -> None:
        with self._lock:
            if self._stopping.is_set() or sess.ended is not None:
                return
            sess.ended = how
        db = sess.spec.database
        self.replay.record_write("postgres", how, database=db, session=sess.spec.id, pid=sess.pid,
                                 scenario_pid=sess.spec.pid)
        if is_culprit(self.replay, sess.spec):
            self.replay.apply_mitigation("kill_query", db, f"{how} session {sess.spec.id}")

    def stop(self) -> None:
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        try:
            for real in self.databases.values():
                self.admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                                   (real,))
            for sess in self.sessions:
                if sess.conn is not None:
                    sess.conn.close()
                if sess.thread is not None:
                    sess.thread.join(timeout=5)
            for real in self.databases.values():
                self.admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(real)))
            for role in self.roles:
                self.admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        finally:
            self.admin.close()


def is_culprit(replay: Replay, spec: DbSessionSpec) -> bool:
    t = replay.scenario.truth
    return bool(t and t.mitigation == "kill_query" and t.culprit == spec.id)


class ScenarioDatabaseTarget:
    """The scenario's sessions behind the DatabaseTarget interface, for when no PostgreSQL answers."""

    name = "postgres"

    def __init__(self, replay: Replay) -> None:
        self.replay = replay
        self._ended: dict[str, str] = {}
        self._lock = threading.Lock()

    def _live(self, database: str) -> list[DbSessionSpec]:
        return [s for s in self.replay.scenario.db_sessions if s.database == database and s.id not in self._ended]

    def sessions(self, database: str) -> list[DbSession]:
        out = []
        for s in self._live(database):
            started: datetime = self.replay.minute_to_dt(s.started)
            out.append(DbSession(pid=s.pid, database=database, user=s.user, state=s.state, query=s.query,
                                 query_start=started, backend_start=started, scenario_id=s.id))
        return out

    def connection_usage(self, database: str) -> ConnectionUsage:
        used = len(self._live(database))
        pct = self.replay.value(database, "db_connections_pct", int(self.replay.now_minute()))
        limit = max(used, round(used * 100.0 / pct)) if pct and used else 100
        return ConnectionUsage(database, used, limit)

    def _signal(self, how: str, database: str, pid: int) -> bool:
        with self._lock:
            spec = next((s for s in self._live(database) if s.pid == pid), None)
            if spec is None:
                return False
            if how == "cancel" and spec.state != "active":
                return True  # signalled; an idle backend has nothing to cancel
            self._ended[spec.id] = how
        self.replay.record_write("postgres", how, database=database, session=spec.id, pid=pid)
        if is_culprit(self.replay, spec):
            self.replay.apply_mitigation("kill_query", database, f"{how} session {spec.id}")
        return True

    def cancel(self, database: str, pid: int) -> bool:
        return self._signal("cancel", database, pid)

    def terminate(self, database: str, pid: int) -> bool:
        return self._signal("terminate", database, pid)

    def health(self) -> HealthStatus:
        return HealthStatus("postgres", True, "sandbox: sessions served from the scenario (no PostgreSQL)")


def start(replay: Replay, *, dsn: str = DEFAULT_DSN, poll_s: float = 0.5) -> PgSessionsHandle:
    """Open the scenario's sessions on the PostgreSQL server of ``dsn`` (a superuser); fall back without one."""
    try:
        sandbox = PgSandbox(replay, dsn, poll_s)
    except psycopg.Error as e:
        print(f"sandbox postgres: no PostgreSQL at {dsn} ({str(e).strip().splitlines()[0] if str(e).strip() else e});"
              " serving db_sessions from the scenario instead", file=sys.stderr)
        return PgSessionsHandle(None, {}, target=ScenarioDatabaseTarget(replay))
    try:
        sandbox.setup()
    except BaseException:
        sandbox.stop()
        raise
    pid_map = {s.pid: s.spec.id for s in sandbox.sessions if s.pid is not None}
    return PgSessionsHandle(dsn, dict(sandbox.databases), pid_map, None, sandbox)
