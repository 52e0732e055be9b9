"""Learning end to end: what a resolved incident leaves behind, through the emulator and the sandbox.

A postmortem draft (file + channel message), a proposed runbook diff applied only through an
approved ``runbooks.apply_update`` card (into a temporary copy of runbooks/), incident memory
cited by the next incident like it, and for a false positive an alert-tuning proposal.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.sandbox.demo import Demo
from tests.e2e.sandbox_harness import (
    ALICE,
    REPO,
    action,
    actions,
    briefed,
    card,
    click,
    command,
    incidents,
    start_demo,
    state_in,
    texts,
    wait,
)

pytestmark = pytest.mark.timeout(150)


@pytest.fixture
def demos() -> Iterator[list[Demo]]:
    started: list[Demo] = []
    yield started
    for d in started:
        d.stop()


def _resolved(demo: Demo, channel: str, index: int = 0) -> dict:
    command(demo, ALICE, channel, "resolve")
    inc = wait(lambda: (i := incidents(demo)[index]).extra and i.extra.get("learned") and i, 30, "learning")
    return dict(inc.extra)


def test_resolve_drafts_a_postmortem_proposes_a_runbook_diff_and_remembers(tmp_path: Path, demos: list[Demo]) -> None:
    demo = start_demo("deploy-regression", tmp_path, knowledge=True)
    demos.append(demo)
    assert demo.bot.knowledge.index is not None, demo.bot.knowledge.error
    runbooks = Path(demo.settings.knowledge.runbooks_dir)
    before_repo = {p.name: p.read_text() for p in (REPO / "runbooks").glob("*.md")}
    inc = briefed(demo)
    channel = inc.channel_id
    fix = int(inc.extra["proposal"]["action_id"])
    click(demo, ALICE, channel, wait(lambda: (m := card(demo, channel, fix)) and m["ts"], 15, "the card"))
    assert state_in(demo, fix, {"done", "reverted", "failed"}, 60) == "done", action(demo, fix).error

    extra = _resolved(demo, channel)
    pm = Path(extra["postmortem"])
    assert pm.exists() and inc.key in pm.read_text()
    wait(lambda: any("Postmortem draft" in t for t in texts(demo, channel)), 10, "the postmortem message")
    # posted after the memory is indexed, so it can trail the postmortem message
    wait(lambda: any(":books: Proposed" in t for t in texts(demo, channel)), 15, "the runbook proposal message")
    proposal = extra["runbook_proposal"]
    target = Path(proposal["path"])
    assert target.resolve().parent == runbooks.resolve(), proposal["path"]  # the configured copy, not the repo
    assert not target.exists() or target.read_text() != proposal["text"], "nothing is written before Approve"

    update = wait(lambda: actions(demo, "runbooks.apply_update"), 10, "the runbook update action")[-1]
    assert update.state == "awaiting_approval"
    click(demo, ALICE, channel, wait(lambda: (m := card(demo, channel, update.id)) and m["ts"], 15, "its card"))
    assert state_in(demo, update.id, {"done", "failed", "refused"}, 30) == "done", action(demo, update.id).error
    assert target.read_text() == proposal["text"]
    assert {p.name: p.read_text() for p in (REPO / "runbooks").glob("*.md")} == before_repo, "the repo is untouched"

    # a second incident like this one cites it: past incidents are evidence (source incident_memory)
    wait(lambda: demo.bot.knowledge.memory is not None and demo.bot.knowledge.memory.records(inc.service), 20,
         "the resolved incident in memory")
    command(demo, ALICE, channel, f"declare {inc.service} {inc.title}")
    second = wait(lambda: len(incidents(demo)) > 1 and (i := incidents(demo)[1]).extra
                  and i.extra.get("investigated_at") and i, 40, "the second incident's investigation")
    view = demo.bot.incidents.view(second.id)
    seen = [e for e in view.evidence if e.source == "incident_memory"]
    assert seen and inc.key in seen[0].summary, [e.summary for e in view.evidence]
    assert view.similar and inc.key in view.similar[0]  # shown on the brief as "seen before"


def test_a_false_positive_gets_an_alert_tuning_proposal_with_its_numbers(tmp_path: Path, demos: list[Demo]) -> None:
    demo = start_demo("false-positive", tmp_path)
    demos.append(demo)
    inc = briefed(demo)
    assert inc.extra["proposal"].get("action_id") is None, inc.extra["proposal"]
    extra = _resolved(demo, inc.channel_id)
    assert Path(extra["postmortem"]).exists()
    tuning = extra.get("tuning_proposal")
    assert tuning, texts(demo, inc.channel_id)
    assert tuning["threshold"] > 0 and tuning["for_minutes"] >= 1 and tuning["rationale"]
    wait(lambda: any("Proposed alert tuning" in t and f"{tuning['threshold']:g}" in t
                     for t in texts(demo, inc.channel_id)), 10, "the tuning message")
    assert not actions(demo, "runbooks.apply_update"), "a false positive proposes tuning, not a runbook"
