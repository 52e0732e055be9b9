"""Faults: the bot killed mid-investigation and mid-action, PostgreSQL restarted under it,
integrations that hang or fail, Slack rate limits and 500s.

Correctness only; the waits are generous bounds, never timed assertions.
"""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import yaml

from bot.catalog.model import Service, ServiceCatalog
from bot.investigation.pipeline import investigate
from bot.investigation.sources import AlertContext
from bot.runtime import ServerThread
from bot.sandbox.demo import APPROVER, free_port
from bot.sandbox.firing import build as build_firing
from bot.sandbox.firing import fire
from bot.sandbox.replay import Replay
from bot.sandbox.servers import start_all
from bot.sandbox.slack import start_emulator
from bot.scenarios import load_scenario
from bot.settings import Settings
from bot.slack.ids import ActionId
from bot.store import audit, locks
from bot.store.db import Database
from bot.store.models import Action, AlertRow, Incident
from bot.wiring.integrations import build_integrations
from tests.reliability.rig import ROOT, BotProcess, DelayProxy, Rule, postgres_down, wait_for

SCENARIO = ROOT / "scenarios" / "deploy_regression-1-payments-api.yaml"


# --- the bot killed with SIGKILL, then restarted ---------------------------------------------------


def _catalog_file(scenario: Any, path: Path) -> Path:
    services = [s.model_dump(exclude_none=True) for s in scenario.catalog().services]
    path.write_text(yaml.safe_dump({"services": services}, sort_keys=False))
    return path


def _button_ts(emulator: Any, channel: str, action_id: str) -> str | None:
    for m in reversed(emulator.state.messages(channel, include_replies=False)):
        for b in m.get("blocks") or []:
            if any(el.get("action_id") == action_id for el in b.get("elements") or []):
                return str(m["ts"])
    return None


def _audit_ids(db: Database, incident_id: int) -> list[int]:
    with db.session() as s:
        return [e.id for e in audit.list(session=s, incident_id=incident_id)]


def _real_k8s_writes(replay: Replay) -> list[dict[str, object]]:
    return [w for w in replay.writes if w.get("system") == "kubernetes" and not w.get("dry_run")]


