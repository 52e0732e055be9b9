"""``heartbeats.yaml``: the bot's own checks, validated with errors naming the file and key.

::

    version: 1
    defaults: {interval: 1m, for: 2m}
    checks:
      - {name: checkout-http, kind: http, service: checkout, url: "http://checkout/healthz",
         max_latency: 800ms, timeout: 2s}
      - {name: orders-db-conns, kind: postgres, service: orders-db, database: orders, above: 80}
      - {name: root-disk, kind: disk, path: /, above: 90}
      - {name: checkout-errors, kind: metric, source: datadog, service: checkout, metric: error_rate,
         above: 0.05}
      - {name: checkout-latency-anomaly, kind: anomaly, source: prometheus, service: checkout,
         metric: latency_p95_ms}

Durations are ``500ms``, ``30s``, ``5m``, ``1h``, ``1h30m`` or a number of seconds.
A check breaches when its condition has held for ``for`` (``1 + ceil(for / interval)``
consecutive failing checks, so one blip does not page) and recovers on the first good check.

Each problem is one line: ``heartbeats.yaml: checks[1].interval: expected a duration like 30s,
5m or 1h, got "soon"``; :class:`HeartbeatsError` carries them all.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m(?!s))?\s*(?:(\d+(?:\.\d+)?)s)?\s*"
                       r"(?:(\d+(?:\.\d+)?)ms)?\s*$")
_DURATION_HINT = "expected a duration like 30s, 5m or 1h"


def parse_duration(value: Any) -> float:
    """Seconds from ``"90s"``, ``"5m"``, ``"1h30m"``, ``"250ms"`` or a plain number of seconds."""
    if isinstance(value, bool):
        raise ValueError(f"{_DURATION_HINT}, got {json.dumps(value)}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value.strip():
        v = value.strip()
        if re.fullmatch(r"-?\d+(?:\.\d+)?", v):
            return float(v)
        if v.startswith("-") and len(v) > 1:
            return -parse_duration(v[1:])
        m = _DURATION.match(v)
        if m and any(m.groups()):
            h, mi, s, ms = (float(g) if g else 0.0 for g in m.groups())
            return h * 3600 + mi * 60 + s + ms / 1000
    raise ValueError(f"{_DURATION_HINT}, got {json.dumps(value, default=str)}")


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {json.dumps(value, default=str)}")
    return float(value)


Duration = Annotated[float, BeforeValidator(parse_duration)]
Threshold = Annotated[float, BeforeValidator(_number)]
_strict = ConfigDict(extra="forbid", populate_by_name=True)


class Defaults(BaseModel):
    model_config = _strict

    interval: Duration = 60.0
    for_: Duration | None = Field(None, alias="for")
    timeout: Duration = 5.0


class CheckBase(BaseModel):
    model_config = _strict

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,99}$")
    service: str | None = None
    description: str | None = None
    interval: Duration | None = None  # None: defaults.interval
    for_: Duration | None = Field(None, alias="for")  # None: defaults.for, else one interval
    timeout: Duration | None = None

    @model_validator(mode="after")
    def _durations(self) -> CheckBase:
        if self.interval is not None and self.interval < 1:
            raise ValueError(f"interval: must be at least 1s, got {self.interval:g}s")
        if self.for_ is not None and self.for_ < 0:
            raise ValueError(f"for: must not be negative, got {self.for_:g}s")
        if self.timeout is not None and self.timeout <= 0:
            raise ValueError(f"timeout: must be more than 0s, got {self.timeout:g}s")
        return self


class _Bounds(BaseModel):
    """``above`` / ``below``: exactly one, a number."""

    above: Threshold | None = None
    below: Threshold | None = None

    def breaches(self, value: float) -> bool:
        if self.above is not None:
            return value > self.above
        return self.below is not None and value < self.below

    @property
    def threshold(self) -> float | None:
        return self.above if self.above is not None else self.below

    def _one_bound(self, pct: bool = False) -> None:
        if self.above is None and self.below is None:
            raise ValueError("missing a threshold: give above or below")
        if self.above is not None and self.below is not None:
            raise ValueError("below: give either above or below, not both")
        key, t = ("above", self.above) if self.above is not None else ("below", self.below)
        if pct and t is not None and not 0 <= t <= 100:
            raise ValueError(f"{key}: expected a percentage between 0 and 100, got {t:g}")


class HttpCheck(CheckBase):
    kind: Literal["http"]
    url: str = Field(pattern=r"^https?://")
    method: Literal["GET", "HEAD"] = "GET"
    expect_status: list[int] = Field(default_factory=lambda: [200])
    max_latency: Duration | None = None

    @model_validator(mode="after")
    def _latency(self) -> HttpCheck:
        if self.max_latency is not None and self.max_latency <= 0:
            raise ValueError(f"max_latency: must be more than 0s, got {self.max_latency:g}s")
        return self


class PostgresCheck(CheckBase, _Bounds):
    """Client connections on ``database`` as a percentage of its connection limit."""

    kind: Literal["postgres"]
    database: str

    @model_validator(mode="after")
    def _bounds(self) -> PostgresCheck:
        self._one_bound(pct=True)
        return self


class DiskCheck(CheckBase, _Bounds):
    """Used space of the file system holding ``path``, in percent."""

    kind: Literal["disk"]
    path: str

    @model_validator(mode="after")
    def _bounds(self) -> DiskCheck:
        self._one_bound(pct=True)
        return self


class MetricCheck(CheckBase, _Bounds):
    """The latest value of ``metric`` of ``service`` from a metrics source, against a fixed threshold."""

    kind: Literal["metric"]
    source: Literal["datadog", "prometheus"]
    service: str
    metric: str

    @model_validator(mode="after")
    def _bounds(self) -> MetricCheck:
        self._one_bound()
        return self


class AnomalyCheck(CheckBase):
    """``metric`` against its own recent and seasonal baseline (see :mod:`bot.scheduler.anomaly`)."""

    kind: Literal["anomaly"]
    source: Literal["datadog", "prometheus"]
    service: str
    metric: str
    direction: Literal["up", "down", "both"] = "up"
    window: Duration = 3 * 3600.0
    guard: Duration = 15 * 60.0
    seasonal_days: int = Field(7, ge=0, le=28)
    tolerance: float = Field(1.0, ge=0)

    @model_validator(mode="after")
    def _window(self) -> AnomalyCheck:
        if self.window < 1800:
            raise ValueError(f"window: must be at least 30m, got {self.window:g}s")
        if not 0 <= self.guard < self.window:
            raise ValueError("guard: must be at least 0s and shorter than window")
        return self


Check = Annotated[HttpCheck | PostgresCheck | DiskCheck | MetricCheck | AnomalyCheck, Field(discriminator="kind")]
KINDS = ("http", "postgres", "disk", "metric", "anomaly")


class HeartbeatsConfig(BaseModel):
    model_config = _strict

    version: Literal[1] = 1
    defaults: Defaults = Field(default_factory=Defaults)  # type: ignore[arg-type]
    checks: list[Check] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> HeartbeatsConfig:
        seen: set[str] = set()
        for i, c in enumerate(self.checks):
            if c.name in seen:
                raise ValueError(f"checks[{i}].name: duplicate check name {c.name!r}")
            seen.add(c.name)
        return self

    def interval(self, check: CheckBase) -> float:
        return check.interval if check.interval is not None else self.defaults.interval

    def for_(self, check: CheckBase) -> float:
        if check.for_ is not None:
            return check.for_
        return self.defaults.for_ if self.defaults.for_ is not None else self.interval(check)

    def timeout(self, check: CheckBase) -> float:
        return check.timeout if check.timeout is not None else self.defaults.timeout

    def checks_needed(self, check: CheckBase) -> int:
        """Consecutive failing checks that make a breach: the condition held for ``for``."""
        return 1 + math.ceil(self.for_(check) / self.interval(check) - 1e-9)

    def get(self, name: str) -> Check | None:
        return next((c for c in self.checks if c.name == name), None)


class HeartbeatsError(Exception):
    """``heartbeats.yaml`` is invalid; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_heartbeats(path: str | Path) -> HeartbeatsConfig:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise HeartbeatsError([f"{p}: no such file"]) from None
    except (OSError, UnicodeDecodeError) as e:
        raise HeartbeatsError([f"{p}: cannot read: {e}"]) from None
    return load_heartbeats_text(text, str(p))


