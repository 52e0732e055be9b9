"""A modal generated from an action's JSON Schema, and reading its submission back.

:func:`command_modal` makes one input per schema property: strings as text inputs
(multiline past 200 characters), integers and numbers as number inputs, booleans as a
yes/no select, enums as a select, arrays of strings as a comma-separated text input.
Defaults become initial values, ``description`` the hint, ``required`` the
non-optional inputs. :func:`read_submission` turns ``view.state.values`` back into
parameters (typed by the same schema) for the registry to validate;
:func:`errors_for` maps the registry's problems onto block ids for
``response_action: errors``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.slack.blocks import kit
from bot.slack.blocks.kit import Block
from bot.slack.ids import ActionId, CallbackId, param_block, param_name
from bot.slack.values import CommandModalMeta

Schema = Mapping[str, Any]


def _prop_type(prop: Schema) -> tuple[str, Schema]:
    """The JSON type of a property, looking through ``anyOf [X, null]``."""
    if "anyOf" in prop:
        for alt in prop["anyOf"]:
            if alt.get("type") != "null":
                merged = {**alt, **{k: v for k, v in prop.items() if k != "anyOf"}}
                return str(alt.get("type", "string")), merged
    if "enum" in prop:
        return "enum", prop
    return str(prop.get("type", "string")), prop


def _label(name: str, prop: Schema) -> str:
    return str(prop.get("title") or name.replace("_", " ").capitalize())


def _option(value: str) -> dict[str, Any]:
    return {"text": kit.plain(value, kit.OPTION_TEXT), "value": value[:150]}


def _element(kind: str, prop: Schema, initial: Any) -> dict[str, Any]:
    aid = str(ActionId.PARAM_INPUT)
    if kind in ("integer", "number"):
        el: dict[str, Any] = {"type": "number_input", "action_id": aid, "is_decimal_allowed": kind == "number"}
        if "minimum" in prop:
            el["min_value"] = str(prop["minimum"])
        if "maximum" in prop:
            el["max_value"] = str(prop["maximum"])
        if initial is not None:
            el["initial_value"] = str(initial)
        return el
    if kind in ("boolean", "enum"):
        values = ["true", "false"] if kind == "boolean" else [str(v) for v in prop.get("enum", [])][: kit.MAX_OPTIONS]
        el = {"type": "static_select", "action_id": aid, "options": [_option(v) for v in values]}
        if initial is not None:
            shown = str(initial).lower() if kind == "boolean" else str(initial)
            if shown in values:
                el["initial_option"] = _option(shown)
        return el
    el = {"type": "plain_text_input", "action_id": aid}
    if kind == "array":
        el["placeholder"] = kit.plain("comma-separated", kit.INPUT_PLACEHOLDER)
        if initial:
            el["initial_value"] = ", ".join(str(v) for v in initial)[:3000]
    else:
        if int(prop.get("maxLength", 0)) > 200:
            el["multiline"] = True
        if "maxLength" in prop:
            el["max_length"] = min(int(prop["maxLength"]), 3000)
        if initial is not None:
            el["initial_value"] = str(initial)[:3000]
    return el


def input_block(name: str, prop: Schema, *, required: bool, initial: Any = None) -> Block:
    kind, prop = _prop_type(prop)
    if initial is None:
        initial = prop.get("default")
    block: Block = {
        "type": "input",
        "block_id": param_block(name),
        "label": kit.plain(_label(name, prop), kit.INPUT_LABEL),
        "element": _element(kind, prop, initial),
        "optional": not required,
    }
    if prop.get("description"):
        block["hint"] = kit.plain(str(prop["description"]), kit.INPUT_HINT)
    return block


def command_modal(command: str, json_schema: Schema, meta: CommandModalMeta, *,
                  initial: Mapping[str, Any] | None = None, summary: str = "") -> dict[str, Any]:
    """A ``views.open`` modal for running ``command`` (an action name) with its parameters."""
    props: Mapping[str, Schema] = json_schema.get("properties", {})
    required = set(json_schema.get("required", []))
    initial = initial or {}
    blocks: list[Block] = []
    if summary:
        blocks.append(kit.section(f"`{kit.escape(command)}` — {kit.escape(summary)}"))
    else:
        blocks.append(kit.section(f"`{kit.escape(command)}`"))
    for name, prop in list(props.items())[: kit.MAX_BLOCKS["modal"] - 2]:
        blocks.append(input_block(name, prop, required=name in required, initial=initial.get(name)))
    blocks.append(kit.context(["It goes through the policy like any proposal: it may need an approval."]))
    return {
        "type": "modal",
        "callback_id": str(CallbackId.COMMAND_MODAL),
        "private_metadata": meta.dump_meta(),
        "title": kit.plain(f"Run {command.split('.')[-1]}", kit.MODAL_TITLE),
        "submit": kit.plain("Run", kit.MODAL_TITLE),
        "close": kit.plain("Cancel", kit.MODAL_TITLE),
        "blocks": kit.finish(blocks, "modal"),
    }


def _raw(entry: Mapping[str, Any]) -> str | None:
    if "selected_option" in entry:
        opt = entry.get("selected_option")
        return str(opt.get("value")) if isinstance(opt, Mapping) else None
    value = entry.get("value")
    return None if value is None else str(value)


def read_submission(values: Mapping[str, Mapping[str, Any]], json_schema: Schema) -> tuple[dict[str, Any],
                                                                                            dict[str, str]]:
    """``(params, errors)`` from ``view.state.values``; errors are keyed by block id."""
    props: Mapping[str, Schema] = json_schema.get("properties", {})
    params: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for block_id, entries in values.items():
        name = param_name(block_id)
        if name is None or name not in props:
            continue
        entry: Mapping[str, Any] = entries.get(str(ActionId.PARAM_INPUT)) or next(iter(entries.values()), {})
        raw = _raw(entry)
        if raw is None or raw.strip() == "":
            continue
        kind, _ = _prop_type(props[name])
        try:
            params[name] = _convert(kind, raw.strip())
        except ValueError as e:
            errors[block_id] = str(e)
    return params, errors


def _convert(kind: str, raw: str) -> Any:
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            raise ValueError("must be a whole number") from None
    if kind == "number":
        try:
            return float(raw)
        except ValueError:
            raise ValueError("must be a number") from None
    if kind == "boolean":
        return raw.lower() in ("true", "yes", "1")
    if kind == "array":
        return [v.strip() for v in raw.split(",") if v.strip()]
    return raw


def errors_for(problems: Iterable[str], json_schema: Schema) -> dict[str, str]:
    """Registry problems ("replicas: Input should be ...") as ``{block_id: message}``.

    A problem naming no known parameter is put on the first input.
    """
    props = list(json_schema.get("properties", {}))
    out: dict[str, str] = {}
    for problem in problems:
        field, _, message = problem.partition(":")
        name = field.strip().split(".")[0]
        if name in props:
            out.setdefault(param_block(name), kit.truncate(message.strip() or problem, 150))
        elif props:
            out.setdefault(param_block(props[0]), kit.truncate(problem, 150))
    return out
