"""``SlackServices`` over the incident service, the action service and the store.

Every Slack request lands here after the listener parsed it; each method does one
thing and returns what the listener renders. Permission rules live here and in
the action service, never in listeners.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.actions.registry import Registry
from bot.actions.runtime import ActionRequest
from bot.actions.service import ActionService
from bot.actions.spec import InvalidParams, UnknownAction
from bot.catalog.model import ServiceCatalog
from bot.incidents import repo
from bot.incidents.service import IncidentService
from bot.incidents.views import EvidenceItem, IncidentView
from bot.intake.alert import Alert
from bot.intake.service import IntakeService
from bot.settings import Settings
from bot.slack import blocks
from bot.slack.blocks import ApprovalCard, AuditLine, AutonomyRow, Message
from bot.slack.commands import ActionCommand, Drain, Failover, FlushCache, KillQuery, Restart, Rollback, Scale
from bot.slack.mentions import Mention
from bot.slack.services import Permission, ProgressFn, Reply
from bot.slack.values import CommandModalMeta, ProposalValue
from bot.store import audit as audit_repo
from bot.store import events as events_repo
from bot.store.db import Database
from bot.store.models import AuditEntry, AutonomyOverride, Incident, MaintenanceWindow

log = logging.getLogger(__name__)


@dataclass
class Extras:
    """Optional parts: each is a callable the composition root supplies when the part is on."""

    heartbeats: Callable[[], Message] | None = None
    digest: Callable[[], Message] | None = None
    answer_question: Callable[[str, IncidentView], str | None] | None = None
    metric_reader: Callable[[str, str, int], str] | None = None  # service, metric, window_s -> one line
    changes_reader: Callable[[str], str] | None = None


class BotSlackServices:
    def __init__(
        self, *, settings: Settings, db: Database, incidents: IncidentService, actions: ActionService,
        registry: Registry, intake: IntakeService, catalog: Callable[[], ServiceCatalog],
        extras: Extras | None = None, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        run_later: Callable[[Callable[[], Any]], None] | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.incidents = incidents
        self.actions = actions
        self.registry = registry
        self.intake = intake
        self.catalog = catalog
        self.extras = extras or Extras()
        self.clock = clock
        self.run_later = run_later or (lambda fn: incidents.pool.submit(fn))  # type: ignore[arg-type, func-returns-value]

    # --- before the ack ---------------------------------------------------------------------

    def record_event(self, event_id: str, kind: str, payload: dict[str, Any]) -> bool:
        with self.db.session() as s:
            return events_repo.record_slack_event(session=s, event_id=event_id, kind=kind, payload=payload)

    def is_allowed(self, user: str, what: Permission) -> bool:
        s = self.settings.slack
        approvers = set(s.approvers)
        admins = set(s.admins)
        if what == "approve":
            if user in approvers:
                return True
            directory = self.actions.d.directory
            return any(user in directory.members(g) for g in s.approver_groups) if directory else False
        if what == "admin":
            return user in admins if admins else user in approvers
        return True  # act, declare, resolve: any workspace member; the policy gates what runs

    def validate_params(self, action: str, params: Mapping[str, Any]) -> list[str]:
        try:
            self.registry.validate(action, dict(params))
        except (UnknownAction, InvalidParams) as e:
            return getattr(e, "problems", None) or [str(e)]
        return []

    # --- finding the incident -----------------------------------------------------------------

    def _incident(self, channel: str, key: str | None) -> Incident | None:
        with self.db.session() as s:
            return repo.by_key(session=s, key=key) if key else repo.by_channel(session=s, channel_id=channel)

    def _view(self, channel: str, key: str | None) -> IncidentView | None:
        inc = self._incident(channel, key)
        return self.incidents.view(inc.id) if inc else None

    def status(self, channel: str, incident_key: str | None) -> IncidentView | None:
        return self._view(channel, incident_key)

    def timeline(self, channel: str, incident_key: str | None) -> IncidentView | None:
        return self._view(channel, incident_key)

    def catchup(self, channel: str, user: str) -> IncidentView | None:
        return self._view(channel, None)

    def audit(self, channel: str, incident_key: str | None) -> list[AuditLine]:
        inc = self._incident(channel, incident_key) if incident_key or channel else None
        with self.db.session() as s:
            rows = audit_repo.list(session=s, incident_id=inc.id if inc else None, limit=200)
            keys = dict(s.execute(sa.select(Incident.id, Incident.key)).tuples().all())
            return [AuditLine(r.at, r.actor, r.kind, r.text, keys.get(r.incident_id) if r.incident_id else None)
                    for r in rows[-60:]]

    def autonomy(self) -> list[AutonomyRow]:
        policy = self.actions.d.policy
        rows = [AutonomyRow("default", getattr(policy, "default_level", "supervised"))]
        with self.db.session() as s:
            for o in s.scalars(sa.select(AutonomyOverride).order_by(AutonomyOverride.scope)).all():
                if o.scope == "freeze":
                    rows.append(AutonomyRow("freeze", o.level, f"by {o.set_by}"))
                else:
                    rows.append(AutonomyRow(o.scope, o.level, f"set by {o.set_by}" if o.set_by else ""))
        return rows

    def heartbeats(self) -> Message:
        if self.extras.heartbeats is None:
            return blocks.text_reply("No heartbeat checks are configured (AISRE_SCHEDULER__HEARTBEATS_FILE).")
        return self.extras.heartbeats()

    def digest(self) -> Message:
        if self.extras.digest is None:
            return blocks.text_reply("The digest is not available: the scheduler is off.")
        return self.extras.digest()

    def home(self, user: str) -> dict[str, Any]:
        with self.db.session() as s:
            ids = [i.id for i in repo.open_incidents(session=s, limit=20)]
            freeze = s.get(AutonomyOverride, "freeze") is not None
        views = [v for v in (self.incidents.view(i) for i in ids) if v is not None]
        return blocks.home_view(views, self.autonomy(), freeze=freeze, user=user)

    def action_schema(self, action: str) -> tuple[dict[str, Any], str] | None:
        try:
            spec = self.registry.get(action)
        except UnknownAction:
            return None
        return self.registry.json_schema(action), spec.summary

    # --- changing -----------------------------------------------------------------------------

    def resolve(self, channel: str, incident_key: str | None, note: str | None, user: str) -> Reply:
        inc = self._incident(channel, incident_key)
        if inc is None:
            return Reply(ephemeral=blocks.error_reply("No incident here: name one, e.g. `/aisre resolve INC-4`."))
        view = self.incidents.resolve(inc.id, user=user, note=note or "")
        return Reply(message=blocks.text_reply(f":white_check_mark: {view.key if view else inc.key} resolved by <@{user}>"))

    def declare(self, service: str, title: str, user: str, channel: str) -> Reply:
        now = self.clock()
        alert = Alert(source="manual", fingerprint=f"manual:{service}:{now.isoformat()}", title=title,
                      service=service, starts_at=now, labels={"declared_by": user})
        outcome = self.intake.accept("manual", [alert])
        self.incidents.handle(outcome)
        key = f"INC-{outcome.opened[0]}" if outcome.opened else "the open incident"
        return Reply(message=blocks.text_reply(f":rotating_light: <@{user}> declared {key} on {service}: {title}"))

    def maintenance(self, service: str, duration_s: int, note: str | None, user: str, channel: str) -> Reply:
        now = self.clock()
        with self.db.session() as s:
            s.add(MaintenanceWindow(service=service, starts_at=now, ends_at=now + timedelta(seconds=duration_s),
                                    note=note or "", created_by=user))
            audit_repo.append(session=s, actor=user, kind="maintenance.started",
                              text=f"maintenance on {service} for {duration_s // 60} min: {note or ''}".strip())
        until = now + timedelta(seconds=duration_s)
        return Reply(message=blocks.text_reply(
            f":construction: {service} is in maintenance until {until:%H:%M} UTC: alerts are recorded, not paged."))

    def _command_params(self, cmd: ActionCommand) -> dict[str, Any]:
        cat = self.catalog()
        svc = cat.get(cmd.target)
        ns = svc.namespace if svc else "default"
        if isinstance(cmd, Rollback):
            return {"namespace": ns, "deployment": cmd.service, "to_revision": cmd.revision or 0}
        if isinstance(cmd, Restart):
            return {"namespace": ns, "deployment": cmd.service}
        if isinstance(cmd, Scale):
            return {"namespace": ns, "deployment": cmd.service, "replicas": cmd.replicas}
        if isinstance(cmd, KillQuery):
            return {"database": cmd.database, "pid": cmd.pid}
        if isinstance(cmd, FlushCache):
            return {"cache": cmd.cache}
        if isinstance(cmd, Drain):
            return {"node": cmd.node, "namespaces": sorted({s.namespace for s in cat.services}) or ["default"]}
        if isinstance(cmd, Failover):
            return {"cluster": cmd.database}
        raise ValueError(f"no parameters known for {cmd.action}")

    def run_command(self, cmd: ActionCommand, user: str, channel: str) -> Reply:
        try:
            params = self._command_params(cmd)
        except ValueError as e:
            return Reply(ephemeral=blocks.error_reply(str(e)))
        return self._submit(cmd.action, params, cmd.target, user, channel)

    def submit_form(self, meta: CommandModalMeta, params: Mapping[str, Any], user: str) -> Reply:
        return self._submit(meta.action, dict(params), meta.target or str(next(iter(params.values()), "")),
                            user, meta.channel)

    def _submit(self, action: str, params: dict[str, Any], target: str, user: str, channel: str) -> Reply:
        inc = self._incident(channel, None)
        svc = self.catalog().get(target)
        try:
            sub = self.actions.submit(ActionRequest(
                action=action, params=params, target=target, incident_id=inc.id if inc else None,
                requested_by=user, tier=svc.tier if svc else "standard",
                # in an incident's channel, verify by the incident's service (as for the bot's own proposals):
                # scaling one service can break the one that alerted
                watch_service=inc.service if inc else None,
            ), progress=self._progress(inc.id if inc else None))
        except (UnknownAction, InvalidParams) as e:
            return Reply(ephemeral=blocks.error_reply(str(e)))
        return self._after_submit(sub.action_id, sub.state, "; ".join(sub.decision.reasons))

    def _after_submit(self, action_id: int, state: str, reasons: str) -> Reply:
        if state == "awaiting_approval":
            return Reply(message=blocks.approval_card(self.card(action_id)))
        if state == "approved":
            return Reply(message=blocks.approval_card(self.card(action_id)), execute=action_id)
        verb = {"shadowed": ":ghost: Shadow mode: would run", "refused": ":no_entry: Refused",
                "proposed": ":bulb: Proposed (advisory)"}.get(state, state)
        v = self.actions.view(action_id)
        return Reply(message=blocks.text_reply(f"{verb} `{v.action}` on {v.target}: {reasons}"))

    def card(self, action_id: int, *, note: str | None = None) -> ApprovalCard:
        v = self.actions.view(action_id)
        with self.db.session() as s:
            from bot.store.models import Action

            a = s.get(Action, action_id)
            incident_id = a.incident_id if a else None
        view = self.incidents.view(incident_id) if incident_id else None
        evidence: tuple[EvidenceItem, ...] = ()
        if view and view.hypotheses:
            ids = set(view.hypotheses[0].evidence)
            evidence = tuple(e for e in view.evidence if e.id in ids)[:4]
        state = v.state if v.state in ("awaiting_approval", "approved", "denied", "expired", "refused") else "approved"
        return ApprovalCard(
            action_id=v.action_id, action=v.action, target=v.target, params=v.params, params_hash=v.params_hash,
            risk=v.risk, reversible=v.reversible, expires_at=v.expires_at or self.clock(), summary=v.summary,
            incident_key=view.key if view else None, requested_by=v.requested_by,
            reason="; ".join(v.reasons), evidence=evidence, state=state, decided_by=v.decided_by,
            decided_at=self.clock() if v.decided_by else None,
            note=note or (v.error if v.state in ("failed", "reverted") else
                          None if v.state in ("awaiting_approval", "approved") else f"state: {v.state}"),
        )

    def decide_approval(self, action_id: int, approve: bool, user: str, shown_hash: str) -> Reply:
        out = self.actions.decide(action_id, user=user, approve=approve, shown_hash=shown_hash)
        if not out.changed:
            return Reply(ephemeral=blocks.error_reply(out.text), update=blocks.approval_card(self.card(action_id)))
        self._note_action(action_id, out.text)
        return Reply(update=blocks.approval_card(self.card(action_id)),
                     execute=action_id if out.state == "approved" else None)

    def run_proposal(self, value: ProposalValue, user: str, channel: str, *, request_approval: bool) -> Reply:
        if value.action_id is None:
            return Reply(ephemeral=blocks.error_reply("This proposal has no stored action to run."))
        out = self.actions.request_approval(value.action_id, user=user)
        if not out.changed:
            return Reply(ephemeral=blocks.error_reply(out.text))
        return Reply(message=blocks.approval_card(self.card(value.action_id)))

    def execute(self, action_id: int, user: str, progress: ProgressFn) -> Message:
        with self.db.session() as s:
            from bot.store.models import Action

            a = s.get(Action, action_id)
            incident_id = a.incident_id if a else None
        note = self._progress(incident_id)

        def step(text: str) -> None:
            note(text)
            try:
                progress(blocks.approval_card(self.card(action_id, note=text)))
            except Exception as e:  # the card is cosmetic; the action goes on
                log.info("card progress not shown: %s", e)

        out = self.actions.executor.run(action_id, progress=step)
        if incident_id is not None:
            self.incidents.after_action(incident_id, out.state)
        return blocks.approval_card(self.card(action_id, note=out.text))

    def _progress(self, incident_id: int | None) -> Callable[[str], None]:
        if incident_id is None:
            return lambda text: None
        return lambda text: self.incidents.note(incident_id, text)

    def _note_action(self, action_id: int, text: str) -> None:
        with self.db.session() as s:
            from bot.store.models import Action

            a = s.get(Action, action_id)
            iid = a.incident_id if a else None
        if iid is not None:
            self.incidents.note(iid, text)

    def set_autonomy(self, scope: str, scope_kind: str, level: str, user: str) -> Reply:
        if not self.is_allowed(user, "admin"):
            return Reply(ephemeral=blocks.error_reply("Only admins may change autonomy (AISRE_SLACK__ADMINS)."))
        key = f"{scope_kind}:{scope}" if scope_kind in ("service", "action") else "global"
        with self.db.session() as s:
            row = s.get(AutonomyOverride, key)
            if row is None:
                s.add(AutonomyOverride(scope=key, level=level, set_by=user, set_at=self.clock()))
            else:
                row.level, row.set_by, row.set_at = level, user, self.clock()
            audit_repo.append(session=s, actor=user, kind="autonomy.set", text=f"autonomy of {key} set to {level}")
        return Reply(message=blocks.text_reply(f":control_knobs: <@{user}> set autonomy of `{key}` to *{level}*"))

    def freeze(self, user: str) -> Reply:
        if not self.is_allowed(user, "admin"):
            return Reply(ephemeral=blocks.error_reply("Only admins may freeze automation."))
        self.actions.set_freeze(True, user=user)
        self._audit(user, "freeze.on", "froze all automation: monitor-only")
        return Reply(message=blocks.text_reply(f":ice_cube: <@{user}> froze all automation: monitor-only until `/aisre unfreeze`."))

    def unfreeze(self, user: str) -> Reply:
        if not self.is_allowed(user, "admin"):
            return Reply(ephemeral=blocks.error_reply("Only admins may unfreeze automation."))
        self.actions.set_freeze(False, user=user)
        self._audit(user, "freeze.off", "lifted the freeze")
        return Reply(message=blocks.text_reply(f":sunny: <@{user}> lifted the freeze."))

    def _audit(self, user: str, kind: str, text: str) -> None:
        with self.db.session() as s:
            audit_repo.append(session=s, actor=user, kind=kind, text=text)

    def answer_mention(self, mention: Mention, user: str, channel: str, thread_ts: str) -> Message:
        view = self._view(channel, mention.incident)
        if mention.kind == "help":
            return blocks.help_message()
        if mention.kind == "status":
            return blocks.status_reply(view) if view else blocks.text_reply("No incident in this channel.")
        if mention.kind == "changes":
            service = mention.service or (view.service if view else None)
            if view and (not mention.service or mention.service in view.services):
                lines = [f"`{e.id}` {e.summary}" for e in view.changes] or ["no changes were found"]
                return blocks.text_reply(f"Changes around {view.key}:\n" + "\n".join(lines))
            if self.extras.changes_reader and service:
                return blocks.text_reply(self.extras.changes_reader(service))
            return blocks.text_reply("Which service? e.g. `@ai-sre what changed on checkout?`")
        if mention.kind == "metric" and mention.service and mention.metric:
            if self.extras.metric_reader:
                return blocks.text_reply(self.extras.metric_reader(mention.service, mention.metric,
                                                                   mention.window_s or 3600))
            return blocks.text_reply("No metrics source is configured.")
        if view and self.extras.answer_question:
            answer = self.extras.answer_question(mention.text, view)
            if answer:
                return blocks.text_reply(answer)
        if view and view.hypotheses:
            h = view.hypotheses[0]
            ev = {e.id: e for e in view.evidence}
            cited = "; ".join(f"`{i}` {ev[i].summary}" for i in h.evidence if i in ev)
            return blocks.text_reply(f"My leading hypothesis is *{h.category}* (`{h.culprit}`, "
                                     f"{h.confidence:.0%}), because: {cited}")
        return blocks.help_message()

    def record_reaction(self, channel: str, ts: str, reaction: str, user: str) -> None:
        if reaction not in ("pushpin", "round_pushpin"):
            return
        inc = self._incident(channel, None)
        if inc is None:
            return
        with self.db.session() as s:
            repo.add_timeline(session=s, incident_id=inc.id, kind="pinned", actor=user, source_ref=ts,
                              text=f"<@{user}> pinned a message (ts {ts})", at=self.clock())
        self.run_later(lambda: self.incidents.refresh_brief(inc.id))

    def on_message(self, channel: str, user: str, text: str, ts: str, thread_ts: str | None) -> None:
        return None


def audit_lines(rows: list[AuditEntry]) -> list[AuditLine]:
    return [AuditLine(r.at, r.actor, r.kind, r.text) for r in rows]
