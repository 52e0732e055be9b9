"""Block Kit limits Slack enforces, with its ``[ERROR] ... [json-pointer:...]`` explanations.

:func:`validate_blocks` checks a message's (or a view's) blocks and returns the problems
as Slack phrases them in ``response_metadata.messages``; an empty list means valid.
:func:`validate_view` adds the view-level rules (title, submit, callback id).
"""

from __future__ import annotations

from typing import Any, Literal

Surface = Literal["message", "modal", "home"]

BLOCK_TYPES = {
    "section", "divider", "image", "actions", "context", "header", "input", "rich_text",
    "file", "video", "markdown", "call", "table",
}
ELEMENT_TYPES = {
    "button", "static_select", "external_select", "users_select", "conversations_select",
    "channels_select", "multi_static_select", "multi_users_select", "multi_external_select",
    "multi_conversations_select", "multi_channels_select", "overflow", "datepicker", "timepicker",
    "datetimepicker", "checkboxes", "radio_buttons", "plain_text_input", "image", "email_text_input",
    "url_text_input", "number_input", "rich_text_input", "workflow_button", "file_input",
}
MAX_BLOCKS = {"message": 50, "modal": 100, "home": 100}


def _too_long(limit: int, ptr: str) -> str:
    return f"[ERROR] must be less than {limit + 1} characters [json-pointer:{ptr}]"


def _too_many(limit: int, ptr: str) -> str:
    return f"[ERROR] no more than {limit} items allowed [json-pointer:{ptr}]"


def _missing(name: str, ptr: str) -> str:
    return f"[ERROR] missing required field: {name} [json-pointer:{ptr}]"


def _text(obj: Any, ptr: str, limit: int, errors: list[str], *, plain_only: bool = False) -> None:
    if not isinstance(obj, dict):
        errors.append(f"[ERROR] expected object [json-pointer:{ptr}]")
        return
    kind = obj.get("type")
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if kind not in allowed:
        errors.append(f"[ERROR] must be one of {', '.join(allowed)} [json-pointer:{ptr}/type]")
    text = obj.get("text")
    if not isinstance(text, str):
        errors.append(_missing("text", ptr))
    elif len(text) > limit:
        errors.append(_too_long(limit, f"{ptr}/text"))
    elif not text:
        errors.append(f"[ERROR] must be more than 0 characters [json-pointer:{ptr}/text]")


def _element(el: Any, ptr: str, errors: list[str]) -> None:
    if not isinstance(el, dict):
        errors.append(f"[ERROR] expected object [json-pointer:{ptr}]")
        return
    kind = el.get("type")
    if kind not in ELEMENT_TYPES:
        errors.append(f"[ERROR] unsupported type: {kind} [json-pointer:{ptr}/type]")
        return
    if len(str(el.get("action_id", ""))) > 255:
        errors.append(_too_long(255, f"{ptr}/action_id"))
    if kind == "button":
        _text(el.get("text"), f"{ptr}/text", 75, errors, plain_only=True)
        if len(str(el.get("value", ""))) > 2000:
            errors.append(_too_long(2000, f"{ptr}/value"))
        if len(str(el.get("url", ""))) > 3000:
            errors.append(_too_long(3000, f"{ptr}/url"))
        if el.get("style") not in (None, "primary", "danger"):
            errors.append(f"[ERROR] must be one of primary, danger [json-pointer:{ptr}/style]")
        confirm = el.get("confirm")
        if confirm is not None:
            for key, limit in (("title", 100), ("text", 300), ("confirm", 30), ("deny", 30)):
                if key in confirm or key == "text":
                    _text(confirm.get(key), f"{ptr}/confirm/{key}", limit, errors, plain_only=key != "text")
    elif kind == "image":
        for key in ("image_url", "alt_text"):
            if not el.get(key) and not (key == "image_url" and el.get("slack_file")):
                errors.append(_missing(key, ptr))
    elif kind in ("static_select", "multi_static_select", "overflow", "radio_buttons", "checkboxes"):
        options = el.get("options")
        groups = el.get("option_groups")
        if options is None and groups is None:
            errors.append(_missing("options", ptr))
        elif options is not None and len(options) > (5 if kind == "overflow" else 10 if kind in ("radio_buttons", "checkboxes") else 100):
            errors.append(_too_many(5 if kind == "overflow" else 10 if kind in ("radio_buttons", "checkboxes") else 100, f"{ptr}/options"))
        for j, opt in enumerate(options or []):
            _text(opt.get("text") if isinstance(opt, dict) else None, f"{ptr}/options/{j}/text", 75, errors)