@pytest.mark.postgres
def test_sigkill_mid_investigation_and_mid_action(pg_url: str, tmp_path: Path) -> None:
    scenario = load_scenario(SCENARIO)
    replay = Replay(scenario, speed=20.0)
    servers = start_all(replay)
    dd = DelayProxy(servers.urls["datadog"], [Rule("*", "/", before_s=3.0)]).start()
    kube = DelayProxy(servers.urls["kubernetes"]).start()
    kubeconfig = Path(servers.env["AISRE_KUBERNETES__KUBECONFIG"])
    kubeconfig.write_text(kubeconfig.read_text().replace(servers.urls["kubernetes"], kube.url))
    port = free_port()
    bot_url = f"http://127.0.0.1:{port}"
    defaults = Settings()
    emulator = start_emulator(f"{bot_url}/slack/events", defaults.slack.signing_secret.get_secret_value(),
                              defaults.slack.bot_token.get_secret_value())
    env = {k: v for k, v in os.environ.items() if not k.startswith("AISRE_")} | servers.env | {
        "AISRE_DATABASE_URL": pg_url, "AISRE_PORT": str(port), "AISRE_PUBLIC_URL": bot_url,
        "AISRE_DATA_DIR": str(tmp_path), "AISRE_LOG_LEVEL": "INFO",
        "AISRE_DATADOG__API_URL": dd.url,
        "AISRE_SLACK__API_URL": emulator.api_url, "AISRE_SLACK__APPROVERS": json.dumps([APPROVER]),
        "AISRE_INCIDENTS__SERVICES_FILE": str(_catalog_file(scenario, tmp_path / "services.yaml")),
        "AISRE_KNOWLEDGE__CHROMA_PATH": str(tmp_path / "chroma"),
        "AISRE_KNOWLEDGE__POSTMORTEMS_DIR": str(tmp_path / "postmortems"),
        "AISRE_SCHEDULER__ENABLED": "false", "AISRE_POLICY__VERIFY_S": "6",
    }
    bot = BotProcess(env, port, tmp_path / "bot.log")
    db = Database(pg_url)
    try:
        bot.start()
        assert fire(build_firing(replay, bot_url, defaults)).status_code == 202

        # 1. killed while investigating: the brief placeholder is up, a (slow) Datadog query in flight
        def investigating() -> Incident | None:
            with db.session() as s:
                inc = s.scalars(sa.select(Incident)).first()
            return inc if inc and inc.status == "investigating" and inc.brief_ts and dd.count("delayed") else None

        inc = wait_for(investigating, 60, "the incident to be investigating")
        bot.kill()
        assert not (inc.extra or {}).get("investigated_at")
        channel, brief_ts = str(inc.channel_id), str(inc.brief_ts)
        assert "investigating" in (emulator.state.find_message(channel, brief_ts) or {}).get("text", "")
        audit_before = _audit_ids(db, inc.id)
        assert audit_before

        # restarted: the incident resumes and its brief (the same message) is completed
        dd.rules.clear()
        bot.start()

        def proposed() -> dict[str, Any] | None:
            with db.session() as s:
                i = s.get(Incident, inc.id)
                extra = (i.extra or {}) if i else {}
            return extra if extra.get("investigated_at") and (extra.get("proposal") or {}).get("action_id") else None

        extra = wait_for(proposed, 90, "the resumed investigation to finish with a proposal")
        with db.session() as s:
            i = s.get(Incident, inc.id)
            assert i is not None and i.brief_ts == brief_ts  # the same brief, updated, not a second one
            assert len(s.scalars(sa.select(Incident)).all()) == 1
        # the brief is edited in place once the stored findings are rendered (just after the proposal)
        def brief_done() -> str | None:
            text = str((emulator.state.find_message(channel, brief_ts) or {}).get("text", "investigating"))
            return text if "investigating" not in text else None

        wait_for(brief_done, 30, "the brief to be completed in place")
        assert set(audit_before) <= set(_audit_ids(db, inc.id))
        action_id = int(extra["proposal"]["action_id"])

        # 2. killed while the approved action is executing: its PATCH landed, the answer is held
        kube.rules.append(Rule("PATCH", "/deployments/", hold=True, skip_query="dryRun"))
        card_ts = wait_for(lambda: _button_ts(emulator, channel, ActionId.APPROVE), 30, "the approval card")
        assert emulator.people.click(APPROVER, channel, card_ts, ActionId.APPROVE).result(timeout=15).ok

        def executing() -> bool:
            with db.session() as s:
                a = s.get(Action, action_id)
                return bool(a and a.state == "executing" and kube.count("held") and _real_k8s_writes(replay))

        wait_for(executing, 60, "the action to be executing with its write made")
        with db.session() as s:
            a = s.get(Action, action_id)
            assert a is not None
            resource, name = f"k8s:{a.params['namespace']}/deploy/{a.params['deployment']}", a.name
            held = locks.get(session=s, resource=resource)
            assert held is not None and held.holder and held.holder.startswith(f"action-{action_id}/")
        audit_before = _audit_ids(db, inc.id)
        bot.kill()
        kube.released.set()
        writes = len(_real_k8s_writes(replay))
        assert writes == 1

        bot.start()

        def flagged() -> Action | None:
            with db.session() as s:
                a = s.get(Action, action_id)
            return a if a and a.state == "failed" else None

        a = wait_for(flagged, 30, "the interrupted action to be flagged")
        assert "interrupted" in (a.error or "") and "will not be re-run" in (a.error or "")
        notice = wait_for(lambda: [m for m in emulator.state.messages(channel) if "interrupted" in m.get("text", "")],
                          20, "the interruption to be reported in the channel")
        assert len(notice) == 1 and name in notice[0]["text"]
        time.sleep(2.0)  # nothing re-runs it behind our back
        assert len(_real_k8s_writes(replay)) == writes == 1
        with db.session() as s:
            assert locks.get(session=s, resource=resource) is None  # released (or expired), not left held
            kinds = [e.kind for e in audit.list(session=s, incident_id=inc.id)]
            i = s.get(Incident, inc.id)
            assert i is not None and (i.extra or {}).get("proposal", {}).get("action_id") == action_id
        assert set(audit_before) <= set(_audit_ids(db, inc.id))
        assert kinds.count("action.interrupted") == 1
    finally:
        bot.kill()
        dd.stop()
        kube.stop()
        emulator.stop()
        servers.stop()
        db.dispose()


