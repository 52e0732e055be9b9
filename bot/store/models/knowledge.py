"""What the bot remembers after an incident, and what the LLM cost."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models.base import Base, utcnow


class IncidentMemory(Base):
    __tablename__ = "incident_memory"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id"), index=True)
    summary: Mapped[str] = mapped_column(sa.Text)
    services: Mapped[list[str]] = mapped_column(default=list)
    category: Mapped[str | None] = mapped_column(sa.String(64))
    culprit: Mapped[str | None] = mapped_column(sa.String(255))
    mitigation: Mapped[str | None] = mapped_column(sa.Text)
    outcome: Mapped[str | None] = mapped_column(sa.String(64))
    minutes_to_mitigate: Mapped[float | None]
    resolved_at: Mapped[datetime | None]


class LlmUsage(Base):
    __tablename__ = "llm_usage"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("incidents.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    model: Mapped[str] = mapped_column(sa.String(128))
    input_tokens: Mapped[int] = mapped_column(default=0)
    output_tokens: Mapped[int] = mapped_column(default=0)
    cache_read_tokens: Mapped[int] = mapped_column(default=0)
    cost_usd: Mapped[float] = mapped_column(default=0.0)
