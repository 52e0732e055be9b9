"""``/aisre``: parse (pure), ack at once, then one service call in a lazy function.

Help and malformed commands are answered in the ack itself. A bare action command
(``/aisre scale``) opens the modal generated from that action's JSON Schema. Reads
(status, timeline, catch-up, audit, ...) are ephemeral answers through the response URL;
changes post in the channel so later progress can ``chat.update`` the message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.slack import commands as c
from bot.slack.blocks import (
    Message,
    audit_message,
    catchup_message,
    command_modal,
    error_reply,
    help_message,
    status_reply,
    timeline_message,
)
from bot.slack.blocks.replies import autonomy_message
from bot.slack.listeners.common import deliver, guarded
from bot.slack.services import Permission, Reply, SlackServices
from bot.slack.values import CommandModalMeta

COMMAND = "/aisre"
ACTION_COMMANDS: dict[str, type[c.ActionCommand]] = {
    cls.name: cls for cls in (c.Rollback, c.Restart, c.Scale, c.KillQuery, c.FlushCache, c.Drain, c.Failover)
}
NEEDS: dict[type[c.Command], Permission] = {
    c.Freeze: "admin", c.Unfreeze: "admin", c.Autonomy: "admin", c.Declare: "declare", c.Resolve: "resolve",
    c.Maintenance: "admin",
}
NO_INCIDENT = "No incident in this channel. Name one, e.g. INC-42."


def _eph(msg: Message) -> Reply:
    return Reply(ephemeral=msg)


def _view_or_error(view: Any, build: Callable[[Any], Message], usage: str) -> Reply:
    return _eph(build(view) if view is not None else error_reply(NO_INCIDENT, usage))


def bare_action(text: str) -> str | None:
    """The action command named alone (``/aisre scale``), whose modal should open."""
    words = c.split(text)
    return words[0].lower() if len(words) == 1 and words[0].lower() in ACTION_COMMANDS else None


def handle(cmd: c.Command, services: SlackServices, user: str, channel: str) -> Reply:
    """One parsed command -> one service call -> a reply."""
    permission = NEEDS.get(type(cmd))
    if isinstance(cmd, c.Autonomy) and cmd.scope is None:
        permission = None  # showing the levels is for everyone
    if permission and not services.is_allowed(user, permission):
        return _eph(error_reply(f"<@{user}> may not run `/aisre {cmd.name}` (needs {permission}).", cmd.usage))
    if isinstance(cmd, c.ActionCommand):
        if not services.is_allowed(user, "act"):
            return _eph(error_reply(f"<@{user}> may not run actions.", cmd.usage))
        return services.run_command(cmd, user, channel)
    match cmd:
        case c.Status():
            return _view_or_error(services.status(channel, cmd.incident), status_reply, cmd.usage)
        case c.Timeline():
            return _view_or_error(services.timeline(channel, cmd.incident), timeline_message, cmd.usage)
        case c.Catchup():
            return _view_or_error(services.catchup(channel, user), catchup_message, cmd.usage)
        case c.Resolve():
            return services.resolve(channel, cmd.incident, cmd.note, user)
        case c.Declare():
            return services.declare(cmd.service, cmd.title, user, channel)
        case c.Maintenance():
            return services.maintenance(cmd.service, cmd.duration_s, cmd.note, user, channel)
        case c.Freeze():
            return services.freeze(user)
        case c.Unfreeze():
            return services.unfreeze(user)
        case c.Autonomy(scope=None):
            return _eph(autonomy_message(services.autonomy()))
        case c.Autonomy():
            assert cmd.scope and cmd.scope_kind and cmd.level
            return services.set_autonomy(cmd.scope, cmd.scope_kind, cmd.level, user)
        case c.Audit():
            title = f"Audit log · {cmd.incident}" if cmd.incident else "Audit log"
            return _eph(audit_message(services.audit(channel, cmd.incident), title=title))
        case c.Heartbeats():
            return _eph(services.heartbeats())
        case c.Digest():
            return _eph(services.digest())
        case _:
            return _eph(help_message())


def register(app: App, services: SlackServices) -> None:
    def ack_command(ack: Ack, command: dict[str, Any], client: WebClient) -> None:
        text = str(command.get("text") or "")
        parsed = c.parse(text)
        if isinstance(parsed, c.CommandError):
            action_cmd = bare_action(text)
            schema = services.action_schema(ACTION_COMMANDS[action_cmd].action) if action_cmd else None
            if action_cmd and schema is not None:
                ack()
                meta = CommandModalMeta(action=ACTION_COMMANDS[action_cmd].action, channel=command["channel_id"],
                                        user=command["user_id"])
                client.views_open(trigger_id=command["trigger_id"],
                                  view=command_modal(meta.action, schema[0], meta, summary=schema[1]))
                return
            ack(**error_reply(parsed.message, parsed.usage).as_kwargs())
            return
        if isinstance(parsed, c.Help):
            ack(**help_message().as_kwargs())
            return
        ack()

    @guarded
    def run_command(command: dict[str, Any], client: WebClient, respond: Any) -> None:
        parsed = c.parse(str(command.get("text") or ""))
        if isinstance(parsed, (c.CommandError, c.Help)):
            return  # answered in the ack
        user, channel = str(command["user_id"]), str(command["channel_id"])
        reply = handle(parsed, services, user, channel)
        deliver(reply, services, client=client, channel=channel, user=user, respond=respond)

    app.command(COMMAND)(ack=ack_command, lazy=[run_command])
