"""Small synthetic evidence for reasoner tests (no servers, no scenarios)."""

from __future__ import annotations

from typing import Any

import numpy as np

from bot.catalog.model import Service, ServiceCatalog
from bot.investigation.evidence import Evidence
from bot.investigation.onset import characterise

MINUTES = [float(m) for m in range(-360, 1)]


class Ev:
    def __init__(self) -> None:
        self.items: list[Evidence] = []

    def _add(self, source: str, data: dict[str, Any], summary: str = "") -> str:
        i = f"ev-{len(self.items) + 1}"
        self.items.append(Evidence(i, source, "q", (-360, 0), "ok", summary or source, data=data))
        return i

    def series(self, service: str, metric: str, base: float, *, step: tuple[float, float] | None = None,
               ramp: tuple[float, float, float] | None = None, blip: tuple[float, float, float] | None = None,
               noise: float = 0.03, seed: int = 3) -> str:
        m = np.array(MINUTES)
        v = np.full(len(m), base)
        if ramp is not None:
            a, b, to = ramp
            mask = (m >= a) & (m <= b)
            v[mask] = base + (to - base) * (m[mask] - a) / (b - a)
            v[m > b] = to
        if step is not None:
            v[m >= step[0]] = step[1]
        if blip is not None:  # a bounded excursion: (from, to, value)
            v[(m >= blip[0]) & (m <= blip[1])] = blip[2]
        v = v * (1 + noise * np.random.default_rng(seed).standard_normal(len(m)))
        shape = characterise(MINUTES, list(v), metric)
        return self._add("datadog.metrics", {"type": "series", "service": service, "metric": metric,
                                             "minutes": MINUTES, "values": list(v), "shape": shape.to_dict()})

    def change(self, cid: str, kind: str, service: str, at: float, **attrs: str) -> str:
        return self._add("datadog.events", {"type": "change", "id": cid, "kind": kind, "service": service, "at": at,
                                            "attributes": attrs})

    def log(self, service: str, message: str, first: float, level: str = "error", sigs: list[dict] | None = None) -> str:
        return self._add("datadog.logs", {"type": "log", "service": service, "level": level, "message": message,
                                          "count": 100, "first": first, "last": 0.0, "signatures": sigs or []})

    def pods(self, service: str, rows: list[dict[str, Any]]) -> str:
        return self._add("kubernetes.pods", {"type": "pods", "service": service, "namespace": "default", "pods": rows})

    def nodes(self, rows: list[dict[str, Any]]) -> str:
        return self._add("kubernetes.nodes", {"type": "nodes", "nodes": rows})

    def sessions(self, db: str, rows: list[dict[str, Any]]) -> str:
        return self._add("postgres.sessions", {"type": "db_sessions", "database": db, "sessions": rows})


def catalog(*specs: tuple[str, str, list[str]]) -> ServiceCatalog:
    return ServiceCatalog(services=[Service(name=n, kind=k, depends_on=d) for n, k, d in specs])  # type: ignore[arg-type]
