"""Webhook auth: every source's secret or token is checked in constant time; a refusal is a 401
that is logged and counted, never an incident.

Runs through the real ASGI app (``create_web_app``) with the real :class:`IntakeService` and
:class:`BotMetrics`. Log capture uses a handler on the root logger rather than ``caplog``, so the
file also runs with ``-p no:logging``.
"""

from __future__ import annotations

import base64
import hmac
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from bot.catalog.model import Service, ServiceCatalog
from bot.intake import auth
from bot.intake.service import IntakeService
from bot.settings import Settings
from bot.store.db import Database
from bot.store.migrate import upgrade
from bot.store.models import AlertRow, Incident, IntakeRecord
from bot.web.app import create_web_app
from bot.web.metrics import BotMetrics
from tests.intake.test_intake_service import am_body, dd_body

DD_SECRET = "dd-webhook-secret-0123456789"
AM_TOKEN = "am-bearer-token-0123456789"
AM_USER, AM_PASSWORD = "alertmanager", "am-basic-password-42"
INTAKE_TOKEN = "intake-token-0123456789"
CATALOG = ServiceCatalog(services=[Service(name="checkout", tier="critical"), Service(name="search")])
SIMPLE = b'{"title": "checkout heartbeat failed", "service": "checkout", "status": "firing"}'


def _same_length_wrong(secret: str) -> str:
    return secret[:-1] + ("x" if secret[-1] != "x" else "y")


