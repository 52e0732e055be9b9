"""The approval card and its end states.

``approval_card(card)`` renders a :class:`ApprovalCard` by its ``state``: while
``awaiting_approval`` it carries Approve (primary; a confirm dialog for irreversible steps)
and Deny (danger); once ``approved``, ``denied``, ``expired`` or ``refused`` the buttons are
gone and a line says who decided and when. :func:`decided` makes the end-state copy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.incidents.views import EvidenceItem
from bot.slack.blocks import kit
from bot.slack.blocks.brief import evidence_line
from bot.slack.blocks.kit import Block, Message, escape
from bot.slack.ids import ActionId, BlockId
from bot.slack.values import ApprovalValue

RISK_EMOJI = {"low": ":large_green_circle:", "medium": ":large_yellow_circle:", "high": ":red_circle:"}
END_STATES = {
    "approved": ":white_check_mark: Approved",
    "denied": ":x: Denied",
    "expired": ":hourglass: Expired",
    "refused": ":no_entry: Refused",
}


@dataclass(frozen=True)
class ApprovalCard:
    """One pending (or decided) approval, as the card shows it."""

    action_id: int
    action: str
    target: str
    params: Mapping[str, object]
    params_hash: str
    risk: str
    reversible: bool
    expires_at: datetime
    summary: str = ""
    incident_key: str | None = None
    requested_by: str | None = None
    reason: str = ""
    evidence: tuple[EvidenceItem, ...] = ()
    state: str = "awaiting_approval"  # awaiting_approval | approved | denied | expired | refused
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str | None = None  # why it was refused, or what happened next


def decided(card: ApprovalCard, state: str, *, by: str | None, at: datetime, note: str | None = None) -> ApprovalCard:
    return dataclasses.replace(card, state=state, decided_by=by, decided_at=at, note=note)


def _params(card: ApprovalCard) -> str:
    if not card.params:
        return "_none_"
    return "\n".join(f"`{escape(str(k))}` = `{escape(str(v))}`" for k, v in card.params.items())


def approval_blocks(card: ApprovalCard) -> list[Block]:
    inc = f"{card.incident_key} · " if card.incident_key else ""
    blocks: list[Block] = [kit.header(f":raising_hand: {inc}Approve {card.action} on {card.target}?",
                                      BlockId.APPROVAL_HEADER)]
    body = [f"*Action:* `{escape(card.action)}`" + (f" — {escape(card.summary)}" if card.summary else ""),
            f"*Target:* {escape(card.target)}"]
    if card.reason:
        body.append(f"*Why:* {escape(card.reason)}")
    blocks.append(kit.section("\n".join(body), BlockId.APPROVAL_BODY))
    risk = f"{RISK_EMOJI.get(card.risk, ':white_circle:')} {escape(card.risk)}"
    undo = "reversible (checkpoint taken, reverted if metrics get worse)" if card.reversible \
        else ":warning: *cannot be undone*"
    blocks.append(kit.fields_section([
        ("Parameters", _params(card)),
        ("Risk", f"{risk}, {undo}"),
        ("Requested by", f"<@{card.requested_by}>" if card.requested_by else "ai-sre"),
        ("Expires", f"{kit.hhmmss(card.expires_at)} UTC"),
    ]))
    if card.evidence:
        blocks.extend(kit.sections([f"• {evidence_line(e)}" for e in card.evidence], max_blocks=1,
                                   title="*Evidence*"))
    if card.state == "awaiting_approval":
        value = ApprovalValue(action_id=card.action_id, params_hash=card.params_hash).dump()
        dialog = None if card.reversible else kit.confirm(
            "Run an irreversible step?",
            f"{card.action} on {card.target} cannot be undone. Approve only if you have checked the parameters.",
            "Approve", "Cancel", style="danger")
        blocks.append(kit.actions([
            kit.button("Approve", ActionId.APPROVE, value=value, style="primary", confirm_dialog=dialog),
            kit.button("Deny", ActionId.DENY, value=value, style="danger"),
        ], BlockId.APPROVAL_ACTIONS))
        blocks.append(kit.context([f"Only approvers can decide. Parameters hash `{card.params_hash[:12]}`."]))
    else:
        label = END_STATES.get(card.state, escape(card.state))
        who = f" by <@{card.decided_by}>" if card.decided_by else ""
        at = f" at {kit.hhmmss(card.decided_at)} UTC" if card.decided_at else ""
        line = f"*{label}*{who}{at}"
        if card.note:
            line += f"\n{escape(card.note)}"
        blocks.append(kit.section(line, BlockId.APPROVAL_DECISION))
    return kit.finish(blocks)


def approval_card(card: ApprovalCard) -> Message:
    if card.state == "awaiting_approval":
        text = f"Approval needed: {card.action} on {card.target}"
    else:
        text = f"{END_STATES.get(card.state, card.state)}: {card.action} on {card.target}"
    return Message(kit.truncate(text, kit.FALLBACK_TEXT), approval_blocks(card))
