"""Modal submissions: the form generated from an action's JSON Schema.

Validation runs before the ack, so problems come back as ``response_action: errors``
on the inputs; the submission itself runs in a lazy function.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.slack.blocks import errors_for, read_submission
from bot.slack.ids import CallbackId
from bot.slack.listeners.common import deliver, guarded, user_of
from bot.slack.services import SlackServices
from bot.slack.values import CommandModalMeta


def _first_block(view: dict[str, Any]) -> str:
    return next((str(b["block_id"]) for b in view.get("blocks", []) if b.get("type") == "input"), "")


def register(app: App, services: SlackServices) -> None:
    def parse(view: dict[str, Any]) -> tuple[CommandModalMeta | None, dict[str, Any], dict[str, str]]:
        meta = CommandModalMeta.parse(view.get("private_metadata"))
        if meta is None:
            return None, {}, {_first_block(view): "This form is out of date; run the command again."}
        schema = services.action_schema(meta.action)
        if schema is None:
            return meta, {}, {_first_block(view): f"{meta.action} is no longer available."}
        params, errors = read_submission((view.get("state") or {}).get("values") or {}, schema[0])
        if not errors:
            errors = errors_for(services.validate_params(meta.action, params), schema[0])
        return meta, params, errors

    def ack_submission(ack: Ack, view: dict[str, Any]) -> None:
        _, _, errors = parse(view)
        if errors:
            ack(response_action="errors", errors=errors)
        else:
            ack()

    @guarded
    def submit(body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        meta, params, errors = parse(view)
        if meta is None or errors:
            return
        user = user_of(body) or meta.user
        reply = services.submit_form(meta, params, user)
        deliver(reply, services, client=client, channel=meta.channel, user=user)

    app.view(CallbackId.COMMAND_MODAL)(ack=ack_submission, lazy=[submit])