class Logs(logging.Handler):
    """Every record of every logger, at DEBUG."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    @property
    def text(self) -> str:
        return "\n".join(r.getMessage() for r in self.records)


@pytest.fixture
def logs() -> Iterator[Logs]:
    h = Logs()
    root = logging.getLogger()
    old = root.level
    root.addHandler(h)
    root.setLevel(logging.DEBUG)
    try:
        yield h
    finally:
        root.removeHandler(h)
        root.setLevel(old)


class Web:
    def __init__(self, database: Any, settings: Settings) -> None:
        self.db = database
        self.metrics = BotMetrics()
        self.intake = IntakeService(db=database, settings=settings, catalog=lambda: CATALOG,
                                    counters=self.metrics.count)
        self.client = TestClient(create_web_app(intake=self.intake, metrics=self.metrics, readiness=lambda: []))

    def rejected(self, reason: str = "unauthenticated") -> float:
        text = self.client.get("/metrics").text
        m = re.search(rf'^aisre_intake_rejected_total\{{reason="{reason}"\}} (\S+)$', text, re.M)
        return float(m.group(1)) if m else 0.0

    def count(self, model: Any) -> int:
        with self.db.session() as s:
            return int(s.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def _settings(**basic: Any) -> Settings:
    return Settings.model_validate({
        "intake_token": INTAKE_TOKEN,
        "datadog": {"webhook_secret": DD_SECRET},
        "prometheus": {"alertmanager_token": AM_TOKEN, **basic},
    })


@pytest.fixture
def sqlite_db(sqlite_url: str) -> Iterator[Database]:
    """The big matrices run on SQLite; ``test_refusal_on_every_store`` covers PostgreSQL too."""
    upgrade(sqlite_url)
    db = Database(sqlite_url)
    yield db
    db.dispose()


@pytest.fixture
def web(sqlite_db: Database) -> Web:
    return Web(sqlite_db, _settings())


@pytest.fixture
def basic_web(sqlite_db: Database) -> Web:
    return Web(sqlite_db, _settings(alertmanager_token=None, alertmanager_basic_user=AM_USER,
                                   alertmanager_basic_password=AM_PASSWORD))


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


BODIES = {"datadog": dd_body(), "alertmanager": am_body(), "heartbeat": SIMPLE, "manual": SIMPLE}
GOOD = {
    "datadog": {"X-AISRE-Token": DD_SECRET},
    "alertmanager": {"Authorization": f"Bearer {AM_TOKEN}"},
    "heartbeat": {"Authorization": f"Bearer {INTAKE_TOKEN}"},
    "manual": {"Authorization": f"Bearer {INTAKE_TOKEN}"},
}
SECRET_OF = {"datadog": DD_SECRET, "alertmanager": AM_TOKEN, "heartbeat": INTAKE_TOKEN, "manual": INTAKE_TOKEN}


def _bad_headers(source: str) -> list[tuple[str, dict[str, str]]]:
    secret = SECRET_OF[source]
    if source == "datadog":
        def make(v: str) -> dict[str, str]:
            return {"X-AISRE-Token": v}
    else:
        def make(v: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {v}"}
    cases = [
        ("missing", {}),
        ("empty", make("")),
        ("same length, wrong", make(_same_length_wrong(secret))),
        ("shorter", make(secret[:-3])),
        ("longer", make(secret + "0")),
        ("prefix only", make(secret[:1])),
        ("other source's secret", make(INTAKE_TOKEN if source == "datadog" else DD_SECRET)),
    ]
    if source != "datadog":
        cases += [("basic instead of bearer", {"Authorization": _basic("x", secret)}),
                  ("scheme only", {"Authorization": "Bearer"}),
                  ("token without scheme", {"Authorization": secret})]
    else:
        cases += [("bearer instead of the header", {"Authorization": f"Bearer {secret}"})]
    return cases


CASES = [(src, name, hdrs) for src in BODIES for name, hdrs in _bad_headers(src)]


@pytest.mark.parametrize(("source", "case", "headers"), CASES, ids=[f"{s}-{c}" for s, c, _ in CASES])
def test_missing_or_wrong_secret_is_a_logged_counted_401_and_never_an_incident(
    web: Web, logs: Logs, source: str, case: str, headers: dict[str, str]
) -> None:
    before = web.rejected()
    r = web.client.post(f"/intake/{source}", content=BODIES[source],
                        headers={"Content-Type": "application/json", **headers})
    assert r.status_code == 401, (case, r.text)
    body = r.json()
    assert body["ok"] is False and body["error"] and "\n" not in body["error"]
    assert web.rejected() == before + 1
    refusals = [rec for rec in logs.records if rec.name == "bot.intake.service" and "refused" in rec.getMessage()]
    assert len(refusals) == 1 and refusals[0].levelno == logging.WARNING
    assert source in refusals[0].getMessage()
    assert web.count(Incident) == 0 and web.count(AlertRow) == 0
    # the refusal is recorded as such, and neither the real secret nor the one presented is echoed
    with web.db.session() as s:
        rows = s.scalars(sa.select(IntakeRecord)).all()
    assert [row.status for row in rows] == ["rejected"]
    presented = [v.split(" ", 1)[-1] for v in headers.values()]  # the credential part, scheme dropped
    for secret in {SECRET_OF[source], *(p for p in presented if len(p) > 4)}:
        assert secret not in r.text
        assert secret not in logs.text
        assert secret not in (rows[0].error or "")


@pytest.mark.parametrize("source", list(BODIES))
def test_refusal_on_every_store(database: Database, logs: Logs, source: str) -> None:
    """SQLite and PostgreSQL: a wrong secret is a counted, logged 401 with no incident."""
    w = Web(database, _settings())
    bad = dict(_bad_headers(source))["same length, wrong"]
    assert w.client.post(f"/intake/{source}", content=BODIES[source], headers=bad).status_code == 401
    assert w.rejected() == 1 and w.count(Incident) == 0
    assert "refused" in logs.text
    assert w.client.post(f"/intake/{source}", content=BODIES[source], headers=GOOD[source]).status_code == 202
    assert w.count(Incident) == 1


@pytest.mark.parametrize("source", list(BODIES))
def test_the_right_secret_is_accepted(web: Web, source: str) -> None:
    """The positive control: the same request with the right secret opens an incident."""
    r = web.client.post(f"/intake/{source}", content=BODIES[source], headers=GOOD[source])
    assert r.status_code == 202, r.text
    assert web.rejected() == 0
    assert web.count(Incident) == 1


@pytest.mark.parametrize(("user", "password"), [
    (AM_USER, _same_length_wrong(AM_PASSWORD)), (AM_USER, AM_PASSWORD[:-2]), (AM_USER, ""),
    (_same_length_wrong(AM_USER), AM_PASSWORD), ("", AM_PASSWORD), (AM_USER + "x", AM_PASSWORD),
])
def test_alertmanager_basic_auth_wrong_user_or_password(basic_web: Web, logs: Logs, user: str, password: str) -> None:
    r = basic_web.client.post("/intake/alertmanager", content=am_body(),
                              headers={"Authorization": _basic(user, password)})
    assert r.status_code == 401
    assert basic_web.rejected() == 1
    assert basic_web.count(Incident) == 0
    assert AM_PASSWORD not in logs.text and AM_PASSWORD not in r.text


def test_alertmanager_basic_auth_malformed_and_right(basic_web: Web) -> None:
    for value in ("Basic !!!not-base64", "Basic " + base64.b64encode(b"\xff\xfe").decode(), f"Bearer {AM_TOKEN}"):
        assert basic_web.client.post("/intake/alertmanager", content=am_body(),
                                     headers={"Authorization": value}).status_code == 401
    assert basic_web.rejected() == 3
    ok = basic_web.client.post("/intake/alertmanager", content=am_body(),
                               headers={"Authorization": _basic(AM_USER, AM_PASSWORD)})
    assert ok.status_code == 202 and basic_web.count(Incident) == 1


# --- constant time, by behaviour ------------------------------------------------------------------


_compare_digest = hmac.compare_digest


class Spy:
    def __init__(self, verdict: bool | None = None) -> None:
        self.calls: list[tuple[bytes, bytes]] = []
        self.verdict = verdict

    def __call__(self, a: Any, b: Any) -> bool:
        self.calls.append((a, b))
        return _compare_digest(a, b) if self.verdict is None else self.verdict


@pytest.mark.parametrize(("source", "headers"), [
    ("datadog", {"X-AISRE-Token": _same_length_wrong(DD_SECRET)}),
    ("datadog", {"X-AISRE-Token": "short"}),
    ("alertmanager", {"Authorization": f"Bearer {_same_length_wrong(AM_TOKEN)}"}),
    ("alertmanager", {"Authorization": "Bearer a-much-longer-token-than-the-real-one-0123456789"}),
    ("manual", {"Authorization": f"Bearer {_same_length_wrong(INTAKE_TOKEN)}"}),
    ("heartbeat", {"Authorization": "Bearer x"}),
])
def test_every_comparison_goes_through_compare_digest(
    web: Web, monkeypatch: pytest.MonkeyPatch, source: str, headers: dict[str, str]
) -> None:
    """Right length or not, the presented value reaches hmac.compare_digest against the secret."""
    spy = Spy()
    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    r = web.client.post(f"/intake/{source}", content=BODIES[source], headers=headers)
    assert r.status_code == 401
    presented = next(iter(headers.values())).removeprefix("Bearer ").encode()
    assert spy.calls == [(presented, SECRET_OF[source].encode())]


def test_the_decision_is_compare_digests(web: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    """When compare_digest says no, even the right secret is refused: no other comparison decides."""
    monkeypatch.setattr(auth.hmac, "compare_digest", Spy(verdict=False))
    for source in BODIES:
        assert web.client.post(f"/intake/{source}", content=BODIES[source], headers=GOOD[source]).status_code == 401
    assert web.rejected() == len(BODIES)
    assert web.count(Incident) == 0


def test_basic_auth_compares_user_and_password_both(basic_web: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    """No short-circuit on a wrong user: the password comparison runs too (same work either way)."""
    spy = Spy()
    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    basic_web.client.post("/intake/alertmanager", content=am_body(),
                          headers={"Authorization": _basic("nobody", "wrong")})
    assert spy.calls == [(b"nobody", AM_USER.encode()), (b"wrong", AM_PASSWORD.encode())]


@pytest.mark.parametrize("source", ["datadog", "alertmanager", "heartbeat", "manual"])
def test_the_sandbox_fires_each_source_with_the_credential_intake_checks(web: Web, source: str) -> None:
    """``bot.sandbox.firing.build`` sends what the real source sends, so the bot accepts it."""
    from bot.sandbox import firing
    from bot.sandbox.replay import Replay
    from bot.scenarios import load_scenario

    scenario = next(
        (sc for p in sorted(Path("scenarios").glob("*.yaml")) if (sc := load_scenario(p)).alert.source == source),
        None)
    if scenario is None:
        pytest.skip(f"no bundled scenario fires from {source}")
    f = firing.build(Replay(scenario), "http://bot", _settings())
    r = web.client.post(f.url.removeprefix("http://bot"), json=f.body, headers=f.headers)
    assert r.status_code == 202, r.text
