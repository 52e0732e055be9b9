"""Runbook files: YAML front matter for the machine, Markdown prose for people.

A runbook is ``runbooks/<name>.md``::

    ---
    title: Database connection pool exhausted
    services: [checkout]          # or ["*"] for any service
    symptoms: ["timeouts acquiring a connection"]
    categories: [connection_leak] # FORMAT.md categories
    signals: [db_connections_pct, "remaining connection slots are reserved"]
    actions:
      - name: k8s.rollout_restart
        params: {service: "{service}"}
        when: the pool is held by one service's pods
    owners: ["@db-oncall"]        # optional
    last_reviewed: 2025-01-31     # optional
    ---
    ## Diagnosis
    ...

The body is split into sections at ``##`` headings (outside code fences) for
indexing. :func:`parse_runbook` raises :class:`RunbookError`, whose
``problems`` are one line each, ``<path>: front matter: <key path>: <what is
wrong>``; :func:`load_runbooks` never raises for a bad file: it reports and
skips it.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.investigation.evidence import CATEGORIES
from bot.knowledge.known_actions import default_action_params, default_known_actions

# Placeholders a runbook's action params may use; the proposer fills them from the incident.
PLACEHOLDERS: frozenset[str] = frozenset(
    {
        "service", "namespace", "deployment", "revision", "change_id", "configmap", "config_key",
        "old_value", "node", "namespaces", "database", "cluster", "pid", "cache", "flag", "replicas",
        "asg", "desired", "target", "instance_id", "owners", "provider", "host", "job", "incident",
    }
)

_REQUIRED = ("title", "services", "symptoms", "categories")
_OPTIONAL = ("signals", "actions", "owners", "last_reviewed")
_ACTION_KEYS = ("name", "params", "when")
_PLACEHOLDER_RE = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)\}")


@dataclass(frozen=True)
class RunbookAction:
    name: str  # a registry action name
    params: dict[str, Any] = field(default_factory=dict)  # may hold placeholders such as "{service}"
    when: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "params": dict(self.params), "when": self.when}


@dataclass(frozen=True)
class Section:
    heading: str  # the ``##`` heading, or "Overview" for text before the first one
    text: str


@dataclass(frozen=True)
class Runbook:
    path: str  # as shown to people: "runbooks/db-pool.md"
    title: str
    services: list[str]
    symptoms: list[str]
    categories: list[str]
    signals: list[str]
    actions: list[RunbookAction]
    owners: list[str]
    last_reviewed: dt.date | None
    body: str
    sections: list[Section]
    content_hash: str

    def applies_to(self, service: str) -> bool:
        return "*" in self.services or service in self.services


class RunbookError(ValueError):
    """A runbook is invalid; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _did_you_mean(word: str, choices: Iterable[str], fmt: str = "{}") -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.5)
    return f'; did you mean "{fmt.format(close[0])}"?' if close else ""


def split_front_matter(text: str, *, path: str) -> tuple[str, str, int]:
    """Return ``(front matter, body, line number of the first front-matter line)``."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise RunbookError([f"{path}: missing front matter: the file must start with a '---' line"])
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            return "".join(lines[1:i]), "".join(lines[i + 1 :]), 2
    raise RunbookError([f"{path}: front matter: no closing '---' line"])


def split_sections(body: str, *, title: str = "") -> list[Section]:
    """Split at ``## `` headings outside fenced code; drop empty sections."""
    sections: list[Section] = []
    heading = "Overview"
    buf: list[str] = []
    fence = False

    def flush() -> None:
        text = "".join(buf).strip()
        if text:
            sections.append(Section(heading=heading, text=text))

    for line in body.splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith("```") or stripped.startswith("~~~"):
            fence = not fence
        if not fence and line.startswith("## "):
            flush()
            heading, buf = line[3:].strip(), []
            continue
        if not fence and line.startswith("# ") and not sections and not "".join(buf).strip():
            continue  # a leading "# Title" line repeats the title
        buf.append(line)
    flush()
    return sections


def _str_list(fm: dict[str, Any], key: str, problems: list[str], prefix: str, *, required: bool) -> list[str]:
    if key not in fm:
        if required:
            problems.append(f'{prefix}missing required key "{key}"')
        return []
    value = fm[key]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.append(f"{prefix}{key}: expected a list of non-empty strings, got {_describe_list(value)}")
        return []
    if required and not value:
        problems.append(f"{prefix}{key}: expected at least one entry")
    return [v.strip() for v in value]


def _describe(value: Any) -> str:
    shown = repr(value)
    return f"{type(value).__name__} {shown if len(shown) <= 60 else shown[:57] + '...'}"


