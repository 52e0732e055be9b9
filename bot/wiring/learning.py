"""What a resolved incident leaves behind: a postmortem draft, incident memory, a proposed
runbook update (applied only through an approved ``runbooks.apply_update`` action), and for a
false positive a proposed alert-tuning change with its numbers.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from bot.incidents import repo
from bot.incidents.postmortem import ActionLine, AuditLine, draft_postmortem
from bot.knowledge.proposals import propose_alert_tuning, propose_runbook_update
from bot.settings import Settings
from bot.slack import blocks
from bot.store import audit
from bot.store.db import Database
from bot.store.models import Action, AlertRow, EvidenceRow, Incident

if TYPE_CHECKING:
    from bot.actions.service import ActionService
    from bot.incidents.service import IncidentService
    from bot.slack.chat import SlackChat
    from bot.wiring.knowledge import Knowledge
    from bot.wiring.slack_services import BotSlackServices

log = logging.getLogger(__name__)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Learning:
    def __init__(self, *, settings: Settings, db: Database, chat: SlackChat) -> None:
        self.settings = settings
        self.db = db
        self.chat = chat
        self.incidents: IncidentService | None = None
        self.actions: ActionService | None = None
        self.slack: BotSlackServices | None = None
        self.knowledge: Knowledge | None = None
        self.metrics_source: Any = None  # a MetricsSource, for the alert-tuning numbers

    def attach(self, *, incidents: IncidentService, actions: ActionService, slack: BotSlackServices,
               knowledge: Knowledge) -> None:
        self.incidents, self.actions, self.slack, self.knowledge = incidents, actions, slack, knowledge

    # --- RunbookProposals, for the runbooks.apply_update action ------------------------------

    @property
    def runbooks_dir(self) -> Path:
        """Where runbooks.apply_update may write."""
        return Path(self.settings.knowledge.runbooks_dir)

    def text(self, incident_id: int, path: str, sha: str) -> str | None:
        with self.db.session() as s:
            inc = s.get(Incident, incident_id)
            prop = ((inc.extra or {}).get("runbook_proposal") if inc else None) or {}
        if prop.get("path") == path and sha256(str(prop.get("text", ""))) == sha:
            return str(prop["text"])
        return None

    # --- on resolve ------------------------------------------------------------------------------

    def on_resolved(self, incident_id: int) -> None:
        assert self.incidents is not None
        view = self.incidents.view(incident_id)
        if view is None:
            return
        with self.db.session() as s:
            inc = repo.get(session=s, incident_id=incident_id)
            if inc is None or (inc.extra or {}).get("learned"):
                return
            audit_rows = audit.list(session=s, incident_id=incident_id, limit=500)
            lines = [AuditLine(a.at, a.actor, a.kind, a.text) for a in audit_rows]
            acts = s.scalars(sa.select(Action).where(Action.incident_id == incident_id).order_by(Action.id)).all()
            action_lines = [ActionLine(a.name, a.target, a.state, a.requested_by, a.autonomous) for a in acts
                            if not a.name.startswith("runbooks.")]
            done = next((a for a in acts if a.state == "done" and a.kind not in ("escalate", "none", "read")), None)
            resolved_at, mitigated_at = inc.resolved_at, inc.mitigated_at or (done.finished_at if done else None)
            runbook_rows = s.scalars(sa.select(EvidenceRow).where(
                EvidenceRow.incident_id == incident_id, EvidenceRow.source == "runbooks", EvidenceRow.status == "ok",
            ).order_by(EvidenceRow.id)).all()
            applied = str((runbook_rows[0].data or {}).get("path")) if runbook_rows else None
            alert = repo.first_alert(session=s, incident_id=incident_id)
            alert_info = (alert.service, alert.metric, alert.threshold, alert.starts_at) if alert else None
        md = draft_postmortem(view=view, audit=lines, actions=action_lines, resolved_at=resolved_at,
                              mitigated_at=mitigated_at)
        out_dir = Path(self.settings.knowledge.postmortems_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        pm_path = out_dir / f"{view.key}.md"
        pm_path.write_text(md, encoding="utf-8")
        minutes = (mitigated_at - view.opened_at).total_seconds() / 60 if mitigated_at else None
        self._post(view.channel_id, f":memo: Postmortem draft for {view.key} written to `{pm_path}`:\n\n"
                   + blocks.truncate(md, 2800))
        self._remember(view, done.kind if done else None, minutes)
        if view.hypotheses and view.hypotheses[0].category == "false_positive" and alert_info:
            self._propose_tuning(view, *alert_info)
        else:
            self._propose_runbook(view, applied, done.name if done else None, minutes)
        with self.db.session() as s:
            inc = repo.get_for_update(session=s, incident_id=incident_id)
            if inc is not None:
                inc.extra = {**(inc.extra or {}), "learned": True, "postmortem": str(pm_path)}
                audit.append(session=s, actor="ai-sre", kind="incident.postmortem", incident_id=incident_id,
                             text=f"{view.key}: postmortem draft {pm_path}")

    def _post(self, channel: str | None, text: str) -> str | None:
        if not channel:
            return None
        try:
            return self.chat.post(channel, text[:3900])
        except Exception as e:
            log.warning("learning message not posted: %s", e)
            return None

    def _remember(self, view: Any, mitigation: str | None, minutes: float | None) -> None:
        k = self.knowledge
        if k is None or k.memory is None or not view.hypotheses:
            return
        from bot.knowledge.memory import IncidentRecord

        top = view.hypotheses[0]
        try:
            k.memory.remember(IncidentRecord(
                key=view.key, summary=f"{view.title}: {top.category} ({top.culprit})", services=list(view.services),
                category=top.category, culprit=top.culprit, mitigation=mitigation,
                outcome="mitigated" if mitigation else "resolved", minutes_to_mitigate=minutes,
            ))
        except Exception as e:
            log.warning("incident memory not written: %s", e)

    def _propose_runbook(self, view: Any, applied: str | None, action: str | None, minutes: float | None) -> None:
        assert self.actions is not None and self.slack is not None
        prop = propose_runbook_update(view=view, runbooks_dir=Path(self.settings.knowledge.runbooks_dir),
                                      applied_runbook=applied, mitigation_action=action, minutes_to_mitigate=minutes)
        with self.db.session() as s:
            inc = repo.get_for_update(session=s, incident_id=view.id)
            if inc is not None:
                inc.extra = {**(inc.extra or {}), "runbook_proposal": {"path": prop.path, "text": prop.new_text,
                                                                       "is_new": prop.is_new}}
        kind = "a new runbook" if prop.is_new else f"an update to `{prop.path}`"
        self._post(view.channel_id, f":books: Proposed {kind} from {view.key}:\n```{blocks.truncate(prop.diff, 2600)}```")
        from bot.actions.runtime import ActionRequest

        sub = self.actions.submit(ActionRequest(
            action="runbooks.apply_update", params={"incident_id": view.id, "path": prop.path,
                                                    "sha256": sha256(prop.new_text)},
            target="runbooks", incident_id=view.id, kind="learning",
        ))
        if sub.state == "awaiting_approval" and view.channel_id:
            card = blocks.approval_card(self.slack.card(sub.action_id))
            self.chat.post(view.channel_id, card.text, list(card.blocks))

    def _propose_tuning(self, view: Any, service: str | None, metric: str | None, threshold: float | None,
                        at: Any) -> None:
        from datetime import timedelta

        assert self.incidents is not None
        with self.db.session() as s:
            n = s.scalar(sa.select(sa.func.count()).select_from(AlertRow).where(AlertRow.incident_id == view.id))
        values: list[float] = []
        metrics_source = self.metrics_source
        if metrics_source is not None and service and metric:
            try:
                series = metrics_source.query_series(service, metric, at - timedelta(hours=6), at + timedelta(minutes=5))
                values = series.values
            except Exception as e:
                log.info("tuning: no series: %s", e)
        breach = sum(1 for v in values if threshold is not None and v >= threshold)
        tuning = propose_alert_tuning(service=service or "?", metric=metric or "?", threshold=threshold,
                                      values=values, breach_minutes=breach) if values else None
        if tuning is None:
            self._post(view.channel_id, f":control_knobs: {view.key} was a false positive ({n} alert(s)); "
                       "not enough history to propose a threshold change.")
            return
        self._post(view.channel_id, (
            f":control_knobs: Proposed alert tuning for `{tuning.metric}` of {tuning.service}: threshold "
            f"{tuning.current_threshold} -> {tuning.proposed_threshold:g}, for {tuning.proposed_for_minutes} min. "
            f"Why: {tuning.rationale}. Apply it in the monitor's definition once a person agrees."))
        with self.db.session() as s:
            inc = repo.get_for_update(session=s, incident_id=view.id)
            if inc is not None:
                inc.extra = {**(inc.extra or {}), "tuning_proposal": {
                    "metric": tuning.metric, "service": tuning.service, "threshold": tuning.proposed_threshold,
                    "for_minutes": tuning.proposed_for_minutes, "rationale": tuning.rationale}}
