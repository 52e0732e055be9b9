"""The announcement of an incident in the announce channel (``#incidents``): one message, edited
as the incident moves on, so the channel reads as a list of incidents and where to join them."""

from __future__ import annotations

from bot.incidents.views import IncidentView
from bot.slack.blocks import kit
from bot.slack.blocks.brief import impact_text, status_text, title_line
from bot.slack.blocks.kit import Message, escape
from bot.slack.ids import BlockId


def _status(view: IncidentView) -> str:
    status = status_text(view)
    top = view.hypotheses[0] if view.hypotheses else None
    if view.status != "resolved" and top is not None:
        culprit = f" ({escape(top.culprit)})" if top.culprit else ""
        status += f" · likely {escape(top.category)}{culprit}, {top.confidence:.0%}"
    return status


def announcement(view: IncidentView) -> Message:
    """What broke, how bad, its status and where to join."""
    services = impact_text(view)
    where = f"Join <#{view.channel_id}>" if view.channel_id else "channel being opened"
    line = f"*{escape(kit.truncate(title_line(view), 600))}*"
    facts = [_status(view), f"impact: {services or 'unknown'}", f"opened {kit.when(view.opened_at)}", where]
    text = f"{title_line(view)} — {view.status}" + (f" — join <#{view.channel_id}>" if view.channel_id else "")
    return Message(kit.truncate(text, kit.FALLBACK_TEXT), kit.finish([
        kit.section(line, BlockId.ANNOUNCE_TITLE),
        kit.context([" · ".join(facts)], BlockId.ANNOUNCE_FACTS),
    ]))
