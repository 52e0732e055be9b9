"""The one composition root: every part of the bot, built from one validated ``Settings``.

::

    bot = build_bot(settings)      # nothing connects yet
    bot.start()                    # migrations, knowledge index, scheduler, resume interrupted work
    uvicorn.run(bot.web, ...)      # webhooks, Slack, health, metrics
    bot.stop()
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from slack_sdk import WebClient
from starlette.applications import Starlette

from bot.actions.policy import Policy, load_policy
from bot.actions.registry import Registry
from bot.actions.runtime import ActionDeps, ActionRequest
from bot.actions.service import ActionService
from bot.catalog.loader import load_catalog
from bot.catalog.model import ServiceCatalog
from bot.incidents.chart import Marker, render_chart
from bot.incidents.service import Hooks, IncidentService
from bot.incidents.views import IncidentView
from bot.intake.service import IntakeService
from bot.integrations.types import HealthStatus
from bot.investigation.evidence import Proposal
from bot.investigation.pipeline import investigate
from bot.investigation.skills import default_skills
from bot.investigation.sources import AlertContext
from bot.settings import Settings
from bot.slack import blocks
from bot.slack.chat import SlackChat
from bot.slack.client import make_web_client
from bot.store.db import Database
from bot.store.migrate import ensure_schema
from bot.web.app import create_web_app
from bot.web.metrics import BotMetrics
from bot.wiring.bridges import SlackDirectory, SlackPager
from bot.wiring.integrations import Integrations, build_integrations
from bot.wiring.knowledge import Knowledge
from bot.wiring.learning import Learning
from bot.wiring.renderer import BlockKitRenderer
from bot.wiring.slack_services import BotSlackServices, Extras

log = logging.getLogger(__name__)


class CatalogHolder:
    """The service catalog, reloadable; the sandbox and tests may set one directly."""

    def __init__(self, settings: Settings, catalog: ServiceCatalog | None = None) -> None:
        self.settings = settings
        self.maintenance: list[Any] = []
        if catalog is None:
            catalog, self.maintenance = load_catalog(settings.incidents.services_file)
        self._catalog = catalog
        self._lock = threading.Lock()

    def __call__(self) -> ServiceCatalog:
        with self._lock:
            return self._catalog

    def set(self, catalog: ServiceCatalog) -> None:
        with self._lock:
            self._catalog = catalog


@dataclass
class Bot:
    settings: Settings
    db: Database
    metrics: BotMetrics
    catalog: CatalogHolder
    integrations: Integrations
    registry: Registry
    actions: ActionService
    intake: IntakeService
    incidents: IncidentService
    chat: SlackChat
    slack: BotSlackServices
    knowledge: Knowledge
    learning: Learning
    web: Starlette
    bolt: Any = None
    scheduler: Any = None
    socket: Any = None
    extras: dict[str, Any] = field(default_factory=dict)

    def start(self, *, knowledge_in_background: bool = True) -> None:
        ensure_schema(self.settings.database_url)
        default_skills()  # parsed once, before the first alert: a bad skill file stops start-up, named
        self._load_maintenance()
        self.knowledge.start(background=knowledge_in_background)
        for flagged in self.actions.executor.find_interrupted():
            log.warning("action %s was %s when the bot stopped: flagged for a person", flagged.get("id"),
                        flagged.get("interrupted_in"))
            if flagged.get("incident_id"):  # tell the people in the incident's channel
                self.incidents.note(int(flagged["incident_id"]), f":warning: {flagged.get('text')}")
        resumed = self.incidents.resume()
        if resumed:
            log.info("resuming %d incident(s) after a restart", len(resumed))
        if self.scheduler is not None:
            self.scheduler.start()
        if self.settings.slack.mode == "socket" and self.bolt is not None and self.settings.slack.app_token:
            from bot.slack.app import start_socket_mode

            self.socket = start_socket_mode(self.bolt, self.settings.slack.app_token.get_secret_value())

    def _load_maintenance(self) -> None:
        """Maintenance windows declared in services.yaml become rows (once each), like /aisre maintenance."""
        import sqlalchemy as sa

        from bot.store.models import MaintenanceWindow

        with self.db.session() as s:
            for m in self.catalog.maintenance:
                exists = s.scalar(sa.select(sa.func.count()).select_from(MaintenanceWindow).where(
                    MaintenanceWindow.service == m.service, MaintenanceWindow.starts_at == m.starts_at))
                if not exists:
                    s.add(MaintenanceWindow(service=m.service, starts_at=m.starts_at, ends_at=m.ends_at,
                                            note=m.note, created_by="services.yaml"))

    def stop(self) -> None:
        if self.socket is not None:
            handler, watchdog = self.socket
            watchdog.stop()
            handler.close()
            self.socket = None
        if self.scheduler is not None:
            self.scheduler.stop()
        self.incidents.shutdown()
        # Bolt's listener pool (lazy listeners: clicks, commands) would outlive the bot otherwise
        runner = getattr(self.bolt, "_listener_runner", None)
        executor = getattr(runner, "listener_executor", None)
        if executor is not None and hasattr(executor, "shutdown"):
            executor.shutdown(wait=True, cancel_futures=True)
        self.db.dispose()

    def readiness(self) -> list[HealthStatus]:
        checks = [HealthStatus("store", *_ok(self.db.ping))]
        try:
            self.chat.client.auth_test()
            checks.append(HealthStatus("slack", True))
        except Exception as e:
            checks.append(HealthStatus("slack", False, f"{type(e).__name__}: {e}"[:200]))
        checks += self.integrations.health()
        return checks


def _ok(fn: Callable[[], Any]) -> tuple[bool, str]:
    try:
        fn()
        return True, ""
    except Exception as e:
        return False, f"{type(e).__name__}: {e}"[:200]


def build_bot(
    settings: Settings, *, catalog: ServiceCatalog | None = None, web_client: WebClient | None = None,
    clock: Callable[[], datetime] | None = None, with_scheduler: bool = True,
) -> Bot:
    """Build the bot; a bad services.yaml, policy.yaml or heartbeats.yaml raises SettingsError (one line each)."""
    from bot.actions.policy import PolicyError
    from bot.catalog.loader import CatalogError
    from bot.scheduler.config import HeartbeatsError
    from bot.settings import SettingsError

    try:
        return _build_bot(settings, catalog=catalog, web_client=web_client, clock=clock, with_scheduler=with_scheduler)
    except (PolicyError, CatalogError, HeartbeatsError) as e:
        raise SettingsError(str(e)) from None


def _build_bot(
    settings: Settings, *, catalog: ServiceCatalog | None, web_client: WebClient | None,
    clock: Callable[[], datetime] | None, with_scheduler: bool,
) -> Bot:
    clock = clock or (lambda: datetime.now(UTC))
    db = Database(settings.database_url)
    metrics = BotMetrics()
    holder = CatalogHolder(settings, catalog)
    integrations = build_integrations(settings)
    registry = Registry.builtin()
    policy = Policy(load_policy(settings.policy.file, set(registry.names())),
                    max_auto_attempts=settings.policy.max_auto_attempts)
    client = web_client or make_web_client(settings.slack)
    chat = SlackChat(client)
    ports = integrations.ports
    ports.pager = SlackPager(chat, settings.slack.default_channel)
    learning = Learning(settings=settings, db=db, chat=chat)
    ports.extra["runbook_proposals"] = learning
    deps = ActionDeps(
        db=db, registry=registry, policy=policy, ports=ports, settings=settings.policy,
        approvers=frozenset(settings.slack.approvers), approver_groups=frozenset(settings.slack.approver_groups),
        directory=SlackDirectory(chat), clock=clock,
    )
    actions = ActionService(deps)
    knowledge = Knowledge(settings, known_actions=set(registry.names()))
    renderer = BlockKitRenderer()
    hooks = Hooks()
    incidents = IncidentService(db=db, chat=chat, renderer=renderer, settings=settings, catalog=holder,
                                hooks=hooks, clock=clock)
    intake = IntakeService(db=db, settings=settings, catalog=holder, on_outcome=incidents.handle, clock=clock,
                           counters=metrics.count)
    slack = BotSlackServices(settings=settings, db=db, incidents=incidents, actions=actions, registry=registry,
                             intake=intake, catalog=holder, extras=Extras(), clock=clock)
    learning.attach(incidents=incidents, actions=actions, slack=slack, knowledge=knowledge)

    from bot.llm import build_reasoner

    llm = build_reasoner(settings.llm, registry=registry)
    hooks.investigate = lambda ctx: _investigate(ctx, integrations, holder, knowledge, clock, llm)
    hooks.on_investigated = lambda iid, result: _after_investigation(db, iid, result)
    hooks.propose = lambda iid, p, view: _propose(iid, p, view, actions, slack, incidents, chat, holder)
    hooks.after_brief = lambda iid: _after_brief(iid, slack, incidents, chat, db)
    hooks.chart = lambda iid, after: _chart(iid, incidents, integrations, db, after=after)
    hooks.on_resolved = learning.on_resolved

    def on_brief(seconds: float) -> None:
        metrics.briefs_posted.inc()
        metrics.brief_latency.observe(seconds)

    hooks.on_brief = on_brief
    learning.metrics_source = integrations.sources.metrics

    bolt = None
    slack_handler = None
    try:
        from bot.slack.app import create_bolt_app, http_handler

        bolt = create_bolt_app(settings, slack, client=client)
        if settings.slack.mode == "http":
            slack_handler = http_handler(bolt)
    except Exception as e:  # a broken Slack config must not stop intake
        log.error("Slack app not started: %s", e)

    bot = Bot(settings=settings, db=db, metrics=metrics, catalog=holder, integrations=integrations,
              registry=registry, actions=actions, intake=intake, incidents=incidents, chat=chat, slack=slack,
              knowledge=knowledge, learning=learning, web=Starlette(), bolt=bolt)
    bot.web = create_web_app(intake=intake, metrics=metrics, readiness=bot.readiness, slack_handler=slack_handler)
    if with_scheduler and settings.scheduler.enabled:
        bot.scheduler = _scheduler(settings, db, intake, chat, actions, integrations)
        if bot.scheduler is not None:
            slack.extras.digest = lambda: _digest_message(bot.scheduler)
            slack.extras.heartbeats = lambda: _heartbeats_message(bot.scheduler)
    slack.extras.metric_reader = lambda svc, metric, window_s: _metric_line(integrations, svc, metric, window_s)
    slack.extras.answer_question = lambda q, view: _answer(q, view, settings, llm)
    return bot


def _investigate(ctx: AlertContext, integrations: Integrations, holder: CatalogHolder, knowledge: Knowledge,
                 clock: Callable[[], datetime], llm: Any) -> Any:
    result = investigate(alert_context=ctx, sources=integrations.sources, catalog=holder(),
                         knowledge=knowledge.evidence if knowledge.index is not None else None, clock=clock)
    if llm is None:
        return result
    from bot.llm import refine

    combined = refine(result, reasoner=llm, sources=integrations.sources, catalog=holder())
    out = combined.result
    out.llm_note = combined.llm_note
    out.llm_usage = combined.outcome.usage
    out.llm_dropped = list(combined.dropped)
    return out


def _after_investigation(db: Database, incident_id: int, result: Any) -> None:
    usage = getattr(result, "llm_usage", None)
    dropped = getattr(result, "llm_dropped", None) or []
    if usage is None and not dropped:
        return
    from bot.llm import record_usage
    from bot.store import audit

    with db.session() as s:
        if usage is not None and usage.total_tokens:
            record_usage(s, incident_id=incident_id, usage=usage)
        for d in dropped:
            audit.append(session=s, actor="llm", kind="llm.hypothesis_dropped", incident_id=incident_id,
                         text=f"dropped an LLM hypothesis: {getattr(d, 'reason', d)}"[:500])


def _propose(incident_id: int, p: Proposal, view: IncidentView, actions: ActionService, slack: BotSlackServices,
             incidents: IncidentService, chat: SlackChat, holder: CatalogHolder) -> dict[str, Any]:
    if p.action is None or p.kind == "none":
        return {"mode": "advisory", "policy_reasons": [p.reason or "no action needed: stand down"]}
    svc = holder().get(p.target) or (holder().get(view.service) if view.service else None)
    sub = actions.submit(ActionRequest(
        action=p.action, params=p.params, target=p.target, incident_id=incident_id,
        tier=svc.tier if svc else "standard", kind=p.kind, watch_service=view.service,
    ), progress=lambda text: incidents.note(incident_id, text))
    return {"action_id": sub.action_id, "mode": sub.decision.mode, "state": sub.state,
            "policy_reasons": list(sub.decision.reasons), "params_hash": sub.params_hash}


def _after_brief(incident_id: int, slack: BotSlackServices, incidents: IncidentService, chat: SlackChat,
                 db: Database) -> None:
    """Once the brief is up: the approval card for a step that needs one; an allowed step runs now."""
    from bot.incidents import repo

    with db.session() as s:
        inc = repo.get(session=s, incident_id=incident_id)
        if inc is None or not inc.channel_id:
            return
        channel = inc.channel_id
        p = dict((inc.extra or {}).get("proposal") or {})
    action_id, state = p.get("action_id"), p.get("state")
    if not isinstance(action_id, int) or state not in ("awaiting_approval", "approved") or p.get("card_ts"):
        return
    card = blocks.approval_card(slack.card(action_id))
    ts = chat.post(channel, card.text, list(card.blocks))
    with db.session() as s:
        inc = repo.get_for_update(session=s, incident_id=incident_id)
        if inc is not None:
            inc.extra = {**(inc.extra or {}), "proposal": {**p, "card_ts": ts}}
    if state == "approved":
        def run() -> None:
            slack.execute(action_id, "ai-sre", lambda m: chat.update(channel, ts, m.text, list(m.blocks)))
        incidents.pool.submit(run)


def _chart(incident_id: int, incidents: IncidentService, integrations: Integrations, db: Database, *,
           after: bool = False) -> bytes | None:
    """The alerting metric around the alert with change markers; after an action, the latest
    40 minutes up to now, so the recovery (or not) is what the chart shows."""
    from datetime import timedelta

    from bot.incidents import repo

    metrics = integrations.sources.metrics
    if metrics is None:
        return None
    with db.session() as s:
        alert = repo.first_alert(session=s, incident_id=incident_id)
        if alert is None or not alert.service or not alert.metric:
            return None
        service, metric, at, threshold = alert.service, alert.metric, alert.starts_at, alert.threshold
    now = datetime.now(UTC)
    if after:
        series = metrics.query_series(service, metric, now - timedelta(minutes=40), now)
        if not series.points:
            return None
        last = series.points[-1].at
        points = [((p.at - last).total_seconds() / 60, p.value) for p in series.points]
        return render_chart(title=f"{service} {metric}, up to now", points=points, threshold=threshold,
                            xlabel="minutes before now")
    view = incidents.view(incident_id)
    series = metrics.query_series(service, metric, at - timedelta(minutes=60), now)
    points = [((p.at - at).total_seconds() / 60, p.value) for p in series.points]
    markers = []
    for e in (view.changes if view else ()):
        m = next((t for t in e.summary.split() if t.startswith("-") and t[1:].replace(".", "").isdigit()), None)
        if m is not None:
            markers.append(Marker(float(m), e.summary[:28]))
    return render_chart(title=f"{service} {metric}", points=points, markers=markers, threshold=threshold)


def _answer(question: str, view: IncidentView, settings: Settings, llm: Any) -> str | None:
    """A free-text question answered from the incident's evidence, with citations."""
    from bot.investigation.evidence import CATEGORIES, Evidence, Hypothesis
    from bot.llm import answer_question

    evidence = [Evidence(e.id, e.source, e.query, (0.0, 0.0), e.status, e.summary) for e in view.evidence]  # type: ignore[arg-type]
    hyps = [Hypothesis(h.category, h.culprit, h.confidence, list(h.evidence), h.explanation)
            for h in view.hypotheses if h.evidence and h.category in CATEGORIES]
    client = getattr(llm, "client", None)
    text, cited = answer_question(question, evidence, hyps, client=client, settings=settings.llm)
    return text + (f"\n_cited: {', '.join(cited)}_" if cited else "")


