"""The incident service's renderer, over the Slack Block Kit builders."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.incidents.views import IncidentView
from bot.slack import blocks


class BlockKitRenderer:
    def brief(self, view: IncidentView) -> tuple[str, list[dict[str, Any]]]:
        m = blocks.brief_message(view)
        return m.text, list(m.blocks)

    def announcement(self, view: IncidentView) -> tuple[str, list[dict[str, Any]]]:
        m = blocks.announcement(view)
        return m.text, list(m.blocks)

    def update(self, text: str, at: datetime) -> tuple[str, list[dict[str, Any]]]:
        m = blocks.status_update(text, at)
        return m.text, list(m.blocks)
