"""Small, strict readers for untrusted JSON fields: every failure names the field."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bot.intake.errors import PayloadError

MAX_BODY_BYTES = 1_000_000
MAX_TEXT = 4000


def parse_json(body: bytes) -> Any:
    if len(body) > MAX_BODY_BYTES:
        raise PayloadError(f"body is {len(body)} bytes; the limit is {MAX_BODY_BYTES}", status=413)
    if not body.strip():
        raise PayloadError("body is empty; expected a JSON object", status=400)
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        raise PayloadError("body is not UTF-8 text", status=400) from None
    except json.JSONDecodeError as e:
        raise PayloadError(f"body is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}", status=400) from None
    except RecursionError:  # e.g. 100k nested arrays: json.loads gives up, which must not be a 500
        raise PayloadError("body is nested too deeply to be an alert payload", status=400) from None


def obj(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PayloadError(f"{path}: expected an object, got {_kind(value)}")
    return value


def text(d: dict[str, Any], key: str, path: str, *, required: bool = True, default: str = "") -> str:
    v = d.get(key)
    if v is None:
        if required:
            raise PayloadError(f"{path}.{key}: missing")
        return default
    if isinstance(v, bool) or not isinstance(v, str | int | float):
        raise PayloadError(f"{path}.{key}: expected a string, got {_kind(v)}")
    return str(v)[:MAX_TEXT]


def str_map(d: dict[str, Any], key: str, path: str) -> dict[str, str]:
    v = d.get(key)
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise PayloadError(f"{path}.{key}: expected an object of strings, got {_kind(v)}")
    out = {}
    for k, val in v.items():
        if val is None:
            continue
        if isinstance(val, dict | list):
            raise PayloadError(f"{path}.{key}.{k}: expected a string, got {_kind(val)}")
        out[str(k)[:256]] = str(val)[:MAX_TEXT]
    return out


def number(v: Any, path: str) -> float | None:
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        raise PayloadError(f"{path}: expected a number, got a boolean")
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v.strip().rstrip("%"))
        except ValueError:
            raise PayloadError(f"{path}: expected a number, got {v[:40]!r}") from None
    raise PayloadError(f"{path}: expected a number, got {_kind(v)}")


def timestamp(v: Any, path: str, *, required: bool = True) -> datetime | None:
    """RFC 3339 text, or epoch seconds/milliseconds."""
    if v is None or v == "" or v == "0001-01-01T00:00:00Z":
        if required:
            raise PayloadError(f"{path}: missing timestamp")
        return None
    if isinstance(v, bool):
        raise PayloadError(f"{path}: expected a timestamp, got a boolean")
    if isinstance(v, int | float) or (isinstance(v, str) and v.strip().lstrip("-").isdigit()):
        x = float(v)
        if x > 1e11:
            x /= 1000.0
        try:
            return datetime.fromtimestamp(x, UTC)
        except (OverflowError, OSError, ValueError):
            raise PayloadError(f"{path}: timestamp {v!r} is out of range") from None
    if isinstance(v, str):
        s = v.strip().replace("Z", "+00:00")
        # Go writes nanoseconds; Python takes microseconds
        if "." in s:
            head, _, tail = s.partition(".")
            digits = "".join(ch for ch in tail if ch.isdigit())
            rest = tail[len(digits):]
            s = f"{head}.{digits[:6]}{rest}"
        try:
            dt = datetime.fromisoformat(s)
        except ValueError:
            raise PayloadError(f"{path}: expected an RFC 3339 timestamp, got {v[:40]!r}") from None
        return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    raise PayloadError(f"{path}: expected a timestamp, got {_kind(v)}")


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(type(v), "a number")
