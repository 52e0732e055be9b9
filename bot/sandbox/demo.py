"""The zero-setup demo: sandbox servers + the Slack emulator + the real bot, wired as in production.

``run_demo`` starts everything for one scenario, fires its alert as the real source would,
and returns a :class:`Demo` handle. ``check`` drives the whole story unattended (brief,
Approve as an allowed approver, execution and verification, resolve, postmortem) and says
what happened at each step.
"""

from __future__ import annotations

import contextlib
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bot.runtime import ServerThread
from bot.sandbox.firing import build as build_firing
from bot.sandbox.firing import fire
from bot.sandbox.replay import Replay
from bot.sandbox.servers import SandboxServers, start_all
from bot.sandbox.slack import start_emulator
from bot.scenarios import load_scenario
from bot.settings import Settings
from bot.slack.ids import ActionId
from bot.store.models import Action, Incident

APPROVER = "U0ALICE"
DEMO_SPEED = 20.0
Progress = Callable[[str], None]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bundled_scenarios(root: Path | None = None) -> list[Path]:
    base = root or Path(__file__).resolve().parents[2] / "scenarios"
    return sorted(base.glob("*.yaml"))


DEFAULT_SCENARIO = "deploy_regression-1-payments-api.yaml"


@dataclass
class Demo:
    settings: Settings
    replay: Replay
    servers: SandboxServers
    emulator: Any
    bot: Any
    web: ServerThread
    workdir: Path
    firing_status: int | None = None
    stops: list[Callable[[], None]] = field(default_factory=list)

    @property
    def page_url(self) -> str:
        return f"{self.emulator.url}/"

    def incident(self) -> Incident | None:
        with self.bot.db.session() as s:
            return s.scalars(sa.select(Incident).order_by(Incident.id)).first()

    def stop(self) -> None:
        for fn in reversed(self.stops):
            with contextlib.suppress(Exception):
                fn()


def run_demo(scenario_path: Path, *, speed: float = DEMO_SPEED, bot_port: int | None = None,
             slack_port: int | None = None, workdir: Path | None = None, progress: Progress = lambda s: None,
             fire_alert: bool = True, configure: Callable[[dict[str, Any]], None] | None = None,
             knowledge_in_background: bool = True) -> Demo:
    """``configure(data)`` may change the settings (as a ``model_dump`` dict) before the bot is built."""
    from bot.wiring.bot import build_bot

    scenario = load_scenario(scenario_path)
    workdir = workdir or Path(tempfile.mkdtemp(prefix="aisre-demo-"))
    stops: list[Callable[[], None]] = []
    try:
        progress(f"scenario {scenario.id}: {scenario.title}")
        replay = Replay(scenario, speed=speed)
        servers = start_all(replay)
        stops.append(servers.stop)
        progress("sandbox: " + ", ".join(f"{k} {v}" for k, v in sorted(servers.urls.items()) if v))
        bot_port = bot_port or free_port()
        bot_url = f"http://127.0.0.1:{bot_port}"
        base = Settings.model_validate({
            "database_url": f"sqlite:///{workdir / 'aisre.db'}", "data_dir": workdir, "port": bot_port,
            "public_url": bot_url, "log_level": "WARNING",
        })
        emulator = start_emulator(f"{bot_url}/slack/events", base.slack.signing_secret.get_secret_value(),
                                  base.slack.bot_token.get_secret_value(), port=slack_port or 0)
        stops.append(emulator.stop)
        progress(f"slack emulator: {emulator.url}")
        data = servers.settings(base).model_dump()
        data["slack"].update(api_url=emulator.api_url, approvers=[APPROVER], admins=[APPROVER])
        data["knowledge"].update(chroma_path=str(workdir / "chroma"), postmortems_dir=str(workdir / "postmortems"))
        data["policy"].update(verify_s=max(6.0, 240.0 / speed))
        data["scheduler"].update(enabled=False)
        if configure is not None:
            configure(data)
        settings = Settings.model_validate(data)
        bot = build_bot(settings, catalog=scenario.catalog(), with_scheduler=False)
        bot.actions.d.verify_interval_s = 1.0
        use_scenario_session_times(bot, servers)
        bot.start(knowledge_in_background=knowledge_in_background)
        stops.append(bot.stop)
        web = ServerThread(bot.web, "127.0.0.1", bot_port).start()
        stops.append(web.stop)
        progress(f"bot: {bot_url} (webhooks /intake/*, Slack /slack/events, /healthz, /metrics)")
        demo = Demo(settings, replay, servers, emulator, bot, web, workdir, stops=stops)
        if fire_alert:
            firing = build_firing(replay, bot_url, settings)
            resp = fire(firing)
            demo.firing_status = resp.status_code
            progress(f"alert fired ({scenario.alert.source}): HTTP {resp.status_code}")
        return demo
    except BaseException:
        for fn in reversed(stops):
            with contextlib.suppress(Exception):
                fn()
        raise


