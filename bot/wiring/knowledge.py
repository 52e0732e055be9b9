"""Runbooks and incident memory for the investigation, built lazily from Settings.

Indexing embeds every runbook section once (seconds); it runs in the background at
start-up so the web server answers at once. Until it is ready, investigations run
without runbook evidence (the brief is not delayed for it).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from bot.investigation.evidence import Evidence
from bot.settings import Settings

log = logging.getLogger(__name__)


class Knowledge:
    def __init__(self, settings: Settings, known_actions: set[str] | None = None) -> None:
        self.settings = settings
        self.known_actions = known_actions
        self.index: Any = None
        self.memory: Any = None
        self.ready = threading.Event()
        self.error: str | None = None

    def start(self, *, background: bool = True) -> None:
        if not self.settings.knowledge.enabled:
            self.error = "disabled (AISRE_KNOWLEDGE__ENABLED=false)"
            self.ready.set()
            return
        if background:
            threading.Thread(target=self._load, name="knowledge-index", daemon=True).start()
        else:
            self._load()

    def _load(self) -> None:
        try:
            from bot.knowledge.index import KnowledgeIndex
            from bot.knowledge.memory import IncidentMemory

            index = KnowledgeIndex.from_settings(self.settings.knowledge)
            report = index.sync_runbooks(self.settings.knowledge.runbooks_dir, known_actions=self.known_actions)
            for problem in getattr(report, "problems", []) or []:
                log.warning("runbook problem: %s", problem)
            # the embedding model loads now, not inside the first investigation (~0.1 s of its brief)
            from bot.knowledge.embedding import get_model

            get_model()
            self.index, self.memory = index, IncidentMemory(index)
        except Exception as e:  # knowledge is optional: investigations go on without it
            self.error = f"{type(e).__name__}: {e}"
            log.warning("knowledge index unavailable: %s", self.error)
        finally:
            self.ready.set()

    def evidence(self, *, query_text: str, services: list[str], window: tuple[float, float],
                 next_id: int) -> list[Evidence]:
        """Runbook matches and similar past incidents as evidence (empty until indexed)."""
        if self.index is None:
            return []
        import itertools

        from bot.knowledge.memory import memory_evidence
        from bot.knowledge.retrieval import runbook_evidence

        counter = itertools.count(next_id)

        def new_id() -> str:
            return f"ev-{next(counter)}"

        out = [e for e in runbook_evidence(index=self.index, query_text=query_text, services=services,
                                           window=window, next_id=new_id) if e.status == "ok"]
        if self.memory is not None:
            out += [e for e in memory_evidence(memory=self.memory, query_text=query_text, services=services,
                                               window=window, next_id=new_id) if e.status == "ok"]
        # ids stay contiguous even when no_data items were dropped
        for i, e in enumerate(out):
            e.id = f"ev-{next_id + i}"
        return out
