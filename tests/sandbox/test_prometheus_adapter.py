"""PrometheusMetrics against the Prometheus-compatible sandbox, for every shared example scenario."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.integrations.errors import IntegrationRejected, IntegrationUnavailable
from bot.integrations.prometheus import PrometheusMetrics
from bot.sandbox import prometheus_server
from bot.sandbox.prometheus_server import BadData, parse_selector
from bot.sandbox.replay import Replay
from bot.scenarios import load_scenario
from bot.settings import PrometheusSettings

EXAMPLES = sorted(Path("/work/shared/scenarios/examples").glob("*.yaml"))


@pytest.fixture(scope="module", params=EXAMPLES, ids=[p.stem for p in EXAMPLES])
def served(request) -> Iterator[tuple[Replay, PrometheusMetrics, str]]:
    replay = Replay(load_scenario(request.param))
    handle = prometheus_server.start(replay)
    prom = PrometheusMetrics(PrometheusSettings(enabled=True, url=handle.url))
    try:
        yield replay, prom, handle.url
    finally:
        prom.close()
        handle.stop()


def test_list_metrics_and_health(served) -> None:
    replay, prom, _ = served
    for svc in {m.service for m in replay.scenario.metrics}:
        assert prom.list_metrics(svc) == sorted(set(replay.metric_names(svc)))
    assert prom.list_metrics("no-such-service") == []
    h = prom.health()
    assert h.ok and "version" in h.detail


def test_series_matches_the_replay(served) -> None:
    replay, prom, _ = served
    for spec in replay.scenario.metrics:
        s = prom.query_series(spec.service, spec.name, replay.minute_to_dt(-90), replay.minute_to_dt(0))
        assert s.query == f'{spec.name}{{service="{spec.service}"}}'
        assert len(s.points) == 91
        for p in s.points:
            minute = math.floor(replay.dt_to_minute(p.at) + 1e-3)
            assert p.value == pytest.approx(replay.value(spec.service, spec.name, minute), rel=1e-9)


def test_instant_and_alerts(served) -> None:
    replay, prom, _ = served
    spec = replay.scenario.metrics[0]
    got = prom.instant(f'{spec.name}{{service="{spec.service}"}}')
    assert got and got[0][0]["service"] == spec.service and got[0][0]["__name__"] == spec.name
    alerts = prom.alerts()
    assert [a.labels["service"] for a in alerts] == [replay.scenario.alert.service]
    assert alerts[0].state == "firing" and alerts[0].active_at is not None


def test_bad_requests_answer_like_prometheus(served) -> None:
    replay, prom, url = served
    for params in (
        {"query": "rate(x[5m])", "start": "1", "end": "2", "step": "60"},
        {"query": 'x{service="a"', "start": "1", "end": "2", "step": "60"},
        {"query": "x", "start": "nope", "end": "2", "step": "60"},
        {"query": "x", "start": "1", "end": "2", "step": "0"},
        {"query": "x", "start": "1", "end": "9999999", "step": "1"},
    ):
        r = httpx.get(f"{url}/api/v1/query_range", params=params)
        body = r.json()
        assert r.status_code == 400 and body["status"] == "error" and body["errorType"] == "bad_data"
        assert body["error"]
    r = httpx.get(f"{url}/api/v1/series")
    assert r.status_code == 400 and r.json()["error"] == "no match[] parameter provided"
    with pytest.raises(IntegrationRejected):
        prom.instant("sum(x)")


def test_selector_parser() -> None:
    ms = parse_selector('error_rate{service="a", namespace!="b", job=~"sand.*"}')
    assert [(m.label, m.op, m.value) for m in ms] == [
        ("__name__", "=", "error_rate"), ("service", "=", "a"), ("namespace", "!=", "b"), ("job", "=~", "sand.*"),
    ]
    for bad in ("", "{}", 'x{a="b"} + 1', 'x{a=b}', 'x{a=~"["}'):
        with pytest.raises(BadData):
            parse_selector(bad)


def test_unreachable_is_unavailable() -> None:
    prom = PrometheusMetrics(PrometheusSettings(url="http://127.0.0.1:9", timeout_s=1))
    with pytest.raises(IntegrationUnavailable):
        prom.list_metrics("x")
    assert not prom.health().ok
