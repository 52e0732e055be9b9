"""The daily digest over a day of recorded actions: the posted numbers match the audit log."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.scheduler.digest import build_digest, build_trend
from bot.scheduler.digest_blocks import MAX_BLOCKS, MAX_SECTION, digest_message, trend_message
from bot.scheduler.jobs import JobDeps, post_digest, post_trend
from bot.settings import SchedulerSettings, Settings, SlackSettings
from bot.store import audit
from bot.store.models import Action, Incident, LlmUsage

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _action(s, i: int, *, name: str, kind: str, target: str, state: str, autonomous: bool, incident: int | None,
            at: datetime, approved_by: str | None = None, reverted: bool = False) -> Action:
    a = Action(incident_id=incident, name=name, kind=kind, target=target, params={}, params_hash=f"h{i}",
               idempotency_key=f"k{i}", state=state, autonomous=autonomous, created_at=at, requested_by="ai-sre")
    s.add(a)
    s.flush()
    audit.append(session=s, actor="ai-sre", kind="action.proposed", text="proposed", action_id=a.id, at=at)
    if approved_by:
        audit.append(session=s, actor=approved_by, kind="action.approved", text="approved", action_id=a.id,
                     at=at + timedelta(minutes=1))
    if state != "approved":
        audit.append(session=s, actor="ai-sre", kind="action.executing", text="executing", action_id=a.id,
                     at=at + timedelta(minutes=2))
        audit.append(session=s, actor="ai-sre", kind=f"action.{'reverted' if reverted else state}", text=state,
                     action_id=a.id, at=at + timedelta(minutes=5))
    return a


def _seed(db) -> None:
    with db.session() as s:
        leak = Incident(title="checkout memory leak", service="checkout", category="memory_leak", status="resolved",
                        opened_at=NOW - timedelta(hours=20), mitigated_at=NOW - timedelta(hours=19, minutes=30),
                        resolved_at=NOW - timedelta(hours=18))
        slow = Incident(title="orders p95 latency", service="orders", status="resolved",
                        opened_at=NOW - timedelta(hours=6), resolved_at=NOW - timedelta(hours=5))
        still = Incident(title="search 5xx", service="search", severity="P2", status="investigating",
                         opened_at=NOW - timedelta(hours=2))
        old = Incident(title="last week", service="billing", status="resolved", opened_at=NOW - timedelta(days=5),
                       mitigated_at=NOW - timedelta(days=5) + timedelta(minutes=12))
        s.add_all([leak, slow, still, old])
        s.flush()
        i = 0
        # checkout restarted autonomously 3 times this week for memory (twice today, once 3 days ago)
        for at in (NOW - timedelta(days=3), NOW - timedelta(hours=19, minutes=50), NOW - timedelta(hours=10)):
            i += 1
            _action(s, i, name="k8s.rollout_restart", kind="restart", target="checkout", state="done",
                    autonomous=True, incident=leak.id, at=at)
        i += 1
        _action(s, i, name="k8s.rollout_undo", kind="rollback", target="orders", state="reverted", autonomous=False,
                incident=slow.id, at=NOW - timedelta(hours=5, minutes=50), approved_by="U_ALICE", reverted=True)
        i += 1
        _action(s, i, name="k8s.scale", kind="scale_out", target="search", state="failed", autonomous=False,
                incident=still.id, at=NOW - timedelta(hours=1), approved_by="U_BOB")
        i += 1
        _action(s, i, name="pg.cancel_query", kind="kill_query", target="search-db", state="approved",
                autonomous=False, incident=still.id, at=NOW - timedelta(minutes=20), approved_by="U_BOB")
        i += 1  # advisory only: neither autonomous nor approved, not in the digest's list
        s.add(Action(name="k8s.scale", kind="scale_out", target="search", params={}, params_hash="hx",
                     idempotency_key="kx", state="proposed", created_at=NOW - timedelta(minutes=30)))
        s.add_all([
            LlmUsage(incident_id=still.id, at=NOW - timedelta(hours=1), model="m", input_tokens=12000,
                     output_tokens=800, cost_usd=0.048),
            LlmUsage(incident_id=slow.id, at=NOW - timedelta(hours=6), model="m", input_tokens=9000,
                     output_tokens=1200, cost_usd=0.045),
            LlmUsage(at=NOW - timedelta(days=2), model="m", input_tokens=99999, output_tokens=1, cost_usd=9.0),
        ])


def test_digest_posts_numbers_that_match_the_audit_log(database, chat):
    _seed(database)
    since = NOW - timedelta(days=1)
    with database.session() as s:  # the audit log, read independently
        entries = audit.list(session=s, since=since, limit=10_000)
    ran = {e.action_id for e in entries if e.kind == "action.executing"}
    reverted = {e.action_id for e in entries if e.kind == "action.reverted"}
    failed = {e.action_id for e in entries if e.kind == "action.failed"}
    approved = {e.action_id for e in entries if e.kind == "action.approved"}
    assert (len(ran), len(reverted), len(failed), len(approved)) == (4, 1, 1, 3)

    settings = Settings(slack=SlackSettings(digest_channel="sre-digest"),
                        scheduler=SchedulerSettings(digest_timezone="America/New_York"))
    ts = post_digest(JobDeps(settings=settings, db=database, chat=chat, clock=lambda: NOW))
    assert ts and len(chat.posts) == 1
    post = chat.posts[0]
    assert post["channel"] == chat.channels["sre-digest"]
    body = post["text"] + "\n" + json.dumps(post["blocks"], ensure_ascii=False)
    assert post["text"] == "ai-sre daily digest: 4 actions run, 1 reverted, 1 open incidents"
    assert f"*{len(ran)}* actions run (2 autonomous, {len(approved)} approved)" in body
    assert f"*{len(reverted)}* reverted" in body and f"*{len(failed)}* failed" in body
    # time to mitigate: 30 min (mitigated) and 60 min (resolved) today; last week's not counted
    assert "median 45 min, longest 60 min over 2 incidents" in body
    assert "23,000 tokens (21,000 in, 2,000 out), $0.09" in body
    assert "checkout restarted 3 times this week for memory leak: a code fix is due" in body
    assert "approved by <@U_ALICE>" in body and "reverted" in body and "👍 approved, not run yet" in body
    assert "search 5xx" in body and "(America/New_York)" in body
    assert "k8s.scale` on *search* (INC-3): approved by <@U_BOB>, ❌ failed" in body

    with database.session() as s:
        d = build_digest(session=s, now=NOW, tz="UTC")
        (posted,) = audit.list(session=s, kind="scheduler.digest")
    assert [a.name for a in d.actions] == ["k8s.rollout_restart", "k8s.rollout_restart", "k8s.rollout_undo",
                                           "k8s.scale", "pg.cancel_query"]
    assert [a.outcome for a in d.reverted] == ["reverted"]
    assert posted.detail["ts"] == ts


def test_digest_message_stays_within_slack_limits():
    from bot.scheduler.digest import Digest, DigestAction, Figures, OpenIncident, RepeatOffender

    acts = [DigestAction(i, "k8s.rollout_restart", f"service-{i}" * 5, f"INC-{i}", True, None, "done", NOW)
            for i in range(500)]
    d = Digest(since=NOW - timedelta(days=1), until=NOW, tz="UTC", figures=Figures(actions_run=500),
               actions=acts, reverted=acts[:300],
               open_incidents=[OpenIncident(f"INC-{i}", "x" * 400, "P1", "open", NOW) for i in range(200)],
               repeat_offenders=[RepeatOffender("k8s.rollout_restart", "restart", f"s{i}", 9, "memory_leak")
                                 for i in range(100)])
    text, blocks = digest_message(d)
    assert len(blocks) <= MAX_BLOCKS
    for b in blocks:
        if b["type"] == "section":
            assert len(b["text"]["text"]) <= MAX_SECTION
    assert any("…and" in b.get("text", {}).get("text", "") for b in blocks)
    empty = Digest(since=NOW - timedelta(days=1), until=NOW, tz="UTC", figures=Figures())
    _, blocks = digest_message(empty)
    assert "None in the last day." in json.dumps(blocks)


def test_weekly_trend_against_last_week(database, chat):
    _seed(database)
    with database.session() as s:
        t = build_trend(session=s, now=NOW, tz="UTC")
    assert t.this_week.actions_run == 5 and t.last_week.actions_run == 0
    assert t.this_week.incidents_opened == 4
    text, blocks = trend_message(t)
    assert "weekly trend" in text and "*Reverted*: 1 (+1 🔴)" in json.dumps(blocks, ensure_ascii=False)
    settings = Settings()
    post_trend(JobDeps(settings=settings, db=database, chat=chat, clock=lambda: NOW))
    assert chat.posts[-1]["text"] == text
