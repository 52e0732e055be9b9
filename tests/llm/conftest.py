"""Fixtures: the Messages-API fake, a reasoner pointed at it, and an investigated scenario."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.actions.registry import Registry
from bot.llm import build_reasoner
from bot.llm.reasoner import LlmReasoner
from bot.sandbox.anthropic_fake import API_KEY, RunningFake, start_fake
from bot.settings import LlmSettings

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"


@pytest.fixture(scope="session")
def fake_server() -> Iterator[RunningFake]:
    fake = start_fake(hang_s=5.0)
    yield fake
    fake.stop()


@pytest.fixture
def fake(fake_server: RunningFake) -> RunningFake:
    fake_server.fake.reset()
    return fake_server


def _llm_settings(fake: RunningFake, **kw: Any) -> LlmSettings:
    return LlmSettings(api_key=SecretStr(API_KEY), base_url=fake.url, timeout_s=kw.pop("timeout_s", 5.0), **kw)


@pytest.fixture
def make_reasoner(fake: RunningFake) -> Any:
    def make(**kw: Any) -> LlmReasoner:
        r = build_reasoner(_llm_settings(fake, **kw), registry=Registry.builtin(), max_retries=0)
        assert r is not None
        return r
    return make


@pytest.fixture
def llm_settings(fake: RunningFake) -> Any:
    return lambda **kw: _llm_settings(fake, **kw)


@pytest.fixture
def reasoner(fake: RunningFake) -> LlmReasoner:
    r = build_reasoner(_llm_settings(fake), registry=Registry.builtin(), max_retries=0)
    assert r is not None
    return r


@dataclass
class Investigated:
    scenario: Any
    result: Any
    sources: Any
    catalog: Any


def _investigate(name: str, mutate: Any = None) -> Investigated:
    from bot.investigation.drill import alert_context, direct_sources
    from bot.investigation.pipeline import investigate
    from bot.sandbox.replay import Replay
    from bot.scenarios import load_scenario

    sc = load_scenario(SCENARIOS / name).without_truth()
    if mutate is not None:
        sc = mutate(sc)
    replay = Replay(sc)
    sources = direct_sources(replay)
    catalog = sc.catalog()
    result = investigate(alert_context=alert_context(sc, replay), sources=sources, catalog=catalog,
                         clock=replay.now)
    return Investigated(sc, result, sources, catalog)


@pytest.fixture(scope="session")
def investigate_scenario() -> Any:
    return _investigate


@pytest.fixture(scope="session")
def gateway() -> Investigated:
    return _investigate("config_regression-1-gateway-rate-limit.yaml")