# --- PostgreSQL restarted under the bot ------------------------------------------------------------


def _alert(n: int) -> dict[str, Any]:
    return {"check": f"restart-{n}", "title": f"probe {n} failing", "service": f"svc-{n}", "status": "firing",
            "at": datetime.now(UTC).isoformat()}


@pytest.mark.postgres
def test_postgres_restart_loses_nothing(pg_url: str, tmp_path: Path) -> None:
    from bot.wiring.bot import build_bot

    emulator = start_emulator(None, "secret", "xoxb-local-emulator")
    settings = Settings.model_validate({
        "database_url": pg_url, "data_dir": str(tmp_path), "log_level": "WARNING",
        "slack": {"api_url": emulator.api_url, "bot_token": "xoxb-local-emulator", "max_retries": 0},
        "knowledge": {"chroma_path": str(tmp_path / "chroma")}, "scheduler": {"enabled": False},
    })
    bot = build_bot(settings, catalog=ServiceCatalog(services=[]), with_scheduler=False)
    bot.incidents.hooks.investigate = None
    bot.knowledge.start = lambda **_kw: bot.knowledge.ready.set()  # type: ignore[method-assign]
    bot.start()
    web = ServerThread(bot.web, "127.0.0.1", free_port()).start()
    headers = {"Authorization": f"Bearer {settings.intake_token.get_secret_value()}"}
    statuses: dict[int, list[int]] = {}
    stop = threading.Event()

    def send(client: httpx.Client, n: int) -> None:
        for _ in range(200):  # as Alertmanager and Datadog do: retry a 5xx with back-off
            r = client.post(f"{web.url}/intake/manual", json=_alert(n), headers=headers)
            statuses.setdefault(n, []).append(r.status_code)
            if r.status_code < 500:
                return
            time.sleep(0.2)

    def sender() -> None:
        with httpx.Client(timeout=15) as client:
            n = 0
            while not stop.is_set():
                send(client, n)
                n += 1
                time.sleep(0.05)

    t = threading.Thread(target=sender, daemon=True)
    try:
        t.start()
        wait_for(lambda: len(statuses) >= 5, 20, "alerts before the restart")
        with postgres_down(pg_url, down_s=2.0):
            wait_for(lambda: any(503 in v for v in statuses.values()), 20, "a 503 while the store is down")
        during = max(statuses)
        wait_for(lambda: max(statuses) >= during + 5, 30, "alerts after the restart")
    finally:
        stop.set()
        t.join(timeout=60)
        web.stop()
        bot.stop()
        emulator.stop()
    assert all(v[-1] == 202 for v in statuses.values()), {n: v for n, v in statuses.items() if v[-1] != 202}
    assert set(sum(statuses.values(), [])) <= {202, 503}
    retried = [n for n, v in statuses.items() if 503 in v]
    assert retried  # some were refused while it was down, then accepted
    db = Database(pg_url)
    try:
        with db.session() as s:
            checks = [r.fingerprint for r in s.scalars(sa.select(AlertRow)).all()]
        assert len(checks) == len(statuses) == len(set(checks))  # every alert once, none lost or doubled
    finally:
        db.dispose()