def _block(block: Any, ptr: str, surface: Surface, errors: list[str]) -> None:
    if not isinstance(block, dict):
        errors.append(f"[ERROR] expected object [json-pointer:{ptr}]")
        return
    kind = block.get("type")
    if kind not in BLOCK_TYPES:
        errors.append(f"[ERROR] unsupported type: {kind} [json-pointer:{ptr}/type]")
        return
    if len(str(block.get("block_id", ""))) > 255:
        errors.append(_too_long(255, f"{ptr}/block_id"))
    if kind == "section":
        if "text" not in block and "fields" not in block:
            errors.append(_missing("text", ptr))
        if "text" in block:
            _text(block["text"], f"{ptr}/text", 3000, errors)
        fields = block.get("fields")
        if fields is not None:
            if len(fields) > 10:
                errors.append(_too_many(10, f"{ptr}/fields"))
            for j, f in enumerate(fields):
                _text(f, f"{ptr}/fields/{j}", 2000, errors)
        if "accessory" in block:
            _element(block["accessory"], f"{ptr}/accessory", errors)
    elif kind == "header":
        _text(block.get("text"), f"{ptr}/text", 150, errors, plain_only=True)
    elif kind == "actions":
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            errors.append(_missing("elements", ptr))
            return
        if len(elements) > 25:
            errors.append(_too_many(25, f"{ptr}/elements"))
        seen: set[str] = set()
        for j, el in enumerate(elements):
            _element(el, f"{ptr}/elements/{j}", errors)
            aid = el.get("action_id") if isinstance(el, dict) else None
            if aid:
                if aid in seen:
                    errors.append(f"[ERROR] duplicate action_id: {aid} [json-pointer:{ptr}/elements/{j}/action_id]")
                seen.add(aid)
    elif kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            errors.append(_missing("elements", ptr))
            return
        if len(elements) > 10:
            errors.append(_too_many(10, f"{ptr}/elements"))
        for j, el in enumerate(elements):
            if isinstance(el, dict) and el.get("type") == "image":
                _element(el, f"{ptr}/elements/{j}", errors)
            else:
                _text(el, f"{ptr}/elements/{j}", 3000, errors)
    elif kind == "image":
        if not block.get("image_url") and not block.get("slack_file"):
            errors.append(_missing("image_url", ptr))
        if not block.get("alt_text"):
            errors.append(_missing("alt_text", ptr))
        elif len(block["alt_text"]) > 2000:
            errors.append(_too_long(2000, f"{ptr}/alt_text"))
        if "title" in block:
            _text(block["title"], f"{ptr}/title", 2000, errors, plain_only=True)
    elif kind == "input":
        _text(block.get("label"), f"{ptr}/label", 2000, errors, plain_only=True)
        if "element" not in block:
            errors.append(_missing("element", ptr))
        else:
            _element(block["element"], f"{ptr}/element", errors)


def validate_blocks(blocks: Any, surface: Surface = "message", *, ptr: str = "/blocks") -> list[str]:
    """Problems with ``blocks`` as Slack words them; ``[]`` when they are valid."""
    if not isinstance(blocks, list):
        return [f"[ERROR] expected array [json-pointer:{ptr}]"]
    errors: list[str] = []
    if len(blocks) > MAX_BLOCKS[surface]:
        errors.append(_too_many(MAX_BLOCKS[surface], ptr))
    seen: set[str] = set()
    for i, block in enumerate(blocks):
        _block(block, f"{ptr}/{i}", surface, errors)
        bid = block.get("block_id") if isinstance(block, dict) else None
        if bid:
            if bid in seen:
                errors.append(f"[ERROR] duplicate block_id: {bid} [json-pointer:{ptr}/{i}/block_id]")
            seen.add(bid)
    return errors


def validate_view(view: Any) -> list[str]:
    """Problems with a modal or App Home view, pointers rooted at ``/view``."""
    if not isinstance(view, dict):
        return ["[ERROR] expected object [json-pointer:/view]"]
    kind = view.get("type")
    if kind not in ("modal", "home"):
        return ["[ERROR] must be one of modal, home [json-pointer:/view/type]"]
    errors = validate_blocks(view.get("blocks", []), "modal" if kind == "modal" else "home", ptr="/view/blocks")
    if kind == "modal":
        _text(view.get("title"), "/view/title", 24, errors, plain_only=True)
        for key in ("submit", "close"):
            if key in view:
                _text(view[key], f"/view/{key}", 24, errors, plain_only=True)
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks", []))
        if has_input and "submit" not in view:
            errors.append(_missing("submit", "/view"))
    if len(str(view.get("callback_id", ""))) > 255:
        errors.append(_too_long(255, "/view/callback_id"))
    if len(str(view.get("private_metadata", ""))) > 3000:
        errors.append(_too_long(3000, "/view/private_metadata"))
    if len(str(view.get("external_id", ""))) > 255:
        errors.append(_too_long(255, "/view/external_id"))
    return errors
