"""``aisre eval --reasoner llm``: the same drills, with the LLM reasoner folded in.

With ``AISRE_LLM__API_KEY`` unset (CI, a laptop) the reasoner talks to the local
Messages-API fake and its recorded replies; with a key it uses the configured
API. The drill JSON is the deterministic one with the combined ranking, plus an
``llm`` object (note, dropped claims, refused actions, usage) that scoring ignores.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from pydantic import SecretStr

from bot.llm import refine
from bot.llm.reasoner import LlmReasoner
from bot.scenarios.model import Scenario
from bot.settings import LlmSettings

DrillRunner = Callable[..., dict[str, Any]]


@contextlib.contextmanager
def llm_reasoner(settings: LlmSettings | None = None) -> Iterator[LlmReasoner]:
    """A reasoner from ``settings`` when they carry an API key, otherwise one against a local fake."""
    from bot.investigation.propose import default_registry
    from bot.llm import build_reasoner

    registry = default_registry()
    if settings is not None and settings.api_key is not None:
        r = build_reasoner(settings, registry=registry)
        assert r is not None
        yield r
        return
    from bot.sandbox.anthropic_fake import API_KEY, start_fake

    fake = start_fake()
    try:
        base = settings or LlmSettings()  # type: ignore[call-arg]
        s = base.model_copy(update={"api_key": SecretStr(API_KEY), "base_url": fake.url})
        r = build_reasoner(s, registry=registry, max_retries=0)
        assert r is not None
        yield r
    finally:
        fake.stop()


def run_llm_drill(scenario: Scenario, *, reasoner: LlmReasoner, direct: bool = False,
                  real_postgres: bool = False) -> dict[str, Any]:
    from bot.investigation.drill import alert_context, direct_sources, drill_json, server_sources
    from bot.investigation.pipeline import investigate
    from bot.sandbox.replay import Replay

    blind = scenario.without_truth()
    replay = Replay(scenario)
    ctx = alert_context(blind, replay)
    catalog = blind.catalog()
    with contextlib.ExitStack() as stack:
        if direct:
            sources = direct_sources(Replay(blind))
        else:
            sources, _notes = stack.enter_context(server_sources(replay, real_postgres=real_postgres))
        result = investigate(alert_context=ctx, sources=sources, catalog=catalog, clock=replay.now)
        combined = refine(result, reasoner=reasoner, sources=sources, catalog=catalog)
    out = drill_json(blind.id, combined.result)
    o = combined.outcome
    out["llm"] = {"note": o.llm_note, "dropped": [d.to_json() for d in o.dropped],
                  "refused": [r.to_json() for r in o.refused], "proposals": [p.to_json() for p in o.proposals],
                  "usage": o.usage.to_json(), "rounds": o.rounds}
    return out


@contextlib.contextmanager
def llm_runner(settings: LlmSettings | None = None) -> Iterator[DrillRunner]:
    """What ``aisre eval`` calls per scenario instead of ``run_drill``: ``run(scenario, direct=..., ...)``."""
    with llm_reasoner(settings) as r:
        def run(scenario: Scenario, **kw: Any) -> dict[str, Any]:
            return run_llm_drill(scenario, reasoner=r, **kw)
        yield run
