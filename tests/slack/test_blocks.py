"""Every builder: a committed snapshot, and valid by Slack's limits (our list and the emulator's)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.actions.registry import Registry
from bot.incidents.views import HypothesisItem, TimelineItem
from bot.slack import blocks as b
from bot.slack.ids import ActionId, BlockId, CallbackId, param_block
from bot.slack.values import ApprovalValue, CommandModalMeta, ProposalValue
from tests.slack import factories as f
from tests.slack.limits import assert_valid, assert_valid_view
from tests.slack.snapshots import assert_snapshot


def _snap(name: str, msg: b.Message) -> None:
    assert_valid(msg)
    assert_snapshot(name, {"text": msg.text, "blocks": msg.blocks})


def _buttons(msg: b.Message) -> dict[str, dict]:
    return {el["action_id"]: el for blk in msg.blocks if blk["type"] == "actions" for el in blk["elements"]}


@pytest.mark.parametrize("mode", ["needs_approval", "advisory", "shadow", "refuse", "execute"])
def test_brief_per_policy_mode(mode: str) -> None:
    v = f.view(proposal=f.proposal(mode))
    msg = b.brief_message(v)
    _snap(f"brief_{mode}", msg)
    assert msg.blocks[0]["text"]["text"] == ":rotating_light: INC-42 · P1 · checkout error rate above 5%"
    buttons = _buttons(msg)
    if mode == "needs_approval":
        assert set(buttons) == {ActionId.APPROVE, ActionId.DENY}
        value = ApprovalValue.parse(buttons[ActionId.APPROVE]["value"])
        assert value is not None and value.action_id == 7
        assert buttons[ActionId.APPROVE]["style"] == "primary" and buttons[ActionId.DENY]["style"] == "danger"
    elif mode == "advisory":
        assert set(buttons) == {ActionId.RUN}
        assert ProposalValue.parse(buttons[ActionId.RUN]["value"]) == ProposalValue(
            incident_id=42, action_id=7, action="k8s.rollout_undo", target="checkout")
    else:
        assert buttons == {}


def test_brief_cites_evidence_and_sections() -> None:
    msg = b.brief_message(f.view())
    text = "\n".join(blk.get("text", {}).get("text", "") for blk in msg.blocks if blk["type"] == "section")
    assert "82% confidence" in text and "avg:trace.http.errors{service:checkout}" in text
    assert "<https://app.datadoghq.com/metric/explorer?q=checkout|E1>" in text
    assert "INC-17" in text and "Correlated changes" in text and "Runbooks" in text
    assert "<@U0BOB>" in text  # mentions survive escaping
    assert {blk.get("block_id") for blk in msg.blocks} >= {BlockId.BRIEF_HEADER, BlockId.BRIEF_PROPOSAL}


def test_brief_placeholder_llm_note_truncated_alerts_maintenance() -> None:
    v = f.view(investigating=True, hypotheses=(), proposal=None, changes=(), runbooks=(), similar=(),
               llm_note="LLM unavailable: timeout", truncated_alerts=37, maintenance="payments until 03:00")
    msg = b.brief_message(v)
    _snap("brief_investigating", msg)
    notes = " ".join(e["text"] for blk in msg.blocks if blk["type"] == "context" for e in blk["elements"])
    assert "Investigating" in notes and "LLM unavailable" in notes and "+37 more alerts" in notes
    assert "Maintenance" in notes
    assert msg.text.endswith("investigating…")


def test_brief_irreversible_approve_has_confirm() -> None:
    v = f.view(proposal=f.proposal(action="pg.terminate_query"), extra={"reversible": False, "params_hash": "h"})
    approve = _buttons(b.brief_message(v))[ActionId.APPROVE]
    assert "confirm" in approve and ApprovalValue.parse(approve["value"]).params_hash == "h"  # type: ignore[union-attr]


def test_brief_escapes_user_text() -> None:
    v = f.view(title="a <b> & c", hypotheses=(), proposal=None)
    text = b.brief_message(v).blocks[1]["fields"][0]["text"]
    assert "a &lt;b&gt; &amp; c" in text


def test_status_update() -> None:
    msg = b.status_update("Rolled back checkout to revision 41", f.T0 + timedelta(minutes=2, seconds=13))
    _snap("status_update", msg)
    assert msg.blocks[0]["text"]["text"] == "`01:42:13` Rolled back checkout to revision 41"


@pytest.mark.parametrize("state", ["awaiting_approval", "approved", "denied", "expired", "refused"])
def test_approval_card_states(state: str) -> None:
    card = f.card()
    if state != "awaiting_approval":
        card = b.decided(card, state, by="U0ALICE" if state in ("approved", "denied") else None,
                         at=f.T0 + timedelta(minutes=3), note="policy: freeze" if state == "refused" else None)
    msg = b.approval_card(card)
    _snap(f"approval_{state}", msg)
    buttons = _buttons(msg)
    if state == "awaiting_approval":
        assert set(buttons) == {ActionId.APPROVE, ActionId.DENY}
        assert "confirm" not in buttons[ActionId.APPROVE]
    else:
        assert buttons == {}
        assert any(blk.get("block_id") == BlockId.APPROVAL_DECISION for blk in msg.blocks)


def test_approval_card_irreversible_confirms() -> None:
    msg = b.approval_card(f.card(action="pg.terminate_query", reversible=False, risk="high"))
    approve = _buttons(msg)[ActionId.APPROVE]
    assert approve["confirm"]["style"] == "danger"
    _snap("approval_irreversible", msg)


def test_help_lists_every_command() -> None:
    from bot.slack.commands import USAGE

    msg = b.help_message()
    _snap("help", msg)
    text = "\n".join(blk["text"]["text"] for blk in msg.blocks if blk["type"] == "section")
    for usage, _ in USAGE.values():
        assert usage.replace("<", "&lt;").replace(">", "&gt;") in text


def test_status_timeline_catchup_audit_error() -> None:
    v = f.view()
    _snap("status_reply", b.status_reply(v))
    _snap("timeline", b.timeline_message(v))
    _snap("catchup", b.catchup_message(v))
    entries = [b.AuditLine(f.T0, "U0ALICE", "action.approved", "<@U0ALICE> approved k8s.rollout_undo", "INC-42")]
    _snap("audit", b.audit_message(entries))
    _snap("audit_empty", b.audit_message([]))
    _snap("error", b.error_reply("replicas must be a whole number", "/aisre scale <service> <replicas>"))


def test_home_view() -> None:
    rows = [b.AutonomyRow("default", "supervised"), b.AutonomyRow("checkout / k8s.rollout_restart", "autonomous")]
    view = b.home_view([f.view(), f.view(id=43, key="INC-43", severity="P3", channel_id=None)], rows,
                       freeze=True, user="U0ALICE")
    assert_valid_view(view)
    assert_snapshot("home", view)
    assert b.home_view([], [])["type"] == "home"


def test_command_modal_from_schema_round_trip() -> None:
    reg = Registry.builtin()
    meta = CommandModalMeta(action="k8s.scale", channel="C1", user="U0ALICE", incident_key="INC-42")
    schema = reg.json_schema("k8s.scale")
    modal = b.command_modal("k8s.scale", schema, meta, initial={"deployment": "checkout"},
                            summary=reg.get("k8s.scale").summary)
    assert_valid_view(modal)
    assert_snapshot("modal_k8s_scale", modal)
    assert modal["callback_id"] == CallbackId.COMMAND_MODAL
    assert CommandModalMeta.parse(modal["private_metadata"]) == meta
    values: dict[str, dict[str, Any]] = {param_block("deployment"): {ActionId.PARAM_INPUT: {"type": "plain_text_input", "value": "checkout"}},
              param_block("replicas"): {ActionId.PARAM_INPUT: {"type": "number_input", "value": "4"}},
              param_block("namespace"): {ActionId.PARAM_INPUT: {"type": "plain_text_input", "value": None}}}
    params, errors = b.read_submission(values, schema)
    assert params == {"deployment": "checkout", "replicas": 4} and errors == {}
    assert b.errors_for(["replicas: Input should be less than or equal to 50"], schema) == {
        param_block("replicas"): "Input should be less than or equal to 50"}


def test_every_registry_action_makes_a_valid_modal() -> None:
    reg = Registry.builtin()
    for name in reg.names():
        meta = CommandModalMeta(action=name, channel="C1", user="U1")
        assert_valid_view(b.command_modal(name, reg.json_schema(name), meta))


def test_huge_brief_is_still_valid() -> None:
    huge = "x" * 10_000
    timeline = tuple(TimelineItem(f.T0 + timedelta(seconds=i), f"step {i} " + huge, actor="U0ALICE")
                     for i in range(200))
    hyps = tuple(HypothesisItem(i + 1, "cat " + huge, huge, 0.5, tuple(f"E{j}" for j in range(30)), huge)
                 for i in range(40))
    evidence = tuple(f.evidence(j, query=huge, summary=huge, link="https://x.example/" + "q" * 2900)
                     for j in range(30))
    v = f.view(title=huge, severity_reason=huge, services=tuple(f"svc{i}" for i in range(500)),
               timeline=timeline, hypotheses=hyps, evidence=evidence, changes=evidence,
               runbooks=tuple((huge, "https://r.example/" + str(i)) for i in range(100)),
               similar=(huge,) * 50, llm_note=huge, maintenance=huge, truncated_alerts=10**6,
               proposal=f.proposal(reason=huge, params={f"k{i}": huge for i in range(20)}))
    for build in (b.brief_message, b.status_reply, b.timeline_message, b.catchup_message):
        assert_valid(build(v))
    assert "earlier entries not shown" in str(b.timeline_message(v).blocks)
    assert_valid(b.audit_message([b.AuditLine(f.T0, huge, huge, huge, huge)] * 500))
    assert_valid(b.approval_card(f.card(params={f"k{i}": huge for i in range(30)}, reason=huge,
                                        summary=huge, action="a" * 300, target=huge, evidence=evidence)))
    assert_valid(b.error_reply(huge, huge))
    assert_valid(b.status_update(huge, f.T0))
    assert_valid(b.text_reply(huge + "\n" + huge * 30))
    assert_valid_view(b.home_view([v] * 80, [b.AutonomyRow(huge, huge, huge)] * 200, freeze=True, user="U1"))


@pytest.mark.parametrize("status", ["investigating", "resolved"])
def test_announcement(status: str) -> None:
    msg = b.announcement(f.view(status=status, channel_id="C0INC42"))
    _snap(f"announcement_{status}", msg)
    assert msg.text.startswith(":rotating_light: INC-42 · P1 · checkout error rate above 5%")
    facts = msg.blocks[1]["elements"][0]["text"]
    assert "Join <#C0INC42>" in facts and "impact: checkout, payments" in facts
    if status == "resolved":
        assert "likely" not in facts  # a resolved incident's announcement no longer guesses
    else:
        assert "likely bad deploy (checkout revision 42), 82%" in facts
