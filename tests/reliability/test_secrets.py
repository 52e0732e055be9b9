"""Secrets never appear in logs, Slack messages, Web API arguments, the audit log, errors or
``aisre config``.

One end-to-end incident (the shared ``deploy-regression`` example with a log line carrying a
fake AWS key and a ``password=...``) runs through the whole bot, wired as ``run_demo`` wires it
but with a distinctive value for every secret setting: brief, Approve, execution, verification,
resolve, postmortem. Everything it leaves behind is then searched for each value.

Decision: log lines quoted as evidence are redacted before they are
stored or posted, with the patterns of :mod:`bot.llm.redact`, so a key in an application's log
reaches neither the model nor Slack nor the store.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import yaml

EXAMPLE = Path("/work/shared/scenarios/examples/deploy-regression.yaml")
SPEED = 60.0

SIGNING = "sig-secret-7f3a9c2e41d0"
BOT_TOKEN = "xoxb-777-888-botTokenSecret9q"
DD_API_KEY = "ddapikey-5e1b2c3d4e5f6a7b"
DD_APP_KEY = "ddappkey-9a8b7c6d5e4f3a2b"
DD_WEBHOOK = "ddwebhook-secret-44f1e2"
INTAKE = "intake-token-secret-31c7"
AM_TOKEN = "am-token-secret-8d2f"
LLM_KEY = "sk-ant-llmkey-secret-6b1e"
PG_PASSWORD = "pgPassw0rdSecret42"
AWS_KEY = "AKIAZQ7RELIABTEST123"
LOG_PASSWORD = "hunter2LogSecret"
SECRETS = {
    "slack signing secret": SIGNING, "slack bot token": BOT_TOKEN, "datadog api key": DD_API_KEY,
    "datadog app key": DD_APP_KEY, "datadog webhook secret": DD_WEBHOOK, "intake token": INTAKE,
    "alertmanager token": AM_TOKEN, "llm key": LLM_KEY, "postgres password": PG_PASSWORD,
}
FROM_LOGS = {"fake AWS key in a log line": AWS_KEY, "password= in a log line": LOG_PASSWORD}


def _leaks(text: str, secrets: dict[str, str]) -> list[str]:
    return [name for name, value in secrets.items() if value in text]


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = record.getMessage()
        except Exception as e:  # a bad format string is not what this test is about
            line = f"{record.msg!r} {record.args!r} ({e})"
        if record.exc_info:
            line += "\n" + logging.Formatter().formatException(record.exc_info)
        self.lines.append(f"{record.name} {record.levelname} {line}")


@dataclass
class Run:
    demo: Any
    fake: Any
    logs: Capture
    result: dict[str, str]
    workdir: Path


def _scenario(tmp: Path) -> Path:
    data = yaml.safe_load(EXAMPLE.read_text())
    for entry in data["logs"]:
        if entry.get("level") == "error":
            entry["message"] = (f"{entry['message']}; upstream auth with {AWS_KEY} "
                                f"password={LOG_PASSWORD} failed")
    path = tmp / "deploy-regression-secrets.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def run() -> Iterator[Run]:
    if not EXAMPLE.exists():
        pytest.skip(f"{EXAMPLE} is not available")
    from bot.runtime import ServerThread
    from bot.sandbox.anthropic_fake import start_fake
    from bot.sandbox.demo import Demo, check, free_port
    from bot.sandbox.firing import build as build_firing
    from bot.sandbox.firing import fire
    from bot.sandbox.replay import Replay
    from bot.sandbox.servers import start_all
    from bot.sandbox.slack import start_emulator
    from bot.scenarios import load_scenario
    from bot.settings import Settings
    from bot.wiring.bot import build_bot

    logs = Capture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(logs)
    root.setLevel(logging.DEBUG)
    workdir = Path(tempfile.mkdtemp(prefix="aisre-secrets-"))
    stops: list[Any] = []
    try:
        scenario = load_scenario(_scenario(workdir))
        replay = Replay(scenario, speed=SPEED)
        servers = start_all(replay, options={"datadog": {"api_key": DD_API_KEY, "app_key": DD_APP_KEY}})
        stops.append(servers.stop)
        fake = start_fake(api_key=LLM_KEY)
        stops.append(fake.stop)
        port = free_port()
        bot_url = f"http://127.0.0.1:{port}"
        emulator = start_emulator(f"{bot_url}/slack/events", SIGNING, BOT_TOKEN)
        stops.append(emulator.stop)
        base = Settings(database_url=f"sqlite:///{workdir / 'aisre.db'}", data_dir=workdir, port=port,
                        public_url=bot_url, log_level="DEBUG")
        data = servers.settings(base).model_dump()
        data.update(intake_token=INTAKE)
        data["slack"].update(api_url=emulator.api_url, signing_secret=SIGNING, bot_token=BOT_TOKEN,
                             approvers=["U0ALICE"], admins=["U0ALICE"])
        data["datadog"].update(webhook_secret=DD_WEBHOOK)
        data["prometheus"].update(alertmanager_token=AM_TOKEN)
        data["llm"].update(api_key=LLM_KEY, base_url=fake.url)
        pg_dsn = data["postgres"].get("dsn")
        dsn = pg_dsn.get_secret_value() if hasattr(pg_dsn, "get_secret_value") else pg_dsn
        if dsn and "@" in dsn:  # the sandbox's server trusts local connections: any password works
            scheme, _, rest = dsn.partition("://")
            creds, _, host = rest.rpartition("@")
            data["postgres"]["dsn"] = f"{scheme}://{creds.split(':')[0]}:{PG_PASSWORD}@{host}"
        else:
            data["postgres"]["dsn"] = f"postgresql://aisre:{PG_PASSWORD}@127.0.0.1:1/none"
        data["knowledge"].update(chroma_path=str(workdir / "chroma"), postmortems_dir=str(workdir / "pm"),
                                 runbooks_dir=str(workdir / "runbooks"))
        (workdir / "runbooks").mkdir()
        data["policy"].update(verify_s=5.0)
        data["scheduler"].update(enabled=False)
        settings = Settings.model_validate(data)
        bot = build_bot(settings, catalog=scenario.catalog(), with_scheduler=False)
        bot.actions.d.verify_interval_s = 0.5
        bot.start()
        stops.append(bot.stop)
        web = ServerThread(bot.web, "127.0.0.1", port).start()
        stops.append(web.stop)
        demo = Demo(settings, replay, servers, emulator, bot, web, workdir, stops=list(stops))
        resp = fire(build_firing(replay, bot_url, settings))
        assert resp.status_code == 202, resp.text
        result = check(demo, timeout_s=60)
        yield Run(demo, fake, logs, result, workdir)
    finally:
        for fn in reversed(stops):
            with contextlib.suppress(Exception):
                fn()
        root.removeHandler(logs)
        root.setLevel(old_level)
        shutil.rmtree(workdir, ignore_errors=True)


def test_the_incident_ran_end_to_end(run: Run) -> None:
    print("\n" + " ".join(f"{k}={v}" for k, v in run.result.items()))
    assert run.result["brief_s"] not in ("n/a", "no brief")
    assert run.result["approve"] == "ok"


def test_no_secret_in_any_log_line(run: Run) -> None:
    text = "\n".join(run.logs.lines)
    assert len(run.logs.lines) > 50  # the capture saw the run
    assert _leaks(text, SECRETS) == [], [ln for ln in run.logs.lines if _leaks(ln, SECRETS)][:5]


def _slack_dump(run: Run) -> tuple[str, str]:
    state = run.demo.emulator.state
    with state.lock:
        messages = json.dumps({"history": state.history, "ephemeral": state.ephemeral, "views": state.views},
                              default=str)
        calls = json.dumps(state.calls, default=str)
    return messages, calls


def test_no_secret_in_slack_messages_or_web_api_arguments(run: Run) -> None:
    messages, calls = _slack_dump(run)
    assert run.demo.emulator.state.calls  # the bot did talk to Slack
    assert _leaks(messages, SECRETS) == []
    assert _leaks(calls, SECRETS) == []


def test_log_lines_quoted_as_evidence_are_redacted_in_slack(run: Run) -> None:
    messages, calls = _slack_dump(run)
    assert _leaks(messages, FROM_LOGS) == [], "a secret from an application log reached Slack"
    assert _leaks(calls, FROM_LOGS) == []


def test_the_model_never_sees_the_keys(run: Run) -> None:
    sent = json.dumps(run.fake.requests, default=str)
    assert _leaks(sent, SECRETS) == []
    assert _leaks(sent, FROM_LOGS) == []
    if "upstream auth" in sent:  # the log line reached the model: masked
        assert "[redacted:aws_access_key]" in sent


def test_no_secret_in_the_store(run: Run) -> None:
    """The audit log, incidents, timelines, actions, intake records: every text column of every table."""
    from bot.store.models import AuditEntry

    db = run.demo.bot.db
    dump: list[str] = []
    with db.engine.connect() as conn:
        for table in sa.inspect(db.engine).get_table_names():
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                dump.append(f"{table}: {json.dumps([str(v) for v in row])}")
    with db.session() as s:
        assert s.scalars(sa.select(AuditEntry)).first() is not None
    text = "\n".join(dump)
    assert _leaks(text, SECRETS) == [], [d for d in dump if _leaks(d, SECRETS)][:3]
    assert _leaks(text, FROM_LOGS) == [], [d[:300] for d in dump if _leaks(d, FROM_LOGS)][:3]


def test_no_secret_in_postmortem_files(run: Run) -> None:
    for p in (run.workdir / "pm").rglob("*"):
        if p.is_file():
            body = p.read_text(errors="replace")
            assert _leaks(body, SECRETS) == [] and _leaks(body, FROM_LOGS) == [], p


def test_no_secret_in_intake_errors_health_or_metrics(run: Run) -> None:
    url = run.demo.settings.public_url
    bad = [
        ("datadog", {"X-AISRE-Token": DD_WEBHOOK[:-1] + "x"}, b"{}"),
        ("datadog", {"X-AISRE-Token": DD_WEBHOOK}, b"{not json"),
        ("datadog", {"X-AISRE-Token": DD_WEBHOOK}, json.dumps({"title": 1}).encode()),
        ("alertmanager", {"Authorization": AM_TOKEN}, b"{}"),
        ("alertmanager", {"Authorization": f"Bearer {AM_TOKEN}"}, b'{"version": "3"}'),
        ("heartbeat", {"Authorization": f"Basic {INTAKE}"}, b"{}"),
        ("manual", {"Authorization": f"Bearer {INTAKE}"}, b"[]"),
        ("nope", {}, b"{}"),
    ]
    for source, headers, body in bad:
        r = httpx.post(f"{url}/intake/{source}", content=body, headers=headers)
        assert 400 <= r.status_code < 500, (source, r.status_code)
        assert _leaks(r.text, SECRETS) == [], (source, r.text)
    for path in ("/healthz", "/readyz", "/metrics"):
        r = httpx.get(f"{url}{path}", timeout=15)
        assert _leaks(r.text, SECRETS) == [], path


def test_aisre_config_masks_every_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from bot.cli.main import _register, app

    monkeypatch.chdir(tmp_path)  # no .env
    env = {
        "AISRE_SLACK__SIGNING_SECRET": SIGNING, "AISRE_SLACK__BOT_TOKEN": BOT_TOKEN,
        "AISRE_SLACK__APP_TOKEN": "xapp-1-apptoken-secret",
        "AISRE_DATADOG__API_KEY": DD_API_KEY, "AISRE_DATADOG__APP_KEY": DD_APP_KEY,
        "AISRE_DATADOG__WEBHOOK_SECRET": DD_WEBHOOK, "AISRE_INTAKE_TOKEN": INTAKE,
        "AISRE_PROMETHEUS__ALERTMANAGER_TOKEN": AM_TOKEN, "AISRE_LLM__API_KEY": LLM_KEY,
        "AISRE_POSTGRES__DSN": f"postgresql://aisre:{PG_PASSWORD}@db:5432/postgres",
        "AISRE_DATABASE_URL": f"postgresql+psycopg://aisre:{PG_PASSWORD}@db:5432/aisre",
        "AISRE_FLAGS__TOKEN": "flags-token-secret",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    _register()
    r = CliRunner().invoke(app, ["config"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["slack"]["signing_secret"]
    assert [k for k, v in env.items() if v in r.output] == []
    assert "postgresql+psycopg://aisre:***@db:5432/aisre" in r.output
    assert PG_PASSWORD not in r.output


def test_settings_errors_do_not_echo_secrets() -> None:
    from bot.settings import SettingsError, load_settings

    with pytest.raises(SettingsError) as e:
        load_settings(_env_file=None, database_url=f"mysql://aisre:{PG_PASSWORD}@db/aisre",
                      slack={"signing_secret": 42, "bot_token": ["x", BOT_TOKEN]},
                      llm={"api_key": {"k": LLM_KEY}}, port="not-a-port")
    assert _leaks(str(e.value), SECRETS) == [], str(e.value)
