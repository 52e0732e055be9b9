"""Load ``services.yaml`` (the service catalog), with errors naming the key path.

```yaml
services:
  - name: checkout
    namespace: shop
    tier: critical
    depends_on: [payments, orders-db]
    owners: [U0ALICE]
    slack_channel: checkout-incidents
maintenance:
  - {service: checkout, starts_at: "2026-12-02T01:00:00Z", ends_at: "2026-12-02T03:00:00Z", note: "db upgrade"}
```
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.catalog.model import Service, ServiceCatalog


class CatalogError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class MaintenanceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service: str
    starts_at: datetime
    ends_at: datetime
    note: str = ""


class CatalogFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    services: list[Service] = Field(default_factory=list)
    maintenance: list[MaintenanceSpec] = Field(default_factory=list)


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for p in loc:
        out += f"[{p}]" if isinstance(p, int) else ("." if out else "") + str(p)
    return out


def parse_catalog(data: Any, name: str) -> tuple[ServiceCatalog, list[MaintenanceSpec]]:
    if data is None:
        return ServiceCatalog(), []
    if not isinstance(data, dict):
        raise CatalogError([f"{name}: expected a mapping with a services list"])
    try:
        parsed = CatalogFile.model_validate(data)
    except ValidationError as e:
        raise CatalogError([f"{name}: {_loc(err['loc'])}: {err['msg']}" for err in e.errors()]) from None
    problems = []
    names = [s.name for s in parsed.services]
    for i, s in enumerate(parsed.services):
        if names.index(s.name) != i:
            problems.append(f"{name}: services[{i}].name: duplicate service \"{s.name}\"")
        for j, d in enumerate(s.depends_on):
            if d not in names:
                problems.append(f"{name}: services[{i}].depends_on[{j}]: no service named \"{d}\"")
    for i, m in enumerate(parsed.maintenance):
        if m.service not in names:
            problems.append(f"{name}: maintenance[{i}].service: no service named \"{m.service}\"")
        if m.ends_at <= m.starts_at:
            problems.append(f"{name}: maintenance[{i}].ends_at: expected a time after starts_at")
    if problems:
        raise CatalogError(problems)
    return ServiceCatalog(services=parsed.services), parsed.maintenance


def load_catalog(path: str | Path | None) -> tuple[ServiceCatalog, list[MaintenanceSpec]]:
    if path is None:
        return ServiceCatalog(), []
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogError([f"{p}: no such file"]) from None
    except yaml.YAMLError as e:
        raise CatalogError([f"{p}: not valid YAML: {e}"]) from None
    return parse_catalog(data, str(p))


def dump_catalog(catalog: ServiceCatalog) -> str:
    return yaml.safe_dump(
        {"services": [s.model_dump(exclude_none=True, exclude_defaults=False) for s in catalog.services]},
        sort_keys=False,
    )
