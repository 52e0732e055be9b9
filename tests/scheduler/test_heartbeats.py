"""Heartbeats: a sustained breach opens ONE incident through the real intake; recovery resolves it."""

from __future__ import annotations

import time
from collections import namedtuple
from datetime import timedelta

import pytest
import sqlalchemy as sa

from bot.integrations.types import ConnectionUsage, Point
from bot.scheduler.config import load_heartbeats_text
from bot.scheduler.heartbeats import HeartbeatRunner, fingerprint, list_heartbeats
from bot.scheduler.probes import ProbeDeps, SourcesReader
from bot.scheduler.service import Scheduler
from bot.settings import SchedulerSettings, Settings
from bot.store.models import AlertRow, HeartbeatResult, Incident


def _http_config(url: str, interval: str = "10s", for_: str = "20s"):
    return load_heartbeats_text(f"""
checks:
  - name: checkout-http
    kind: http
    service: checkout
    url: "{url}"
    max_latency: 150ms
    timeout: 2s
    interval: {interval}
    for: {for_}
""")


def _incidents(db) -> list[Incident]:
    with db.session() as s:
        return list(s.scalars(sa.select(Incident).order_by(Incident.id)))


def test_slow_server_opens_one_incident_after_the_duration_and_recovery_resolves_it(
        database, intake, slow_server, clock):
    config = _http_config(slow_server.url)
    assert config.checks_needed(config.checks[0]) == 3  # held for 20s at a 10s interval
    runner = HeartbeatRunner(db=database, config=config, intake=intake, clock=clock)

    assert runner.run("checkout-http").probe.ok
    slow_server.delay = 0.4  # over max_latency (150 ms), under the timeout
    results = []
    for _ in range(6):
        clock.advance(10)
        results.append(runner.run("checkout-http"))
    assert [r.probe.ok for r in results] == [False] * 6
    assert [r.transition for r in results] == [None, None, "fired", None, None, None]
    incidents = _incidents(database)
    assert len(incidents) == 1
    inc = incidents[0]
    assert inc.service == "checkout" and inc.status != "resolved" and inc.extra["source"] == "heartbeat"
    assert "checkout-http" in inc.title and "over 150 ms" in inc.title

    slow_server.delay = 0.0
    clock.advance(10)
    r = runner.run("checkout-http")
    assert r.probe.ok and r.transition == "resolved"
    incidents = _incidents(database)
    assert len(incidents) == 1 and incidents[0].status == "resolved"
    with database.session() as s:
        alerts = s.scalars(sa.select(AlertRow).order_by(AlertRow.id)).all()
        assert {a.fingerprint for a in alerts} == {fingerprint("checkout-http")}
        assert [a.status for a in alerts] == ["firing", "resolved"]
        rows = s.scalars(sa.select(HeartbeatResult).order_by(HeartbeatResult.id)).all()
        assert [row.breached for row in rows] == [False, False, False, True, True, True, True, False]
        views = list_heartbeats(session=s, config=config)
    assert views[0].state == "ok" and views[0].value is not None and views[0].value < 150


def test_one_blip_does_not_page(database, intake, slow_server, clock):
    runner = HeartbeatRunner(db=database, config=_http_config(slow_server.url), intake=intake, clock=clock)
    for delay in (0, 0.4, 0, 0.4, 0.4, 0, 0.4):
        slow_server.delay = delay
        clock.advance(10)
        assert runner.run("checkout-http").transition is None
    assert _incidents(database) == []


def test_unreachable_and_timeouts_breach(database, intake, clock):
    config = load_heartbeats_text("""
checks:
  - {name: dead, kind: http, url: "http://127.0.0.1:9/healthz", for: 0s, timeout: 1s}
""")
    runner = HeartbeatRunner(db=database, config=config, intake=intake, clock=clock)
    r = runner.run("dead")
    assert not r.probe.ok and r.transition == "fired" and "unreachable" in r.probe.detail
    with database.session() as s:
        (view,) = list_heartbeats(session=s, config=config)
    assert view.state == "breached" and view.breached_since == clock.now


def test_state_survives_a_new_runner(database, intake, slow_server, clock):
    """A new leader (a new runner over the same store) carries on counting."""
    config = _http_config(slow_server.url)
    slow_server.delay = 0.4
    for _ in range(2):
        clock.advance(10)
        HeartbeatRunner(db=database, config=config, intake=intake, clock=clock).run("checkout-http")
    clock.advance(10)
    assert HeartbeatRunner(db=database, config=config, intake=intake, clock=clock).run(
        "checkout-http").transition == "fired"


