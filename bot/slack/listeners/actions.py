"""Buttons: Approve / Deny on approval cards and briefs, Run / Request approval on proposals."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.slack.blocks import error_reply
from bot.slack.ids import ActionId
from bot.slack.listeners.common import channel_of, deliver, ephemeral, guarded, user_of
from bot.slack.services import SlackServices
from bot.slack.values import ApprovalValue, ProposalValue

STALE = "This button is from an older message; use the latest card."


def _ack(ack: Ack) -> None:
    ack()


def _message_ts(body: dict[str, Any]) -> str | None:
    container = body.get("container") or {}
    ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
    return str(ts) if ts else None


def register(app: App, services: SlackServices) -> None:
    def decide(approve: bool) -> Any:
        @guarded
        def decide_click(body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond) -> None:
            # answers to the clicker go through the response URL: chat.postEphemeral fails for a
            # person who is not a member of the (public) channel they clicked in
            user, channel = user_of(body), channel_of(body)
            value = ApprovalValue.parse(action.get("value"))
            if value is None:
                ephemeral(client, channel, user, error_reply(STALE), respond)
                return
            reply = services.decide_approval(value.action_id, approve, user, value.params_hash)
            deliver(reply, services, client=client, channel=channel, user=user, message_ts=_message_ts(body),
                    respond=respond)

        decide_click.__name__ = "approve_click" if approve else "deny_click"
        return decide_click

    def proposal(request_approval: bool) -> Any:
        @guarded
        def proposal_click(body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
            user, channel = user_of(body), channel_of(body)
            value = ProposalValue.parse(action.get("value"))
            if value is None or channel is None:
                ephemeral(client, channel, user, error_reply(STALE))
                return
            reply = services.run_proposal(value, user, channel, request_approval=request_approval)
            thread = (body.get("message") or {}).get("thread_ts") or _message_ts(body)
            deliver(reply, services, client=client, channel=channel, user=user, message_ts=_message_ts(body),
                    thread_ts=thread)

        return proposal_click

    app.action(ActionId.APPROVE)(ack=_ack, lazy=[decide(True)])
    app.action(ActionId.DENY)(ack=_ack, lazy=[decide(False)])
    app.action(ActionId.RUN)(ack=_ack, lazy=[proposal(False)])
    app.action(ActionId.REQUEST_APPROVAL)(ack=_ack, lazy=[proposal(True)])
    app.action(ActionId.OPEN_LINK)(_ack)
