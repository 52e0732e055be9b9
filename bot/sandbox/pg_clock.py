"""Scenario times for real sandbox sessions.

The sandbox opens a scenario's ``db_sessions`` as real PostgreSQL sessions, so that
``pg_stat_activity`` shows them and a cancel through the production adapter really ends
them. PostgreSQL cannot backdate ``query_start``, though: a query the scenario started 12
minutes before the alert would look seconds old, and its age is the clue. This wrapper
keeps the production adapter in the path (every read and every cancel goes through it) and
only restores, for the sessions the sandbox opened, the start times the scenario gives.
"""

from __future__ import annotations

import dataclasses

from bot.integrations.interfaces import DatabaseTarget
from bot.integrations.types import ConnectionUsage, DbSession, HealthStatus
from bot.sandbox.replay import Replay


class ScenarioClockTarget:
    def __init__(self, inner: DatabaseTarget, replay: Replay, pid_map: dict[int, str]) -> None:
        self.inner = inner
        self.replay = replay
        self.pid_map = pid_map
        self.name = getattr(inner, "name", "postgres")
        self._started = {s.id: s.started for s in replay.scenario.db_sessions}

    def sessions(self, database: str) -> list[DbSession]:
        out = []
        for s in self.inner.sessions(database):
            sid = self.pid_map.get(s.pid)
            if sid in self._started:
                at = self.replay.minute_to_dt(self._started[sid])
                s = dataclasses.replace(s, query_start=at, backend_start=at, scenario_id=sid)
            out.append(s)
        return out

    def connection_usage(self, database: str) -> ConnectionUsage:
        return self.inner.connection_usage(database)

    def cancel(self, database: str, pid: int) -> bool:
        return self.inner.cancel(database, pid)

    def terminate(self, database: str, pid: int) -> bool:
        return self.inner.terminate(database, pid)

    def health(self) -> HealthStatus:
        return self.inner.health()