# --- an integration that hangs or answers 500 ------------------------------------------------------


def _bad_server(mode: str) -> tuple[Any, threading.Event]:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _any(self) -> None:
            if mode == "hang":
                release.wait(60)
                return
            body = b'{"errors": ["Internal Server Error"]}'
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _any

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, release


@pytest.mark.parametrize("mode", ["hang", "500"])
def test_failing_integration_becomes_evidence(mode: str) -> None:
    server, release = _bad_server(mode)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    settings = Settings.model_validate({"datadog": {"enabled": True, "api_url": url, "api_key": "k",
                                                    "app_key": "a", "timeout_s": 30.0}})
    catalog = ServiceCatalog(services=[Service(name="checkout", depends_on=["payments"]), Service(name="payments")])
    ctx = AlertContext(service="checkout", at=datetime.now(UTC), title="checkout error rate", metric="error_rate",
                       value=0.07, threshold=0.05, source="datadog", fingerprint="dd:1")
    result: dict[str, Any] = {}
    timeout_s = 1.5

    def run() -> None:
        result["r"] = investigate(alert_context=ctx, sources=build_integrations(settings).sources,
                                  catalog=catalog, timeout_s=timeout_s)

    try:
        t = threading.Thread(target=run, daemon=True)
        t.start()
        t.join(timeout_s + 20)  # a generous margin: the point is that it returns at all
        assert not t.is_alive(), "investigate() did not return"
        evidence = [e for e in result["r"].evidence if e.source.startswith("datadog")]
        assert evidence
        assert {e.status for e in evidence} <= {"error", "no_data"}
        if mode == "hang":
            assert any("no answer within" in e.summary for e in evidence)
        else:
            assert any(e.status == "error" for e in evidence)
    finally:
        release.set()
        server.shutdown()
        server.server_close()


# --- Slack answering ratelimited or 500 ------------------------------------------------------------


@pytest.mark.parametrize("kind", ["ratelimited", "server_error"])
def test_slack_faults_updates_delivered_once_in_order(kind: str, tmp_path: Path) -> None:
    from bot.wiring.bot import build_bot

    emulator = start_emulator(None, "secret", "xoxb-local-emulator")
    try:
        settings = Settings.model_validate({
            "database_url": f"sqlite:///{tmp_path / 'aisre.db'}", "data_dir": str(tmp_path), "log_level": "WARNING",
            "slack": {"api_url": emulator.api_url, "bot_token": "xoxb-local-emulator", "max_retries": 3},
            "scheduler": {"enabled": False},
        })
        bot = build_bot(settings, catalog=ServiceCatalog(services=[]), with_scheduler=False)
        from bot.store.migrate import ensure_schema

        ensure_schema(settings.database_url)
        channel = bot.chat.ensure_channel("inc-faults")
        now = datetime.now(UTC)
        with bot.db.session() as s:
            inc = Incident(title="faults", service="checkout", severity="SEV2", status="investigating", opened_at=now,
                           updated_at=now, channel_id=channel, extra={})
            s.add(inc)
            s.flush()
            iid = inc.id
        texts = [f"status update {i}" for i in range(4)]
        for i, text in enumerate(texts):
            if i % 2 == 0:  # every other update meets Slack failing twice first
                emulator.state.inject_fault("chat.postMessage", kind, times=2, retry_after=1)
            bot.incidents.note(iid, text)
        posted = [m.get("text", "") for m in emulator.state.messages(channel)]
        found = [next((t for t in texts if t in p), None) for p in posted]
        assert [f for f in found if f] == texts  # all of them, once each, in order
        attempts = [c for c in emulator.state.calls_to("chat.postMessage") if c.get("channel") == channel]
        assert len(attempts) == len(texts) + 2 * 2  # the failures were retried, not given up on
        bot.stop()
    finally:
        emulator.stop()
