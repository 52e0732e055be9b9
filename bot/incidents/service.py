"""The incident lifecycle: open a channel, post the brief, investigate, propose, update, resolve.

Work triggered by intake runs on a small worker pool so webhooks answer fast.
Every state change is persisted and audited before it is shown in Slack, so a
restart loses nothing: :meth:`IncidentService.resume` picks up incidents whose
investigation never finished.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from bot.catalog.model import ServiceCatalog
from bot.incidents import repo
from bot.incidents.ports import ChatPort
from bot.incidents.views import IncidentView
from bot.intake.service import IntakeOutcome
from bot.intake.triage import triage
from bot.investigation.evidence import Evidence, Hypothesis, Proposal
from bot.investigation.sources import AlertContext
from bot.settings import Settings
from bot.store import audit
from bot.store.db import Database
from bot.store.models import Incident

log = logging.getLogger(__name__)
Blocks = list[dict[str, Any]]


class Renderer(Protocol):
    def brief(self, view: IncidentView) -> tuple[str, Blocks]: ...

    def update(self, text: str, at: datetime) -> tuple[str, Blocks]: ...

    def announcement(self, view: IncidentView) -> tuple[str, Blocks]: ...


class InvestigationOutcome(Protocol):
    evidence: list[Evidence]
    hypotheses: list[Hypothesis]
    proposal: Proposal | None


@dataclass
class Hooks:
    """Optional collaborators wired by the composition root."""

    investigate: Callable[[AlertContext], InvestigationOutcome] | None = None
    propose: Callable[[int, Proposal, IncidentView], dict[str, Any]] | None = None  # -> stored proposal info
    chart: Callable[[int, bool], bytes | None] | None = None  # (incident id, after an action)
    on_resolved: Callable[[int], None] | None = None
    on_brief: Callable[[float], None] | None = None  # seconds from intake to brief
    on_investigated: Callable[[int, Any], None] | None = None  # (incident id, result): usage, audit of drops
    after_brief: Callable[[int], None] | None = None  # post the approval card, run an approved step


class IncidentService:
    def __init__(
        self, *, db: Database, chat: ChatPort, renderer: Renderer, settings: Settings,
        catalog: Callable[[], ServiceCatalog], hooks: Hooks | None = None, workers: int = 4,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.chat = chat
        self.render = renderer
        self.settings = settings
        self.catalog = catalog
        self.hooks = hooks or Hooks()
        self.clock = clock
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="incident")
        self._io = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="incident-slack")
        self._locks: dict[int, threading.Lock] = {}
        self._announce_ids: dict[str, str] = {}  # announce channel name -> id
        self._announcing: dict[int, threading.Lock] = {}
        self._guard = threading.Lock()

    # --- entry points ----------------------------------------------------------------------

    def handle(self, outcome: IntakeOutcome) -> list[Future[Any]]:
        futures = [self.pool.submit(self._safe, self.open_incident, i) for i in outcome.opened]
        futures += [self.pool.submit(self._safe, self.refresh_brief, i) for i in outcome.updated]
        futures += [self.pool.submit(self._safe, self.after_resolve, i, None) for i in outcome.resolved]
        return futures

    def _safe(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except Exception:
            log.exception("incident work %s%s failed", fn.__name__, args)
            return None

    def _lock(self, incident_id: int) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(incident_id, threading.Lock())

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=False)
        self._io.shutdown(wait=True, cancel_futures=False)

    # --- opening -----------------------------------------------------------------------------

    def channel_name_for(self, inc: Incident) -> str:
        day = inc.opened_at.strftime("%Y%m%d")
        return f"{self.settings.slack.incident_channel_prefix}-{day}-{inc.service or 'unknown'}-{inc.id}"

    def open_incident(self, incident_id: int) -> IncidentView | None:
        t0 = time.perf_counter()
        with self._lock(incident_id):
            with self.db.session() as s:
                inc = repo.get(session=s, incident_id=incident_id)
                if inc is None:
                    return None
                alert = repo.first_alert(session=s, incident_id=incident_id)
                received = alert.received_at if alert else inc.opened_at
                need_channel = inc.channel_id is None
                name = self.channel_name_for(inc)
                title = f"{inc.key} {inc.severity}: {inc.title}"
            catalog = self.catalog()
            svc = catalog.get(inc.service) if inc.service else None
            # Slack set-up and the investigation overlap: the brief waits for the slower of the two
            setup = self._io.submit(self._open_channel, incident_id, need_channel, name, title, svc)
            found = self._run_investigation(incident_id)
            if found is not None:
                self._record_findings(incident_id, *found)
            setup.result()
            view = self._post_or_update_brief(incident_id, investigating=False)
            self._io.submit(self._safe, self.announce, incident_id)  # severity and likely cause, off the path
            if self.hooks.on_brief and received:
                self.hooks.on_brief(max(0.0, (self.clock() - received).total_seconds()))
            if self.hooks.after_brief is not None:
                try:
                    self.hooks.after_brief(incident_id)
                except Exception:
                    log.exception("after-brief step failed for incident %s", incident_id)
            self._post_chart(incident_id)
            log.info("incident %s briefed in %.2fs", incident_id, time.perf_counter() - t0)
            return view

    def _open_channel(self, incident_id: int, need_channel: bool, name: str, title: str, svc: Any) -> None:
        """Create or join the channel, set its topic, invite the owners, post the placeholder brief."""
        if need_channel:
            channel = self._route_channel(name, svc.slack_channel if svc else None)
            try:
                self.chat.set_topic(channel, title)
            except Exception as e:
                log.info("topic not set: %s", e)
            owners = self.chat.resolve_users(list(svc.owners)) if svc else []
            if owners:
                try:
                    self.chat.invite(channel, owners)
                except Exception as e:
                    log.info("owners not invited: %s", e)
            with self.db.session() as s:
                inc = repo.get_for_update(session=s, incident_id=incident_id)
                assert inc is not None
                inc.channel_id = channel
                if inc.status == "open":
                    inc.status = "investigating"
                repo.add_timeline(session=s, incident_id=incident_id, kind="channel",
                                  text=f"Incident channel <#{channel}> opened", actor="ai-sre", at=self.clock())
                audit.append(session=s, actor="ai-sre", kind="incident.channel", incident_id=incident_id,
                             text=f"{inc.key}: channel {channel}", detail={"channel": channel, "owners": owners})
        self._post_or_update_brief(incident_id, investigating=True)
        self.announce(incident_id)

    def announce(self, incident_id: int) -> None:
        """Post (once) or edit the incident's announcement in the announce channel; never raises."""
        with self._guard:
            lock = self._announcing.setdefault(incident_id, threading.Lock())
        with lock:  # one announcement per incident, even when a resolve races the first post
            self._announce(incident_id)

    def _announce(self, incident_id: int) -> None:
        name = self.settings.slack.announce_channel.strip().lstrip("#")
        view = self.view(incident_id)
        if not name or view is None or view.channel_id is None:
            return
        found = (view.extra or {}).get("announcement")
        placed: dict[str, Any] = dict(found) if isinstance(found, dict) else {}
        try:
            text, blocks = self.render.announcement(view)
            if placed.get("channel") and placed.get("ts"):
                self.chat.update(str(placed["channel"]), str(placed["ts"]), text, blocks)
                return
            channel = self._announce_ids.get(name) or self.chat.ensure_channel(name)  # found (or made) once
            if channel == view.channel_id:  # the incident lives in the announce channel: its brief is there
                return
            ts = self.chat.post(channel, text, blocks)
            self._announce_ids[name] = channel
        except Exception as e:  # the announcement is a courtesy; the incident goes on without it
            self._announce_ids.pop(name, None)
            log.warning("incident %s not announced in #%s: %s", incident_id, name, e)
            return
        with self.db.session() as s:
            inc = repo.get_for_update(session=s, incident_id=incident_id)
            if inc is not None:
                inc.extra = {**(inc.extra or {}), "announcement": {"channel": channel, "ts": ts}}

    def _route_channel(self, name: str, routed: str | None) -> str:
        if routed:
            try:
                return self.chat.ensure_channel(routed)
            except Exception as e:
                log.warning("routing channel %s unavailable (%s); opening %s", routed, e, name)
        return self.chat.ensure_channel(name)

    def investigate(self, incident_id: int) -> None:
        found = self._run_investigation(incident_id)
        if found is not None:
            self._record_findings(incident_id, *found)

    def _run_investigation(self, incident_id: int) -> tuple[AlertContext, InvestigationOutcome] | None:
        """Gather and reason (no writes): safe to run while the channel is being set up."""
        if self.hooks.investigate is None:
            return None
        with self.db.session() as s:
            inc = repo.get_for_update(session=s, incident_id=incident_id)
            alert = repo.first_alert(session=s, incident_id=incident_id)
            if inc is None or alert is None or not (alert.service or inc.service):
                return None
            ctx = AlertContext(
                service=str(alert.service or inc.service), at=alert.starts_at, title=alert.title,
                metric=alert.metric, value=alert.value, threshold=alert.threshold, source=alert.source,
                fingerprint=alert.fingerprint,
            )
        try:
            return ctx, self.hooks.investigate(ctx)
        except Exception as e:
            log.exception("investigation of incident %s failed", incident_id)
            self.note(incident_id, f"Investigation failed: {type(e).__name__}: {e}"[:300], post=False)
            return None

    def _record_findings(self, incident_id: int, ctx: AlertContext, result: InvestigationOutcome) -> None:
        """Store evidence, hypotheses and severity; submit the proposal (no Slack I/O here)."""
        if self.hooks.on_investigated is not None:
            try:
                self.hooks.on_investigated(incident_id, result)
            except Exception:
                log.exception("after-investigation hook failed for incident %s", incident_id)
        top = result.hypotheses[0] if result.hypotheses else None
        affected = sorted({h.target for h in result.hypotheses[:1] if h.target} | {ctx.service})
        sev = triage(
            service=ctx.service, metric=ctx.metric, value=ctx.value, threshold=ctx.threshold,
            catalog=self.catalog(), affected_services=affected,
            overrides=self.settings.incidents.severity_overrides,
            false_positive=bool(top and top.category == "false_positive"),
        )
        with self.db.session() as s:
            inc = repo.get_for_update(session=s, incident_id=incident_id)
            assert inc is not None
            repo.store_findings(session=s, incident_id=incident_id, evidence=result.evidence,
                                hypotheses=result.hypotheses)
            inc.severity, inc.severity_reason = sev.level, sev.reason
            if top:
                inc.category, inc.culprit = top.category, top.culprit
                inc.is_false_positive = top.category == "false_positive"
            extra = dict(inc.extra or {})
            extra["services"] = sorted(set(extra.get("services") or []) | set(affected))
            extra["investigated_at"] = self.clock().isoformat()
            llm_note = getattr(result, "llm_note", None)
            if llm_note:
                extra["llm_note"] = llm_note
            inc.extra = extra
            summary = (f"top hypothesis {top.category} ({top.culprit}) at {top.confidence:.0%}" if top
                       else "no hypothesis: no evidence pointed anywhere")
            repo.add_timeline(session=s, incident_id=incident_id, kind="investigation", actor="ai-sre",
                              text=f"Investigation: {len(result.evidence)} evidence items; {summary}", at=self.clock())
            audit.append(session=s, actor="ai-sre", kind="incident.investigated", incident_id=incident_id,
                         text=f"{inc.key}: {summary}", detail={"severity": sev.level, "evidence": len(result.evidence)})
        if result.proposal is not None and self.hooks.propose is not None:
            view = self.view(incident_id)
            if view is not None:
                try:
                    info = self.hooks.propose(incident_id, result.proposal, view)
                except Exception as e:
                    log.exception("proposal for incident %s failed", incident_id)
                    info = {"mode": "refuse", "policy_reasons": [f"could not submit: {e}"]}
                self._store_proposal(incident_id, result.proposal, info)

    def _store_proposal(self, incident_id: int, p: Proposal, info: dict[str, Any]) -> None:
        with self.db.session() as s:
            inc = repo.get(session=s, incident_id=incident_id)
            assert inc is not None
            inc.extra = {**(inc.extra or {}), "proposal": {**p.to_json(), "reason": p.reason, **info}}
            if p.kind not in ("none", "escalate"):
                inc.status = "mitigating" if info.get("mode") == "execute" else inc.status

    # --- brief and updates ---------------------------------------------------------------------

    def view(self, incident_id: int, *, investigating: bool = False) -> IncidentView | None:
        with self.db.session() as s:
            inc = repo.get(session=s, incident_id=incident_id)
            return repo.build_view(session=s, incident=inc, investigating=investigating) if inc else None

    def _post_or_update_brief(self, incident_id: int, *, investigating: bool) -> IncidentView | None:
        view = self.view(incident_id, investigating=investigating)
        if view is None or view.channel_id is None:
            return view
        text, blocks = self.render.brief(view)
        with self.db.session() as s:
            inc = repo.get(session=s, incident_id=incident_id)
            ts = inc.brief_ts if inc else None
        if ts:
            self.chat.update(view.channel_id, ts, text, blocks)
        else:
            ts = self.chat.post(view.channel_id, text, blocks)
            with self.db.session() as s:
                inc = repo.get_for_update(session=s, incident_id=incident_id)
                if inc is not None:
                    inc.brief_ts = ts
        return view

    def refresh_brief(self, incident_id: int) -> IncidentView | None:
        with self._lock(incident_id):
            return self._post_or_update_brief(incident_id, investigating=False)

    def post_chart(self, incident_id: int, *, caption: str = "alerting metric", after: bool = False) -> None:
        """Post the alerting metric's chart now (after a mitigation it shows the recovery)."""
        self._post_chart(incident_id, caption=caption, after=after)

    def _post_chart(self, incident_id: int, *, caption: str = "alerting metric", after: bool = False) -> None:
        if self.hooks.chart is None:
            return
        try:
            png = self.hooks.chart(incident_id, after)
        except Exception:
            log.exception("chart for incident %s failed", incident_id)
            return
        view = self.view(incident_id)
        if png and view and view.channel_id:
            try:
                self.chat.upload_png(view.channel_id, png, f"{view.key} {view.service or ''} {caption}")
            except Exception as e:
                log.warning("chart upload failed: %s", e)

    def note(self, incident_id: int, text: str, *, actor: str = "ai-sre", post: bool = True) -> None:
        """A timestamped status update: in the timeline, and in the channel's brief thread."""
        now = self.clock()
        with self.db.session() as s:
            inc = repo.get_for_update(session=s, incident_id=incident_id)
            if inc is None:
                return
            repo.add_timeline(session=s, incident_id=incident_id, text=text, actor=actor, at=now)
            channel = inc.channel_id
        if post and channel:
            t, blocks = self.render.update(text, now)
            try:
                self.chat.post(channel, t, blocks)
            except Exception as e:
                log.warning("update not posted: %s", e)

    def after_action(self, incident_id: int, state: str) -> None:
        """An action on this incident ended: done -> monitoring; the brief shows the new state."""
        now = self.clock()
        with self.db.session() as s:
            inc = repo.get_for_update(session=s, incident_id=incident_id)
            if inc is None or inc.status == "resolved":
                return
            if state == "done":
                inc.status = "monitoring"
                inc.mitigated_at = inc.mitigated_at or now
            elif state in ("executing", "verifying"):
                inc.status = "mitigating"
        self.refresh_brief(incident_id)
        self.announce(incident_id)
        if state in ("done", "reverted"):
            self.post_chart(incident_id, caption=f"after the action ({state})", after=True)

    # --- resolving -----------------------------------------------------------------------------

    def resolve(self, incident_id: int, *, user: str | None, note: str = "") -> IncidentView | None:
        now = self.clock()
        with self.db.session() as s:
            inc = repo.get_for_update(session=s, incident_id=incident_id)
            if inc is None:
                return None
            if inc.status != "resolved":
                inc.status = "resolved"
                inc.resolved_at = now
                who = f"<@{user}>" if user else "ai-sre"
                repo.add_timeline(session=s, incident_id=incident_id, kind="resolved", actor=user or "ai-sre",
                                  text=f"Resolved by {who}" + (f": {note}" if note else ""), at=now)
                audit.append(session=s, actor=user or "ai-sre", kind="incident.resolved", incident_id=incident_id,
                             text=f"{inc.key} resolved" + (f": {note}" if note else ""))
        self.after_resolve(incident_id, user)
        return self.view(incident_id)

    def after_resolve(self, incident_id: int, user: str | None) -> None:
        self.refresh_brief(incident_id)
        self.announce(incident_id)
        if self.hooks.on_resolved:
            self.hooks.on_resolved(incident_id)

    def resume(self) -> list[int]:
        """After a restart: finish incidents whose brief or investigation never completed."""
        with self.db.session() as s:
            pending = [
                i.id for i in repo.open_incidents(session=s, limit=200)
                if not (i.extra or {}).get("investigated_at")
            ]
        for iid in pending:
            self.pool.submit(self._safe, self.open_incident, iid)
        return pending
