"""Every example scenario, end to end: the alert as its real source sends it -> the brief in Slack.

For each scenario: the sandbox servers replay it, the bot runs as in production (HTTP
intake, worker pool, the Slack emulator as Slack), the alert is fired (Datadog webhook,
Alertmanager v4 or heartbeat), and we read what reached the emulator: an incident channel
``inc-YYYYMMDD-<service>-<id>``, the brief's blocks by block id, the chart upload, and the
answer to ``/aisre status`` in that channel. Nothing here is timed.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox.demo import APPROVER, Demo
from bot.sandbox.firing import build, fire
from bot.slack.ids import ActionId, BlockId
from tests.e2e.conftest import after, block_text, by_id, examples, start_scenario, wait

EVIDENCE_ID = re.compile(r"`(ev-\d+)`|\|(ev-\d+)>")
PROPOSAL_NOTES = (":lock:", ":ghost:", ":bulb:", ":no_entry:", ":robot_face:", ":white_check_mark:",
                  ":hammer_and_wrench:", ":eyes:", ":x:", ":leftwards_arrow_with_hook:")


@pytest.fixture(params=examples(), ids=lambda p: p.stem)
def demo(request: pytest.FixtureRequest, tmp_path: Path, knowledge_template: Path) -> Any:
    d = start_scenario(request.param, tmp_path, knowledge_template)
    try:
        yield d
    finally:
        d.stop()


def _final_brief(d: Demo) -> tuple[Any, dict[str, Any]]:
    """The incident once the brief is final (the chart is uploaded after the final brief)."""
    st = d.emulator.state

    def done() -> Any:
        inc = d.incident()
        if inc is None or not inc.channel_id or not inc.brief_ts:
            return None
        if not any(c.get("channel_id") == inc.channel_id for c in st.calls_to("files.completeUploadExternal")):
            return None
        return inc

    inc = wait(done, 30)
    assert inc is not None, f"no incident with a brief and a chart; calls: {[m for m, _ in st.calls][-10:]}"
    msg = st.find_message(inc.channel_id, inc.brief_ts)
    assert msg is not None, "the brief's ts is not a message in the incident channel"
    return inc, msg


def test_scenario_brief_end_to_end(demo: Demo) -> None:
    scenario = demo.replay.scenario
    resp = fire(build(demo.replay, demo.settings.public_url, demo.settings))
    assert resp.status_code == 202, resp.text
    inc, msg = _final_brief(demo)
    st = demo.emulator.state
    view = demo.bot.incidents.view(inc.id)
    assert view is not None
    blocks: list[dict[str, Any]] = msg["blocks"]

    # the incident channel, named for the day, the service and the incident
    assert inc.service == scenario.alert.service
    name = st.channels[inc.channel_id].name
    assert re.fullmatch(rf"inc-\d{{8}}-{re.escape(inc.service)}-{inc.id}", name), name
    assert [c for c in st.channels.values() if c.name.startswith("inc-")] == [st.channels[inc.channel_id]]

    # what is broken, severity and why, impact
    header = block_text(by_id(blocks, BlockId.BRIEF_HEADER) or {})
    assert inc.key in header and inc.severity in header
    summary = block_text(by_id(blocks, BlockId.BRIEF_SUMMARY) or {})
    assert "What is broken" in summary and html.escape(inc.title, quote=False) in summary
    assert "Severity" in summary and inc.severity in summary
    assert inc.severity_reason and html.escape(inc.severity_reason, quote=False) in summary
    assert "Impact" in summary and scenario.alert.service in summary
    notes = block_text(by_id(blocks, BlockId.BRIEF_NOTES) or {})
    assert "Investigating" not in notes

    # a timeline of what happened so far
    timeline = block_text(by_id(blocks, BlockId.BRIEF_TIMELINE) or {})
    assert "Incident opened" in timeline and "Investigation:" in timeline

    # correlated changes, citing evidence the brief holds
    evidence_ids = {e.id for e in (*view.evidence, *view.changes)}
    if scenario.events:
        changes = block_text(by_id(blocks, BlockId.BRIEF_CHANGES) or {})
        cited = {a or b for a, b in EVIDENCE_ID.findall(changes)}
        assert cited and cited <= evidence_ids, (cited, evidence_ids)

    # the recommended first step as an action card
    proposal = (inc.extra or {}).get("proposal")
    if proposal is not None:
        assert "Recommended first step" in block_text(by_id(blocks, BlockId.BRIEF_PROPOSAL) or {})
        mode = view.proposal.mode if view.proposal else None
        if mode == "needs_approval":
            buttons = [e.get("action_id") for e in (by_id(blocks, BlockId.BRIEF_PROPOSAL_ACTIONS) or {})
                       .get("elements", [])]
            assert buttons == [ActionId.APPROVE, ActionId.DENY]
            cards = [m for m in st.messages(inc.channel_id) if by_id(m.get("blocks") or [], BlockId.APPROVAL_ACTIONS)]
            assert len(cards) == 1, "one approval card"
        else:
            note = " ".join(block_text(b) for b in after(blocks, BlockId.BRIEF_PROPOSAL))
            assert any(n in note for n in PROPOSAL_NOTES), (mode, note)

    # the chart went up to the incident channel as a PNG
    uploads = [c for c in st.calls_to("files.completeUploadExternal") if c.get("channel_id") == inc.channel_id]
    assert len(uploads) == 1
    files = list(st.files.values())
    assert files and all(f.data and f.data[:8] == b"\x89PNG\r\n\x1a\n" for f in files)

    # /aisre status in the channel answers with this incident
    d = demo.emulator.people.slash_command(APPROVER, inc.channel_id, "/aisre", "status").result(timeout=10)
    assert d.ok, d.body

    def status_reply() -> str:
        texts = [m["message"].get("text", "") + " " + " ".join(block_text(b) for b in m["message"].get("blocks") or [])
                 for m in st.ephemeral_messages(inc.channel_id, APPROVER)]
        return next((t for t in texts if inc.key in t), "")

    reply = wait(status_reply, 10)
    assert reply and inc.severity in reply, st.ephemeral_messages(inc.channel_id, APPROVER)

    # ranked hypotheses citing evidence that exists in the brief
    heading = by_id(blocks, BlockId.BRIEF_HYPOTHESES)
    assert heading is not None, [block_text(b) for b in blocks]
    hyps = [block_text(b) for b in after(blocks, BlockId.BRIEF_HYPOTHESES) if b.get("type") == "section"]
    assert hyps
    ranks = [int(m.group(1)) for h in hyps if (m := re.match(r"\*(\d+)\. ", h))]
    assert ranks == list(range(1, len(hyps) + 1)), hyps
    for h in hyps:
        cited = {a or b for a, b in EVIDENCE_ID.findall(h)}
        assert cited, f"hypothesis cites no evidence: {h}"
        assert cited <= evidence_ids and "not in this brief" not in h, (cited, evidence_ids)