def use_scenario_session_times(bot: Any, servers: SandboxServers) -> None:
    """Real sandbox sessions keep the scenario's start times (see :mod:`bot.sandbox.pg_clock`)."""
    from bot.sandbox.pg_clock import ScenarioClockTarget

    handle = servers.handles.get("postgres")
    pid_map = getattr(handle, "pid_map", None)
    dbs = bot.integrations.sources.databases
    if handle is None or not pid_map or not dbs:
        return
    wrapped = tuple(ScenarioClockTarget(d, servers.replay, pid_map) for d in dbs)
    bot.integrations.sources.databases = wrapped
    bot.integrations.ports.db = wrapped[0]


# --- the unattended check ----------------------------------------------------------------------


def _wait(cond: Callable[[], Any], timeout_s: float, poll_s: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(poll_s)
    return None


def _button_message(demo: Demo, channel: str, action_id: str) -> dict[str, Any] | None:
    for m in reversed(demo.emulator.state.messages(channel, include_replies=False)):
        for b in m.get("blocks") or []:
            for el in b.get("elements") or []:
                if el.get("action_id") == action_id:
                    return dict(m)
    return None


def check(demo: Demo, *, timeout_s: float = 90.0) -> dict[str, str]:
    """Brief, Approve, execution, verification, postmortem: ``ok`` or what happened instead."""
    out: dict[str, str] = {"brief_s": "n/a", "approve": "not reached", "executed": "not reached",
                           "verified": "not reached", "postmortem": "not reached"}
    t0 = time.monotonic()
    inc = _wait(lambda: (i := demo.incident()) is not None and i.brief_ts
                and (i.extra or {}).get("proposal") and i, timeout_s)
    if not inc:
        out["brief_s"] = "no brief"
        return out
    out["brief_s"] = f"{time.monotonic() - t0:.2f}"
    channel = inc.channel_id
    proposal = (inc.extra or {}).get("proposal") or {}
    action_id = proposal.get("action_id")
    msg = _wait(lambda: _button_message(demo, channel, ActionId.APPROVE), 15)
    if msg is None or action_id is None:
        out["approve"] = f"no approval card (proposal mode {proposal.get('mode')}: {proposal.get('policy_reasons')})"
        return out
    delivery = demo.emulator.people.click(APPROVER, channel, msg["ts"], ActionId.APPROVE).result(timeout=10)
    out["approve"] = "ok" if delivery.ok else f"click answered {delivery.status}"

    def action_state() -> str:
        with demo.bot.db.session() as s:
            a = s.get(Action, action_id)
            return a.state if a else "missing"

    state = _wait(lambda: (st := action_state()) in ("executing", "verifying", "done", "reverted", "failed") and st, 20)
    out["executed"] = "ok" if state else f"action stayed {action_state()}"
    final = _wait(lambda: (st := action_state()) in ("done", "reverted", "failed") and st, timeout_s)
    out["verified"] = "ok" if final == "done" else f"action ended {final or action_state()}"
    demo.emulator.people.slash_command(APPROVER, channel, "/aisre", "resolve").result(timeout=10)
    pm = _wait(lambda: (i := demo.incident()) is not None and (i.extra or {}).get("postmortem"), 30)
    out["postmortem"] = "ok" if pm and Path(pm).exists() else "no postmortem draft"
    return out


def summary_line(result: dict[str, str]) -> str:
    return " ".join(f"{k}={v.replace(' ', '_')}" for k, v in result.items())
