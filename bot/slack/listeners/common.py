"""What the listeners share: delivering a :class:`Reply`, and a guard for lazy functions.

:func:`deliver` is the one place a listener talks to the Web API about a service's answer:
``update`` -> ``chat.update`` of the clicked message, ``message`` -> ``chat.postMessage``,
``ephemeral`` -> ``respond`` (when there is a response URL) or ``chat.postEphemeral``, and
``execute`` -> :meth:`SlackServices.execute` with progress as ``chat.update`` of the card.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.blocks import Message, error_reply
from bot.slack.services import Reply, SlackServices

log = logging.getLogger("bot.slack")
F = TypeVar("F", bound=Callable[..., Any])


def post(client: WebClient, channel: str, msg: Message, *, thread_ts: str | None = None,
         respond: Callable[..., Any] | None = None) -> str | None:
    """Post ``msg``; when the bot is not in the channel, answer in it through ``respond`` instead."""
    try:
        resp = client.chat_postMessage(channel=channel, thread_ts=thread_ts, **msg.as_kwargs())
        return str(resp["ts"])
    except SlackApiError as e:
        if respond is not None and e.response.get("error") in ("not_in_channel", "channel_not_found"):
            respond(response_type="in_channel", **msg.as_kwargs())
            return None
        raise


def update(client: WebClient, channel: str, ts: str, msg: Message) -> None:
    try:
        client.chat_update(channel=channel, ts=ts, **msg.as_kwargs())
    except SlackApiError as e:
        log.warning("chat.update %s/%s failed: %s", channel, ts, e.response.get("error"))


def ephemeral(client: WebClient, channel: str | None, user: str, msg: Message,
              respond: Callable[..., Any] | None = None) -> None:
    if respond is not None:
        respond(response_type="ephemeral", replace_original=False, **msg.as_kwargs())
    elif channel:
        client.chat_postEphemeral(channel=channel, user=user, **msg.as_kwargs())
    else:  # App Home: no channel, so a DM
        client.chat_postMessage(channel=user, **msg.as_kwargs())


def deliver(reply: Reply, services: SlackServices, *, client: WebClient, channel: str | None, user: str,
            respond: Callable[..., Any] | None = None, message_ts: str | None = None,
            thread_ts: str | None = None) -> None:
    card_ts: str | None = None
    if reply.update is not None and channel and message_ts:
        update(client, channel, message_ts, reply.update)
        card_ts = message_ts
    if reply.message is not None and channel:
        card_ts = post(client, channel, reply.message, thread_ts=reply.thread_ts or thread_ts,
                       respond=respond) or card_ts
    if reply.ephemeral is not None:
        ephemeral(client, channel, user, reply.ephemeral, respond)
    if reply.execute is not None:
        ts = card_ts

        def progress(msg: Message) -> None:
            if ts and channel:
                update(client, channel, ts, msg)

        final = services.execute(reply.execute, user, progress)
        if ts and channel:
            update(client, channel, ts, final)
        elif channel:
            post(client, channel, final, thread_ts=reply.thread_ts or thread_ts, respond=respond)


def guarded(fn: F) -> F:
    """Log a lazy listener's failure and tell the user in one line instead of failing silently.

    Bolt injects arguments by the wrapped function's parameter names, so the wrapper takes
    ``**kwargs`` only.
    """

    @functools.wraps(fn)
    def wrapper(**kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except Exception as e:
            log.exception("slack listener %s failed", fn.__name__)
            respond = kwargs.get("respond")
            if respond is not None:
                try:
                    msg = error_reply(f"Something went wrong ({type(e).__name__}); it is logged.")
                    respond(response_type="ephemeral", replace_original=False, **msg.as_kwargs())
                except Exception:
                    log.exception("could not report the failure")
            return None

    return wrapper  # type: ignore[return-value]


def user_of(body: dict[str, Any]) -> str:
    user = body.get("user")
    if isinstance(user, dict):
        return str(user.get("id", ""))
    return str(body.get("user_id") or user or "")


def channel_of(body: dict[str, Any]) -> str | None:
    ch = body.get("channel")
    if isinstance(ch, dict):
        return str(ch.get("id")) if ch.get("id") else None
    container = body.get("container") or {}
    return str(body.get("channel_id") or ch or container.get("channel_id") or "") or None
