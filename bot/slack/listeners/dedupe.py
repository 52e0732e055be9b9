"""Inbound dedupe, before any listener runs: one effect per event, command and click.

Events are keyed by ``event_id`` (Slack's retries, with ``X-Slack-Retry-Num``, carry the
same one; two replicas receiving one event agree through the store's primary key); slash
commands and interactions by ``trigger_id``. A duplicate is answered 200 with an empty
body and nothing else happens. When the store cannot record an event the request is
answered 503 so Slack retries it later; commands and interactions (never retried by
Slack) go on without dedupe rather than failing in front of the user.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse

from bot.slack.services import SlackServices

log = logging.getLogger("bot.slack")


def dedupe_key(body: dict[str, Any]) -> tuple[str, str] | None:
    """``(key, kind)`` of an inbound request; None for requests that need no dedupe."""
    if body.get("type") == "event_callback" and body.get("event_id"):
        event = body.get("event") or {}
        return str(body["event_id"]), f"event.{event.get('type', 'unknown')}"
    if body.get("command") and body.get("trigger_id"):
        return f"trigger:{body['trigger_id']}", "command"
    if body.get("type") in ("block_actions", "view_submission", "view_closed", "shortcut",
                            "message_action") and body.get("trigger_id"):
        return f"trigger:{body['trigger_id']}", f"interaction.{body['type']}"
    return None


def _summary(body: dict[str, Any]) -> dict[str, Any]:
    event = body.get("event") or {}
    return {k: v for k, v in {
        "type": event.get("type") or body.get("type"), "channel": event.get("channel") or body.get("channel_id"),
        "user": event.get("user") or body.get("user_id"), "command": body.get("command"),
    }.items() if v}


def register(app: App, services: SlackServices) -> None:
    def dedupe(body: dict[str, Any], request: BoltRequest, next: Callable[[], BoltResponse]) -> BoltResponse:
        key = dedupe_key(body)
        if key is None:
            return next()
        try:
            fresh = services.record_event(key[0], key[1], _summary(body))
        except Exception:
            log.exception("could not record slack %s %s", key[1], key[0])
            if key[1].startswith("event."):
                return BoltResponse(status=503, body="")
            return next()
        if not fresh:
            retry = (request.headers.get("x-slack-retry-num") or ["-"])[0]
            log.info("duplicate slack %s %s (retry %s) ignored", key[1], key[0], retry)
            return BoltResponse(status=200, body="")
        return next()

    app.middleware(dedupe)