def _metric_line(integrations: Integrations, service: str, metric: str, window_s: int) -> str:
    from datetime import timedelta

    src = integrations.sources.metrics
    if src is None:
        return "No metrics source is configured."
    end = datetime.now(UTC)
    try:
        s = src.query_series(service, metric, end - timedelta(seconds=window_s), end)
    except Exception as e:
        return f"Could not read {metric} of {service}: {e}"
    if not s.points:
        return f"No data for `{s.query or metric}` in the last {window_s // 60} min."
    vals = s.values
    return (f"`{s.query}` over the last {window_s // 60} min: now {vals[-1]:.4g}, min {min(vals):.4g}, "
            f"max {max(vals):.4g}, mean {sum(vals) / len(vals):.4g} ({len(vals)} points)")


def _scheduler(settings: Settings, db: Database, intake: IntakeService, chat: SlackChat, actions: ActionService,
               integrations: Integrations) -> Any:
    from bot.scheduler.config import HeartbeatsError

    try:
        from bot.scheduler.probes import SourcesReader
        from bot.scheduler.service import Scheduler

        return Scheduler(settings, db, intake=intake, chat=chat, actions=actions,
                         metrics=SourcesReader(integrations.metric_sources) if integrations.metric_sources else None,
                         db_target=integrations.ports.db, holder=f"{os.uname().nodename}:{os.getpid()}")
    except HeartbeatsError:
        raise
    except Exception as e:
        log.error("scheduler not started: %s", e)
        return None


def _digest_message(scheduler: Any) -> Any:
    text, digest_blocks = scheduler.digest_now()
    return blocks.Message(text, digest_blocks)


STATE_EMOJI = {"ok": ":large_green_circle:", "failing": ":large_yellow_circle:", "breached": ":red_circle:",
               "unknown": ":white_circle:"}


def _heartbeats_message(scheduler: Any) -> Any:
    rows = scheduler.list_heartbeats()
    if not rows:
        return blocks.text_reply("No heartbeat checks are configured (AISRE_SCHEDULER__HEARTBEATS_FILE).")
    lines = []
    for h in rows:
        value = "no result yet" if h.value is None else f"{h.value:.4g}"
        since = f", breached since {h.breached_since:%H:%M} UTC" if h.breached_since else ""
        lines.append(f"{STATE_EMOJI.get(h.state, '')} *{h.name}* ({h.kind}{', ' + h.service if h.service else ''}): "
                     f"{h.state}, last {value}{since} — every {h.interval_s:.0f}s, for {h.for_s:.0f}s")
    return blocks.text_reply("Heartbeat checks:\n" + "\n".join(lines))
