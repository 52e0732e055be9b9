"""What the Slack listeners need from the rest of the bot, as one small interface.

The composition root implements :class:`SlackServices` over the incident service, the
action service and the store; tests pass an in-memory fake (``tests/slack/fakes.py``).
Listeners call exactly one method per request and render what it returns with the
builders in :mod:`bot.slack.blocks`; they hold no business logic, no SQL and no vendor SDK.

Methods are synchronous and may block: listeners call them after ``ack()`` (in Bolt's lazy
listeners), except :meth:`SlackServices.record_event` and
:meth:`SlackServices.validate_params`, which run before the ack and must be quick.
Permission checks that decide an outcome (who may approve) live in the services;
:meth:`SlackServices.is_allowed` lets a listener refuse early with an ephemeral reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from bot.incidents.views import IncidentView
from bot.slack.blocks import AuditLine, AutonomyRow, Message
from bot.slack.commands import ActionCommand
from bot.slack.mentions import Mention
from bot.slack.values import CommandModalMeta, ProposalValue

Permission = Literal["approve", "admin", "act", "declare", "resolve"]
ProgressFn = Callable[[Message], None]


@dataclass(frozen=True)
class Reply:
    """What a listener does with a service's answer.

    ``update`` replaces the message the user clicked (or the message just posted);
    ``message`` is posted in the channel (in ``thread_ts`` when set); ``ephemeral`` is shown
    to the acting user only. ``execute`` is an approved action id the listener runs next
    with :meth:`SlackServices.execute`, reporting progress by ``chat.update`` of the card.
    """

    message: Message | None = None
    update: Message | None = None
    ephemeral: Message | None = None
    thread_ts: str | None = None
    execute: int | None = None


class SlackServices(Protocol):
    # ---- before the ack ----------------------------------------------------------------------
    def record_event(self, event_id: str, kind: str, payload: dict[str, Any]) -> bool:
        """True the first time ``event_id`` is seen (``bot.store.events.record_slack_event``)."""
        ...

    def is_allowed(self, user: str, what: Permission) -> bool: ...

    def validate_params(self, action: str, params: Mapping[str, Any]) -> list[str]:
        """The registry's problems with ``params`` ("replicas: ..."), ``[]`` when valid."""
        ...

    # ---- reading -----------------------------------------------------------------------------
    def status(self, channel: str, incident_key: str | None) -> IncidentView | None:
        """The named incident, or the one whose channel this is; None when there is none."""
        ...

    def timeline(self, channel: str, incident_key: str | None) -> IncidentView | None: ...

    def catchup(self, channel: str, user: str) -> IncidentView | None: ...

    def audit(self, channel: str, incident_key: str | None) -> list[AuditLine]: ...

    def autonomy(self) -> list[AutonomyRow]: ...

    def heartbeats(self) -> Message: ...

    def digest(self) -> Message: ...

    def home(self, user: str) -> dict[str, Any]:
        """The App Home view (build it with :func:`bot.slack.blocks.home_view`)."""
        ...

    def action_schema(self, action: str) -> tuple[dict[str, Any], str] | None:
        """``(json_schema, summary)`` of a registry action, for the generated modal."""
        ...

    # ---- changing ----------------------------------------------------------------------------
    def resolve(self, channel: str, incident_key: str | None, note: str | None, user: str) -> Reply: ...

    def declare(self, service: str, title: str, user: str, channel: str) -> Reply: ...

    def maintenance(self, service: str, duration_s: int, note: str | None, user: str, channel: str) -> Reply: ...

    def run_command(self, cmd: ActionCommand, user: str, channel: str) -> Reply:
        """An action command (rollback, restart, scale, ...) submitted through the policy."""
        ...

    def submit_form(self, meta: CommandModalMeta, params: Mapping[str, Any], user: str) -> Reply:
        """The generated modal's parameters, already validated with :meth:`validate_params`."""
        ...

    def decide_approval(self, action_id: int, approve: bool, user: str, shown_hash: str) -> Reply:
        """One Approve/Deny click: ``update`` is the card re-rendered, ``ephemeral`` a refusal reason."""
        ...

    def run_proposal(self, value: ProposalValue, user: str, channel: str, *, request_approval: bool) -> Reply:
        """Run / Request approval on an advisory proposal of the brief."""
        ...

    def execute(self, action_id: int, user: str, progress: ProgressFn) -> Message:
        """Run an approved action; ``progress`` re-renders the card; returns its final form."""
        ...

    def set_autonomy(self, scope: str, scope_kind: str, level: str, user: str) -> Reply: ...

    def freeze(self, user: str) -> Reply: ...

    def unfreeze(self, user: str) -> Reply: ...

    def answer_mention(self, mention: Mention, user: str, channel: str, thread_ts: str) -> Message: ...

    def record_reaction(self, channel: str, ts: str, reaction: str, user: str) -> None:
        """A reaction on a message (``pushpin`` adds the message to the incident timeline)."""
        ...

    def on_message(self, channel: str, user: str, text: str, ts: str, thread_ts: str | None) -> None:
        """A person's message in a channel the bot is in (incident channels keep a log)."""
        ...
