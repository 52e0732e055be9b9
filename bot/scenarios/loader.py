"""Load and validate scenario files, reporting every problem precisely.

Each problem is one line: ``<file>: <key path>: <what was expected>``, e.g.
``deploy.yaml: events[2].at: expected a number of minutes, got "soon"``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.scenarios.model import EVENT_FIELDS, EVENT_STATUS, Scenario

MINUTE_KEYS = {"at", "from", "to", "since", "started", "expires_at"}


class ScenarioError(Exception):
    """A scenario file is invalid; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that reports duplicate mapping keys instead of keeping the last."""

    duplicate_keys: list[str]


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
        if key in seen:
            loader.duplicate_keys.append(f"line {key_node.start_mark.line + 1}: duplicate key {json.dumps(str(key))}")
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)  # type: ignore[arg-type]


def _parse_yaml(text: str, name: str) -> tuple[Any, list[str]]:
    loader = _UniqueKeyLoader(text)
    loader.duplicate_keys = []
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        return None, [f"{name}: {where}not valid YAML: {e.problem or e}"]
    except yaml.YAMLError as e:
        return None, [f"{name}: not valid YAML: {e}"]
    finally:
        loader.dispose()  # type: ignore[no-untyped-call]
    return data, [f"{name}: {d}" for d in loader.duplicate_keys]


def load_scenario_text(text: str, name: str = "<scenario>") -> Scenario:
    data, problems = _parse_yaml(text, name)
    if data is None and not problems:
        problems = [f"{name}: the file is empty; expected a scenario mapping"]
    if problems:
        raise ScenarioError(problems)
    return load_scenario_data(data, name)


def load_scenario_data(data: Any, name: str = "<scenario>") -> Scenario:
    if not isinstance(data, dict):
        raise ScenarioError([f"{name}: expected a mapping at the top level, got {_kind(data)}"])
    problems: list[str] = []
    scenario: Scenario | None = None
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as e:
        problems.extend(f"{name}: {p}" for p in _describe(e, data))
    problems.extend(f"{name}: {p}" for p in _cross_checks(data))
    if problems or scenario is None:
        raise ScenarioError(_dedupe(problems))
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([f"{p}: no such file"]) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ScenarioError([f"{p}: cannot read: {e}"]) from None
    return load_scenario_text(text, str(p))


def validate_file(path: str | Path) -> list[str]:
    try:
        load_scenario(path)
    except ScenarioError as e:
        return e.problems
    return []


# --- error descriptions -------------------------------------------------------------


def _path(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _got(value: Any) -> str:
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return repr(value)


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", type(None): "nothing"}.get(
        type(value), "a number" if isinstance(value, int | float) else type(value).__name__
    )


def _describe(err: ValidationError, data: dict[str, Any]) -> list[str]:
    out = []
    for e in err.errors():
        loc = [p for p in e["loc"] if not (isinstance(p, str) and p.startswith(("function-", "json-or-python")))]
        # unions add a member name to the location; drop those (they are not keys)
        loc = [p for p in loc if p not in ("str", "int", "float", "bool", "none", "literal['from']")]
        path = _path(loc)
        last = next((p for p in reversed(loc) if isinstance(p, str)), "")
        t = e["type"]
        got = _got(e.get("input"))
        if t == "extra_forbidden":
            out.append(f"{path}: unknown key")
        elif t == "missing":
            out.append(f"{path}: missing required key")
        elif t in ("float_type", "float_parsing", "int_type", "int_parsing", "int_from_float"):
            what = "a number of minutes" if last in MINUTE_KEYS else ("a whole number" if t.startswith("int") else "a number")
            out.append(f"{path}: expected {what}, got {got}")
        elif t in ("string_type",):
            out.append(f"{path}: expected a string, got {got}")
        elif t in ("list_type",):
            out.append(f"{path}: expected a list, got {_kind(e.get('input'))}")
        elif t in ("dict_type", "model_type", "model_attributes_type"):
            out.append(f"{path}: expected a mapping, got {_kind(e.get('input'))}")
        elif t == "literal_error":
            expected = e.get("ctx", {}).get("expected", "")
            out.append(f"{path}: expected one of {expected}, got {got}")
        elif t == "string_pattern_mismatch":
            out.append(f"{path}: expected a slug matching {e.get('ctx', {}).get('pattern')}, got {got}")
        elif t in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
            out.append(f"{path}: {e['msg'].lower()}, got {got}")
        elif t == "too_short":
            out.append(f"{path}: expected at least one item")
        elif t == "value_error":
            out.append(f"{path}: {str(e['msg']).removeprefix('Value error, ')}")
        else:
            out.append(f"{path}: {e['msg']}, got {got}")
    return out


# --- checks across keys ---------------------------------------------------------------


def _items(data: dict[str, Any], key: str) -> list[tuple[int, dict[str, Any]]]:
    v = data.get(key)
    if not isinstance(v, list):
        return []
    return [(i, x) for i, x in enumerate(v) if isinstance(x, dict)]


def _cross_checks(data: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    services = [s.get("name") for _, s in _items(data, "services")]
    known = {s for s in services if isinstance(s, str)}
    seen: dict[str, str] = {}
    for i, s in _items(data, "services"):
        n = s.get("name")
        if isinstance(n, str):
            if n in seen:
                problems.append(f"services[{i}].name: duplicate service \"{n}\" (first at {seen[n]})")
            seen.setdefault(n, f"services[{i}]")
        for j, d in enumerate(s.get("depends_on") or [] if isinstance(s.get("depends_on"), list) else []):
            if isinstance(d, str) and d not in known:
                problems.append(f"services[{i}].depends_on[{j}]: no service named \"{d}\"")

    def ref(path: str, value: Any) -> None:
        if isinstance(value, str) and known and value not in known:
            problems.append(f"{path}: no service named \"{value}\"")

    for key in ("metrics", "events", "logs", "pods"):
        for i, x in _items(data, key):
            ref(f"{key}[{i}].service", x.get("service"))
    for i, x in _items(data, "db_sessions"):
        ref(f"db_sessions[{i}].database", x.get("database"))
    if isinstance(data.get("alert"), dict):
        ref("alert.service", data["alert"].get("service"))

    ids: dict[str, str] = {}
    for key, field in (("events", "id"), ("pods", "name"), ("nodes", "name"), ("db_sessions", "id")):
        for i, x in _items(data, key):
            v = x.get(field)
            if not isinstance(v, str):
                continue
            if v in ids:
                problems.append(f"{key}[{i}].{field}: duplicate id \"{v}\" (first at {ids[v]})")
            ids.setdefault(v, f"{key}[{i}]")

    for i, ev in _items(data, "events"):
        kind = ev.get("kind")
        if kind not in EVENT_FIELDS:
            continue
        allowed, required = EVENT_FIELDS[kind]
        for f in ev:
            if f not in allowed and f not in ("id", "kind", "at", "service") and f in _ALL_EVENT_FIELDS:
                problems.append(f"events[{i}].{f}: not a field of a {kind} event (expected {', '.join(sorted(allowed))})")
        for f in sorted(required - set(ev)):
            problems.append(f"events[{i}].{f}: missing required key for a {kind} event")
        st = ev.get("status")
        if st is not None and kind in EVENT_STATUS and st not in EVENT_STATUS[kind]:
            problems.append(f"events[{i}].status: expected one of {' | '.join(EVENT_STATUS[kind])}, got {_got(st)}")

    for i, m in _items(data, "metrics"):
        for j, seg in enumerate(m.get("segments") or [] if isinstance(m.get("segments"), list) else []):
            if not isinstance(seg, dict):
                continue
            p = f"metrics[{i}].segments[{j}]"
            has_v, has_r, has_to = "value" in seg, "ramp_to" in seg, "to" in seg
            if has_v == has_r:
                problems.append(f"{p}: expected exactly one of value or ramp_to")
            elif has_r and not has_to:
                problems.append(f"{p}: a ramp needs both from and to")
            s_from, s_to = seg.get("from"), seg.get("to")
            if isinstance(s_from, int | float) and isinstance(s_to, int | float) and s_to < s_from:
                problems.append(f"{p}.to: expected a minute at or after from ({s_from}), got {s_to}")

    for i, lg in _items(data, "logs"):
        l_from, l_to = lg.get("from"), lg.get("to")
        if isinstance(l_from, int | float) and isinstance(l_to, int | float) and l_to < l_from:
            problems.append(f"logs[{i}].to: expected a minute at or after from ({l_from}), got {l_to}")

    truth = data.get("truth")
    if isinstance(truth, dict):
        c = truth.get("culprit")
        if isinstance(c, str) and c not in ids and c not in known:
            problems.append(f"truth.culprit: no event, pod, node, db session or service named \"{c}\"")
        target = truth.get("target")
        nodes = {x.get("name") for _, x in _items(data, "nodes")} | {x.get("node") for _, x in _items(data, "pods")}
        if isinstance(target, str) and known and target not in known and target not in nodes:
            problems.append(f"truth.target: no service or node named \"{target}\"")
    return problems


_ALL_EVENT_FIELDS = set().union(*(a for a, _ in EVENT_FIELDS.values()))


def _dedupe(lines: list[str]) -> list[str]:
    return list(dict.fromkeys(lines))