class FakeTarget:
    name = "postgres"

    def __init__(self, used: int, limit: int) -> None:
        self.used, self.limit = used, limit

    def connection_usage(self, database: str) -> ConnectionUsage:
        return ConnectionUsage(database, self.used, self.limit)


def test_postgres_disk_and_metric_checks(database, intake, clock):
    config = load_heartbeats_text("""
defaults: {interval: 1m, for: 0s}
checks:
  - {name: orders-conns, kind: postgres, service: orders-db, database: orders, above: 80}
  - {name: data-disk, kind: disk, service: analytics-db, path: /data, above: 90}
  - {name: checkout-errors, kind: metric, source: datadog, service: checkout, metric: error_rate, above: 0.05}
""")
    target = FakeTarget(90, 100)
    DU = namedtuple("DU", "total used free")

    class Source:
        name = "datadog.metrics"
        value = 0.01

        def query_series(self, service, metric, start, end):
            from bot.integrations.types import Series
            return Series(service, metric, (Point(end - timedelta(minutes=1), self.value),))

    src = Source()
    deps = ProbeDeps(db_target=target, metrics=SourcesReader({"datadog": src}, clock=clock),  # type: ignore[dict-item]
                     disk_usage=lambda path: DU(100, 95, 5), clock=clock)  # type: ignore[arg-type,return-value]
    runner = HeartbeatRunner(db=database, config=config, intake=intake, probes=deps, clock=clock)
    pg = runner.run("orders-conns")
    assert not pg.probe.ok and pg.probe.value == 90 and "90 of 100 connections" in pg.probe.detail
    assert runner.run("data-disk").transition == "fired"
    assert runner.run("checkout-errors").probe.ok
    src.value = 0.2
    clock.advance(60)
    assert runner.run("checkout-errors").transition == "fired"
    target.used = 10
    assert runner.run("orders-conns").transition == "resolved"
    with database.session() as s:
        states = {v.name: v.state for v in list_heartbeats(session=s, config=config)}
    assert states == {"orders-conns": "ok", "data-disk": "breached", "checkout-errors": "breached"}


@pytest.mark.postgres
def test_postgres_check_counts_real_sessions(pg_url, database, intake, clock):
    """pg_stat_activity through the PostgresTarget adapter, against the database's limit."""
    import psycopg
    from pydantic import SecretStr
    from sqlalchemy.engine import make_url

    from bot.integrations.postgres_target import PostgresTarget
    from bot.settings import PostgresTargetSettings

    url = make_url(pg_url)
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = url.database
    admin = psycopg.connect(dsn, autocommit=True)
    admin.execute(f'ALTER DATABASE "{name}" CONNECTION LIMIT 10')
    held = [psycopg.connect(dsn) for _ in range(8)]
    try:
        config = load_heartbeats_text(f"""
checks:
  - {{name: db-conns, kind: postgres, database: "{name}", above: 70, for: 0s}}
""")
        target = PostgresTarget(PostgresTargetSettings(enabled=True, dsn=SecretStr(dsn)))
        runner = HeartbeatRunner(db=database, config=config, intake=intake, clock=clock,
                                 probes=ProbeDeps(db_target=target))
        r = runner.run("db-conns")
        assert not r.probe.ok and r.probe.value is not None and r.probe.value >= 80, r.probe.detail
        assert r.transition == "fired"
    finally:
        for c in held:
            c.close()
        admin.close()


def test_scheduler_runs_heartbeats_end_to_end(database, intake, slow_server):
    """The real BackgroundScheduler runs the heartbeat job; the leader opens and resolves one incident."""
    config = _http_config(slow_server.url, interval="1s", for_="1s")
    settings = Settings(database_url=str(database.url.render_as_string(hide_password=False)),
                        scheduler=SchedulerSettings(lease_seconds=3))
    sched = Scheduler(settings, database, intake=intake, heartbeats=config)
    slow_server.delay = 0.4
    sched.start()
    try:
        _wait(lambda: len(_incidents(database)) == 1 and sched.is_leader)
        slow_server.delay = 0.0
        _wait(lambda: _incidents(database)[0].status == "resolved")
        assert len(_incidents(database)) == 1
        assert {j[0] for j in sched.jobs()} >= {"heartbeat.checkout-http", "locks.cleanup"}
    finally:
        sched.stop()
    assert not sched.is_leader and sched.jobs() == []


def _wait(cond, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


