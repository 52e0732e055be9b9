"""PATCH bodies and selectors as the Kubernetes API server reads them.

- ``application/strategic-merge-patch+json``: a merge patch in which lists of
  objects with a ``name`` (containers, env) merge by name; ``null`` deletes.
- ``application/merge-patch+json``: RFC 7386 (lists are replaced).
- ``application/json-patch+json``: RFC 6902 (add, remove, replace, test, copy, move).

Label selectors: ``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``, ``k notin (a,b)``,
``k``, ``!k``, comma-separated. Field selectors: ``path=v`` / ``path!=v`` on
dotted paths (``spec.nodeName``, ``metadata.name``, ``involvedObject.name``).
"""

from __future__ import annotations

import copy
import re
from typing import Any

SMP = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"


def apply_patch(current: dict[str, Any], body: Any, content_type: str) -> dict[str, Any]:
    """The patched object; ``TypeError`` for an unsupported content type, ``ValueError`` for a bad body."""
    if content_type == JSON_PATCH:
        if not isinstance(body, list):
            raise ValueError("a JSON patch must be a list of operations")
        return json_patch(current, body)
    if content_type in (SMP, MERGE):
        if not isinstance(body, dict):
            raise ValueError("a merge patch must be a JSON object")
        out = merge(copy.deepcopy(current), body, strategic=content_type == SMP)
        if not isinstance(out, dict):
            raise ValueError("the patch replaced the whole object")
        return out
    raise TypeError(f'the body of the request was in an unknown format - accepted media types include: '
                    f'{JSON_PATCH}, {MERGE}, {SMP} (got "{content_type}")')


def merge(target: Any, patch: Any, strategic: bool) -> Any:
    if not isinstance(patch, dict):
        if strategic and isinstance(patch, list) and isinstance(target, list) and _named(patch) and _named(target):
            return _merge_named(target, patch)
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    for k, v in patch.items():
        if k == "$patch" or k.startswith("$setElementOrder") or k.startswith("$retainKeys"):
            continue
        if v is None:
            target.pop(k, None)
        else:
            target[k] = merge(target.get(k), v, strategic)
    return target


def _named(items: list[Any]) -> bool:
    return all(isinstance(i, dict) and "name" in i for i in items)


def _merge_named(target: list[Any], patch: list[Any]) -> list[Any]:
    out = [copy.deepcopy(t) for t in target]
    for item in patch:
        idx = next((i for i, t in enumerate(out) if t.get("name") == item["name"]), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                out.pop(idx)
        elif idx is None:
            out.append(merge({}, item, True))
        else:
            out[idx] = merge(out[idx], item, True)
    return out


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise ValueError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str]) -> Any:
    cur = doc
    for p in parts[:-1]:
        if isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, list) and p.isdigit() and int(p) < len(cur):
            cur = cur[int(p)]
        else:
            raise ValueError(f"path /{'/'.join(parts)} does not exist")
    return cur


def _get(doc: Any, parts: list[str]) -> Any:
    if not parts:
        return doc
    parent = _parent(doc, parts)
    key = parts[-1]
    if isinstance(parent, dict) and key in parent:
        return parent[key]
    if isinstance(parent, list) and key.isdigit() and int(key) < len(parent):
        return parent[int(key)]
    raise ValueError(f"path /{'/'.join(parts)} does not exist")


def _set(doc: Any, parts: list[str], value: Any, insert: bool) -> Any:
    if not parts:
        return value
    parent = _parent(doc, parts)
    key = parts[-1]
    if isinstance(parent, dict):
        if not insert and key not in parent:
            raise ValueError(f"replace operation does not apply: doc is missing key: /{'/'.join(parts)}")
        parent[key] = value
    elif isinstance(parent, list):
        if key == "-":
            parent.append(value)
        elif key.isdigit() and int(key) <= len(parent):
            if insert:
                parent.insert(int(key), value)
            elif int(key) < len(parent):
                parent[int(key)] = value
            else:
                raise ValueError(f"index out of range: /{'/'.join(parts)}")
        else:
            raise ValueError(f"invalid index in /{'/'.join(parts)}")
    else:
        raise ValueError(f"cannot set /{'/'.join(parts)}")
    return doc


def _remove(doc: Any, parts: list[str]) -> Any:
    parent = _parent(doc, parts)
    key = parts[-1]
    if isinstance(parent, dict) and key in parent:
        del parent[key]
    elif isinstance(parent, list) and key.isdigit() and int(key) < len(parent):
        parent.pop(int(key))
    else:
        raise ValueError(f"remove operation does not apply: doc is missing path: /{'/'.join(parts)}")
    return doc


def json_patch(current: dict[str, Any], ops: list[Any]) -> dict[str, Any]:
    doc: Any = copy.deepcopy(current)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise ValueError("each JSON patch operation needs an op and a path")
        kind, parts = op["op"], _pointer(op["path"])
        if kind in ("add", "replace"):
            if "value" not in op:
                raise ValueError(f"{kind} operation needs a value")
            doc = _set(doc, parts, copy.deepcopy(op["value"]), insert=kind == "add")
        elif kind == "remove":
            doc = _remove(doc, parts)
        elif kind == "test":
            if _get(doc, parts) != op.get("value"):
                raise ValueError(f"testing value /{op['path']} failed")
        elif kind in ("copy", "move"):
            src = _pointer(str(op.get("from", "")))
            value = copy.deepcopy(_get(doc, src))
            if kind == "move":
                doc = _remove(doc, src)
            doc = _set(doc, parts, value, insert=True)
        else:
            raise ValueError(f"unexpected JSON patch operation {kind!r}")
    if not isinstance(doc, dict):
        raise ValueError("the patch replaced the whole object")
    return doc


_SET_RE = re.compile(r"^\s*([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split(selector: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def match_labels(item: dict[str, Any], selector: str | None) -> bool:
    if not selector:
        return True
    labels = (item.get("metadata") or {}).get("labels") or {}
    for req in _split(selector):
        m = _SET_RE.match(req)
        if m:
            values = {v.strip() for v in m.group(3).split(",")}
            ok = labels.get(m.group(1)) in values
            if (m.group(2) == "in") != ok:
                return False
        elif "!=" in req:
            k, v = (s.strip() for s in req.split("!=", 1))
            if labels.get(k) == v:
                return False
        elif "=" in req:
            k, v = (s.strip() for s in req.replace("==", "=").split("=", 1))
            if labels.get(k) != v:
                return False
        elif req.startswith("!"):
            if req[1:].strip() in labels:
                return False
        elif re.fullmatch(r"[\w./-]+", req):
            if req not in labels:
                return False
        else:
            raise ValueError(req)
    return True


def _dotted(item: Any, path: str) -> Any:
    cur = item
    for p in path.split("."):
        cur = cur.get(p) if isinstance(cur, dict) else None
    return cur


def match_fields(item: dict[str, Any], selector: str | None) -> bool:
    if not selector:
        return True
    for req in _split(selector):
        neg = "!=" in req
        if not neg and "=" not in req:
            raise ValueError(req)
        k, v = (s.strip() for s in req.replace("==", "=").split("!=" if neg else "=", 1))
        value = _dotted(item, k)
        got = "" if value is None else str(value)
        if (got == v) == neg:
            return False
    return True