def _describe_list(value: Any) -> str:
    if isinstance(value, list):
        bad = next((v for v in value if not (isinstance(v, str) and v.strip())), None)
        return f"a list containing {_describe(bad)}"
    return _describe(value)


def _placeholders(value: Any) -> list[str]:
    if isinstance(value, str):
        return _PLACEHOLDER_RE.findall(value)
    if isinstance(value, dict):
        return [p for v in value.values() for p in _placeholders(v)]
    if isinstance(value, list):
        return [p for v in value for p in _placeholders(v)]
    return []


def _actions(
    fm: dict[str, Any],
    problems: list[str],
    prefix: str,
    known: Collection[str],
    action_params: Mapping[str, Collection[str]] | None,
) -> list[RunbookAction]:
    value = fm.get("actions", [])
    if not isinstance(value, list):
        problems.append(f"{prefix}actions: expected a list of {{name, params, when}}, got {_describe(value)}")
        return []
    out: list[RunbookAction] = []
    for i, entry in enumerate(value):
        at = f"{prefix}actions[{i}]"
        if not isinstance(entry, dict):
            problems.append(f"{at}: expected a mapping with name, params, when; got {_describe(entry)}")
            continue
        ok = True
        for key in entry:
            if key not in _ACTION_KEYS:
                problems.append(f'{at}: unknown key "{key}"{_did_you_mean(str(key), _ACTION_KEYS)}')
                ok = False
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            problems.append(f"{at}.name: expected an action name, got {_describe(name)}")
            ok = False
        elif name not in known:
            problems.append(f'{at}.name: no action named "{name}"{_did_you_mean(name, known)}')
            ok = False
        params = entry.get("params", {})
        if params is None:
            params = {}
        if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
            problems.append(f"{at}.params: expected a mapping of parameter names to values, got {_describe(params)}")
            ok = False
            params = {}
        fields = action_params.get(str(name)) if action_params and isinstance(name, str) else None
        for key in params:
            if fields is not None and key not in fields:
                problems.append(
                    f'{at}.params: {name} has no parameter "{key}"{_did_you_mean(key, fields)}'
                    if fields
                    else f'{at}.params: {name} takes no parameters, got "{key}"'
                )
                ok = False
        for ph in _placeholders(params):
            if ph not in PLACEHOLDERS:
                problems.append(
                    f'{at}.params: unknown placeholder "{{{ph}}}"{_did_you_mean(ph, PLACEHOLDERS, "{{{}}}")}'
                )
                ok = False
        when = entry.get("when", "")
        if not isinstance(when, str):
            problems.append(f"{at}.when: expected text, got {_describe(when)}")
            ok = False
        if ok:
            out.append(RunbookAction(name=str(name), params=dict(params), when=str(when).strip()))
    return out


