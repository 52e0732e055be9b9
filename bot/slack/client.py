"""The bot's outbound Slack Web API client, with Slack's retry handlers installed.

:func:`make_web_client` is the one place a ``slack_sdk.WebClient`` is built: it points at
``settings.api_url`` (the local emulator by default), and retries rate-limited answers
(waiting ``Retry-After``), 500/503 answers and dropped connections, each up to
``settings.max_retries`` times.
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler

from bot.settings import SlackSettings


def retry_handlers(max_retries: int) -> list[RetryHandler]:
    return [
        RateLimitErrorRetryHandler(max_retry_count=max_retries),
        ServerErrorRetryHandler(max_retry_count=max_retries),
        ConnectionErrorRetryHandler(max_retry_count=max_retries),
    ]


def make_web_client(settings: SlackSettings, *, timeout_s: int = 30) -> WebClient:
    base_url = settings.api_url if settings.api_url.endswith("/") else settings.api_url + "/"
    return WebClient(
        token=settings.bot_token.get_secret_value(),
        base_url=base_url,
        timeout=timeout_s,
        retry_handlers=retry_handlers(settings.max_retries),
    )
