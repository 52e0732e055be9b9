"""``@ai-sre ...`` free text into a typed :class:`Mention`; pure, never raises.

Recognised, in order: ``help``; ``status [INC-42]``; "what changed [on|in|for] <service>?"
(also "changes on checkout", "recent deploys for checkout"); "show|graph|plot <metric> for
<service> [last|over|in the last] <window>" (also "show checkout error_rate last 30m").
Anything else is a free-text ``question`` for the LLM when it is on.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict

from bot.slack.commands import incident_key, parse_duration

MentionKind = Literal["help", "status", "changes", "metric", "question"]
DEFAULT_WINDOW_S = 3600
MAX_WINDOW_S = 7 * 24 * 3600

_USER = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
_SERVICE = r"(?P<service>[A-Za-z0-9][A-Za-z0-9_.:/-]*)"
_WINDOW = r"(?:\s+(?:(?:in\s+)?the\s+)?(?:last|over|past|for)\s+(?:the\s+)?(?:last\s+)?(?P<window>\d+\s*[a-z]+))?"
_CHANGES = [
    re.compile(rf"^what(?:'s|\s+has|\s+have)?\s+changed(?:\s+(?:on|in|for|with)\s+{_SERVICE})?{_WINDOW}\s*\??$", re.I),
    re.compile(rf"^(?:recent\s+)?(?:changes|deploys|deployments)(?:\s+(?:on|in|for|to)\s+{_SERVICE})?{_WINDOW}\s*\??$",
               re.I),
]
_METRIC = [
    re.compile(rf"^(?:show|graph|plot|chart)\s+(?:me\s+)?(?:the\s+)?(?P<metric>[A-Za-z][A-Za-z0-9_.:-]*)\s+"
               rf"(?:for|of|on)\s+{_SERVICE}{_WINDOW}\s*\??$", re.I),
    re.compile(rf"^(?:show|graph|plot|chart)\s+(?:me\s+)?{_SERVICE}(?:'s)?\s+(?P<metric>[A-Za-z][A-Za-z0-9_.:-]*)"
               rf"{_WINDOW}\s*\??$", re.I),
]
_STATUS = re.compile(r"^(?:what(?:'s|\s+is)\s+the\s+)?status(?:\s+(?:of\s+)?(?P<incident>\S+))?\s*\??$", re.I)
_HELP = re.compile(r"^(?:help|\?|commands|what can you do\??)$", re.I)


class Mention(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: MentionKind
    text: str  # the mention without the bot's @-name
    service: str | None = None
    metric: str | None = None
    window_s: int | None = None
    incident: str | None = None


def clean(text: str) -> str:
    """The text without user mentions and surrounding whitespace or punctuation."""
    return " ".join(_USER.sub(" ", text or "").split()).strip(" ,:")


def _window(raw: str | None) -> int | None:
    if raw is None:
        return None
    seconds = parse_duration(raw.replace(" ", "").replace("hours", "h").replace("hour", "h")
                             .replace("mins", "m").replace("min", "m").replace("days", "d").replace("day", "d"))
    return min(seconds, MAX_WINDOW_S) if seconds else None


def parse_mention(text: str) -> Mention:
    body = clean(text)
    if not body or _HELP.match(body):
        return Mention(kind="help", text=body)
    if m := _STATUS.match(body):
        raw = m.group("incident")
        key = incident_key(raw) if raw else None
        if raw is None or key is not None:
            return Mention(kind="status", text=body, incident=key)
    for rx in _CHANGES:
        if m := rx.match(body):
            return Mention(kind="changes", text=body, service=m.group("service"),
                           window_s=_window(m.group("window")) or DEFAULT_WINDOW_S)
    for rx in _METRIC:
        if m := rx.match(body):
            return Mention(kind="metric", text=body, service=m.group("service"), metric=m.group("metric"),
                           window_s=_window(m.group("window")) or DEFAULT_WINDOW_S)
    return Mention(kind="question", text=body)
