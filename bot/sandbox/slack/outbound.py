"""Requests from the emulated Slack to the bot: signed, timed out at 3 s, events retried.

Every request carries Slack's v0 signature: ``X-Slack-Signature = "v0=" +
HMAC-SHA256(signing_secret, "v0:{timestamp}:{body}")``. Events that are not answered
with a 2xx within ``timeout_s`` are sent again, up to three times, with
``X-Slack-Retry-Num`` and ``X-Slack-Retry-Reason`` and the same ``event_id``, as Slack
does; a bot can opt out with ``X-Slack-No-Retry: 1``. Slash commands and interactions
are never retried (Slack shows the user an error instead). Each send returns a
``Future`` of a :class:`Delivery`; all deliveries are also kept in ``state.deliveries``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.parse
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from bot.sandbox.slack.state import EmulatorState

log = logging.getLogger(__name__)


def sign(signing_secret: str, timestamp: int, body: bytes) -> str:
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class Attempt:
    retry_num: int
    status: int | None
    reason: str | None
    elapsed_s: float


@dataclass
class Delivery:
    kind: str
    payload: dict[str, Any]
    attempts: list[Attempt] = field(default_factory=list)
    status: int | None = None
    body: str = ""
    content_type: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def timed_out(self) -> bool:
        return bool(self.attempts) and self.attempts[-1].reason == "http_timeout"

    def json(self) -> dict[str, Any] | None:
        try:
            value = json.loads(self.body) if self.body.strip() else None
        except json.JSONDecodeError:
            return None
        return value if isinstance(value, dict) else None

    def to_api(self) -> dict[str, Any]:
        return {"kind": self.kind, "status": self.status, "ok": self.ok, "body": self.body[:2000],
                "attempts": [a.__dict__ for a in self.attempts]}


class Outbound:
    """Sends events, commands and interactions to the bot's request URL."""

    def __init__(self, state: EmulatorState, request_url: str | None, signing_secret: str, *,
                 timeout_s: float = 3.0, retry_delays: tuple[float, ...] = (0.0, 1.0, 5.0),
                 max_workers: int = 16):
        self.state = state
        self.request_url = request_url
        self.signing_secret = signing_secret
        self.timeout_s = timeout_s
        self.retry_delays = retry_delays
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="slack-emu-outbound")
        self._http = httpx.Client(timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 2.0)))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._http.close()

    # ---- public sends ------------------------------------------------------------------------

    def send_event(self, envelope: dict[str, Any]) -> Future[Delivery]:
        body = json.dumps(envelope).encode()
        return self._submit("event", envelope, body, "application/json", retries=len(self.retry_delays))

    def send_url_verification(self, challenge: str = "emulator-challenge") -> Future[Delivery]:
        payload = {"token": "emulator-verification-token", "challenge": challenge, "type": "url_verification"}
        return self._submit("url_verification", payload, json.dumps(payload).encode(), "application/json", retries=0)

    def send_command(self, form: dict[str, str]) -> Future[Delivery]:
        body = urllib.parse.urlencode(form).encode()
        return self._submit("command", dict(form), body, "application/x-www-form-urlencoded", retries=0)

    def send_interaction(self, payload: dict[str, Any]) -> Future[Delivery]:
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        return self._submit(payload.get("type", "interaction"), payload, body,
                            "application/x-www-form-urlencoded", retries=0)

    # ---- the delivery loop -------------------------------------------------------------------

    def _submit(self, kind: str, payload: dict[str, Any], body: bytes, content_type: str, *,
                retries: int) -> Future[Delivery]:
        delivery = Delivery(kind, payload)
        with self.state.lock:
            self.state.deliveries.append({"kind": kind, "payload": payload, "delivery": delivery})
        if not self.request_url:
            fut: Future[Delivery] = Future()
            delivery.body = "no request URL configured"
            fut.set_result(delivery)
            return fut
        return self._pool.submit(self._deliver, delivery, body, content_type, retries)

    def _deliver(self, delivery: Delivery, body: bytes, content_type: str, retries: int) -> Delivery:
        assert self.request_url
        reason: str | None = None
        for attempt in range(retries + 1):
            if attempt:
                time.sleep(self.retry_delays[attempt - 1])
            ts = int(time.time())
            headers = {
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": str(ts),
                "X-Slack-Signature": sign(self.signing_secret, ts, body),
                "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            }
            if attempt:
                headers["X-Slack-Retry-Num"] = str(attempt)
                headers["X-Slack-Retry-Reason"] = reason or "unknown_error"
            started = time.monotonic()
            try:
                resp = self._http.post(self.request_url, content=body, headers=headers)
            except httpx.TimeoutException:
                reason, status = "http_timeout", None
            except httpx.HTTPError as e:
                log.debug("delivery to %s failed: %s", self.request_url, e)
                reason, status = "connection_failed", None
            else:
                status = resp.status_code
                delivery.status = status
                delivery.body = resp.text
                delivery.content_type = resp.headers.get("content-type", "")
                reason = None if 200 <= status < 300 else "http_error"
            delivery.attempts.append(Attempt(attempt, status, reason, round(time.monotonic() - started, 3)))
            if reason is None:
                break
            if status is not None and resp.headers.get("x-slack-no-retry") == "1":
                break
        if reason == "http_timeout":
            delivery.status = None
        with self.state.changing():
            pass
        return delivery
