"""Events: ``app_mention``, ``message`` and ``reaction_added``.

Each listener acks at once; the work runs in a lazy function (Bolt's thread runner).
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.slack.blocks import error_reply, help_message, status_reply
from bot.slack.listeners.common import guarded, post
from bot.slack.mentions import parse_mention
from bot.slack.services import SlackServices

IGNORED_SUBTYPES = frozenset({"message_changed", "message_deleted", "bot_message", "channel_join",
                              "channel_leave", "channel_topic", "channel_purpose", "channel_name",
                              "thread_broadcast", "pinned_item", "unpinned_item", "me_message_changed"})


def _ack(ack: Ack) -> None:
    ack()


def register(app: App, services: SlackServices) -> None:
    @guarded
    def answer_mention(event: dict[str, Any], client: WebClient) -> None:
        channel = str(event["channel"])
        user = str(event.get("user", ""))
        thread_ts = str(event.get("thread_ts") or event["ts"])
        mention = parse_mention(str(event.get("text", "")))
        if mention.kind == "help":
            msg = help_message()
        elif mention.kind == "status":
            view = services.status(channel, mention.incident)
            msg = status_reply(view) if view else error_reply(
                "No incident here. Name one: @ai-sre status INC-42", "/aisre status [INC-42]")
        else:
            msg = services.answer_mention(mention, user, channel, thread_ts)
        post(client, channel, msg, thread_ts=thread_ts)

    @guarded
    def on_message(event: dict[str, Any], context: dict[str, Any]) -> None:
        if event.get("subtype") in IGNORED_SUBTYPES or event.get("bot_id"):
            return
        user = str(event.get("user") or "")
        if not user or user == context.get("bot_user_id"):
            return
        services.on_message(str(event.get("channel", "")), user, str(event.get("text", "")),
                            str(event.get("ts", "")), event.get("thread_ts"))

    @guarded
    def on_reaction(event: dict[str, Any], context: dict[str, Any]) -> None:
        item = event.get("item") or {}
        user = str(event.get("user") or "")
        if item.get("type") != "message" or not user or user == context.get("bot_user_id"):
            return
        services.record_reaction(str(item.get("channel")), str(item.get("ts")), str(event.get("reaction")), user)

    app.event("app_mention")(ack=_ack, lazy=[answer_mention])
    app.event("message")(ack=_ack, lazy=[on_message])
    app.event("reaction_added")(ack=_ack, lazy=[on_reaction])
    app.event("reaction_removed")(_ack)
