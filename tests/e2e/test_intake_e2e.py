"""The bot's real HTTP intake, end to end: webhooks in over HTTP, incidents and Slack out.

Repeats and re-notifications are one incident with one channel; a resolved notification
resolves it and edits the brief; dependent services within the group window are one
incident; malformed payloads of every source are a 4xx and an ``IntakeRecord`` row, never a
5xx, and the bot keeps working after them. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from bot.sandbox.firing import Firing, alertmanager_firing, datadog_firing, simple_firing
from bot.store.models import AlertRow, IntakeRecord
from tests.e2e.conftest import EXAMPLES, Stack, block_text, by_id, start_stack, wait

SCENARIO = EXAMPLES / "deploy-regression.yaml"  # label-svc depends on shipments-db


@pytest.fixture
def stack(db_url: str, tmp_path: Path, knowledge_template: Path) -> Iterator[Stack]:
    s = start_stack(SCENARIO, db_url, tmp_path, knowledge_template)
    try:
        yield s
    finally:
        s.stop()


def _am(s: Stack, **kw: Any) -> Firing:
    tok = s.settings.prometheus.alertmanager_token
    return alertmanager_firing(s.replay, s.url, tok.get_secret_value() if tok else "", **kw)


def _dd(s: Stack, **kw: Any) -> Firing:
    return datadog_firing(s.replay, s.url, s.settings.datadog.webhook_secret.get_secret_value(), **kw)


def _hb(s: Stack, **kw: Any) -> Firing:
    return simple_firing(s.replay, s.url, "heartbeat", s.settings.intake_token.get_secret_value(), **kw)


def _post(f: Firing, content: bytes | None = None) -> httpx.Response:
    body = content if content is not None else json.dumps(f.body).encode()
    return httpx.post(f.url, headers=f.headers, content=body, timeout=30)


def _briefed(s: Stack, n: int = 1) -> list[Any]:
    """Wait until ``n`` incidents have a final brief (channel, brief ts, investigation done)."""
    def ready() -> list[Any]:
        incs = s.incidents()
        done = [i for i in incs if i.channel_id and i.brief_ts and (i.extra or {}).get("investigated_at")]
        return done if len(done) >= n else []

    got = wait(ready, 30)
    assert got, f"incidents: {[(i.id, i.channel_id, i.brief_ts) for i in s.incidents()]}"
    s.bot.incidents.pool.submit(lambda: None).result(timeout=30)  # let queued follow-ups finish
    return got


def _rejected(s: Stack) -> int:
    with s.bot.db.session() as ses:
        return int(ses.scalar(sa.select(sa.func.count()).select_from(IntakeRecord)
                              .where(IntakeRecord.status == "rejected")) or 0)


def test_alertmanager_repeats_are_one_incident(stack: Stack) -> None:
    f = _am(stack)
    answers = [_post(f) for _ in range(3)]
    assert [r.status_code for r in answers] == [202, 202, 202]
    kinds = [r.json()["decisions"][0]["kind"] for r in answers]
    assert kinds == ["new", "duplicate", "duplicate"]
    (inc,) = _briefed(stack)
    assert len(stack.incidents()) == 1
    with stack.bot.db.session() as ses:  # the repeats are alert rows marked as duplicates of the first
        dups = ses.scalar(sa.select(sa.func.count()).select_from(AlertRow).where(
            AlertRow.incident_id == inc.id, AlertRow.duplicate_of.is_not(None)))
    assert dups == 2
    assert stack.incident_channels() == [stack.emulator.state.channels[inc.channel_id].name]
    prefix = stack.settings.slack.incident_channel_prefix + "-"
    assert len([c for c in stack.emulator.state.calls_to("conversations.create")
                if c.get("name", "").startswith(prefix)]) == 1


def test_datadog_renotification_is_one_incident(stack: Stack) -> None:
    first = _dd(stack)
    later = _dd(stack, at=stack.replay.minute_to_dt(stack.replay.scenario.alert.at + 5))
    later.body.update({k: v for k, v in first.body.items() if k not in later.body})
    assert _post(first).status_code == 202
    (inc,) = _briefed(stack)
    again = _post(later)
    assert again.status_code == 202, again.text
    assert again.json()["decisions"][0]["incident"] == inc.id
    _briefed(stack)
    assert len(stack.incidents()) == 1
    assert len(stack.incident_channels()) == 1


def test_resolved_notification_resolves_and_edits_the_brief(stack: Stack) -> None:
    assert _post(_am(stack)).status_code == 202
    (inc,) = _briefed(stack)
    st = stack.emulator.state
    updates_before = len([c for c in st.calls_to("chat.update") if c.get("ts") == inc.brief_ts])
    r = _post(_am(stack, resolved=True))
    assert r.status_code == 202 and r.json()["decisions"][0]["kind"] == "resolve", r.text

    def resolved_brief() -> str:
        ups = [c for c in st.calls_to("chat.update") if c.get("ts") == inc.brief_ts]
        if len(ups) <= updates_before:
            return ""
        msg = st.find_message(inc.channel_id, inc.brief_ts) or {}
        summary = block_text(by_id(msg.get("blocks") or [], "aisre.brief.summary") or {})
        return summary if "resolved" in summary else ""

    assert wait(resolved_brief, 20), st.find_message(inc.channel_id, inc.brief_ts)
    (after,) = stack.incidents()
    assert after.status == "resolved" and after.resolved_at is not None
    assert len(stack.incident_channels()) == 1


def test_dependent_services_in_the_window_are_one_incident(stack: Stack) -> None:
    assert _post(_am(stack)).status_code == 202
    dep = _am(stack)
    body = copy.deepcopy(dep.body)
    alert = body["alerts"][0]
    alert["labels"].update(service="shipments-db", alertname="DbCpuPctHigh", metric="db_cpu_pct")
    alert["annotations"]["summary"] = "shipments-db CPU above 90%"
    alert["fingerprint"] = "0123456789abcdef"
    body["commonLabels"] = dict(alert["labels"])
    body["groupLabels"] = {"alertname": "DbCpuPctHigh", "service": "shipments-db"}
    body["groupKey"] = '{}:{alertname="DbCpuPctHigh", service="shipments-db"}'
    r = _post(Firing(dep.url, dep.headers, body))
    assert r.status_code == 202, r.text
    (inc,) = _briefed(stack)
    assert r.json()["decisions"][0]["kind"] == "group" and r.json()["decisions"][0]["incident"] == inc.id
    assert len(stack.incidents()) == 1 and len(stack.incident_channels()) == 1
    assert {"label-svc", "shipments-db"} <= set((stack.incidents()[0].extra or {}).get("services") or [])


def _malformed(f: Firing) -> list[tuple[str, bytes]]:
    good = f.body
    cases: list[tuple[str, bytes]] = [
        ("not json", b'{"status": "firing", '),
        ("not utf-8", b"\xff\xfe{}"),
        ("a list", b"[1, 2, 3]"),
        ("empty object", b"{}"),
        ("2 MB", b'{"pad": "' + b"x" * 2_000_000 + b'"}'),
    ]
    if "alerts" in good:  # Alertmanager v4
        missing = copy.deepcopy(good)
        del missing["alerts"][0]["labels"], missing["commonLabels"]  # labels fall back to commonLabels
        types = copy.deepcopy(good)
        types["alerts"] = "firing"
        when = copy.deepcopy(good)
        when["alerts"][0]["startsAt"] = 12
    elif "check" in good:  # heartbeat
        missing = {k: v for k, v in good.items() if k not in ("check", "title")}
        types = {**good, "value": {"not": "a number"}}
        when = {**good, "at": "yesterday-ish"}
    else:  # Datadog
        missing = {k: v for k, v in good.items() if not k.startswith("alert")}
        types = {k: (["x"] if isinstance(v, str) else v) for k, v in good.items()}
        when = {**good, "date": "not a time"}
    cases += [("missing fields", json.dumps(missing).encode()), ("wrong types", json.dumps(types).encode()),
              ("bad time", json.dumps(when).encode())]
    return cases


@pytest.mark.parametrize("source", ["alertmanager", "datadog", "heartbeat"])
def test_malformed_payloads_are_4xx_recorded_and_harmless(stack: Stack, source: str) -> None:
    f = {"alertmanager": _am, "datadog": _dd, "heartbeat": _hb}[source](stack)
    tolerated = 0
    for name, content in _malformed(f):
        before = _rejected(stack)
        r = _post(f, content)
        if name == "bad time" and r.status_code == 202:  # a parser may fall back to "now": still no 5xx
            tolerated += 1
            continue
        assert 400 <= r.status_code < 500, (name, r.status_code, r.text)
        assert r.json()["ok"] is False and r.json()["error"], name
        assert _rejected(stack) == before + 1, f"{name}: no IntakeRecord row"
    assert len(stack.incidents()) == tolerated
    # the bot keeps working: health, and a good alert still becomes an incident with a brief
    assert httpx.get(f"{stack.url}/healthz", timeout=10).status_code == 200
    assert _post(f).status_code == 202
    _briefed(stack)
