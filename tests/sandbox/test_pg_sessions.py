"""Scenario sessions as real PostgreSQL sessions, seen and acted on through the postgres_target adapter."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from pydantic import SecretStr

from bot.integrations.errors import IntegrationUnavailable
from bot.integrations.postgres_target import PostgresTarget
from bot.sandbox import pg_sessions
from bot.sandbox.replay import Replay
from bot.scenarios.loader import load_scenario
from bot.settings import PostgresTargetSettings

EXAMPLES = Path("/work/shared/scenarios/examples")
DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
WITH_SESSIONS = sorted(p for p in EXAMPLES.glob("*.yaml") if load_scenario(p).db_sessions)


def _pg_up() -> bool:
    try:
        psycopg.connect(DSN, connect_timeout=2).close()
    except psycopg.Error:
        return False
    return True


needs_pg = pytest.mark.skipif(not _pg_up(), reason=f"no PostgreSQL at {DSN}")


def _wait(cond, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def sandbox(request: pytest.FixtureRequest) -> Iterator[tuple[Replay, pg_sessions.PgSessionsHandle, PostgresTarget]]:
    replay = Replay(load_scenario(EXAMPLES / f"{request.param}.yaml"))
    handle = pg_sessions.start(replay, dsn=DSN, poll_s=0.1)
    assert not handle.fallback
    target = PostgresTarget(PostgresTargetSettings(enabled=True, dsn=SecretStr(handle.dsn or ""),
                                                   databases=handle.databases, timeout_s=3))
    yield replay, handle, target
    handle.stop()


@pytest.mark.postgres
@needs_pg
@pytest.mark.parametrize("sandbox", ["runaway-query"], indirect=True)
def test_runaway_query_visible_then_cancelled(sandbox) -> None:  # type: ignore[no-untyped-def]
    replay, handle, target = sandbox
    sessions = {s.scenario_id: s for s in target.sessions("shipments-db")}
    assert set(sessions) == {"s-101", "s-102", "s-103"}
    analyst = sessions["s-101"]
    assert analyst.state == "active"
    assert "FROM scan_events e JOIN depots d" in analyst.query
    assert analyst.user.endswith("_analyst")
    assert sessions["s-103"].state == "idle"
    assert handle.pid_map[analyst.pid] == "s-101"
    usage = target.connection_usage("shipments-db")
    assert usage.used == 3 and usage.max_connections > 0

    assert target.cancel("shipments-db", sessions["s-102"].pid)  # a short query: not the culprit
    assert _wait(lambda: any(w.get("session") == "s-102" for w in replay.writes))
    assert replay.mitigations == []

    assert target.cancel("shipments-db", analyst.pid)
    assert _wait(lambda: bool(replay.mitigations))
    assert [(m.kind, m.target, m.effect) for m in replay.mitigations] == [("kill_query", "shipments-db", "recovers")]
    assert any(w["operation"] == "cancel" and w.get("session") == "s-101" for w in replay.writes)
    after = {s.scenario_id: s for s in target.sessions("shipments-db")}
    assert after["s-101"].state == "idle"
    assert not target.cancel("shipments-db", 1)  # no such backend


@pytest.mark.postgres
@needs_pg
@pytest.mark.parametrize("sandbox", ["connection-leak"], indirect=True)
def test_connection_leak_terminate_is_only_recorded(sandbox) -> None:  # type: ignore[no-untyped-def]
    replay, _, target = sandbox
    sessions = {s.scenario_id: s for s in target.sessions("shipments-db")}
    assert sessions["s-201"].state == "idle in transaction"
    assert "UPDATE manifests" in sessions["s-201"].query
    assert target.connection_usage("shipments-db").pct > 90
    assert target.terminate("shipments-db", sessions["s-201"].pid)
    assert _wait(lambda: any(w.get("session") == "s-201" for w in replay.writes))
    assert replay.mitigations == []
    assert "s-201" not in {s.scenario_id for s in target.sessions("shipments-db")}


@pytest.mark.postgres
@needs_pg
@pytest.mark.parametrize("path", WITH_SESSIONS, ids=[p.stem for p in WITH_SESSIONS])
def test_every_example_session_is_real(path: Path) -> None:
    replay = Replay(load_scenario(path))
    handle = pg_sessions.start(replay, dsn=DSN)
    try:
        target = PostgresTarget(PostgresTargetSettings(enabled=True, dsn=SecretStr(handle.dsn or ""),
                                                       databases=handle.databases))
        for spec in replay.scenario.db_sessions:
            got = {s.scenario_id: s for s in target.sessions(spec.database)}
            assert got[spec.id].state == spec.state
        names = list(handle.databases.values())
    finally:
        handle.stop()
    with psycopg.connect(DSN) as conn:
        left = conn.execute("SELECT count(*) FROM pg_database WHERE datname = ANY(%s)", (names,)).fetchone()
        assert left == (0,)


def test_fallback_serves_the_scenario_without_postgres() -> None:
    replay = Replay(load_scenario(EXAMPLES / "runaway-query.yaml"))
    handle = pg_sessions.start(replay, dsn="postgresql://postgres@127.0.0.1:1/postgres")
    assert handle.fallback and handle.target is not None
    t = handle.target
    by_id = {s.scenario_id: s for s in t.sessions("shipments-db")}
    assert by_id["s-101"].pid == 31877
    assert t.cancel("shipments-db", 31877)
    assert [(m.kind, m.target) for m in replay.mitigations] == [("kill_query", "shipments-db")]
    assert "s-101" not in {s.scenario_id for s in t.sessions("shipments-db")}


def test_adapter_errors_translate() -> None:
    target = PostgresTarget(PostgresTargetSettings(enabled=True, dsn=SecretStr("postgresql://x@127.0.0.1:1/x"),
                                                   timeout_s=1))
    with pytest.raises(IntegrationUnavailable):
        target.sessions("shipments-db")
    assert not target.health().ok
    with pytest.raises(IntegrationUnavailable, match="AISRE_POSTGRES__DSN"):
        PostgresTarget(PostgresTargetSettings(enabled=True))
