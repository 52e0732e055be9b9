"""Incident memory: what happened before, kept in the chromadb ``incidents`` collection.

Independent of the SQL store: callers hand in plain :class:`IncidentRecord`
values (the incidents service writes one when an incident resolves).

    memory = IncidentMemory(index)
    memory.remember(IncidentRecord(key="INC-42", summary="checkout 5xx after pool size change",
                                   services=["checkout"], category="config_regression",
                                   culprit="cfg-77", mitigation="revert_config",
                                   outcome="mitigated", minutes_to_mitigate=4))
    memory.similar("checkout errors after config change", services=["checkout"], k=3)
    memory.priors("checkout")  # {"config_regression": 0.12, ...} over every category, sums to 1
    memory_evidence(memory=memory, query_text=..., services=[...], window=(-360, 0), next_id=ids)

:func:`memory_evidence` summaries read ``seen before: INC-42 (config_regression
on checkout), revert_config worked in 4 min``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.investigation.evidence import CATEGORIES, Evidence
from bot.knowledge.retrieval import status_evidence

if TYPE_CHECKING:
    from bot.knowledge.index import KnowledgeIndex

SERVICE_BOOST = 0.05
MIN_SCORE = 0.45
WORKED = frozenset({"mitigated", "resolved", "recovered"})


@dataclass(frozen=True)
class IncidentRecord:
    key: str  # "INC-42"
    summary: str  # one or two sentences: what users saw and what the cause was
    services: list[str]
    category: str  # a FORMAT.md category
    culprit: str | None = None
    mitigation: str | None = None  # a mitigation kind, e.g. "revert_config"
    outcome: str = "mitigated"  # mitigated | resolved | recovered | failed | escalated | ...
    minutes_to_mitigate: float | None = None
    extra: dict[str, str] = field(default_factory=dict)  # small free-form facts (link, date)

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"IncidentRecord {self.key}: unknown category {self.category!r}")

    def document(self) -> str:
        return f"{self.summary} Services: {', '.join(self.services)}. Cause: {self.category.replace('_', ' ')}."

    def metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "key": self.key,
            "summary": self.summary,
            "services": json.dumps(self.services),
            "category": self.category,
            "culprit": self.culprit or "",
            "mitigation": self.mitigation or "",
            "outcome": self.outcome,
            "minutes": -1.0 if self.minutes_to_mitigate is None else float(self.minutes_to_mitigate),
            "extra": json.dumps(self.extra),
        }
        for s in self.services:
            meta[f"svc:{s}"] = True
        return meta

    @classmethod
    def from_metadata(cls, m: dict[str, Any]) -> IncidentRecord:
        minutes = float(m.get("minutes", -1.0))
        return cls(
            key=str(m["key"]),
            summary=str(m["summary"]),
            services=json.loads(str(m["services"])),
            category=str(m["category"]),
            culprit=str(m["culprit"]) or None,
            mitigation=str(m["mitigation"]) or None,
            outcome=str(m["outcome"]),
            minutes_to_mitigate=None if minutes < 0 else minutes,
            extra=json.loads(str(m.get("extra", "{}"))),
        )


class IncidentMemory:
    def __init__(self, index: KnowledgeIndex) -> None:
        self.collection = index.incidents

    def remember(self, record: IncidentRecord) -> None:
        """Store (or replace, by key) one resolved incident."""
        self.collection.upsert(
            ids=[record.key], documents=[record.document()], metadatas=[record.metadata()]
        )

    def forget(self, key: str) -> None:
        self.collection.delete(ids=[key])

    def similar(
        self, query_text: str, services: Collection[str] = (), k: int = 5
    ) -> list[tuple[IncidentRecord, float]]:
        """Past incidents most like ``query_text``, best first; sharing a service adds a small boost."""
        total = self.collection.count()
        if total == 0 or not query_text.strip():
            return []
        res = self.collection.query(
            query_texts=[query_text],
            n_results=min(total, max(k * 3, 10)),
            include=["metadatas", "distances"],  # type: ignore[list-item]
        )
        wanted = set(services)
        out: list[tuple[IncidentRecord, float]] = []
        for m, d in zip((res.get("metadatas") or [[]])[0], (res.get("distances") or [[]])[0], strict=False):
            rec = IncidentRecord.from_metadata(dict(m))
            score = 1.0 - float(d) + (SERVICE_BOOST if wanted & set(rec.services) else 0.0)
            out.append((rec, round(score, 4)))
        out.sort(key=lambda p: p[1], reverse=True)
        return out[:k]

    def records(self, service: str | None = None) -> list[IncidentRecord]:
        got = self.collection.get(
            where={f"svc:{service}": True} if service else None,  # type: ignore[arg-type]
            include=["metadatas"],  # type: ignore[list-item]
        )
        return [IncidentRecord.from_metadata(dict(m)) for m in got.get("metadatas") or [] if m]

    def priors(self, service: str, *, alpha: float = 1.0) -> dict[str, float]:
        """Category frequencies of ``service``'s past incidents, Laplace-smoothed over every category.

        ``(count(c) + alpha) / (n + alpha * len(CATEGORIES))``: uniform with no history, sums to 1.
        """
        counts = Counter(r.category for r in self.records(service))
        n = sum(counts.values())
        denom = n + alpha * len(CATEGORIES)
        return {c: (counts.get(c, 0) + alpha) / denom for c in CATEGORIES}


def describe(rec: IncidentRecord) -> str:
    where = ", ".join(rec.services) or "unknown service"
    text = f"seen before: {rec.key} ({rec.category} on {where})"
    if rec.mitigation:
        if rec.outcome in WORKED:
            took = f" in {rec.minutes_to_mitigate:g} min" if rec.minutes_to_mitigate is not None else ""
            text += f", {rec.mitigation} worked{took}"
        else:
            text += f", {rec.mitigation} did not work ({rec.outcome})"
    return text


def memory_evidence(
    *,
    memory: IncidentMemory,
    query_text: str,
    services: Sequence[str],
    window: tuple[float, float],
    next_id: Callable[[], str],
    k: int = 3,
    min_score: float = MIN_SCORE,
) -> list[Evidence]:
    """Similar past incidents as evidence (``source="incident_memory"``); never raises."""
    try:
        pairs = memory.similar(query_text, services=services, k=k)
    except Exception as e:
        return [status_evidence(next_id, "incident_memory", query_text, window, "error",
                                f"incident memory search failed: {type(e).__name__}: {e}")]
    good = [(r, s) for r, s in pairs if s >= min_score]
    if not good:
        return [status_evidence(next_id, "incident_memory", query_text, window, "no_data", "no similar past incident")]
    return [
        Evidence(
            id=next_id(),
            source="incident_memory",
            query=query_text,
            window=window,
            status="ok",
            summary=describe(r),
            data={
                "key": r.key,
                "category": r.category,
                "culprit": r.culprit,
                "services": list(r.services),
                "mitigation": r.mitigation,
                "outcome": r.outcome,
                "minutes_to_mitigate": r.minutes_to_mitigate,
                "score": s,
            },
        )
        for r, s in good
    ]
