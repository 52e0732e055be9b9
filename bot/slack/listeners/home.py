"""The App Home: publish it when opened and on Refresh; "Status" opens a modal."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.slack.blocks import kit, status_reply
from bot.slack.ids import ActionId
from bot.slack.listeners.common import guarded, user_of
from bot.slack.services import SlackServices
from bot.slack.values import IncidentRef


def _ack(ack: Ack) -> None:
    ack()


def register(app: App, services: SlackServices) -> None:
    @guarded
    def publish_on_open(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        user = str(event["user"])
        client.views_publish(user_id=user, view=services.home(user))

    @guarded
    def refresh(body: dict[str, Any], client: WebClient) -> None:
        user = user_of(body)
        client.views_publish(user_id=user, view=services.home(user))

    @guarded
    def open_incident(body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ref = IncidentRef.parse(action.get("value"))
        if ref is None:
            return
        view = services.status(ref.channel_id or "", ref.key)
        blocks = status_reply(view).blocks if view else [kit.section(f"{ref.key} is gone.")]
        client.views_open(trigger_id=body["trigger_id"], view={
            "type": "modal", "title": kit.plain(ref.key, kit.MODAL_TITLE),
            "close": kit.plain("Close", kit.MODAL_TITLE), "blocks": kit.finish(blocks, "modal"),
        })

    app.event("app_home_opened")(ack=_ack, lazy=[publish_on_open])
    app.action(ActionId.HOME_REFRESH)(ack=_ack, lazy=[refresh])
    app.action(ActionId.HOME_OPEN_INCIDENT)(ack=_ack, lazy=[open_incident])
