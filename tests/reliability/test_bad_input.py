"""Bad input, property-based: every input gets a correct result or its documented error with a
one-line message per problem naming the field or key; never a 5xx or an unhandled exception.

Covers webhook payloads (arbitrary JSON and mutated Alertmanager/Datadog bodies, through
``IntakeService.receive`` and the HTTP route), ``/aisre`` text, mention text, scenario files,
runbook front matter, ``policy.yaml``, ``heartbeats.yaml`` and ``Settings`` from the environment.
Example counts are bounded so the file runs well under a minute.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from bot.actions.policy import PolicyError, PolicyFile, load_policy, parse_policy
from bot.actions.registry import Registry
from bot.catalog.model import Service, ServiceCatalog
from bot.intake.service import IntakeService
from bot.knowledge.runbooks import Runbook, RunbookError, parse_runbook
from bot.scenarios.loader import ScenarioError, load_scenario_text
from bot.scheduler.config import HeartbeatsConfig, HeartbeatsError, load_heartbeats_text
from bot.settings import Settings, SettingsError, load_settings
from bot.slack.commands import CommandError, parse
from bot.slack.mentions import Mention, parse_mention
from bot.store.db import Database
from bot.store.migrate import upgrade
from bot.web.app import create_web_app
from bot.web.metrics import BotMetrics
from tests.intake.test_intake_service import am_body, dd_body

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = Path("/work/shared/scenarios/examples")
FAST = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
FEW = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


def one_line_problems(message: str) -> list[str]:
    lines = message.split("\n")
    assert lines and all(ln.strip() for ln in lines), repr(message)
    return lines


# --- values and mutations -----------------------------------------------------------------------

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.sampled_from(["", "0", "-1", "1e999", "NaN", "firing", "resolved", "5m", "0s", "-5m", "2026-13-45", "\x00"]),
)
json_values = st.recursive(scalars, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.dictionaries(st.text(max_size=10), kids, max_size=4)), max_leaves=12)
yaml_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.floats(allow_nan=False, width=32),
              st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20),
              st.sampled_from(["5m", "0s", "-1", "supervised", "autonomous", "nope", "*", "{x}"])),
    lambda kids: st.one_of(st.lists(kids, max_size=3), st.dictionaries(st.text(max_size=8), kids, max_size=3)),
    max_leaves=6)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated(draw: st.DrawFn, base: Any, values: st.SearchStrategy[Any] = yaml_values) -> tuple[Any, str, Any]:
    """``(data, kind, path)``: ``base`` with one value replaced, one key deleted or one unknown key added."""
    data = copy.deepcopy(base)
    paths = _paths(data)
    kind = draw(st.sampled_from(["replace", "delete", "add", "retype"]))
    path = draw(st.sampled_from(paths)) if paths else ()
    parent: Any = data
    for p in path[:-1]:
        parent = parent[p]
    last = path[-1] if path else None
    if kind == "add":
        target = parent[last] if last is not None and isinstance(parent[last], dict) else data
        key = "zz_unknown_" + draw(st.text("abcdefgh", min_size=1, max_size=6))
        target[key] = draw(values)
        return data, kind, key
    if last is None:
        return draw(values), "top", ()
    if kind == "delete":
        del parent[last]
    elif kind == "retype":
        parent[last] = draw(st.sampled_from([None, [], {}, "text", 12345, -1, True]))
    else:
        parent[last] = draw(values)
    return data, kind, path


@st.composite
def text_mutated(draw: st.DrawFn, text: str) -> str:
    """``text`` with a few characters inserted, deleted or replaced (YAML-significant ones likely)."""
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        ch = draw(st.sampled_from([":", "-", " ", "\t", "\n", "'", '"', "[", "{", "}", "#", "&", "*", "!", "x", "|"]))
        if op == "insert":
            text = text[:i] + ch + text[i:]
        elif op == "delete":
            text = text[:i] + text[i + 1:]
        else:
            text = text[:i] + ch + text[i + 1:]
    return text


def _names(path: Any) -> set[str]:
    parts = path if isinstance(path, tuple) else (path,)
    return {str(p) for p in parts if isinstance(p, str)} | {f"[{p}]" for p in parts if isinstance(p, int)}


def names_something(message: str, path: Any) -> bool:
    """The message names the mutated key, one of its parents, or an index on its path."""
    names = _names(path)
    return not names or any(n in message for n in names)


# --- webhooks ------------------------------------------------------------------------------------

AM = {"Authorization": "Bearer local-alertmanager-token"}
DD = {"X-AISRE-Token": "local-datadog-webhook-secret"}
HB = {"Authorization": "Bearer local-intake-token"}
HEADERS = {"alertmanager": AM, "datadog": DD, "heartbeat": HB, "manual": HB}
ACCEPTED = {202, 400, 404, 413, 415, 422}


@pytest.fixture(scope="module")
def intake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[IntakeService, TestClient]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('bad-input')}/aisre.db"
    upgrade(url)
    db = Database(url)
    catalog = ServiceCatalog(services=[Service(name="checkout", tier="critical"), Service(name="search")])
    svc = IntakeService(db=db, settings=Settings(_env_file=None), catalog=lambda: catalog)  # type: ignore[call-arg]
    metrics = BotMetrics()
    yield svc, TestClient(create_web_app(intake=svc, metrics=metrics, readiness=lambda: []))
    db.dispose()


def _check_answer(status: int, body: dict[str, Any]) -> None:
    assert status in ACCEPTED, (status, body)
    if status == 202:
        assert body["ok"] is True and body["alerts"] >= 1
    else:
        assert body["ok"] is False
        one_line_problems(body["error"])


@FAST
@given(source=st.sampled_from(list(HEADERS)), payload=json_values)
def test_arbitrary_json_through_receive(intake: Any, source: str, payload: Any) -> None:
    svc, _ = intake
    answer = svc.receive(source, json.dumps(payload).encode(), HEADERS[source])
    _check_answer(answer.status, answer.body)


@FAST
@given(source=st.sampled_from(list(HEADERS)), body=st.binary(max_size=200))
def test_arbitrary_bytes_through_receive(intake: Any, source: str, body: bytes) -> None:
    svc, _ = intake
    answer = svc.receive(source, body, HEADERS[source])
    _check_answer(answer.status, answer.body)


AM_BASE = json.loads(am_body())
DD_BASE = json.loads(dd_body())


@FAST
@given(case=mutated(AM_BASE, json_values))
def test_mutated_alertmanager_bodies(intake: Any, case: tuple[Any, str, Any]) -> None:
    svc, _ = intake
    data, kind, path = case
    answer = svc.receive("alertmanager", json.dumps(data).encode(), AM)
    _check_answer(answer.status, answer.body)


@FAST
@given(case=mutated(DD_BASE, json_values))
def test_mutated_datadog_bodies(intake: Any, case: tuple[Any, str, Any]) -> None:
    svc, _ = intake
    data, kind, path = case
    answer = svc.receive("datadog", json.dumps(data).encode(), DD)
    _check_answer(answer.status, answer.body)


@FEW
@given(source=st.sampled_from([*HEADERS, "unknown"]), payload=st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    mutated(AM_BASE, json_values).map(lambda c: json.dumps(c[0]).encode()),
    mutated(DD_BASE, json_values).map(lambda c: json.dumps(c[0]).encode()),
    st.binary(max_size=100)),
    ctype=st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded", ""]))
def test_the_http_route_never_answers_5xx(intake: Any, source: str, payload: bytes, ctype: str) -> None:
    _, client = intake
    r = client.post(f"/intake/{source}", content=payload,
                    headers={**HEADERS.get(source, {}), **({"Content-Type": ctype} if ctype else {})})
    assert r.status_code < 500, r.text
    _check_answer(r.status_code, r.json())


def test_oversized_and_deeply_nested_bodies(intake: Any) -> None:
    svc, client = intake
    assert client.post("/intake/datadog", content=b"[" * 2_000_000, headers=DD).status_code == 413
    deep = b"[" * 100_000 + b"]" * 100_000
    _check_answer(*(lambda a: (a.status, a.body))(svc.receive("datadog", deep, DD)))
    deep_obj = ('{"a":' * 5000 + "1" + "}" * 5000).encode()
    r = client.post("/intake/alertmanager", content=deep_obj, headers=AM)
    assert r.status_code < 500
    _check_answer(r.status_code, r.json())


# --- Slack text ----------------------------------------------------------------------------------

VERBS = ["status", "timeline", "catchup", "resolve", "declare", "maintenance", "freeze", "unfreeze", "autonomy",
         "audit", "heartbeats", "digest", "rollback", "restart", "scale", "kill-query", "flush-cache", "drain",
         "failover", "help", "HELP", "Scale"]
words = st.one_of(st.sampled_from(["INC-42", "inc-0", "checkout", "4", "-1", "0", "99999999999999999999", "2h",
                                   "0m", "1e3", "autonomous", "service", "'", '"', "--", "<@U0ALICE>", "*"]),
                  st.text(max_size=12))
command_texts = st.one_of(st.text(max_size=80),
                          st.tuples(st.sampled_from(VERBS), st.lists(words, max_size=5)).map(
                              lambda t: " ".join([t[0], *t[1]])))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(text=command_texts)
def test_slash_command_text(text: str) -> None:
    parsed = parse(text)
    if isinstance(parsed, CommandError):
        one_line_problems(parsed.message)
        assert parsed.usage.strip()
        if parsed.command is not None:
            assert parsed.usage.startswith("/aisre") or parsed.command in parsed.usage
    else:
        assert parsed.name and parsed.usage


mention_texts = st.one_of(
    st.text(max_size=80),
    st.tuples(st.sampled_from(["<@U0AISREBOT>", "<@U0AISREBOT|ai-sre>", ""]),
              st.sampled_from(["status", "what changed on", "show", "why is", "help", "latency of", "errors on"]),
              st.lists(words, max_size=5)).map(lambda t: " ".join([t[0], t[1], *t[2]])))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(text=mention_texts)
def test_mention_text(text: str) -> None:
    m = parse_mention(text)
    assert isinstance(m, Mention)
    assert m.kind in ("help", "status", "changes", "metric", "question")
    if m.window_s is not None:
        assert m.window_s > 0
    if m.kind == "status" and m.incident is not None:
        assert m.incident.startswith("INC-")


# --- files ---------------------------------------------------------------------------------------

SCENARIO = (EXAMPLES / "deploy-regression.yaml") if (EXAMPLES / "deploy-regression.yaml").exists() else \
    sorted((REPO / "scenarios").glob("*.yaml"))[0]
SCENARIO_TEXT = SCENARIO.read_text()
SCENARIO_DATA = yaml.safe_load(SCENARIO_TEXT)


def _scenario_ok_or_error(text: str, path: Any = ()) -> None:
    try:
        load_scenario_text(text, "s.yaml")
    except ScenarioError as e:
        assert e.problems
        for line in one_line_problems(str(e)):
            assert line.startswith("s.yaml"), line


@FAST
@given(case=mutated(SCENARIO_DATA))
def test_mutated_scenario_data(case: tuple[Any, str, Any]) -> None:
    data, kind, path = case
    try:
        load_scenario_text(yaml.safe_dump(data), "s.yaml")
    except ScenarioError as e:
        lines = one_line_problems(str(e))
        assert all(ln.startswith("s.yaml") for ln in lines)
        if kind in ("replace", "retype", "add"):
            assert names_something(str(e), path), (kind, path, str(e))


@FAST
@given(text=text_mutated(SCENARIO_TEXT))
def test_mutated_scenario_text(text: str) -> None:
    _scenario_ok_or_error(text)


RUNBOOK = (REPO / "runbooks" / "capacity.md").read_text()
FM = yaml.safe_load(RUNBOOK.split("---")[1])
BODY = RUNBOOK.split("---", 2)[2]
KNOWN = set(Registry.builtin().names())


def _runbook(text: str) -> Runbook | None:
    try:
        return parse_runbook(text, path="runbooks/x.md", known_actions=KNOWN)
    except RunbookError as e:
        assert e.problems
        for line in one_line_problems(str(e)):
            assert line.startswith("runbooks/x.md:"), line
        return None


@FAST
@given(case=mutated(FM))
def test_mutated_runbook_front_matter(case: tuple[Any, str, Any]) -> None:
    data, kind, path = case
    text = "---\n" + yaml.safe_dump(data, sort_keys=False) + "---" + BODY
    try:
        parse_runbook(text, path="runbooks/x.md", known_actions=KNOWN)
    except RunbookError as e:
        lines = one_line_problems(str(e))
        assert all(ln.startswith("runbooks/x.md:") for ln in lines)
        if kind in ("replace", "retype", "add"):
            assert names_something(str(e), path), (kind, path, str(e))


@FAST
@given(text=text_mutated(RUNBOOK))
def test_mutated_runbook_text(text: str) -> None:
    _runbook(text)


POLICY_TEXT = (REPO / "policy.example.yaml").read_text()
POLICY = yaml.safe_load(POLICY_TEXT)


@FAST
@given(case=mutated(POLICY))
def test_mutated_policy(case: tuple[Any, str, Any]) -> None:
    data, kind, path = case
    try:
        assert isinstance(parse_policy(data, "policy.yaml", KNOWN), PolicyFile)
    except PolicyError as e:
        lines = one_line_problems(str(e))
        assert all(ln.startswith("policy.yaml") for ln in lines)
        if kind in ("replace", "retype", "add"):
            assert names_something(str(e), path), (kind, path, str(e))


@FEW
@given(text=text_mutated(POLICY_TEXT))
def test_mutated_policy_file(text: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "policy.yaml"
        p.write_text(text)
        try:
            load_policy(p, KNOWN)
        except PolicyError as e:
            assert all(ln.startswith(str(p)) for ln in one_line_problems(str(e))), str(e)


HB_TEXT = (REPO / "heartbeats.example.yaml").read_text()
HB_DATA = yaml.safe_load(HB_TEXT)


@FAST
@given(case=mutated(HB_DATA))
def test_mutated_heartbeats(case: tuple[Any, str, Any]) -> None:
    data, kind, path = case
    try:
        assert isinstance(load_heartbeats_text(yaml.safe_dump(data), "heartbeats.yaml"), HeartbeatsConfig)
    except HeartbeatsError as e:
        lines = one_line_problems(str(e))
        assert all(ln.startswith("heartbeats.yaml") for ln in lines)
        if kind in ("replace", "retype", "add"):
            assert names_something(str(e), path), (kind, path, str(e))


@FAST
@given(text=text_mutated(HB_TEXT))
def test_mutated_heartbeats_text(text: str) -> None:
    try:
        load_heartbeats_text(text, "heartbeats.yaml")
    except HeartbeatsError as e:
        assert all(ln.startswith("heartbeats.yaml") for ln in one_line_problems(str(e)))


# --- settings from the environment ---------------------------------------------------------------

ENV_FIELDS = {
    "AISRE_PORT": st.one_of(st.integers(-5, 70000).map(str), st.text(max_size=8)),
    "AISRE_LOG_LEVEL": st.sampled_from(["info", "DEBUG", "verbose", "", "warn"]),
    "AISRE_DATABASE_URL": st.sampled_from(["sqlite:///x.db", "postgresql+psycopg://u@h/d", "mysql://h/d",
                                           "not a url", "", "://"]),
    "AISRE_SLACK__MODE": st.sampled_from(["http", "socket", "HTTP", "websocket", ""]),
    "AISRE_SLACK__MAX_RETRIES": st.one_of(st.integers(-3, 20).map(str), st.just("three")),
    "AISRE_SLACK__APPROVERS": st.sampled_from(['["U1","U2"]', "U1,U2", "[", "{}", '"U1"', ""]),
    "AISRE_SCHEDULER__DIGEST_TIMEZONE": st.sampled_from(["UTC", "Europe/Paris", "Mars/Olympus", "../../etc/passwd",
                                                         "", "UTC\x00"]),
    "AISRE_INCIDENTS__GROUP_WINDOW_S": st.one_of(st.integers(-10, 10**6).map(str), st.just("15m")),
    "AISRE_INCIDENTS__SEVERITY_OVERRIDES": st.sampled_from(['{"checkout": "sev1"}', "nope", "[1]", "{"]),
}


@contextmanager
def environ(values: dict[str, str]) -> Iterator[None]:
    saved = {k: v for k, v in os.environ.items() if k.startswith("AISRE_")}
    for k in saved:
        del os.environ[k]
    os.environ.update(values)
    try:
        yield
    finally:
        for k in values:
            os.environ.pop(k, None)
        os.environ.update(saved)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(env=st.fixed_dictionaries({}, optional=ENV_FIELDS))
def test_settings_from_random_environment(env: dict[str, str]) -> None:
    env = {k: v for k, v in env.items() if "\x00" not in v}  # the OS refuses NUL in the environment
    with environ(env):
        try:
            s = load_settings(_env_file=None)
        except SettingsError as e:
            lines = one_line_problems(str(e))
            assert all(ln.startswith("AISRE_") for ln in lines), lines
            assert any(ln.split("=")[0] in env for ln in lines), (lines, env)
            return
    assert isinstance(s, Settings)
    if "AISRE_PORT" in env:
        assert s.port == int(env["AISRE_PORT"])


@settings(max_examples=80, deadline=None, derandomize=True)
@given(overrides=st.fixed_dictionaries({}, optional={
    "port": scalars, "log_level": scalars, "database_url": scalars,
    "slack": st.one_of(scalars, st.fixed_dictionaries({}, optional={"mode": scalars, "approvers": json_values})),
    "policy": st.one_of(scalars, st.fixed_dictionaries({}, optional={"approval_ttl_s": scalars})),
}))
def test_settings_from_random_values(overrides: dict[str, Any]) -> None:
    with environ({}):
        try:
            load_settings(_env_file=None, **overrides)
        except SettingsError as e:
            lines = one_line_problems(str(e))
            assert all(ln.startswith("AISRE_") for ln in lines), lines
