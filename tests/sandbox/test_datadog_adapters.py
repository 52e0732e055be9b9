"""The Datadog adapters against the Datadog-compatible sandbox, for every shared example scenario."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from bot.integrations.datadog import DatadogMonitors
from bot.integrations.datadog_events import DatadogEvents
from bot.integrations.datadog_logs import DatadogLogs
from bot.integrations.datadog_metrics import DatadogMetrics
from bot.integrations.errors import IntegrationAuthError, IntegrationNotFound, IntegrationUnavailable
from bot.sandbox import datadog_server
from bot.sandbox.datadog_render import dd_status, monitor_id
from bot.sandbox.replay import Replay
from bot.scenarios import load_scenario
from bot.settings import DatadogSettings

EXAMPLES = sorted(Path("/work/shared/scenarios/examples").glob("*.yaml"))
if not EXAMPLES:  # the repository's copy when the shared folder is absent
    EXAMPLES = sorted(Path(__file__).resolve().parents[2].glob("scenarios/examples/*.yaml"))


@pytest.fixture(scope="module", params=EXAMPLES, ids=[p.stem for p in EXAMPLES])
def served(request) -> Iterator[tuple[Replay, DatadogSettings, str]]:
    replay = Replay(load_scenario(request.param))
    handle = datadog_server.start(replay)
    settings = DatadogSettings(
        enabled=True, api_url=handle.url, api_key=datadog_server.API_KEY, app_key=datadog_server.APP_KEY
    )
    try:
        yield replay, settings, handle.url
    finally:
        handle.stop()


def test_list_metrics_finds_every_metric(served) -> None:
    replay, settings, _ = served
    metrics = DatadogMetrics(settings)
    for svc in {m.service for m in replay.scenario.metrics}:
        assert set(metrics.list_metrics(svc)) == set(replay.metric_names(svc))
    assert metrics.health().ok


def test_series_matches_the_replay(served) -> None:
    replay, settings, _ = served
    metrics = DatadogMetrics(settings)
    for spec in replay.scenario.metrics:
        s = metrics.query_series(spec.service, spec.name, replay.minute_to_dt(-60), replay.minute_to_dt(0))
        assert s.query == f"avg:{spec.name}{{service:{spec.service}}}.rollup(avg, 60)"
        expected = dict(replay.series(spec.service, spec.name, -60, 0))
        assert len(s.points) >= len(expected) - 1 and s.points
        for p in s.points:
            assert p.at.tzinfo is not None
            minute = math.floor(replay.dt_to_minute(p.at) + 1e-3)
            assert p.value == pytest.approx(expected[minute], rel=1e-9)


def test_log_pattern_counts(served) -> None:
    replay, settings, _ = served
    logs = DatadogLogs(settings)
    start, end = replay.minute_to_dt(-360), replay.minute_to_dt(0)
    for svc in {lg.service for lg in replay.scenario.logs}:
        got = {(p.level, p.message): p for p in logs.log_patterns(svc, start, end)}
        want = {(dd_status(w.spec.level), w.spec.message): w for w in replay.logs_between(svc, -360, 0)}
        assert set(got) == set(want)
        for key, w in want.items():
            p = got[key]
            assert p.count == w.count and p.service == svc
            assert abs(replay.dt_to_minute(p.first_seen) - w.first_minute) <= 1.01
            assert abs(replay.dt_to_minute(p.last_seen) - w.last_minute) <= 1.01


def test_change_events_with_kinds_and_attributes(served) -> None:
    replay, settings, _ = served
    events = DatadogEvents(settings)
    start, end = replay.minute_to_dt(-360), replay.minute_to_dt(0)
    services = sorted({e.service for e in replay.scenario.events}) or ["none"]
    got = {c.id: c for c in events.changes(services, start, end)}
    want = [e for e in replay.scenario.events if -360 <= e.at <= 0]
    assert set(got) == {e.id for e in want}
    for e in want:
        c = got[e.id]
        assert c.kind == e.kind and c.service == e.service and c.at.tzinfo is not None
        expected = e.attributes()
        got_attrs = dict(c.attributes)
        if e.expires_at is not None:
            expires = datetime.fromisoformat(got_attrs.pop("expires_at").replace("Z", "+00:00"))
            assert abs(replay.dt_to_minute(expires) - e.expires_at) < 1 / 60 + 1e-6
            expected.pop("expires_at")
        assert got_attrs == expected
        assert abs(replay.dt_to_minute(c.at) - e.at) < 1 / 60 + 1e-6
    assert {c.id for c in events.changes(None, start, end)} == set(got)


def test_monitor_of_the_alert(served) -> None:
    replay, settings, _ = served
    mon = DatadogMonitors(settings).monitor(str(monitor_id(replay)))
    a = replay.scenario.alert
    assert mon.service == a.service and mon.threshold == a.threshold
    with pytest.raises(IntegrationNotFound):
        DatadogMonitors(settings).monitor("12345")


def test_wrong_keys_are_auth_errors(served) -> None:
    replay, settings, url = served
    bad = settings.model_copy(update={"api_key": None})
    with pytest.raises(IntegrationAuthError):
        DatadogMetrics(bad).list_metrics(replay.scenario.alert.service)
    assert not DatadogMetrics(bad).health().ok
    r = httpx.get(f"{url}/api/v1/validate", headers={"DD-API-KEY": "nope"})
    assert r.status_code == 403 and r.json() == {"errors": ["Forbidden"]}
    r = httpx.get(f"{url}/api/v1/metrics", params={"from": 0}, headers={"DD-API-KEY": datadog_server.API_KEY})
    assert r.status_code == 403 and r.json() == {"errors": ["Forbidden"]}


KEYS = {"DD-API-KEY": datadog_server.API_KEY, "DD-APPLICATION-KEY": datadog_server.APP_KEY}


def test_bad_requests_answer_like_datadog(served) -> None:
    _, _, url = served
    r = httpx.get(f"{url}/api/v1/query", params={"from": 0, "to": 10, "query": "avg:cpu{service:x"}, headers=KEYS)
    assert r.status_code == 400 and isinstance(r.json()["errors"], list) and "parsing" in r.json()["errors"][0]
    r = httpx.get(f"{url}/api/v1/query", params={"to": 10, "query": "avg:cpu{*}"}, headers=KEYS)
    assert r.status_code == 400 and r.json() == {"errors": ["The parameter 'from' is required"]}
    r = httpx.get(f"{url}/api/v1/events", params={"start": "soon", "end": 1}, headers=KEYS)
    assert r.status_code == 400
    r = httpx.post(f"{url}/api/v2/logs/events/search", content=b"{nope", headers=KEYS)
    assert r.status_code == 400
    r = httpx.post(f"{url}/api/v2/logs/events/search", json={"page": {"limit": 0}}, headers=KEYS)
    assert r.status_code == 400 and r.json()["errors"][0]["status"] == "400"
    r = httpx.get(f"{url}/api/v1/monitor/abc", headers=KEYS)
    assert r.status_code == 400
    r = httpx.get(f"{url}/api/v1/nothing", headers=KEYS)
    assert r.status_code == 404 and r.json() == {"errors": ["Not found"]}


def test_unreachable_is_unavailable() -> None:
    settings = DatadogSettings(enabled=True, api_url="http://127.0.0.1:9", api_key="k", app_key="a", timeout_s=1)
    with pytest.raises(IntegrationUnavailable):
        DatadogMetrics(settings).list_metrics("x")
