"""PostgreSQL, Redis and feature-flag actions, plus read-only session and metric reads."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from bot.actions.catalog._base import Params
from bot.actions.ports import Ports
from bot.actions.spec import ActionSpec, PreconditionFailed

NAME = r"^[A-Za-z0-9_.:-]+$"


class Query(Params):
    database: str = Field(pattern=NAME, max_length=63, description="Database name")
    pid: int = Field(gt=0, description="Backend pid of the session (pg_stat_activity.pid), pinned when proposed")


class Database(Params):
    database: str = Field(pattern=NAME, max_length=63, description="Database name")


class Flush(Params):
    cache: str = Field(pattern=NAME, max_length=100, description="Cache service name")
    pattern: str | None = Field(
        None, min_length=1, max_length=200,
        description="Only delete keys matching this glob (e.g. 'session:*'); every key of the db when unset",
    )


class FlagRef(Params):
    service: str = Field(pattern=NAME, max_length=100, description="Service that owns the flag")
    flag: str = Field(pattern=NAME, max_length=200, description="Feature flag name")


class MetricRef(Params):
    service: str = Field(pattern=NAME, max_length=100, description="Service name")
    metric: str = Field(pattern=NAME, max_length=100, description="Metric, e.g. error_rate, latency_p95_ms")


def _session_precheck(p: Query, ports: Ports) -> None:
    for s in ports.need_db().sessions(p.database):
        if s.pid == p.pid:
            return
    raise PreconditionFailed(f"no session with pid {p.pid} on {p.database} any more")


def _cancel(p: Query, ports: Ports) -> dict[str, Any]:
    return {"cancelled": ports.need_db().cancel(p.database, p.pid)}


def _terminate(p: Query, ports: Ports) -> dict[str, Any]:
    return {"terminated": ports.need_db().terminate(p.database, p.pid)}


def _cancel_revert(p: Query, cp: dict[str, Any], ports: Ports) -> None:
    """A cancelled statement leaves its session and data as they were; the client may run it again."""


def _list_sessions(p: Database, ports: Ports) -> dict[str, Any]:
    return {
        "sessions": [
            {"pid": s.pid, "user": s.user, "state": s.state, "query": s.query[:200]}
            for s in ports.need_db().sessions(p.database)
        ]
    }


def _flush(p: Flush, ports: Ports) -> dict[str, Any]:
    return {"keys_removed": ports.need_cache().flush(p.cache, p.pattern)}


def _flag_checkpoint(p: FlagRef, ports: Ports) -> dict[str, Any]:
    return {"value": ports.need_flags().get(p.service, p.flag)}


def _flag_precheck(p: FlagRef, ports: Ports) -> None:
    if ports.need_flags().get(p.service, p.flag) in ("false", "off"):
        raise PreconditionFailed(f"flag {p.flag} of {p.service} is already off")


def _disable(p: FlagRef, ports: Ports) -> dict[str, Any]:
    ports.need_flags().set(p.service, p.flag, "false")
    return {"value": "false"}


def _flag_revert(p: FlagRef, cp: dict[str, Any], ports: Ports) -> None:
    if cp.get("value") is not None:
        ports.need_flags().set(p.service, p.flag, str(cp["value"]))


def _read_metric(p: MetricRef, ports: Ports) -> dict[str, Any]:
    return {"value": ports.need_metrics().current(p.service, p.metric)}


SPECS = [
    ActionSpec(
        name="pg.cancel_query",
        summary=(
            "Cancel the running statement of one PostgreSQL session (pg_cancel_backend). Use for a runaway "
            "query; the session stays connected and its transaction is rolled back."
        ),
        risk="low", reversible=True, mitigation_kind="kill_query", params_model=Query,
        handler=_cancel, precheck=_session_precheck, revert=_cancel_revert,
        resource=lambda p: f"pg:{p.database}/pid/{p.pid}", timeout_s=30,
    ),
    ActionSpec(
        name="pg.terminate_query",
        summary=(
            "Terminate one PostgreSQL session (pg_terminate_backend) when cancelling did not stop it. "
            "Cannot be undone: the client loses its connection and any open transaction."
        ),
        risk="medium", reversible=False, mitigation_kind="kill_query", params_model=Query,
        handler=_terminate, precheck=_session_precheck,
        resource=lambda p: f"pg:{p.database}/pid/{p.pid}", timeout_s=30,
    ),
    ActionSpec(
        name="redis.flush",
        summary=(
            "Delete the keys of a Redis cache (all of its db, or those matching a pattern). Use when the "
            "cache is saturated or holds bad entries. Cannot be undone: the cache refills from its source."
        ),
        risk="medium", reversible=False, mitigation_kind="flush_cache", params_model=Flush,
        handler=_flush, resource=lambda p: f"redis:{p.cache}", timeout_s=120,
    ),
    ActionSpec(
        name="flags.disable",
        summary=(
            "Turn a feature flag off for a service. Use when a flag change caused the regression; "
            "undone by restoring the flag's previous value."
        ),
        risk="low", reversible=True, mitigation_kind="disable_flag", params_model=FlagRef,
        handler=_disable, precheck=_flag_precheck, checkpoint=_flag_checkpoint, revert=_flag_revert,
        resource=lambda p: f"flags:{p.service}/{p.flag}", timeout_s=30,
    ),
    ActionSpec(
        name="pg.list_sessions",
        summary="List a database's sessions (pid, user, state, query). Changes nothing.",
        risk="low", reversible=True, mitigation_kind=None, params_model=Database,
        handler=_list_sessions, resource=lambda p: f"pg:{p.database}", verify="none", read_only=True,
        timeout_s=30,
    ),
    ActionSpec(
        name="metrics.read",
        summary="Read the latest value of one metric of a service. Changes nothing.",
        risk="low", reversible=True, mitigation_kind=None, params_model=MetricRef,
        handler=_read_metric, resource=lambda p: f"metrics:{p.service}", verify="none", read_only=True,
        timeout_s=30,
    ),
]