def parse_runbook(
    text: str,
    *,
    path: str,
    known_actions: Collection[str] | None = None,
    action_params: Mapping[str, Collection[str]] | None = None,
) -> Runbook:
    """Parse and validate one runbook; raise :class:`RunbookError` listing every problem.

    ``known_actions`` are the valid action names (default: the registry's, or
    :data:`~bot.knowledge.known_actions.KNOWN_ACTIONS`); ``action_params``, when
    given, maps an action name to its parameter names so misspelt params are caught.
    With ``known_actions`` left unset, both come from the registry.
    """
    if known_actions is None:
        known: Collection[str] = default_known_actions()
        action_params = default_action_params() if action_params is None else action_params
    else:
        known = known_actions
    fm_text, body, first_line = split_front_matter(text, path=path)
    prefix = f"{path}: front matter: "
    try:
        fm = yaml.safe_load(fm_text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = f"line {mark.line + first_line}: " if mark is not None else ""
        raise RunbookError([f"{prefix}{line}invalid YAML: {e.problem or e.context}"]) from None
    except yaml.YAMLError as e:
        raise RunbookError([f"{prefix}invalid YAML: {e}"]) from None
    if fm is None:
        fm = {}
    if not isinstance(fm, dict):
        raise RunbookError([f"{prefix}expected a mapping of keys, got {_describe(fm)}"])

    problems: list[str] = []
    allowed = _REQUIRED + _OPTIONAL
    for key in fm:
        if key not in allowed:
            hint = _did_you_mean(str(key), allowed) or f"; expected one of: {', '.join(sorted(allowed))}"
            problems.append(f'{prefix}unknown key "{key}"{hint}')
    title = fm.get("title")
    if "title" not in fm:
        problems.append(f'{prefix}missing required key "title"')
    elif not isinstance(title, str) or not title.strip():
        problems.append(f"{prefix}title: expected one line of text, got {_describe(title)}")
    services = _str_list(fm, "services", problems, prefix, required=True)
    symptoms = _str_list(fm, "symptoms", problems, prefix, required=True)
    categories = _str_list(fm, "categories", problems, prefix, required=True)
    for i, cat in enumerate(categories):
        if cat not in CATEGORIES:
            problems.append(f'{prefix}categories[{i}]: unknown category "{cat}"{_did_you_mean(cat, CATEGORIES)}')
    signals = _str_list(fm, "signals", problems, prefix, required=False)
    owners = _str_list(fm, "owners", problems, prefix, required=False)
    actions = _actions(fm, problems, prefix, known, action_params)
    reviewed = fm.get("last_reviewed")
    if reviewed is not None and not isinstance(reviewed, dt.date):
        try:
            reviewed = dt.date.fromisoformat(str(reviewed))
        except ValueError:
            problems.append(f"{prefix}last_reviewed: expected a date YYYY-MM-DD, got {_describe(reviewed)}")
            reviewed = None
    if isinstance(reviewed, dt.datetime):
        reviewed = reviewed.date()
    sections = split_sections(body)
    if not sections:
        problems.append(f"{path}: body: expected prose for people below the front matter")
    if problems:
        raise RunbookError(problems)
    return Runbook(
        path=path,
        title=str(title).strip(),
        services=services,
        symptoms=symptoms,
        categories=categories,
        signals=signals,
        actions=actions,
        owners=owners,
        last_reviewed=reviewed,
        body=body,
        sections=sections,
        content_hash=content_hash(text),
    )


def display_path(file: Path, directory: Path) -> str:
    """``<dir name>/<relative path>``: stable whether the directory is given relative or absolute."""
    return f"{directory.name}/{file.relative_to(directory).as_posix()}"


def runbook_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*.md") if p.is_file() and p.name.lower() != "readme.md")


def read_runbook(
    file: Path,
    *,
    path: str,
    known_actions: Collection[str] | None = None,
    action_params: Mapping[str, Collection[str]] | None = None,
) -> Runbook:
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise RunbookError([f"{path}: cannot read: {e}"]) from None
    return parse_runbook(text, path=path, known_actions=known_actions, action_params=action_params)


def _resolve(
    known_actions: Collection[str] | None, action_params: Mapping[str, Collection[str]] | None
) -> tuple[Collection[str], Mapping[str, Collection[str]] | None]:
    if known_actions is None:
        return default_known_actions(), default_action_params() if action_params is None else action_params
    return known_actions, action_params


def load_runbooks(
    directory: Path,
    *,
    known_actions: Collection[str] | None = None,
    action_params: Mapping[str, Collection[str]] | None = None,
) -> tuple[list[Runbook], dict[str, list[str]]]:
    """Every valid runbook under ``directory``, and the problems of the others by path."""
    known, params = _resolve(known_actions, action_params)
    good: list[Runbook] = []
    bad: dict[str, list[str]] = {}
    if not directory.is_dir():
        return good, bad
    for file in runbook_files(directory):
        path = display_path(file, directory)
        try:
            good.append(read_runbook(file, path=path, known_actions=known, action_params=params))
        except RunbookError as e:
            bad[path] = e.problems
    return good, bad


def lint_paths(
    paths: Iterable[Path],
    *,
    known_actions: Collection[str] | None = None,
    action_params: Mapping[str, Collection[str]] | None = None,
) -> list[str]:
    """One line per problem across files and directories (paths shown as given)."""
    known, params = _resolve(known_actions, action_params)
    problems: list[str] = []
    for p in paths:
        files = runbook_files(p) if p.is_dir() else [p]
        if p.is_dir() and not files:
            problems.append(f"{p}: no runbooks (*.md) found")
        if not p.exists():
            problems.append(f"{p}: no such file or directory")
            continue
        for f in files:
            try:
                read_runbook(f, path=f.as_posix(), known_actions=known, action_params=params)
            except RunbookError as e:
                problems.extend(e.problems)
    return problems


def render_params(params: dict[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
    """Fill ``{placeholder}`` strings from ``context``; unknown placeholders stay as they are."""

    def fill(v: Any) -> Any:
        if isinstance(v, str):
            whole = _PLACEHOLDER_RE.fullmatch(v)
            if whole and whole.group(1) in context:
                return context[whole.group(1)]
            return _PLACEHOLDER_RE.sub(lambda m: str(context.get(m.group(1), m.group(0))), v)
        if isinstance(v, dict):
            return {k: fill(x) for k, x in v.items()}
        if isinstance(v, list):
            return [fill(x) for x in v]
        return v

    return {k: fill(v) for k, v in params.items()}
