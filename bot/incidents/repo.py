"""Reading and writing an incident's rows; building the ``IncidentView`` from them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.incidents.views import EvidenceItem, HypothesisItem, IncidentView, ProposalItem, TimelineItem
from bot.investigation.evidence import Evidence, Hypothesis
from bot.store.models import Action, AlertRow, EvidenceRow, HypothesisRow, Incident, TimelineEntry

CHANGE_SOURCES = ("datadog.events", "changes", "kubernetes.events", "prometheus.events")


def get(*, session: Session, incident_id: int) -> Incident | None:
    return session.get(Incident, incident_id)


def get_for_update(*, session: Session, incident_id: int) -> Incident | None:
    """The incident, locked for the rest of the transaction, with its latest committed state.

    Several workers change one incident (intake groups alerts into it, the investigation stores its
    findings, the Slack set-up stores the channel): each read-modify-write of the row, its
    JSON ``extra`` above all, must not overwrite another's. A no-op UPDATE first takes the row
    lock on PostgreSQL and the write lock on SQLite, so the read that follows is current.
    """
    session.execute(sa.update(Incident).where(Incident.id == incident_id).values(id=Incident.id))
    return session.get(Incident, incident_id, populate_existing=True)


def by_key(*, session: Session, key: str) -> Incident | None:
    key = key.strip().upper()
    if key.isdigit():
        key = f"INC-{key}"
    return session.scalars(sa.select(Incident).where(Incident.key == key)).first()


def by_channel(*, session: Session, channel_id: str) -> Incident | None:
    return session.scalars(
        sa.select(Incident).where(Incident.channel_id == channel_id).order_by(Incident.id.desc())
    ).first()


def open_incidents(*, session: Session, limit: int = 50) -> list[Incident]:
    return list(
        session.scalars(
            sa.select(Incident).where(Incident.status != "resolved").order_by(Incident.id.desc()).limit(limit)
        ).all()
    )


def first_alert(*, session: Session, incident_id: int) -> AlertRow | None:
    return session.scalars(
        sa.select(AlertRow).where(AlertRow.incident_id == incident_id).order_by(AlertRow.id)
    ).first()


def add_timeline(*, session: Session, incident_id: int, text: str, kind: str = "note", actor: str | None = None,
                 at: datetime | None = None, source_ref: str | None = None) -> None:
    entry = TimelineEntry(incident_id=incident_id, kind=kind, text=text[:2000], actor=actor, source_ref=source_ref)
    if at is not None:
        entry.at = at
    session.add(entry)


def store_findings(*, session: Session, incident_id: int, evidence: list[Evidence], hypotheses: list[Hypothesis],
                   reasoner: str = "deterministic") -> None:
    session.execute(sa.delete(HypothesisRow).where(HypothesisRow.incident_id == incident_id))
    known = set(session.scalars(sa.select(EvidenceRow.evidence_id).where(EvidenceRow.incident_id == incident_id)))
    for ev in evidence:
        if ev.id in known:
            continue
        session.add(
            EvidenceRow(
                incident_id=incident_id, evidence_id=ev.id, source=ev.source, query=ev.query[:4000],
                window_start=float(ev.window[0]), window_end=float(ev.window[1]), status=ev.status,
                summary=ev.summary[:4000], link=ev.link, data=_jsonable(ev.data),
            )
        )
    for rank, h in enumerate(hypotheses, start=1):
        session.add(
            HypothesisRow(
                incident_id=incident_id, rank=rank, category=h.category, culprit=h.culprit,
                confidence=float(h.confidence), evidence_ids=list(h.evidence), explanation=h.explanation,
                reasoner=reasoner,
            )
        )


def build_view(*, session: Session, incident: Incident, investigating: bool = False) -> IncidentView:
    iid = incident.id
    timeline = session.scalars(
        sa.select(TimelineEntry).where(TimelineEntry.incident_id == iid).order_by(TimelineEntry.at, TimelineEntry.id)
    ).all()
    ev_rows = session.scalars(
        sa.select(EvidenceRow).where(EvidenceRow.incident_id == iid).order_by(EvidenceRow.id)
    ).all()
    hyp_rows = session.scalars(
        sa.select(HypothesisRow).where(HypothesisRow.incident_id == iid).order_by(HypothesisRow.rank)
    ).all()
    evidence = tuple(_ev(r) for r in ev_rows)
    changes = tuple(
        e for e, r in zip(evidence, ev_rows, strict=True)
        if r.source in CHANGE_SOURCES and r.status == "ok" and (r.data or {}).get("correlated", True)
    )
    extra: dict[str, Any] = dict(incident.extra or {})
    proposal = _proposal(session, incident, extra)
    runbooks = tuple(
        (str((r.data or {}).get("title") or (r.data or {}).get("path")), str((r.data or {}).get("path", "")))
        for r in ev_rows if r.source == "runbooks" and r.status == "ok"
    )[:3]
    similar = tuple(r.summary for r in ev_rows if r.source in ("memory", "incident_memory") and r.status == "ok")[:3]
    return IncidentView(
        id=iid, key=incident.key or f"INC-{iid}", title=incident.title, service=incident.service,
        severity=incident.severity, severity_reason=incident.severity_reason or "", status=incident.status,
        opened_at=incident.opened_at, channel_id=incident.channel_id,
        services=tuple(extra.get("services") or ([incident.service] if incident.service else [])),
        timeline=tuple(TimelineItem(t.at, t.text, t.actor) for t in timeline),
        changes=changes,
        hypotheses=tuple(
            HypothesisItem(h.rank, h.category, h.culprit, h.confidence, tuple(h.evidence_ids or []),
                           h.explanation or "", h.reasoner)
            for h in hyp_rows
        ),
        evidence=evidence, proposal=proposal, runbooks=runbooks, similar=similar,
        investigating=investigating, llm_note=extra.get("llm_note"),
        truncated_alerts=int(extra.get("truncated") or 0), maintenance=extra.get("maintenance"), extra=extra,
    )


def _ev(r: EvidenceRow) -> EvidenceItem:
    return EvidenceItem(r.evidence_id, r.source, r.query, r.summary, r.status, r.link)


def _proposal(session: Session, incident: Incident, extra: dict[str, Any]) -> ProposalItem | None:
    p = extra.get("proposal")
    if not isinstance(p, dict):
        return None
    action_id = p.get("action_id")
    mode = p.get("mode")
    if isinstance(action_id, int):
        a = session.get(Action, action_id)
        if a is not None:
            mode = {"awaiting_approval": "needs_approval", "proposed": "advisory", "shadowed": "shadow",
                    "refused": "refuse"}.get(a.state, a.state)
    return ProposalItem(
        kind=str(p.get("kind")), target=str(p.get("target")), action=p.get("action"),
        params=dict(p.get("params") or {}), requires_approval=bool(p.get("requires_approval", True)),
        reason=str(p.get("reason") or ""), action_id=action_id if isinstance(action_id, int) else None,
        mode=mode, policy_reasons=tuple(p.get("policy_reasons") or ()),
    )


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    import json

    return json.loads(json.dumps(data, default=str))
