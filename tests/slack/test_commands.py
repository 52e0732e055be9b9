"""/aisre parsing: every command, and every malformed form answers with that command's usage."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.slack import commands as c

OK = [
    ("", c.Help()),
    ("help", c.Help()),
    ("HELP", c.Help()),
    ("status", c.Status()),
    ("status INC-42", c.Status(incident="INC-42")),
    ("status inc-7", c.Status(incident="INC-7")),
    ("status 9", c.Status(incident="INC-9")),
    ("timeline", c.Timeline()),
    ("timeline INC-3", c.Timeline(incident="INC-3")),
    ("catchup", c.Catchup()),
    ("resolve", c.Resolve()),
    ("resolve INC-4", c.Resolve(incident="INC-4")),
    ("resolve INC-4 rolled back, errors normal", c.Resolve(incident="INC-4", note="rolled back, errors normal")),
    ("resolve fixed by hand", c.Resolve(note="fixed by hand")),
    ("declare checkout Checkout is down", c.Declare(service="checkout", title="Checkout is down")),
    ('declare checkout "quoted title"', c.Declare(service="checkout", title="quoted title")),
    ("maintenance checkout 2h", c.Maintenance(service="checkout", duration_s=7200)),
    ("maintenance checkout 1h30m db upgrade", c.Maintenance(service="checkout", duration_s=5400, note="db upgrade")),
    ("maintenance checkout 45m", c.Maintenance(service="checkout", duration_s=2700)),
    ("rollback checkout", c.Rollback(service="checkout")),
    ("rollback checkout 41", c.Rollback(service="checkout", revision=41)),
    ("restart checkout", c.Restart(service="checkout")),
    ("scale checkout 4", c.Scale(service="checkout", replicas=4)),
    ("kill-query orders 4242", c.KillQuery(database="orders", pid=4242)),
    ("flush-cache sessions", c.FlushCache(cache="sessions")),
    ("drain ip-10-0-0-1.ec2.internal", c.Drain(node="ip-10-0-0-1.ec2.internal")),
    ("failover orders", c.Failover(database="orders")),
    ("freeze", c.Freeze()),
    ("unfreeze", c.Unfreeze()),
    ("autonomy", c.Autonomy()),
    ("autonomy checkout autonomous", c.Autonomy(scope="checkout", scope_kind="service", level="autonomous")),
    ("autonomy k8s.scale Shadow", c.Autonomy(scope="k8s.scale", scope_kind="action", level="shadow")),
    ("audit", c.Audit()),
    ("audit INC-42", c.Audit(incident="INC-42")),
    ("heartbeats", c.Heartbeats()),
    ("digest", c.Digest()),
]

BAD = [
    ("status checkout", "status"), ("status INC-1 INC-2", "status"), ("timeline nope", "timeline"),
    ("catchup now", "catchup"), ("declare", "declare"), ("declare checkout", "declare"),
    ("declare bad$name title", "declare"), ("maintenance", "maintenance"), ("maintenance checkout", "maintenance"),
    ("maintenance checkout soon", "maintenance"), ("maintenance checkout 30d", "maintenance"),
    ("maintenance checkout 0m", "maintenance"), ("rollback", "rollback"), ("rollback checkout latest", "rollback"),
    ("rollback checkout 0", "rollback"), ("rollback checkout 1 2", "rollback"), ("restart", "restart"),
    ("restart a b", "restart"), ("scale", "scale"), ("scale checkout", "scale"), ("scale checkout lots", "scale"),
    ("scale checkout -1", "scale"), ("kill-query", "kill-query"), ("kill-query orders", "kill-query"),
    ("kill-query orders abc", "kill-query"), ("flush-cache", "flush-cache"), ("drain", "drain"),
    ("failover", "failover"), ("freeze now", "freeze"), ("unfreeze x", "unfreeze"),
    ("autonomy checkout", "autonomy"), ("autonomy checkout yolo", "autonomy"),
    ("autonomy checkout shadow extra", "autonomy"), ("audit checkout", "audit"), ("heartbeats x", "heartbeats"),
    ("digest x", "digest"), ("help me", "help"),
]


@pytest.mark.parametrize(("text", "expected"), OK)
def test_parses(text: str, expected: c.Command) -> None:
    assert c.parse(text) == expected


def test_every_command_is_covered() -> None:
    assert {type(e).name for _, e in OK} == set(c.USAGE)
    assert {name for _, name in BAD} == set(c.USAGE) - {"resolve"}  # any words after resolve are its note


@pytest.mark.parametrize(("text", "name"), BAD)
def test_malformed_returns_usage(text: str, name: str) -> None:
    out = c.parse(text)
    assert isinstance(out, c.CommandError), out
    assert out.command == name and out.usage == c.USAGE[name][0] and out.message


def test_unknown_command_points_at_help() -> None:
    out = c.parse("reboot-the-world")
    assert isinstance(out, c.CommandError) and out.command is None and out.usage == "/aisre help"


def test_aliases_and_action_names() -> None:
    assert c.parse("flush sessions") == c.FlushCache(cache="sessions")
    assert c.Rollback(service="x").action == "k8s.rollout_undo" and c.Rollback(service="x").target == "x"
    assert c.KillQuery(database="orders", pid=1).target == "orders"


@given(st.text(max_size=200))
def test_parse_never_raises(text: str) -> None:
    out = c.parse(text)
    assert isinstance(out, (c.Command, c.CommandError))
