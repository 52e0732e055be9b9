from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from bot.store import audit, events
from bot.store.models import SlackEvent, utcnow


def test_slack_event_dedupe(database):
    with database.session() as s:
        assert events.record_slack_event(session=s, event_id="Ev1", kind="app_mention", payload={"x": 1})
        assert not events.record_slack_event(session=s, event_id="Ev1", kind="app_mention", payload={})
    with database.session() as s:
        assert not events.record_slack_event(session=s, event_id="Ev1", kind="app_mention")
        assert events.record_slack_event(session=s, event_id="Ev2", kind="message")
        assert events.mark_processed(session=s, event_id="Ev1")
    with database.session() as s:
        ev = s.get(SlackEvent, "Ev1")
        assert ev is not None and ev.payload == {"x": 1} and ev.processed_at is not None
        assert events.cleanup(session=s, older_than=timedelta(seconds=-60)) == 2


@pytest.mark.postgres
def test_slack_event_dedupe_concurrent(pg_url):
    from bot.store.db import Database
    from bot.store.migrate import upgrade

    upgrade(pg_url)
    db = Database(pg_url)
    n = 6
    barrier = threading.Barrier(n)
    new: list[bool] = []

    def run() -> None:
        barrier.wait(timeout=30)
        with db.session() as s:
            new.append(events.record_slack_event(session=s, event_id="EvX", kind="app_mention"))

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    db.dispose()
    assert sorted(new) == [False] * (n - 1) + [True]


def test_audit_append_and_list(database):
    t0 = utcnow()
    with database.session() as s:
        e1 = audit.append(
            session=s, actor="ai-sre", kind="incident.opened", text="opened INC-1", incident_id=1, at=t0
        )
        assert e1.id is not None
        audit.append(
            session=s,
            actor="U123",
            kind="action.approved",
            text="approved",
            incident_id=1,
            action_id=7,
            detail={"params_hash": "h"},
            at=t0 + timedelta(seconds=1),
        )
        audit.append(
            session=s,
            actor="ai-sre",
            kind="incident.opened",
            text="opened INC-2",
            incident_id=2,
            at=t0 + timedelta(seconds=2),
        )
    with database.session() as s:
        assert [e.text for e in audit.list(session=s)] == ["opened INC-1", "approved", "opened INC-2"]
        assert [e.kind for e in audit.list(session=s, incident_id=1)] == [
            "incident.opened",
            "action.approved",
        ]
        assert [e.detail for e in audit.list(session=s, action_id=7)] == [{"params_hash": "h"}]
        assert len(audit.list(session=s, kind="incident.opened")) == 2
        assert [e.text for e in audit.list(session=s, since=t0 + timedelta(seconds=1))] == [
            "approved",
            "opened INC-2",
        ]
        assert len(audit.list(session=s, limit=1)) == 1


def test_audit_has_no_update_or_delete_helpers():
    public = {n for n in dir(audit) if not n.startswith("_")}
    assert not {n for n in public if any(w in n for w in ("update", "delete", "remove", "edit"))}
