"""A whole bot against a scenario's sandbox and the Slack emulator, for the actions and learning e2e tests.

``start_demo(name, tmp_path, ...)`` is :func:`bot.sandbox.demo.run_demo` with test settings: a fast
replay, short verify windows, a short approval TTL when asked, a policy file, two approvers
(U0ALICE, U0BOB; U0CAROL is not one) and runbooks in a temporary copy. Helpers read the
store, the emulator and the replay the way a person (or an auditor) would.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from bot.sandbox.demo import Demo, run_demo
from bot.slack.ids import ActionId
from bot.slack.values import ApprovalValue
from bot.store.models import Action, AuditEntry, Incident

EXAMPLES = Path("/work/shared/scenarios/examples")
REPO = Path(__file__).resolve().parents[2]
ALICE, BOB, CAROL = "U0ALICE", "U0BOB", "U0CAROL"
SPEED = 60.0  # one scenario minute a second: the verifier's median of three minutes fills in 3 s


def example(name: str) -> Path:
    path = EXAMPLES / f"{name}.yaml"
    if not path.exists():
        pytest.skip(f"shared scenario {path} is not available")
    return path


def start_demo(
    name: str, tmp_path: Path, *, policy: dict[str, Any] | None = None, ttl_s: int | None = None,
    verify_s: float = 5.0, speed: float = SPEED, fire: bool = True, knowledge: bool = False,
    runbooks: Path | None = None,
) -> Demo:
    """``knowledge``: index the runbooks before the alert fires (else an empty runbook dir, indexed in the background)."""
    policy_file = None
    if policy is not None:
        policy_file = tmp_path / "policy.yaml"
        policy_file.write_text(yaml.safe_dump({"version": 1, **policy}))
    if runbooks is None:
        runbooks = tmp_path / "runbooks"
        if knowledge:
            shutil.copytree(REPO / "runbooks", runbooks)
        else:
            runbooks.mkdir()

    def configure(data: dict[str, Any]) -> None:
        data["slack"].update(approvers=[ALICE, BOB], admins=[ALICE])
        data["policy"].update(verify_s=verify_s, file=policy_file)
        if ttl_s is not None:
            data["policy"].update(approval_ttl_s=ttl_s)
        data["knowledge"].update(runbooks_dir=str(runbooks))

    demo = run_demo(example(name), speed=speed, workdir=tmp_path / "work", fire_alert=False, configure=configure,
                    knowledge_in_background=not knowledge)
    demo.bot.actions.d.verify_interval_s = 0.5
    demo.bot.actions.d.lock_poll_s = 0.2
    if fire:
        fire_alert(demo)
    return demo


def fire_alert(demo: Demo) -> int:
    from bot.sandbox.firing import build, fire

    resp = fire(build(demo.replay, demo.settings.public_url, demo.settings))
    demo.firing_status = resp.status_code
    return resp.status_code


def wait(cond: Callable[[], Any], timeout_s: float = 30.0, what: str = "condition", poll_s: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(poll_s)


def incidents(demo: Demo) -> list[Incident]:
    with demo.bot.db.session() as s:
        return list(s.scalars(sa.select(Incident).order_by(Incident.id)).all())


def briefed(demo: Demo, timeout_s: float = 40.0, index: int = 0) -> Incident:
    """The ``index``-th incident once its brief and proposal are stored."""
    def ready() -> Incident | None:
        found = incidents(demo)
        if len(found) <= index:
            return None
        inc = found[index]
        return inc if inc.brief_ts and (inc.extra or {}).get("proposal") else None

    return wait(ready, timeout_s, "the brief and its proposal")


def action(demo: Demo, action_id: int) -> Action:
    with demo.bot.db.session() as s:
        a = s.get(Action, action_id)
        assert a is not None
        s.expunge(a)
        return a


def actions(demo: Demo, name: str | None = None) -> list[Action]:
    with demo.bot.db.session() as s:
        q = sa.select(Action).order_by(Action.id)
        if name:
            q = q.where(Action.name == name)
        rows = list(s.scalars(q).all())
        for r in rows:
            s.expunge(r)
        return rows


def state_in(demo: Demo, action_id: int, states: set[str], timeout_s: float = 30.0) -> str:
    return str(wait(lambda: (st := action(demo, action_id).state) in states and st, timeout_s,
                    f"action {action_id} to reach {sorted(states)} (it is {action(demo, action_id).state})"))


def audit_kinds(demo: Demo, action_id: int | None = None) -> list[str]:
    with demo.bot.db.session() as s:
        q = sa.select(AuditEntry.kind).order_by(AuditEntry.id)
        if action_id is not None:
            q = q.where(AuditEntry.action_id == action_id)
        return list(s.scalars(q).all())


def texts(demo: Demo, channel: str) -> list[str]:
    return [str(m.get("text", "")) for m in demo.emulator.state.messages(channel)]


def card(demo: Demo, channel: str, action_id: int) -> dict[str, Any] | None:
    """The latest message with an Approve/Deny button for ``action_id``."""
    for m in reversed(demo.emulator.state.messages(channel)):
        for b in m.get("blocks") or []:
            for el in b.get("elements") or []:
                if el.get("action_id") not in (ActionId.APPROVE, ActionId.DENY):
                    continue
                value = ApprovalValue.parse(el.get("value"))
                if value is not None and value.action_id == action_id:
                    return dict(m)
    return None


def message(demo: Demo, channel: str, ts: str) -> dict[str, Any]:
    found = demo.emulator.state.find_message(demo.emulator.state.resolve_channel(channel).id, ts)
    assert found is not None
    return dict(found)


def click(demo: Demo, user: str, channel: str, ts: str, action_id: str = ActionId.APPROVE) -> None:
    delivery = demo.emulator.people.click(user, channel, ts, action_id).result(timeout=15)
    assert delivery.ok, delivery


def command(demo: Demo, user: str, channel: str, text: str) -> None:
    delivery = demo.emulator.people.slash_command(user, channel, "/aisre", text).result(timeout=15)
    assert delivery.ok, delivery


def ephemerals(demo: Demo, channel: str, user: str) -> list[str]:
    return [str(e["message"].get("text", "")) for e in demo.emulator.state.ephemeral_messages(channel, user)]


def writes(demo: Demo, system: str | None = None) -> list[dict[str, object]]:
    """Real (not dry-run) writes the sandbox received."""
    return [w for w in list(demo.replay.writes)
            if (system is None or w["system"] == system) and not w.get("dry_run")]