def load_heartbeats_text(text: str, name: str = "heartbeats.yaml") -> HeartbeatsConfig:
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise HeartbeatsError([f"{name}: {where}not valid YAML: {e.problem or e}"]) from None
    except yaml.YAMLError as e:
        raise HeartbeatsError([f"{name}: not valid YAML: {e}"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise HeartbeatsError([f"{name}: expected a mapping with a checks list at the top level"])
    try:
        return HeartbeatsConfig.model_validate(data)
    except ValidationError as e:
        raise HeartbeatsError([f"{name}: {line}" for line in describe(e, data)]) from None


# --- error descriptions -------------------------------------------------------------


def _path(loc: list[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def _lookup(data: Any, loc: list[Any]) -> Any:
    cur = data
    for part in loc:
        try:
            cur = cur[part]
        except (KeyError, IndexError, TypeError):
            return None
    return cur


def _fields_of(loc: list[Any], data: Any) -> list[str]:
    from pydantic.fields import FieldInfo

    models: dict[str, type[BaseModel]] = {
        "http": HttpCheck, "postgres": PostgresCheck, "disk": DiskCheck, "metric": MetricCheck,
        "anomaly": AnomalyCheck,
    }
    if loc[:1] == ["defaults"]:
        fields: dict[str, FieldInfo] = Defaults.model_fields
    elif loc[:1] == ["checks"] and len(loc) >= 2:
        kind = _lookup(data, loc[:2] + ["kind"])
        fields = models[kind].model_fields if kind in models else CheckBase.model_fields
    else:
        fields = HeartbeatsConfig.model_fields
    return sorted(f.alias or n for n, f in fields.items())


def describe(err: ValidationError, data: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for e in err.errors():
        # a tagged union puts the tag ("http") into the location; it is not a key
        loc = [p for i, p in enumerate(e["loc"]) if not (i == 2 and e["loc"][0] == "checks" and p in KINDS)]
        msg = str(e["msg"]).removeprefix("Value error, ")
        if ": " in msg and re.match(r"^[a-z_]+(\[\d+\])?(\.[a-z_]+)?: ", msg):  # a model validator named the key
            key, _, msg = msg.partition(": ")
            loc = loc + [p for p in re.split(r"\.|(?=\[)", key) if p]
            loc = [int(p[1:-1]) if isinstance(p, str) and p.startswith("[") else p for p in loc]
        path = _path(loc) or "(top level)"
        if e["type"] == "extra_forbidden":
            out.append(f"{path}: unknown key (expected one of: {', '.join(_fields_of(loc[:-1], data))})")
        elif e["type"] == "missing":
            out.append(f"{path}: missing")
        elif e["type"] == "union_tag_invalid" or e["type"] == "union_tag_not_found":
            out.append(f"{path}.kind: expected one of {', '.join(KINDS)}, got "
                       f"{json.dumps(_lookup(data, loc + ['kind']), default=str)}")
        elif e["type"] == "string_pattern_mismatch":
            out.append(f"{path}: got {json.dumps(e.get('input'), default=str)}, which does not match "
                       f"{e.get('ctx', {}).get('pattern')}")
        else:
            out.append(f"{path}: {msg}")
    return list(dict.fromkeys(out))
