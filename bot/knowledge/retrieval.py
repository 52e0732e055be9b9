"""Runbook retrieval for an investigation, as :class:`Evidence` items.

The investigator calls::

    query = build_query(service="checkout", alert_title="checkout error rate above 5%",
                        symptom="timeouts acquiring a connection",
                        log_messages=["remaining connection slots are reserved"],
                        categories=["connection_leak"])
    items = runbook_evidence(index=index, query_text=query, services=["checkout"],
                             window=(-60, 0), next_id=ids)  # ids() -> "ev-7"

and gets up to ``k`` items (one per matching runbook, best first) with
``source="runbooks"``, ``query=query_text``, the given ``window``,
``status="ok"`` and a summary such as ``runbook runbooks/db-pool.md §Diagnosis
matches (score 0.71): Database connections exhausted by a leaking service``;
``data`` holds ``{path, section, title, categories, actions, score}`` where
``actions`` are the runbook's recommended registry actions
(``[{name, params, when}]``, params may hold ``{service}``-style placeholders;
fill them with :func:`bot.knowledge.runbooks.render_params`).

When nothing scores at least ``min_score`` there is one ``no_data`` item; when
the index fails there is one ``error`` item. It never raises.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from bot.investigation.evidence import Evidence, EvidenceStatus

if TYPE_CHECKING:
    from bot.knowledge.index import KnowledgeIndex

MIN_SCORE = 0.30


def build_query(
    *,
    service: str | None = None,
    alert_title: str | None = None,
    symptom: str | None = None,
    log_messages: Iterable[str] = (),
    categories: Iterable[str] = (),
    max_logs: int = 3,
) -> str:
    """One search text from the parts of an investigation context that describe the problem."""
    parts: list[str] = []
    if alert_title:
        parts.append(alert_title.strip())
    if symptom:
        parts.append(symptom.strip())
    logs = [m.strip() for m in log_messages if m and m.strip()][:max_logs]
    if logs:
        parts.append("logs: " + "; ".join(logs))
    cats = [c.replace("_", " ") for c in categories]
    if cats:
        parts.append("suspected: " + ", ".join(cats))
    if service and not any(service in p for p in parts):
        parts.insert(0, f"service {service}")
    return ". ".join(parts)


def status_evidence(next_id: Callable[[], str], source: str, query: str, window: tuple[float, float],
                    status: EvidenceStatus, summary: str) -> Evidence:
    """One envelope for a knowledge search that found nothing or failed: evidence too, never a crash."""
    return Evidence(id=next_id(), source=source, query=query, window=window, status=status, summary=summary[:300])


def runbook_evidence(
    *,
    index: KnowledgeIndex,
    query_text: str,
    services: Sequence[str],
    window: tuple[float, float],
    next_id: Callable[[], str],
    k: int = 3,
    min_score: float = MIN_SCORE,
) -> list[Evidence]:
    """Runbook matches for ``query_text`` as evidence; hits naming one of ``services`` rank higher."""
    try:
        hits = index.search(query_text, k=k, services=services)
    except Exception as e:  # a failing source is evidence too
        return [status_evidence(next_id, "runbooks", query_text, window, "error",
                                f"runbook search failed: {type(e).__name__}: {e}")]
    good = [h for h in hits if h.score >= min_score]
    if not good:
        return [status_evidence(next_id, "runbooks", query_text, window, "no_data", "no runbook matches this incident")]
    return [
        Evidence(
            id=next_id(),
            source="runbooks",
            query=query_text,
            window=window,
            status="ok",
            summary=f"runbook {h.path} §{h.section} matches (score {h.score:.2f}): {h.title}",
            data={
                "path": h.path,
                "section": h.section,
                "title": h.title,
                "categories": list(h.categories),
                "actions": list(h.actions),
                "services": list(h.services),
                "score": h.score,
            },
        )
        for h in good
    ]
