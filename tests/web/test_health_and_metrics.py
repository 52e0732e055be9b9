"""/healthz, /readyz and /metrics of the composed bot (store, Slack, integrations)."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from bot.catalog.model import Service, ServiceCatalog
from bot.sandbox.slack import start_emulator
from bot.settings import Settings
from bot.wiring.bot import build_bot

CATALOG = ServiceCatalog(services=[Service(name="checkout", tier="critical")])


@pytest.fixture
def emulator():
    s = Settings()
    h = start_emulator(None, s.slack.signing_secret.get_secret_value(), s.slack.bot_token.get_secret_value())
    yield h
    h.stop()


def make(tmp_path, slack_url: str, **extra):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'b.db'}", data_dir=tmp_path,
                        slack={"api_url": slack_url}, scheduler={"enabled": False},
                        knowledge={"enabled": False}, **extra)
    bot = build_bot(settings, catalog=CATALOG, with_scheduler=False)
    bot.start(knowledge_in_background=True)
    return bot


def am(value: str = "0.2") -> bytes:
    return json.dumps({"version": "4", "status": "firing", "alerts": [{
        "status": "firing", "labels": {"alertname": "Errors", "service": "checkout"},
        "annotations": {"summary": "checkout errors", "value": value, "threshold": "0.05"},
        "startsAt": "2026-12-02T01:00:00Z", "fingerprint": "abc"}]}).encode()


def test_health_ready_and_metrics(tmp_path, emulator):
    bot = make(tmp_path, emulator.api_url)
    try:
        c = TestClient(bot.web)
        assert c.get("/healthz").json() == {"ok": True}
        ready = c.get("/readyz")
        assert ready.status_code == 200, ready.text
        names = {chk["name"]: chk["ok"] for chk in ready.json()["checks"]}
        assert names == {"store": True, "slack": True}
        assert c.post("/intake/alertmanager", content=am(), headers={"Authorization": "Bearer local-alertmanager-token"}).status_code == 202
        assert c.post("/intake/alertmanager", content=b"{}", headers={"Authorization": "Bearer nope"}).status_code == 401
        text = c.get("/metrics").text
        assert 'aisre_alerts_received_total{source="alertmanager"} 1.0' in text
        assert 'aisre_intake_rejected_total{reason="unauthenticated"} 1.0' in text
        assert "aisre_brief_latency_seconds_bucket" in text
    finally:
        bot.stop()


def test_readyz_says_what_is_down(tmp_path):
    bot = make(tmp_path, "http://127.0.0.1:9/api/", datadog={"enabled": True, "api_url": "http://127.0.0.1:9",
                                                              "api_key": "k", "app_key": "a", "timeout_s": 1})
    try:
        r = TestClient(bot.web).get("/readyz")
        assert r.status_code == 503
        checks = {chk["name"]: chk for chk in r.json()["checks"]}
        assert checks["store"]["ok"] is True
        assert checks["slack"]["ok"] is False and checks["slack"]["detail"]
        assert any(not chk["ok"] for name, chk in checks.items() if name.startswith("datadog"))
    finally:
        bot.stop()


def test_unknown_intake_source_and_huge_body(tmp_path, emulator):
    bot = make(tmp_path, emulator.api_url)
    try:
        c = TestClient(bot.web)
        assert c.post("/intake/nagios", content=b"{}").status_code == 404
        big = c.post("/intake/datadog", content=b"x" * 1_100_000, headers={"X-AISRE-Token": "local-datadog-webhook-secret"})
        assert big.status_code == 413
    finally:
        bot.stop()
