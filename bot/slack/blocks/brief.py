"""The incident brief: what is broken, why we think so, and the first step to take.

Order (the 50-block budget is spent top-down, so the important parts survive a cut):
header, summary fields, notes (investigating / LLM / truncated alerts / maintenance),
the recommended first step with its buttons, hypotheses with the evidence they cite,
correlated changes, runbooks, "seen before", a compact timeline, a footer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.incidents.views import EvidenceItem, HypothesisItem, IncidentView, ProposalItem
from bot.slack.blocks import kit
from bot.slack.blocks.kit import Block, Message, escape
from bot.slack.ids import ActionId, BlockId
from bot.slack.values import ApprovalValue, ProposalValue

MAX_HYPOTHESES = 5
MAX_TIMELINE = 8
MAX_CHANGES = 6
SEVERITY_EMOJI = {"P0": ":fire:", "P1": ":rotating_light:", "P2": ":warning:", "P3": ":information_source:"}
ACTION_STATE_NOTES = {
    "approved": ":white_check_mark: Approved; running it next",
    "executing": ":hammer_and_wrench: Running; progress follows in this channel",
    "verifying": ":eyes: Ran; verifying that it helped",
    "done": ":white_check_mark: Done: the step ran and was verified",
    "reverted": ":leftwards_arrow_with_hook: The step did not help and was reverted",
    "failed": ":x: The step failed; see this channel for details",
    "denied": ":no_entry_sign: Denied: nothing was done",
    "expired": ":hourglass: The approval request expired: nothing was done",
}
STATUS_EMOJI = {"investigating": ":mag:", "identified": ":dart:", "mitigating": ":hammer_and_wrench:",
                "monitoring": ":eyes:", "resolved": ":white_check_mark:", "open": ":red_circle:"}


def title_line(view: IncidentView) -> str:
    emoji = SEVERITY_EMOJI.get(view.severity, ":rotating_light:")
    return f"{emoji} {view.key} · {view.severity} · {view.title}"


def evidence_line(ev: EvidenceItem) -> str:
    """`` `E3` datadog · `query` → summary`` (linked when the evidence has a link)."""
    ident = kit.link(ev.link, ev.id) if ev.link else f"`{escape(ev.id)}`"
    status = "" if ev.status in ("ok", "success") else f" _({escape(ev.status)})_"
    query = kit.truncate(ev.query, 300).replace("`", "'")
    return f"{ident} {escape(ev.source)} · `{escape(query)}` → {escape(kit.truncate(ev.summary, 500))}{status}"


def hypothesis_text(h: HypothesisItem, evidence: Mapping[str, EvidenceItem]) -> str:
    culprit = f" — *{escape(h.culprit)}*" if h.culprit else ""
    who = "" if h.reasoner == "deterministic" else f" _({escape(h.reasoner)})_"
    lines = [f"*{h.rank}. {escape(h.category)}*{culprit} · {h.confidence:.0%} confidence{who}"]
    if h.explanation:
        lines.append(escape(kit.truncate(h.explanation, 900)))
    for eid in h.evidence:
        ev = evidence.get(eid)
        lines.append("• " + (evidence_line(ev) if ev else f"`{escape(eid)}` _(not in this brief)_"))
    return "\n".join(lines)


def proposal_text(p: ProposalItem) -> str:
    what = f"`{escape(p.action)}`" if p.action else escape(p.kind)
    params = ", ".join(f"{escape(str(k))}={escape(str(v))}" for k, v in p.params.items())
    lines = [f"*Recommended first step:* {what} on *{escape(p.target)}*" + (f" ({params})" if params else "")]
    if p.reason:
        lines.append(escape(p.reason))
    return "\n".join(lines)


def proposal_blocks(view: IncidentView, p: ProposalItem) -> list[Block]:
    """The action card: buttons for needs_approval and advisory; a note for shadow, refuse, execute."""
    out: list[Block] = [kit.section(proposal_text(p), BlockId.BRIEF_PROPOSAL)]
    reasons = "; ".join(escape(r) for r in p.policy_reasons)
    mode = p.mode or ("needs_approval" if p.requires_approval else "advisory")
    if mode == "needs_approval" and p.action_id is not None and p.action:
        shown = str(view.extra.get("params_hash") or _hash(p))
        value = ApprovalValue(action_id=p.action_id, params_hash=shown).dump()
        irreversible = view.extra.get("reversible") is False
        approve_confirm = kit.confirm(
            "Approve this step?", f"{p.action} on {p.target} cannot be undone automatically.", "Approve"
        ) if irreversible else None
        out.append(kit.actions([
            kit.button("Approve", ActionId.APPROVE, value=value, style="primary", confirm_dialog=approve_confirm),
            kit.button("Deny", ActionId.DENY, value=value, style="danger"),
        ], BlockId.BRIEF_PROPOSAL_ACTIONS))
        out.append(kit.context([":lock: Needs approval" + (f": {reasons}" if reasons else "")]))
    elif mode == "advisory" and p.action:
        value = ProposalValue(incident_id=view.id, action_id=p.action_id, action=p.action, target=p.target).dump()
        if p.requires_approval:
            btn = kit.button("Request approval", ActionId.REQUEST_APPROVAL, value=value, style="primary")
        else:
            btn = kit.button("Run", ActionId.RUN, value=value, style="primary")
        out.append(kit.actions([btn], BlockId.BRIEF_PROPOSAL_ACTIONS))
        out.append(kit.context([":bulb: Advisory: nothing runs until someone asks"
                                + (f" ({reasons})" if reasons else "")]))
    elif mode == "shadow":
        out.append(kit.context([":ghost: Shadow mode: this is what I would do; nothing was done"
                                + (f". {reasons}" if reasons else "")]))
    elif mode == "refuse":
        out.append(kit.context([f":no_entry: Refused by policy: {reasons or 'no reason given'}"]))
    elif mode == "execute":
        out.append(kit.context([":robot_face: Running automatically; progress follows in this channel"
                                + (f" ({reasons})" if reasons else "")]))
    elif mode == "advisory":
        out.append(kit.context([":bulb: Advisory: no registry action for this step"]))
    elif mode in ACTION_STATE_NOTES:  # the step's action moved on: say where it is
        out.append(kit.context([ACTION_STATE_NOTES[mode]]))
    return out


def _hash(p: ProposalItem) -> str:
    from bot.actions.approvals import params_hash

    return params_hash(p.action or "", p.params)


def impact_text(view: IncidentView) -> str:
    """The affected services, escaped (empty when none is known)."""
    return ", ".join(escape(s) for s in (view.services or ((view.service,) if view.service else ())))


def status_text(view: IncidentView) -> str:
    return f"{STATUS_EMOJI.get(view.status, '')} {escape(view.status)}".strip()


def summary_blocks(view: IncidentView) -> list[Block]:
    services, status = impact_text(view), status_text(view)
    pairs = [
        ("What is broken", escape(view.title)),
        ("Severity", f"*{escape(view.severity)}* — {escape(view.severity_reason)}"
         if view.severity_reason else f"*{escape(view.severity)}*"),
        ("Impact", services or "_unknown_"),
        ("Status", status),
        ("Opened", kit.when(view.opened_at)),
    ]
    if view.channel_id:
        pairs.append(("Channel", f"<#{view.channel_id}>"))
    return [kit.fields_section(pairs, BlockId.BRIEF_SUMMARY)]


def notes(view: IncidentView) -> list[str]:
    out = []
    if view.investigating:
        out.append(":hourglass_flowing_sand: *Investigating…* gathering metrics, logs, deploys and changes; "
                   "this brief updates when done")
    if view.llm_note:
        out.append(f":robot_face: {escape(view.llm_note)}; hypotheses come from the deterministic ranker")
    if view.truncated_alerts:
        out.append(f":heavy_plus_sign: +{view.truncated_alerts} more alerts grouped into this incident")
    if view.maintenance:
        out.append(f":construction: Maintenance: {escape(view.maintenance)}")
    return out


def timeline_lines(view: IncidentView, limit: int | None = None, *, width: int = 2500) -> tuple[list[str], int]:
    """The last ``limit`` timeline entries as lines, and how many earlier ones were left out."""
    items = view.timeline if limit is None else view.timeline[-limit:]
    lines = [f"`{kit.hhmmss(t.at)}` {escape(kit.truncate(' '.join(t.text.split()), width))}"
             + (f" — {kit.who(t.actor)}" if t.actor else "") for t in items]
    return lines, len(view.timeline) - len(items)


def brief_blocks(view: IncidentView) -> list[Block]:
    blocks: list[Block] = [kit.header(title_line(view), BlockId.BRIEF_HEADER), *summary_blocks(view)]
    if extra := notes(view):
        blocks.append(kit.context(extra, BlockId.BRIEF_NOTES))
    if view.proposal is not None:
        blocks.extend(proposal_blocks(view, view.proposal))
    evidence = {e.id: e for e in (*view.evidence, *view.changes)}
    if view.hypotheses:
        blocks.append(kit.divider())
        ranked = sorted(view.hypotheses, key=lambda h: h.rank)
        shown = ranked[:MAX_HYPOTHESES]
        blocks.append(kit.section("*Hypotheses*", BlockId.BRIEF_HYPOTHESES))
        blocks.extend(kit.section(hypothesis_text(h, evidence)) for h in shown)
        if len(ranked) > len(shown):
            blocks.append(kit.context([kit.more_note(len(ranked) - len(shown), "see thread")]))
    elif not view.investigating:
        blocks.append(kit.context([":grey_question: No hypothesis yet: the evidence does not point anywhere"]))
    if view.changes:
        lines = [evidence_line(c) for c in view.changes[:MAX_CHANGES]]
        if len(view.changes) > MAX_CHANGES:
            lines.append(kit.more_note(len(view.changes) - MAX_CHANGES))
        blocks.extend(kit.sections(lines, max_blocks=1, title="*Correlated changes*",
                                   block_id=BlockId.BRIEF_CHANGES))
    if view.runbooks:
        lines = [f"• {kit.link(ref, t)}" for t, ref in view.runbooks]
        blocks.extend(kit.sections(lines, max_blocks=1, title="*Runbooks*", block_id=BlockId.BRIEF_RUNBOOKS))
    if view.similar:
        blocks.extend(kit.sections([f"• {escape(s)}" for s in view.similar], max_blocks=1,
                                   title="*Seen before*", block_id=BlockId.BRIEF_SIMILAR))
    if view.timeline:
        lines, earlier = timeline_lines(view, MAX_TIMELINE, width=300)
        if earlier:
            lines.insert(0, f"{kit.ELLIPSIS}{earlier} earlier (`/aisre timeline {view.key}`)")
        blocks.extend(kit.sections(lines, max_blocks=1, title="*Timeline*", block_id=BlockId.BRIEF_TIMELINE))
    blocks.append(kit.context([f"{view.key} · `/aisre status {view.key}` · `/aisre timeline {view.key}` · "
                               "`/aisre catchup` · :pushpin: a message to add it to the timeline"],
                              BlockId.BRIEF_FOOTER))
    return kit.finish(blocks)


def brief_message(view: IncidentView) -> Message:
    """The incident brief (also the "investigating…" placeholder while ``view.investigating``)."""
    text = title_line(view)
    if view.investigating:
        text += " — investigating…"
    return Message(kit.truncate(text, kit.FALLBACK_TEXT), brief_blocks(view))


def evidence_lines(items: Sequence[EvidenceItem]) -> list[str]:
    return [evidence_line(e) for e in items]
