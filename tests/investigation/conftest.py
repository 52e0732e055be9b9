from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.investigation.drill import alert_context, direct_sources
from bot.investigation.pipeline import InvestigationResult, investigate
from bot.sandbox.replay import Replay
from bot.scenarios import load_scenario
from bot.scenarios.model import Scenario

EXAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "scenarios" / "examples"
if not EXAMPLES.is_dir():
    EXAMPLES = Path("/work/shared/scenarios/examples")


def run(scenario: Scenario) -> InvestigationResult:
    blind = scenario.without_truth()
    replay = Replay(blind)
    return investigate(alert_context=alert_context(blind, replay), sources=direct_sources(replay),
                       catalog=blind.catalog(), clock=replay.now)


@pytest.fixture
def investigate_example() -> Callable[[str], tuple[Scenario, InvestigationResult]]:
    def go(name: str) -> tuple[Scenario, InvestigationResult]:
        sc = load_scenario(EXAMPLES / f"{name}.yaml")
        return sc, run(sc)
    return go
