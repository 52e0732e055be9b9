"""Short replies: status lines, help, status, timeline, catch-up, audit, errors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.incidents.views import IncidentView
from bot.slack.blocks import kit
from bot.slack.blocks.brief import (
    notes,
    proposal_text,
    summary_blocks,
    timeline_lines,
    title_line,
)
from bot.slack.blocks.home import AutonomyRow
from bot.slack.blocks.kit import Block, Message, escape
from bot.slack.commands import USAGE


@dataclass(frozen=True)
class AuditLine:
    at: datetime
    actor: str
    kind: str
    text: str
    incident_key: str | None = None


def status_update(text: str, at: datetime) -> Message:
    """One timestamped line for the incident channel: "`01:42:13` Rolled back checkout to revision 41"."""
    line = f"`{kit.hhmmss(at)}` {escape(text)}"
    return Message(kit.truncate(f"{kit.hhmmss(at)} {text}", kit.FALLBACK_TEXT), [kit.section(line)])


def help_message() -> Message:
    lines = [f"`{escape(usage)}` — {escape(what)}" for usage, what in USAGE.values()]
    blocks: list[Block] = [kit.header(":wave: ai-sre commands")]
    blocks.extend(kit.sections(lines, max_blocks=3))
    blocks.append(kit.context(["Mention me too: `@ai-sre status`, `@ai-sre what changed on checkout?`, "
                               "`@ai-sre show error_rate for checkout last 1h`"]))
    return Message("ai-sre commands: " + ", ".join(USAGE), blocks)


def status_reply(view: IncidentView) -> Message:
    blocks: list[Block] = [kit.header(kit.truncate(title_line(view), kit.HEADER_TEXT)), *summary_blocks(view)]
    if extra := notes(view):
        blocks.append(kit.context(extra))
    if view.hypotheses:
        top = sorted(view.hypotheses, key=lambda h: h.rank)[0]
        culprit = f" — {escape(top.culprit)}" if top.culprit else ""
        blocks.append(kit.section(f"*Leading hypothesis:* {escape(top.category)}{culprit} "
                                  f"({top.confidence:.0%})"))
    if view.proposal is not None:
        blocks.append(kit.section(proposal_text(view.proposal)))
    if view.timeline:
        last = view.timeline[-1]
        blocks.append(kit.context([f"Last update `{kit.hhmmss(last.at)}` {escape(last.text)}"]))
    return Message(kit.truncate(f"{title_line(view)} — {view.status}", kit.FALLBACK_TEXT), kit.finish(blocks))


def timeline_message(view: IncidentView) -> Message:
    """The whole timeline; the oldest entries give way when it exceeds one message."""
    lines, _ = timeline_lines(view)
    blocks: list[Block] = [kit.header(f"Timeline · {view.key}")]
    if not lines:
        blocks.append(kit.section("_Nothing recorded yet._"))
    else:
        # up to 47 sections of 3000 characters; beyond that the newest entries are kept.
        chunks = kit.fit_tail(lines, max_chunks=kit.MAX_BLOCKS["message"] - 3,
                              more=lambda n: f"{kit.ELLIPSIS}{n} earlier entries not shown "
                                             f"(`/aisre audit {view.key}`)")
        blocks.extend(kit.section(c) for c in chunks)
    return Message(f"Timeline of {view.key}: {len(view.timeline)} entries", kit.finish(blocks))


def catchup_message(view: IncidentView) -> Message:
    """An ephemeral summary for someone joining late: what, why, what was done, what is next."""
    blocks: list[Block] = [kit.header(f":wave: Catching up on {view.key}"),
                           kit.section(f"*{escape(view.title)}* · {escape(view.severity)} · {escape(view.status)}"
                                       f"\nOpen since {kit.when(view.opened_at)}")]
    if view.hypotheses:
        lines = []
        for h in sorted(view.hypotheses, key=lambda h: h.rank)[:3]:
            culprit = f" — {escape(h.culprit)}" if h.culprit else ""
            lines.append(f"• {escape(h.category)}{culprit} ({h.confidence:.0%})")
        blocks.extend(kit.sections(lines, max_blocks=1, title="*What we think*"))
    done = [t for t in view.timeline if t.actor]
    if done:
        lines = [f"`{kit.hhmmss(t.at)}` {escape(t.text)}" for t in done[-6:]]
        blocks.extend(kit.sections(lines, max_blocks=1, title="*What people did*"))
    if view.proposal is not None:
        blocks.append(kit.section(proposal_text(view.proposal)))
    if view.timeline:
        lines, _ = timeline_lines(view, 3)
        blocks.extend(kit.sections(lines, max_blocks=1, title="*Latest*"))
    blocks.append(kit.context([f"`/aisre timeline {view.key}` for everything · only you can see this"]))
    return Message(f"Catching up on {view.key}: {view.title}"[: kit.FALLBACK_TEXT], kit.finish(blocks))


def audit_message(entries: Sequence[AuditLine], *, title: str = "Audit log") -> Message:
    lines = [f"`{e.at:%m-%d %H:%M:%S}` *{escape(e.actor)}* `{escape(e.kind)}` {escape(e.text)}"
             + (f" ({escape(e.incident_key)})" if e.incident_key else "") for e in entries]
    blocks: list[Block] = [kit.header(title)]
    if lines:
        blocks.extend(kit.sections(lines, max_blocks=kit.MAX_BLOCKS["message"] - 2,
                                   more=lambda n: kit.more_note(n, "narrow it with /aisre audit INC-42")))
    else:
        blocks.append(kit.section("_No entries._"))
    return Message(f"{title}: {len(entries)} entries", kit.finish(blocks))


def error_reply(text: str, usage: str | None = None) -> Message:
    lines = [f":warning: {escape(text)}"]
    if usage:
        lines.append(f"Usage: `{escape(usage)}`")
    body = "\n".join(lines)
    return Message(kit.truncate(text + (f" — usage: {usage}" if usage else ""), kit.FALLBACK_TEXT),
                   [kit.section(body)])


def text_reply(text: str) -> Message:
    """A plain mrkdwn reply, split into sections when long (answers to free-text questions)."""
    blocks = kit.sections(text.split("\n"), max_blocks=kit.MAX_BLOCKS["message"])
    return Message(kit.truncate(text, kit.FALLBACK_TEXT) or kit.ELLIPSIS, blocks or [kit.section(kit.ELLIPSIS)])


def evidence_message(title: str, items: Sequence[str]) -> Message:
    blocks = [kit.section(f"*{escape(title)}*"), *kit.sections(list(items), max_blocks=10)]
    return Message(kit.truncate(title, kit.FALLBACK_TEXT), kit.finish(blocks))



def autonomy_message(rows: Sequence[AutonomyRow]) -> Message:
    lines = [f"• `{escape(r.scope)}` → *{escape(r.level)}*" + (f" — {escape(r.note)}" if r.note else "")
             for r in rows]
    blocks: list[Block] = [kit.header("Autonomy levels")]
    blocks.extend(kit.sections(lines or ["_Built-in defaults only._"], max_blocks=40))
    blocks.append(kit.context(["`/aisre autonomy <service|action> <shadow|advisory|supervised|autonomous>`"]))
    return Message(f"Autonomy levels: {len(rows)} set", kit.finish(blocks))
