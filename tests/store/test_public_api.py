"""Pin the store's public API that other components call."""

from __future__ import annotations

import inspect

import bot.store
from bot.store import actions_repo, audit, events, leases, locks, migrate, models


def test_exports():
    assert set(bot.store.__all__) == {"Database", "StoreUnavailable", "StoreUrlError", "make_engine"}
    for name in ("upgrade", "current", "ensure_schema", "check_models_match", "head"):
        assert callable(getattr(migrate, name))
    for name in (
        "Incident",
        "AlertRow",
        "IntakeRecord",
        "TimelineEntry",
        "EvidenceRow",
        "HypothesisRow",
        "Action",
        "Approval",
        "AuditEntry",
        "Lock",
        "Lease",
        "HeartbeatResult",
        "SlackEvent",
        "CircuitBreaker",
        "AutonomyOverride",
        "MaintenanceWindow",
        "IncidentMemory",
        "LlmUsage",
    ):
        assert name in models.__all__


def test_service_functions_are_keyword_only():
    for fn in (
        locks.acquire,
        locks.release,
        locks.get,
        locks.check,
        locks.cleanup_expired,
        leases.try_acquire_or_renew,
        leases.release,
        leases.get,
        audit.append,
        audit.list,
        events.record_slack_event,
        events.mark_processed,
        actions_repo.transition,
        actions_repo.get,
    ):
        params = inspect.signature(fn).parameters.values()
        assert all(p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD) for p in params), fn.__qualname__
        assert "session" in inspect.signature(fn).parameters
