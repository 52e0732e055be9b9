"""Slack's Block Kit limits, checked two ways: the emulator's validator and our own list."""

from __future__ import annotations

from typing import Any

from bot.sandbox.slack.blocks import validate_blocks, validate_view
from bot.slack.blocks import Message

LIMITS = {"section": 3000, "field": 2000, "header": 150, "button": 75, "value": 2000, "context": 10,
          "actions": 25, "fields": 10}


def problems(blocks: list[dict[str, Any]], surface: str = "message") -> list[str]:
    out = list(validate_blocks(blocks, surface))  # type: ignore[arg-type]
    limit = {"message": 50, "modal": 100, "home": 100}[surface]
    if len(blocks) > limit:
        out.append(f"{len(blocks)} blocks > {limit}")
    for i, b in enumerate(blocks):
        t = b["type"]
        if t == "section":
            if "text" in b and not (0 < len(b["text"]["text"]) <= 3000):
                out.append(f"{i}: section text {len(b['text']['text'])}")
            for f in b.get("fields", []):
                if not (0 < len(f["text"]) <= 2000):
                    out.append(f"{i}: field {len(f['text'])}")
            if len(b.get("fields", [])) > 10:
                out.append(f"{i}: fields")
        elif t == "header" and not (0 < len(b["text"]["text"]) <= 150):
            out.append(f"{i}: header {len(b['text']['text'])}")
        elif t == "context" and len(b["elements"]) > 10:
            out.append(f"{i}: context elements")
        elif t == "actions":
            if len(b["elements"]) > 25:
                out.append(f"{i}: actions elements")
            for el in b["elements"]:
                if len(el["text"]["text"]) > 75 or len(el.get("value", "")) > 2000:
                    out.append(f"{i}: button")
    return out


def assert_valid(msg: Message) -> None:
    assert msg.text and len(msg.text) <= 3000
    found = problems(msg.blocks)
    assert not found, found


def assert_valid_view(view: dict[str, Any]) -> None:
    found = list(validate_view(view)) + problems(view["blocks"], "modal" if view["type"] == "modal" else "home")
    assert not found, found
