"""Block Kit primitives, Slack's limits, and the one place long content is cut to fit.

Every builder goes through these helpers, so no builder can produce a payload Slack
rejects: :func:`truncate` cuts one text to a limit (at a line or word boundary, never
inside an ``&amp;`` entity or a ``<...>`` link, ending with ``…``); :func:`fit` packs
lines into at most ``max_chunks`` texts of at most ``limit`` characters, ending with a
note such as "…and 37 more (see thread)" when some lines do not fit; :func:`finish`
caps the number of blocks of a surface the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Block = dict[str, Any]
Surface = Literal["message", "modal", "home"]

MAX_BLOCKS: dict[str, int] = {"message": 50, "modal": 100, "home": 100}
SECTION_TEXT = 3000
HEADER_TEXT = 150
FIELD_TEXT = 2000
MAX_FIELDS = 10
ACTIONS_ELEMENTS = 25
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
BUTTON_URL = 3000
CONTEXT_ELEMENTS = 10
CONTEXT_TEXT = 3000
CONFIRM_TITLE = 100
CONFIRM_TEXT = 300
CONFIRM_BUTTON = 30
MODAL_TITLE = 24
INPUT_LABEL = 2000
INPUT_HINT = 2000
INPUT_PLACEHOLDER = 150
OPTION_TEXT = 75
MAX_OPTIONS = 100
FALLBACK_TEXT = 3000  # the notification text; Slack truncates past 4000
ELLIPSIS = "…"

_PRESERVED = re.compile(r"<(?:[@#!][^<>\s]*|(?:https?|mailto):[^<>\s]+)>")
_ENTITY_TAIL = re.compile(r"&[a-z]{0,4}$")


@dataclass(frozen=True)
class Message:
    """What a builder returns: the fallback ``text`` and the ``blocks``."""

    text: str
    blocks: list[Block] = field(default_factory=list)

    def as_kwargs(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


def more_note(n: int, where: str = "see thread") -> str:
    return f"{ELLIPSIS}and {n} more ({where})"


def escape(text: str) -> str:
    """Escape ``&``, ``<``, ``>`` for mrkdwn, keeping Slack's own ``<@U…>``, ``<#C…>``, ``<!here>`` and links."""
    out: list[str] = []
    pos = 0
    for m in _PRESERVED.finditer(text):
        out.append(_escape_plain(text[pos:m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(_escape_plain(text[pos:]))
    return "".join(out)


def _escape_plain(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int, *, suffix: str = ELLIPSIS) -> str:
    """``text`` if it fits in ``limit`` characters, else a prefix ending with ``suffix`` that does.

    Cuts at the last newline or space in the final fifth when there is one, and never
    leaves half an ``&amp;`` entity or half a ``<...>`` link at the end.
    """
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    if len(suffix) >= limit:
        return suffix[:limit]
    room = limit - len(suffix)
    cut = text[:room]
    boundary = max(cut.rfind("\n"), cut.rfind(" "))
    if boundary >= room * 4 // 5:
        cut = cut[:boundary]
    opened = cut.rfind("<")
    if opened > cut.rfind(">"):
        cut = cut[:opened]
    cut = _ENTITY_TAIL.sub("", cut).rstrip()
    return cut + suffix


def fit(
    lines: Sequence[str],
    *,
    limit: int = SECTION_TEXT,
    max_chunks: int = 1,
    sep: str = "\n",
    more: Callable[[int], str] = more_note,
) -> list[str]:
    """Pack ``lines`` into at most ``max_chunks`` texts of at most ``limit`` characters each.

    Lines longer than ``limit`` are truncated; lines that do not fit are dropped from the
    end and counted in a last line ``more(n)``. Returns ``[]`` for no lines. Every chunk
    is non-empty.
    """
    if not lines or max_chunks <= 0 or limit <= 0:
        return []
    items = [truncate(line, limit) or ELLIPSIS for line in lines]
    chunks = _pack(items, limit, sep)
    if len(chunks) <= max_chunks:
        return chunks
    return _keep_most(items, limit, max_chunks, sep, more, newest=False)


def fit_tail(
    lines: Sequence[str],
    *,
    limit: int = SECTION_TEXT,
    max_chunks: int = 1,
    sep: str = "\n",
    more: Callable[[int], str] = more_note,
) -> list[str]:
    """Like :func:`fit`, but keeps the *last* lines and puts the note first (timelines)."""
    if not lines or max_chunks <= 0 or limit <= 0:
        return []
    items = [truncate(line, limit) or ELLIPSIS for line in lines]
    chunks = _pack(items, limit, sep)
    if len(chunks) <= max_chunks:
        return chunks
    return _keep_most(items, limit, max_chunks, sep, more, newest=True)


def _keep_most(items: list[str], limit: int, max_chunks: int, sep: str,
               more: Callable[[int], str], *, newest: bool) -> list[str]:
    """The packing of the most items (first or last ones) plus a note that fits in ``max_chunks``."""

    def attempt(keep: int) -> list[str] | None:
        note = truncate(more(len(items) - keep), limit) or ELLIPSIS
        kept = items[len(items) - keep:] if newest else items[:keep]
        packed = _pack([note, *kept] if newest else [*kept, note], limit, sep)
        return packed if len(packed) <= max_chunks else None

    lo, hi = 0, len(items) - 1  # attempt(0) always fits: one note of at most `limit` characters
    best = attempt(0) or [truncate(more(len(items)), limit) or ELLIPSIS]
    while lo < hi:
        mid = (lo + hi + 1) // 2
        packed = attempt(mid)
        if packed is not None:
            lo, best = mid, packed
        else:
            hi = mid - 1
    return best


def _pack(items: Sequence[str], limit: int, sep: str) -> list[str]:
    chunks: list[str] = []
    current = ""
    for item in items:
        if not current:
            current = item
        elif len(current) + len(sep) + len(item) <= limit:
            current = current + sep + item
        else:
            chunks.append(current)
            current = item
    if current:
        chunks.append(current)
    return chunks


# ---- elements and blocks ---------------------------------------------------------------------


def plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit) or ELLIPSIS, "emoji": True}


def mrkdwn(text: str, limit: int = SECTION_TEXT) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": truncate(text, limit) or ELLIPSIS}


def header(text: str, block_id: str | None = None) -> Block:
    return _with_id({"type": "header", "text": plain(text, HEADER_TEXT)}, block_id)


def section(text: str, block_id: str | None = None, *, accessory: dict[str, Any] | None = None) -> Block:
    block = _with_id({"type": "section", "text": mrkdwn(text)}, block_id)
    if accessory is not None:
        block["accessory"] = accessory
    return block


def fields_section(pairs: Sequence[tuple[str, str]], block_id: str | None = None) -> Block:
    """A section of up to 10 ``*label*\\nvalue`` fields (extra pairs are dropped)."""
    fields = [mrkdwn(f"*{label}*\n{value}", FIELD_TEXT) for label, value in pairs[:MAX_FIELDS]]
    return _with_id({"type": "section", "fields": fields}, block_id)


def context(texts: Sequence[str], block_id: str | None = None) -> Block:
    """A context block; more than 10 texts are joined into the last element."""
    texts = [t for t in texts if t] or [ELLIPSIS]
    if len(texts) > CONTEXT_ELEMENTS:
        texts = [*texts[: CONTEXT_ELEMENTS - 1], "  ".join(texts[CONTEXT_ELEMENTS - 1:])]
    return _with_id({"type": "context", "elements": [mrkdwn(t, CONTEXT_TEXT) for t in texts]}, block_id)


def divider() -> Block:
    return {"type": "divider"}


def confirm(title: str, text: str, ok: str = "Confirm", deny: str = "Cancel",
            style: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "title": plain(title, CONFIRM_TITLE),
        "text": mrkdwn(text, CONFIRM_TEXT),
        "confirm": plain(ok, CONFIRM_BUTTON),
        "deny": plain(deny, CONFIRM_BUTTON),
    }
    if style:
        out["style"] = style
    return out


def button(text: str, action_id: str, *, value: str | None = None, style: str | None = None,
           url: str | None = None, confirm_dialog: dict[str, Any] | None = None) -> dict[str, Any]:
    el: dict[str, Any] = {"type": "button", "text": plain(text, BUTTON_TEXT), "action_id": action_id}
    if value is not None:
        if len(value) > BUTTON_VALUE:
            raise ValueError(f"button value is {len(value)} characters; Slack allows {BUTTON_VALUE}")
        el["value"] = value
    if style in ("primary", "danger"):
        el["style"] = style
    if url is not None and len(url) <= BUTTON_URL:
        el["url"] = url
    if confirm_dialog is not None:
        el["confirm"] = confirm_dialog
    return el


def actions(elements: Sequence[dict[str, Any]], block_id: str | None = None) -> Block:
    return _with_id({"type": "actions", "elements": list(elements[:ACTIONS_ELEMENTS])}, block_id)


def sections(lines: Sequence[str], *, max_blocks: int, title: str | None = None,
             more: Callable[[int], str] = more_note, block_id: str | None = None) -> list[Block]:
    """``lines`` as up to ``max_blocks`` sections (the first one titled), with a "+N more" note."""
    if title:
        lines = [title, *lines]
    chunks = fit(lines, limit=SECTION_TEXT, max_chunks=max_blocks, more=more)
    out = [section(c) for c in chunks]
    if out and block_id:
        out[0]["block_id"] = block_id
    return out


def finish(blocks: list[Block], surface: Surface = "message", *,
           more: Callable[[int], str] = more_note) -> list[Block]:
    """Cap ``blocks`` at the surface's limit, replacing the overflow with one context note.

    Builders order their blocks so what matters (header, proposal, buttons) comes first.
    """
    limit = MAX_BLOCKS[surface]
    if len(blocks) <= limit:
        return blocks
    keep = limit - 1
    dropped = len(blocks) - keep
    return [*blocks[:keep], context([more(dropped)])]


_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def who(actor: str | None) -> str:
    """A user id as a mention, anything else (``ai-sre``, ``scheduler``) as escaped text."""
    if not actor:
        return "ai-sre"
    return f"<@{actor}>" if _USER_ID.match(actor) else escape(actor)


def link(url: str, text: str) -> str:
    """A mrkdwn link; ``|`` and ``>`` in the url would break it, so such urls are shown as text."""
    label = escape(text).replace("|", "¦")
    if not url.startswith(("http://", "https://")) or any(c in url for c in "|<> "):
        return f"{label} ({escape(url)})"
    return f"<{url}|{label}>"


def hhmmss(at: datetime) -> str:
    return f"{at:%H:%M:%S}"


def when(at: datetime) -> str:
    """``2026-12-02 01:42 UTC`` (times are stored in UTC)."""
    return f"{at:%Y-%m-%d %H:%M} UTC"


def _with_id(block: Block, block_id: str | None) -> Block:
    if block_id:
        block["block_id"] = block_id[:255]
    return block
