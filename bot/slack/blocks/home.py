"""The App Home tab: open incidents, the freeze, and the autonomy levels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.incidents.views import IncidentView
from bot.slack.blocks import kit
from bot.slack.blocks.brief import STATUS_EMOJI, title_line
from bot.slack.blocks.kit import Block, escape
from bot.slack.ids import ActionId, BlockId
from bot.slack.values import IncidentRef

MAX_INCIDENTS = 30


@dataclass(frozen=True)
class AutonomyRow:
    scope: str  # "default", a service, an action, or "service / action"
    level: str
    note: str = ""


def home_view(incidents: Sequence[IncidentView], autonomy: Sequence[AutonomyRow], *,
              freeze: bool = False, user: str | None = None) -> dict[str, Any]:
    """A ``views.publish`` view of type ``home``."""
    blocks: list[Block] = [kit.header(":robot_face: ai-sre")]
    hello = f"Hi <@{user}>. " if user else ""
    blocks.append(kit.section(f"{hello}{len(incidents)} open incident{'s' if len(incidents) != 1 else ''}.",
                              accessory=kit.button("Refresh", ActionId.HOME_REFRESH)))
    if freeze:
        blocks.append(kit.context([":snowflake: *Change freeze is on*: I only watch and suggest. "
                                   "`/aisre unfreeze` ends it."]))
    blocks.append(kit.divider())
    ordered = sorted(incidents, key=lambda v: (v.severity, v.opened_at))
    for v in ordered[:MAX_INCIDENTS]:
        status = f"{STATUS_EMOJI.get(v.status, '')} {escape(v.status)}".strip()
        where = f" · <#{v.channel_id}>" if v.channel_id else ""
        ref = IncidentRef(incident_id=v.id, key=v.key, channel_id=v.channel_id).dump()
        blocks.append(kit.section(
            f"*{escape(title_line(v))}*\n{status} · opened {kit.when(v.opened_at)}{where}",
            accessory=kit.button("Status", ActionId.HOME_OPEN_INCIDENT, value=ref),
        ))
    if len(ordered) > MAX_INCIDENTS:
        blocks.append(kit.context([kit.more_note(len(ordered) - MAX_INCIDENTS, "/aisre status INC-…")]))
    if not incidents:
        blocks.append(kit.section(":white_check_mark: Nothing is on fire."))
    blocks.append(kit.divider())
    blocks.append(kit.header("Autonomy"))
    lines = [f"• `{escape(r.scope)}` → *{escape(r.level)}*" + (f" — {escape(r.note)}" if r.note else "")
             for r in autonomy]
    blocks.extend(kit.sections(lines or ["_Built-in defaults._"], max_blocks=20,
                               more=lambda n: kit.more_note(n, "/aisre autonomy")))
    blocks.append(kit.context(["Change a level with `/aisre autonomy <service|action> "
                               "<shadow|advisory|supervised|autonomous>`"], BlockId.HOME_ACTIONS))
    return {"type": "home", "blocks": kit.finish(blocks, "home")}
