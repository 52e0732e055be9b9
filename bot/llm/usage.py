"""Tokens and cost per incident: counted per call, persisted to ``llm_usage``, summed for the digest.

Prices are US dollars per million tokens (input, output); a cache write costs
1.25x input and a cache read 0.1x. Unknown models are priced as Sonnet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

PRICES: tuple[tuple[str, float, float], ...] = (  # model-name prefix, input, output
    ("claude-opus-4-5", 5.0, 25.0), ("claude-opus-4-6", 5.0, 25.0), ("claude-opus", 15.0, 75.0),
    ("claude-sonnet", 3.0, 15.0), ("claude-haiku-4", 1.0, 5.0), ("claude-3-5-haiku", 0.8, 4.0),
    ("claude-haiku", 1.0, 5.0),
)
CACHE_WRITE, CACHE_READ = 1.25, 0.10


def price(model: str) -> tuple[float, float]:
    for prefix, i, o in PRICES:
        if model.startswith(prefix):
            return i, o
    return 3.0, 15.0


@dataclass
class Usage:
    model: str
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0

    def add(self, usage: dict[str, Any] | None) -> None:
        u = usage or {}
        self.calls += 1
        self.input_tokens += int(u.get("input_tokens") or 0)
        self.output_tokens += int(u.get("output_tokens") or 0)
        self.cache_read_tokens += int(u.get("cache_read_input_tokens") or 0)
        self.cache_creation_tokens += int(u.get("cache_creation_input_tokens") or 0)

    def merge(self, other: Usage) -> None:
        self.calls += other.calls
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_read_tokens += other.cache_read_tokens
        self.cache_creation_tokens += other.cache_creation_tokens

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_creation_tokens

    @property
    def cost_usd(self) -> float:
        i, o = price(self.model)
        return round((self.input_tokens * i + self.cache_creation_tokens * i * CACHE_WRITE
                      + self.cache_read_tokens * i * CACHE_READ + self.output_tokens * o) / 1e6, 6)

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "calls": self.calls, "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens, "cache_read_tokens": self.cache_read_tokens,
                "cache_creation_tokens": self.cache_creation_tokens, "cost_usd": self.cost_usd}


@dataclass(frozen=True)
class UsageTotals:
    incidents: int
    records: int  # llm_usage rows (one per investigation or chat answer)
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cost_usd: float


def record_usage(session: Any, *, incident_id: int | None, usage: Usage) -> Any:
    """Add one ``llm_usage`` row for an investigation (or a chat answer); the caller commits."""
    from bot.store.models import LlmUsage

    row = LlmUsage(incident_id=incident_id, model=usage.model,
                   input_tokens=usage.input_tokens + usage.cache_creation_tokens,
                   output_tokens=usage.output_tokens, cache_read_tokens=usage.cache_read_tokens,
                   cost_usd=usage.cost_usd)
    session.add(row)
    return row


def usage_totals(session: Any, *, since: datetime | None = None, until: datetime | None = None,
                 incident_id: int | None = None) -> UsageTotals:
    """Tokens and dollars in a period (or for one incident): what the daily digest shows."""
    import sqlalchemy as sa

    from bot.store.models import LlmUsage

    q = sa.select(
        sa.func.count(sa.distinct(LlmUsage.incident_id)), sa.func.count(LlmUsage.id),
        sa.func.coalesce(sa.func.sum(LlmUsage.input_tokens), 0),
        sa.func.coalesce(sa.func.sum(LlmUsage.output_tokens), 0),
        sa.func.coalesce(sa.func.sum(LlmUsage.cache_read_tokens), 0),
        sa.func.coalesce(sa.func.sum(LlmUsage.cost_usd), 0.0),
    )
    if since is not None:
        q = q.where(LlmUsage.at >= since)
    if until is not None:
        q = q.where(LlmUsage.at < until)
    if incident_id is not None:
        q = q.where(LlmUsage.incident_id == incident_id)
    incidents, records, i, o, c, cost = session.execute(q).one()
    return UsageTotals(int(incidents), int(records), int(i), int(o), int(c), round(float(cost), 6))
