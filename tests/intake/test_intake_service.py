"""Intake end to end on the store: dedupe, grouping, stale firings, resolution, bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.catalog.model import Service, ServiceCatalog
from bot.intake.service import IntakeService
from bot.settings import Settings
from bot.store.models import AlertRow, Incident, IntakeRecord

T0 = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
CATALOG = ServiceCatalog(
    services=[
        Service(name="checkout", tier="critical", depends_on=["payments"]),
        Service(name="payments", tier="critical", depends_on=["payments-db"]),
        Service(name="payments-db", kind="database"),
        Service(name="search", tier="standard"),
    ]
)
AM = {"Authorization": "Bearer local-alertmanager-token"}
DD = {"X-AISRE-Token": "local-datadog-webhook-secret"}


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def svc(database):
    clock = Clock()
    s = IntakeService(db=database, settings=Settings(), catalog=lambda: CATALOG, clock=clock)
    s.test_clock = clock  # type: ignore[attr-defined]
    return s


def am_body(status: str = "firing", service: str = "checkout", fp: str = "f1", starts: datetime = T0) -> bytes:
    return json.dumps(
        {
            "version": "4", "groupKey": '{}:{alertname="ErrorsHigh"}', "truncatedAlerts": 0, "status": status,
            "receiver": "aisre", "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
            "externalURL": "http://am",
            "alerts": [{
                "status": status, "labels": {"alertname": "ErrorsHigh", "service": service},
                "annotations": {"summary": f"{service} 5xx above 5%", "value": "0.07", "threshold": "0.05"},
                "startsAt": starts.isoformat().replace("+00:00", "Z"),
                "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else (starts + timedelta(minutes=5)).isoformat(),
                "generatorURL": "http://prom/graph", "fingerprint": fp,
            }],
        }
    ).encode()


def dd_body(transition: str = "Triggered") -> bytes:
    return json.dumps(
        {"id": "1", "alert_id": "4242", "aggreg_key": "abc", "transition": transition, "title": "[Triggered] search slow",
         "tags": "service:search,env:prod", "date": int(T0.timestamp() * 1000), "scope": "service:search",
         "metric": "latency_p95_ms", "value": "1200", "threshold": "800"}
    ).encode()


def incidents(db) -> list[Incident]:
    with db.session() as s:
        return list(s.scalars(sa.select(Incident).order_by(Incident.id)).all())


def test_three_repeats_and_a_datadog_renotification_make_one_incident_each(svc, database):
    for _ in range(3):
        assert svc.receive("alertmanager", am_body(), AM).status == 202
    assert svc.receive("datadog", dd_body(), DD).status == 202
    assert svc.receive("datadog", dd_body("Re-Notification"), DD).status == 202
    incs = incidents(database)
    assert [i.service for i in incs] == ["checkout", "search"]
    with database.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(AlertRow)) == 5


def test_resolved_then_stale_firing_does_not_reopen(svc, database):
    svc.receive("alertmanager", am_body(), AM)
    svc.receive("alertmanager", am_body("resolved"), AM)
    assert incidents(database)[0].status == "resolved"
    ans = svc.receive("alertmanager", am_body(), AM)  # stale: same fingerprint and startsAt
    assert ans.body["decisions"][0]["kind"] == "stale"
    assert [i.status for i in incidents(database)] == ["resolved"]


def test_dependent_services_within_window_group(svc, database):
    svc.receive("alertmanager", am_body(service="checkout", fp="a"), AM)
    svc.test_clock.now = T0 + timedelta(minutes=3)
    ans = svc.receive("alertmanager", am_body(service="payments", fp="b"), AM)
    assert ans.body["decisions"][0]["kind"] == "group"
    assert len(incidents(database)) == 1
    svc.test_clock.now = T0 + timedelta(hours=2)
    svc.receive("alertmanager", am_body(service="payments", fp="c", starts=T0 + timedelta(hours=2)), AM)
    assert len(incidents(database)) == 2


def test_flapping_reopens_instead_of_paging_twice(svc, database):
    svc.receive("alertmanager", am_body(), AM)
    svc.receive("alertmanager", am_body("resolved"), AM)
    svc.test_clock.now = T0 + timedelta(minutes=10)
    ans = svc.receive("alertmanager", am_body(starts=T0 + timedelta(minutes=10)), AM)
    assert ans.body["decisions"][0]["kind"] == "flap"
    incs = incidents(database)
    assert len(incs) == 1 and incs[0].status == "investigating" and incs[0].extra["flapping"] == 1


@pytest.mark.parametrize(
    ("source", "headers", "body", "status", "needle"),
    [
        ("alertmanager", AM, b"{not json", 400, "not valid JSON"),
        ("alertmanager", AM, b"[]", 422, "expected an object"),
        ("alertmanager", AM, b'{"version": "4", "alerts": [{"status": "firing"}]}', 422, "labels"),
        ("alertmanager", AM, b'{"version": "4", "alerts": [{"status": "burning", "labels": {"a": "b"}}]}', 422, "status"),
        ("alertmanager", {}, am_body(), 401, "missing Authorization"),
        ("alertmanager", {"Authorization": "Bearer nope"}, am_body(), 401, "wrong bearer"),
        ("datadog", {"X-AISRE-Token": "x"}, dd_body(), 401, "wrong X-AISRE-Token"),
        ("datadog", DD, b'{"alert_id": "1", "title": "t", "date": "yesterday"}', 422, "body.date"),
        ("datadog", DD, b"x" * 1_000_001, 413, "limit"),
        ("datadog", DD, b"", 400, "empty"),
    ],
)
def test_bad_payloads_get_a_4xx_and_a_record(svc, database, source, headers, body, status, needle):
    ans = svc.receive(source, body, headers)
    assert ans.status == status
    assert needle in ans.body["error"]
    assert incidents(database) == []
    with database.session() as s:
        rec = s.scalars(sa.select(IntakeRecord)).all()
        assert [r.status for r in rec] == ["rejected"]


def test_store_down_answers_503(tmp_path):
    from bot.store.db import Database

    db = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    s = IntakeService(db=db, settings=Settings(), catalog=lambda: CATALOG)
    assert s.receive("alertmanager", am_body(), AM).status == 503


def test_related_services_follow_the_dependency_graph():
    from bot.intake.grouping import related_services

    assert related_services(CATALOG, "checkout") == {"checkout", "payments", "payments-db"}
    assert related_services(CATALOG, "payments-db") == {"payments-db", "payments", "checkout"}
    assert related_services(CATALOG, "search") == {"search"}
    assert related_services(CATALOG, "unknown") == {"unknown"}
