"""End-to-end harness: the real bot, the Slack emulator and (for scenarios) the sandbox servers.

- ``EXAMPLES``: the shared example scenarios (read-only; referenced by path).
- ``knowledge_template``: a runbook index built once per session and copied into each
  stack's workdir, so every bot starts with a ready index instead of re-embedding the
  runbooks (seconds of CPU) behind the brief.
- ``start_scenario``: ``run_demo`` for one scenario with the alert not yet fired.
- ``Stack`` / ``start_stack``: the bot + emulator alone (no sandbox servers) on any database
  URL, for intake tests that drive the webhooks themselves.
- ``no_leaked_threads``: every module leaves no thread of its own running.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa

from bot.runtime import ServerThread
from bot.sandbox.demo import APPROVER, Demo, free_port, run_demo
from bot.sandbox.replay import Replay
from bot.sandbox.slack import start_emulator
from bot.scenarios import load_scenario
from bot.settings import Settings
from bot.slack.ids import BlockId
from bot.store.models import Incident

T = TypeVar("T")
EXAMPLES = Path("/work/shared/scenarios/examples")
SPEED = 20.0


def examples() -> list[Path]:
    return sorted(EXAMPLES.glob("*.yaml"))


def wait(cond: Callable[[], T], timeout_s: float = 20.0, poll_s: float = 0.05) -> T:
    """Poll until ``cond()`` is truthy; return its last value either way."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = cond()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(poll_s)


# --- Block Kit reading -----------------------------------------------------------------------


def block_text(block: dict[str, Any]) -> str:
    parts: list[str] = []
    t = block.get("text")
    if isinstance(t, dict):
        parts.append(str(t.get("text", "")))
    for f in block.get("fields") or []:
        parts.append(str(f.get("text", "")))
    for el in block.get("elements") or []:
        if isinstance(el, dict):
            txt = el.get("text")
            parts.append(str(txt.get("text", "")) if isinstance(txt, dict) else str(txt or ""))
    return "\n".join(p for p in parts if p)


def by_id(blocks: list[dict[str, Any]], block_id: str) -> dict[str, Any] | None:
    return next((b for b in blocks if b.get("block_id") == block_id), None)


def after(blocks: list[dict[str, Any]], block_id: str) -> list[dict[str, Any]]:
    """The blocks that follow ``block_id`` up to the next block with one of our ids."""
    out: list[dict[str, Any]] = []
    seen = False
    ours = {str(b) for b in BlockId}
    for b in blocks:
        if seen:
            if b.get("block_id") in ours:
                break
            out.append(b)
        elif b.get("block_id") == block_id:
            seen = True
    return out


# --- the runbook index, once -----------------------------------------------------------------


@pytest.fixture(scope="session")
def knowledge_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from bot.wiring.knowledge import Knowledge

    root = tmp_path_factory.mktemp("knowledge")
    base = Settings(database_url=f"sqlite:///{root / 'unused.db'}", data_dir=root)
    data = base.model_dump()
    data["knowledge"].update(chroma_path=str(root / "chroma"), postmortems_dir=str(root / "postmortems"))
    k = Knowledge(Settings.model_validate(data))
    k.start(background=False)
    assert k.index is not None, k.error
    return root / "chroma"


def _workdir(tmp: Path, template: Path) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    shutil.copytree(template, tmp / "chroma")
    return tmp


def start_scenario(path: Path, tmp: Path, template: Path, *, speed: float = SPEED) -> Demo:
    """``run_demo`` with a ready runbook index and the alert not fired yet."""
    demo = run_demo(path, speed=speed, workdir=_workdir(tmp, template), fire_alert=False)
    demo.bot.knowledge.ready.wait(30)
    return demo


# --- the bot and the emulator alone ----------------------------------------------------------


@dataclass
class Stack:
    replay: Replay
    settings: Settings
    emulator: Any
    bot: Any
    web: ServerThread
    url: str
    stops: list[Callable[[], None]] = field(default_factory=list)

    def incidents(self) -> list[Incident]:
        with self.bot.db.session() as s:
            return list(s.scalars(sa.select(Incident).order_by(Incident.id)))

    def incident_channels(self) -> list[str]:
        with self.emulator.state.lock:
            return sorted(c.name for c in self.emulator.state.channels.values() if c.name.startswith("inc-"))

    def stop(self) -> None:
        for fn in reversed(self.stops):
            with contextlib.suppress(Exception):
                fn()


def start_stack(scenario_path: Path, db_url: str, tmp: Path, template: Path) -> Stack:
    """The real bot (HTTP intake, Slack via the emulator) with the scenario's catalog, no sandbox."""
    from bot.wiring.bot import build_bot

    scenario = load_scenario(scenario_path)
    workdir = _workdir(tmp, template)
    stops: list[Callable[[], None]] = []
    try:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        base = Settings(database_url=db_url, data_dir=workdir, port=port, public_url=url, log_level="WARNING")
        emulator = start_emulator(f"{url}/slack/events", base.slack.signing_secret.get_secret_value(),
                                  base.slack.bot_token.get_secret_value(), retry_delays=(0.0,))
        stops.append(emulator.stop)
        data = base.model_dump()
        data["slack"].update(api_url=emulator.api_url, approvers=[APPROVER], admins=[APPROVER])
        data["knowledge"].update(chroma_path=str(workdir / "chroma"), postmortems_dir=str(workdir / "postmortems"))
        data["scheduler"].update(enabled=False)
        settings = Settings.model_validate(data)
        bot = build_bot(settings, catalog=scenario.catalog(), with_scheduler=False)
        bot.start()
        stops.append(bot.stop)
        bot.knowledge.ready.wait(30)
        web = ServerThread(bot.web, "127.0.0.1", port).start()
        stops.append(web.stop)
        return Stack(Replay(scenario), settings, emulator, bot, web, url, stops)
    except BaseException:
        for fn in reversed(stops):
            with contextlib.suppress(Exception):
                fn()
        raise


# --- hygiene ---------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def no_leaked_threads() -> Iterator[None]:
    before = {t.ident for t in threading.enumerate()}
    yield

    def leaked() -> list[str]:
        return sorted(t.name for t in threading.enumerate() if t.ident not in before and t.is_alive())

    wait(lambda: not leaked(), 15, 0.2)
    import sys
    import traceback

    frames = sys._current_frames()
    stacks = {t.name: "".join(traceback.format_stack(frames[t.ident])[-6:]) for t in threading.enumerate()
              if t.ident not in before and t.ident in frames}
    assert not leaked(), f"threads left running: {stacks}"
