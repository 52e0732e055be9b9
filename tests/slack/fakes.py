"""An in-memory :class:`SlackServices`: canned answers, and a log of every call."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.actions.registry import Registry
from bot.actions.spec import InvalidParams
from bot.incidents.views import IncidentView
from bot.slack.blocks import (
    AuditLine,
    AutonomyRow,
    Message,
    approval_card,
    decided,
    home_view,
    status_update,
    text_reply,
)
from bot.slack.commands import ActionCommand
from bot.slack.mentions import Mention
from bot.slack.services import Permission, ProgressFn, Reply
from bot.slack.values import CommandModalMeta, ProposalValue
from tests.slack import factories as f


@dataclass
class FakeServices:
    approvers: set[str] = field(default_factory=lambda: {"U0ALICE"})
    admins: set[str] = field(default_factory=lambda: {"U0ALICE"})
    view: IncidentView | None = field(default_factory=f.view)
    fail_record: bool = False
    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    registry: Registry = field(default_factory=Registry.builtin)
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: threading.Condition = field(default_factory=threading.Condition)

    def _log(self, name: str, *args: Any) -> None:
        with self.done:
            self.calls.append((name, args))
            self.done.notify_all()

    def called(self, name: str) -> list[tuple[Any, ...]]:
        with self.done:
            return [a for n, a in self.calls if n == name]

    def wait_for(self, name: str, n: int = 1, timeout: float = 10.0) -> list[tuple[Any, ...]]:
        with self.done:
            self.done.wait_for(lambda: len([1 for c, _ in self.calls if c == name]) >= n, timeout=timeout)
        return self.called(name)

    # ---- before the ack ----------------------------------------------------------------------
    def record_event(self, event_id: str, kind: str, payload: dict[str, Any]) -> bool:
        if self.fail_record:
            raise RuntimeError("store down")
        with self.lock:
            fresh = event_id not in self.seen
            self.seen.add(event_id)
        self._log("record_event", event_id, kind, fresh)
        return fresh

    def is_allowed(self, user: str, what: Permission) -> bool:
        return what in ("act", "declare", "resolve") or user in self.admins

    def validate_params(self, action: str, params: Mapping[str, Any]) -> list[str]:
        try:
            self.registry.validate(action, params)
        except InvalidParams as e:
            return list(e.problems)
        return []

    # ---- reading -----------------------------------------------------------------------------
    def status(self, channel: str, incident_key: str | None) -> IncidentView | None:
        self._log("status", channel, incident_key)
        return self.view

    def timeline(self, channel: str, incident_key: str | None) -> IncidentView | None:
        self._log("timeline", channel, incident_key)
        return self.view

    def catchup(self, channel: str, user: str) -> IncidentView | None:
        self._log("catchup", channel, user)
        return self.view

    def audit(self, channel: str, incident_key: str | None) -> list[AuditLine]:
        self._log("audit", channel, incident_key)
        return [AuditLine(f.T0, "U0ALICE", "action.approved", "approved k8s.rollout_undo", "INC-42")]

    def autonomy(self) -> list[AutonomyRow]:
        self._log("autonomy")
        return [AutonomyRow("default", "supervised")]

    def heartbeats(self) -> Message:
        self._log("heartbeats")
        return text_reply("nightly-backup: last beat 01:00 UTC (ok)")

    def digest(self) -> Message:
        self._log("digest")
        return text_reply("No autonomous actions in the last 24h.")

    def home(self, user: str) -> dict[str, Any]:
        self._log("home", user)
        return home_view([self.view] if self.view else [], self.autonomy(), user=user)

    def action_schema(self, action: str) -> tuple[dict[str, Any], str] | None:
        if action not in self.registry:
            return None
        return self.registry.json_schema(action), self.registry.get(action).summary

    # ---- changing ----------------------------------------------------------------------------
    def resolve(self, channel: str, incident_key: str | None, note: str | None, user: str) -> Reply:
        self._log("resolve", channel, incident_key, note, user)
        return Reply(message=status_update(f"Resolved by <@{user}>: {note or 'no note'}", f.T0))

    def declare(self, service: str, title: str, user: str, channel: str) -> Reply:
        self._log("declare", service, title, user, channel)
        return Reply(message=status_update(f"Declared INC-43 on {service}: {title}", f.T0))

    def maintenance(self, service: str, duration_s: int, note: str | None, user: str, channel: str) -> Reply:
        self._log("maintenance", service, duration_s, note, user, channel)
        return Reply(message=status_update(f"{service} in maintenance for {duration_s}s", f.T0))

    def run_command(self, cmd: ActionCommand, user: str, channel: str) -> Reply:
        self._log("run_command", cmd, user, channel)
        return Reply(message=approval_card(f.card(action=cmd.action, target=cmd.target, requested_by=user)))

    def submit_form(self, meta: CommandModalMeta, params: Mapping[str, Any], user: str) -> Reply:
        self._log("submit_form", meta, dict(params), user)
        return Reply(message=approval_card(f.card(action=meta.action, params=dict(params), requested_by=user)))

    def decide_approval(self, action_id: int, approve: bool, user: str, shown_hash: str) -> Reply:
        self._log("decide_approval", action_id, approve, user, shown_hash)
        if user not in self.approvers:
            return Reply(ephemeral=text_reply(f"<@{user}> is not an approver for k8s.rollout_undo"))
        state = "approved" if approve else "denied"
        card = approval_card(decided(f.card(action_id=action_id), state, by=user, at=f.T0))
        return Reply(update=card, execute=action_id if approve else None)

    def run_proposal(self, value: ProposalValue, user: str, channel: str, *, request_approval: bool) -> Reply:
        self._log("run_proposal", value, user, channel, request_approval)
        return Reply(message=approval_card(f.card(requested_by=user)))

    def execute(self, action_id: int, user: str, progress: ProgressFn) -> Message:
        self._log("execute", action_id, user)
        progress(status_update("Rolling back checkout to revision 41…", f.T0))
        return status_update("Rolled back checkout to revision 41", f.T0)

    def set_autonomy(self, scope: str, scope_kind: str, level: str, user: str) -> Reply:
        self._log("set_autonomy", scope, scope_kind, level, user)
        return Reply(message=status_update(f"{scope} is now {level}", f.T0))

    def freeze(self, user: str) -> Reply:
        self._log("freeze", user)
        return Reply(message=status_update("Change freeze on", f.T0))

    def unfreeze(self, user: str) -> Reply:
        self._log("unfreeze", user)
        return Reply(message=status_update("Change freeze off", f.T0))

    def answer_mention(self, mention: Mention, user: str, channel: str, thread_ts: str) -> Message:
        self._log("answer_mention", mention, user, channel, thread_ts)
        return text_reply(f"answer to {mention.kind}")

    def record_reaction(self, channel: str, ts: str, reaction: str, user: str) -> None:
        self._log("record_reaction", channel, ts, reaction, user)

    def on_message(self, channel: str, user: str, text: str, ts: str, thread_ts: str | None) -> None:
        self._log("on_message", channel, user, text, ts, thread_ts)
