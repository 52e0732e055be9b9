"""A local Messages-API fake: ``POST /v1/messages`` with the real routes, headers and shapes.

    fake = start_fake()                         # recorded replies from bot/sandbox/anthropic_replies/
    settings.llm.base_url = fake.url            # the SDK talks to it like to api.anthropic.com
    fake.script(tool_use_message("query_metric", {...}), submit_message([...]))   # scriptable for tests
    fake.script(error(429, retry_after=0), HANG)                                  # failure modes
    fake.requests                               # every request body received, for assertions
    fake.stop()

Each request is answered, in order of precedence, by the next scripted item, by
a recorded reply whose ``match`` strings all occur in the first user message
(turn N answers the request that already holds N assistant messages), or by
the auto responder, which echoes the deterministic ranking found in the prompt
with explanations quoted from the cited evidence. Recorded strings may use
``{{ev:some text}}``: the id of the evidence item in the prompt containing it.
Errors have the API's shape ``{"type": "error", "error": {"type", "message"}}``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.sandbox.asgi_thread import RunningServer, serve

API_KEY = "sandbox-anthropic-key"
REPLIES_DIR = Path(__file__).resolve().parent / "anthropic_replies"
HANG = "hang"
_ERRORS = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
           429: "rate_limit_error", 500: "api_error", 529: "overloaded_error"}


@dataclass(frozen=True)
class ErrorReply:
    status: int
    type: str
    message: str
    retry_after: float | None = None


def error(status: int, message: str | None = None, *, retry_after: float | None = None) -> ErrorReply:
    kind = _ERRORS.get(status, "api_error")
    return ErrorReply(status, kind, message or kind.replace("_", " "), retry_after)


def text_block(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def tool_use_block(name: str, input: Any, id: str | None = None) -> dict[str, Any]:
    return {"type": "tool_use", "id": id or f"toolu_{uuid.uuid4().hex[:24]}", "name": name, "input": input}


def message(content: list[dict[str, Any]], stop_reason: str | None = None) -> dict[str, Any]:
    stop = stop_reason or ("tool_use" if any(b.get("type") == "tool_use" for b in content) else "end_turn")
    return {"type": "message", "role": "assistant", "content": content, "stop_reason": stop}


def tool_use_message(name: str, input: Any, text: str | None = None) -> dict[str, Any]:
    return message(([text_block(text)] if text else []) + [tool_use_block(name, input)])


def submit_message(hypotheses: list[dict[str, Any]], summary: str = "") -> dict[str, Any]:
    return tool_use_message("submit_hypotheses", {"hypotheses": hypotheses, "summary": summary})


Item = dict[str, Any] | ErrorReply | str | Callable[[dict[str, Any]], Any]


def _texts(body: dict[str, Any]) -> list[str]:
    out = []
    for m in body.get("messages") or []:
        c = m.get("content")
        if isinstance(c, str):
            out.append(c)
        elif isinstance(c, list):
            for b in c:
                if isinstance(b, dict):
                    if isinstance(b.get("text"), str):
                        out.append(b["text"])
                    if isinstance(b.get("content"), str):
                        out.append(b["content"])
    return out


def _first_user(body: dict[str, Any]) -> str:
    msgs = body.get("messages") or []
    c = msgs[0].get("content") if msgs else ""
    return c if isinstance(c, str) else "\n".join(b.get("text", "") for b in c if isinstance(b, dict))


_EV = re.compile(r"^\[(ev-\d+)\][^\n]*\nsummary: ([^\n]*)", re.MULTILINE)


def evidence_lines(body: dict[str, Any]) -> dict[str, str]:
    """Evidence id -> its summary line, from every prompt and tool result of a request."""
    out: dict[str, str] = {}
    for t in _texts(body):
        for m in _EV.finditer(t):
            out[m.group(1)] = m.group(2)
    return out


def _resolve(obj: Any, body: dict[str, Any]) -> Any:
    if isinstance(obj, str):
        lines = evidence_lines(body)

        def sub(m: re.Match[str]) -> str:
            needle = m.group(1)
            return next((i for i, s in lines.items() if needle in s), "ev-missing")
        return re.sub(r"\{\{ev:([^}]+)\}\}", sub, obj)
    if isinstance(obj, list):
        return [_resolve(x, body) for x in obj]
    if isinstance(obj, dict):
        return {k: _resolve(v, body) for k, v in obj.items()}
    return obj


def auto_reply(body: dict[str, Any]) -> dict[str, Any]:
    """Echo the deterministic ranking, explaining each hypothesis with its first cited evidence."""
    lines = evidence_lines(body)
    choice = body.get("tool_choice") or {}
    if choice.get("name") == "answer":
        eid, summary = next(iter(lines.items()), ("ev-1", ""))
        return tool_use_message("answer", {"text": f"The evidence shows: {summary}", "evidence": [eid]})
    prompt = _first_user(body)
    ranking: list[dict[str, Any]] = []
    tail = prompt.split("deterministic reasoner's ranking", 1)[-1]
    for raw in tail.splitlines():
        raw = raw.strip()
        if raw.startswith("{") and '"rank"' in raw:
            try:
                ranking.append(json.loads(raw))
            except json.JSONDecodeError:
                continue
    hyps = []
    for r in ranking:
        cited = [e for e in r.get("evidence", []) if e in lines]
        if not cited:
            continue
        hyps.append({"category": r["category"], "culprit": r.get("culprit"), "target": r.get("target"),
                     "confidence": r.get("confidence", 0.5), "evidence": cited,
                     "explanation": f"{r['category'].replace('_', ' ')}: {lines[cited[0]]}"})
    return submit_message(hyps, summary="")


@dataclass
class Recorded:
    file: str
    match: list[str]
    turns: list[Any]


def load_replies(directory: Path | None) -> list[Recorded]:
    out: list[Recorded] = []
    if directory is None or not directory.is_dir():
        return out
    for p in sorted(directory.glob("*.json")):
        data = json.loads(p.read_text())
        out.append(Recorded(p.name, list(data.get("match") or []), list(data.get("turns") or [])))
    return out


@dataclass
class FakeAnthropic:
    replies_dir: Path | None = REPLIES_DIR
    api_key: str = API_KEY
    hang_s: float = 30.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    answered_by: list[str] = field(default_factory=list)  # "script", "recorded:<file>", "auto", per request
    _queue: list[Item] = field(default_factory=list)
    _cached: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: bool = False

    def __post_init__(self) -> None:
        self.recorded = load_replies(self.replies_dir)

    def script(self, *items: Item) -> None:
        with self._lock:
            self._queue.extend(items)

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self.requests.clear()
            self.headers.clear()
            self.answered_by.clear()

    def _next(self, body: dict[str, Any]) -> Any:
        with self._lock:
            if self._queue:
                item = self._queue.pop(0)
                self.answered_by.append("script")
                return item(body) if callable(item) else item
        prompt = _first_user(body)
        turn = sum(1 for m in body.get("messages") or [] if m.get("role") == "assistant")
        is_chat = (body.get("tool_choice") or {}).get("name") == "answer"
        for rec in self.recorded:
            if rec.match and all(s in prompt for s in rec.match) and turn < len(rec.turns) and not is_chat:
                self.answered_by.append(f"recorded:{rec.file}")
                t = rec.turns[turn]
                if isinstance(t, dict) and "error" in t and "status" in t:
                    return error(int(t["status"]), t.get("error"), retry_after=t.get("retry_after"))
                return t if t == HANG else _resolve(t, body)
        self.answered_by.append("auto")
        return auto_reply(body)

    def _usage(self, body: dict[str, Any], content: Any) -> dict[str, int]:
        stable = json.dumps([body.get("system"), body.get("tools")], sort_keys=True)
        cacheable = '"cache_control"' in stable
        key = hashlib.sha256(stable.encode()).hexdigest()
        stable_tokens = len(stable) // 4
        usage = {"input_tokens": len(json.dumps(body.get("messages"))) // 4 + (0 if cacheable else stable_tokens),
                 "output_tokens": max(1, len(json.dumps(content)) // 4),
                 "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        if cacheable:
            with self._lock:
                hit = key in self._cached
                self._cached.add(key)
            usage["cache_read_input_tokens" if hit else "cache_creation_input_tokens"] = stable_tokens
        return usage

    async def messages(self, request: Request) -> JSONResponse:
        rid = f"req_{uuid.uuid4().hex[:20]}"
        bearer = request.headers.get("authorization", "")
        key = request.headers.get("x-api-key") or (bearer[7:] if bearer.lower().startswith("bearer ") else None)
        if key != self.api_key:  # the SDK sends x-api-key, or (2.x) Authorization: Bearer <api key>
            return _error_response(error(401, "invalid x-api-key"), rid)
        if not request.headers.get("anthropic-version"):
            return _error_response(error(400, "anthropic-version: header is required"), rid)
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _error_response(error(400, "request body is not valid JSON"), rid)
        for key in ("model", "max_tokens", "messages"):
            if key not in body:
                return _error_response(error(400, f"{key}: Field required"), rid)
        with self._lock:
            self.requests.append(body)
            self.headers.append({k: v for k, v in request.headers.items() if k not in ("x-api-key", "authorization")})
        item = self._next(body)
        if item == HANG:
            deadline = time.monotonic() + self.hang_s
            while time.monotonic() < deadline and not self._stopping:
                await asyncio.sleep(0.05)
            return _error_response(error(500, "hung"), rid)
        if isinstance(item, ErrorReply):
            return _error_response(item, rid)
        msg = dict(item)
        msg.setdefault("id", f"msg_{uuid.uuid4().hex[:24]}")
        msg.setdefault("type", "message")
        msg.setdefault("role", "assistant")
        msg.setdefault("model", body["model"])
        msg.setdefault("stop_sequence", None)
        msg.setdefault("stop_reason", "end_turn")
        msg.setdefault("content", [])
        msg.setdefault("usage", self._usage(body, msg["content"]))
        return JSONResponse(msg, headers={"request-id": rid})

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/messages", self.messages, methods=["POST"])])


def _error_response(e: ErrorReply, rid: str) -> JSONResponse:
    headers = {"request-id": rid}
    if e.retry_after is not None:
        headers["retry-after"] = f"{e.retry_after:g}"
    return JSONResponse({"type": "error", "error": {"type": e.type, "message": e.message}, "request_id": rid},
                        status_code=e.status, headers=headers)


@dataclass
class RunningFake:
    fake: FakeAnthropic
    server: RunningServer

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self.fake.requests

    def script(self, *items: Item) -> None:
        self.fake.script(*items)

    def stop(self) -> None:
        self.fake._stopping = True
        self.server.stop()


def start_fake(*, replies_dir: Path | None = REPLIES_DIR, api_key: str = API_KEY, host: str = "127.0.0.1",
               port: int = 0, hang_s: float = 30.0) -> RunningFake:
    fake = FakeAnthropic(replies_dir=replies_dir, api_key=api_key, hang_s=hang_s)
    return RunningFake(fake, serve(fake.app(), name="anthropic", host=host, port=port))
