"""The page and its JSON API under ``/ui/``; also handy for tests and ``--check``.

``GET  /ui/state?user=U&channel=C[&thread_ts=T]``  everything the page draws, with ``seq``
``GET  /ui/events``                                 Server-Sent Events: ``{"seq": N}`` on change
``GET  /ui/channels?user=U`` / ``/ui/messages?channel=C&user=U``
``POST /ui/post          {user, channel, text, thread_ts?}``   ``/cmd ...`` runs a slash command
``POST /ui/click         {user, channel, ts, action_id, block_id?, selected?}`` or ``{user, view_id, ...}``
``POST /ui/submit_view   {user, view_id, values}``     ``POST /ui/close_view {user, view_id}``
``POST /ui/react         {user, channel, ts, name}``   ``POST /ui/open_dm {user}``
``POST /ui/url_verification``                          ``GET /ui/deliveries``
Clicks and posts answer at once unless ``"wait": true``, then with the bot's delivery.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot.sandbox.slack.outbound import Delivery
from bot.sandbox.slack.people import People, UiError
from bot.sandbox.slack.state import BOT_USER_ID, Channel, EmulatorState

STATIC = Path(__file__).parent / "static"


def channel_summary(state: EmulatorState, ch: Channel, user: str) -> dict[str, Any]:
    name = ch.name
    if ch.is_im:
        name = "ai-sre"
    return {"id": ch.id, "name": name, "is_private": ch.is_private, "is_im": ch.is_im,
            "is_archived": ch.is_archived, "is_member": user in ch.members, "topic": ch.topic,
            "bot_member": BOT_USER_ID in ch.members, "num_members": len(ch.members),
            "count": len(state.history.get(ch.id, []))}


def visible_channels(state: EmulatorState, user: str) -> list[dict[str, Any]]:
    with state.lock:
        out = []
        for ch in state.channels.values():
            if (ch.is_im or ch.is_private) and user not in ch.members:
                continue
            out.append(channel_summary(state, ch, user))
        return out


def channel_messages(state: EmulatorState, channel: str, user: str) -> list[dict[str, Any]]:
    """Top-level messages plus this user's ephemeral ones, oldest first."""
    with state.lock:
        ch = state.resolve_channel(channel)
        if ch is None:
            return []
        msgs = [dict(m) for m in state.messages(ch.id, include_replies=False)]
        for e in state.ephemeral.get(ch.id, []):
            if e["user"] == user and not e["message"].get("thread_ts"):
                msgs.append(dict(copy.deepcopy(e["message"]), _ephemeral=True))
        return sorted(msgs, key=lambda m: float(m["ts"]))


def thread_messages(state: EmulatorState, channel: str, thread_ts: str, user: str) -> list[dict[str, Any]]:
    with state.lock:
        ch = state.resolve_channel(channel)
        if ch is None:
            return []
        msgs = [dict(m) for m in state.replies(ch.id, thread_ts)]
        for e in state.ephemeral.get(ch.id, []):
            if e["user"] == user and e["message"].get("thread_ts") == thread_ts:
                msgs.append(dict(copy.deepcopy(e["message"]), _ephemeral=True))
        return sorted(msgs, key=lambda m: float(m["ts"]))


def _view(view: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if view is None else {k: v for k, v in view.items() if not k.startswith("_")}


async def _maybe_wait(fut: Future[Delivery] | None, wait: bool) -> dict[str, Any] | None:
    if fut is None or not wait:
        return None
    delivery = await asyncio.wrap_future(fut)
    return delivery.to_api()


def ui_routes(state: EmulatorState, people: People) -> list[Route | Mount]:
    def _json(obj: Any, status: int = 200) -> JSONResponse:
        return JSONResponse(obj, status_code=status)

    async def body_of(request: Request) -> dict[str, Any]:
        raw = await request.body()
        data = json.loads(raw) if raw.strip() else {}
        if not isinstance(data, dict):
            raise UiError("expected a JSON object")
        return data

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html")

    async def get_state(request: Request) -> Response:
        q = request.query_params
        user = q.get("user", "U0ALICE")
        with state.lock:
            out: dict[str, Any] = {
                "seq": state.seq,
                "me": user,
                "bot_user_id": BOT_USER_ID,
                "users": [{"id": u.id, "name": u.name, "real_name": u.real_name, "title": u.title,
                           "color": u.color, "is_bot": u.is_bot} for u in state.users.values()],
                "usergroups": list(state.usergroups.values()),
                "channels": visible_channels(state, user),
                "modal": _view(state.open_modal(user)),
                "home": _view(state.home_view(user)),
            }
            if q.get("channel"):
                out["messages"] = channel_messages(state, q["channel"], user)
            if q.get("channel") and q.get("thread_ts"):
                out["thread"] = thread_messages(state, q["channel"], q["thread_ts"], user)
        return _json(out)

    async def events(request: Request) -> Response:
        async def stream() -> AsyncIterator[str]:
            last = -1
            idle = 0.0
            yield "retry: 1000\n\n"
            while True:
                if await request.is_disconnected():
                    return
                if state.seq != last:
                    last = state.seq
                    idle = 0.0
                    yield f"data: {json.dumps({'seq': last})}\n\n"
                elif idle > 15:
                    idle = 0.0
                    yield ": keep-alive\n\n"
                await asyncio.sleep(0.1)
                idle += 0.1

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def channels(request: Request) -> Response:
        return _json({"channels": visible_channels(state, request.query_params.get("user", "U0ALICE"))})

    async def messages(request: Request) -> Response:
        q = request.query_params
        if q.get("thread_ts"):
            return _json({"messages": thread_messages(state, q.get("channel", ""), q["thread_ts"],
                                                      q.get("user", "U0ALICE"))})
        return _json({"messages": channel_messages(state, q.get("channel", ""), q.get("user", "U0ALICE"))})

    async def post(request: Request) -> Response:
        b = await body_of(request)
        text = str(b.get("text") or "").strip()
        if not text:
            raise UiError("text is empty")
        if text.startswith("/"):
            command, _, rest = text.partition(" ")
            fut = people.slash_command(b["user"], b["channel"], command, rest.strip())
            return _json({"ok": True, "command": command, "delivery": await _maybe_wait(fut, bool(b.get("wait")))})
        msg, fut2 = people.post_message(b["user"], b["channel"], text, thread_ts=b.get("thread_ts"))
        return _json({"ok": True, "ts": msg["ts"], "delivery": await _maybe_wait(fut2, bool(b.get("wait")))})

    async def click(request: Request) -> Response:
        b = await body_of(request)
        if b.get("view_id"):
            fut = people.click_view(b["user"], b["view_id"], b["action_id"], block_id=b.get("block_id"),
                                    values=b.get("values"), selected=b.get("selected"))
        else:
            fut = people.click(b["user"], b["channel"], b["ts"], b["action_id"], block_id=b.get("block_id"),
                               selected=b.get("selected"))
        return _json({"ok": True, "delivery": await _maybe_wait(fut, bool(b.get("wait")))})

    async def submit_view(request: Request) -> Response:
        b = await body_of(request)
        delivery = await asyncio.to_thread(people.submit_view, b["user"], b["view_id"], b.get("values") or {})
        answer = delivery.json() or {}
        errors = answer.get("errors") if answer.get("response_action") == "errors" else None
        return _json({"ok": delivery.ok and not errors, "errors": errors, "delivery": delivery.to_api()})

    async def close_view(request: Request) -> Response:
        b = await body_of(request)
        people.close_view(b["user"], b["view_id"])
        return _json({"ok": True})

    async def react(request: Request) -> Response:
        b = await body_of(request)
        fut = people.react(b["user"], b["channel"], b["ts"], b["name"])
        return _json({"ok": True, "delivery": await _maybe_wait(fut, bool(b.get("wait")))})

    async def open_dm(request: Request) -> Response:
        b = await body_of(request)
        return _json({"ok": True, "channel": state.open_dm(b["user"]).id})

    async def url_verification(request: Request) -> Response:
        d = await asyncio.wrap_future(people.outbound.send_url_verification("emulator-challenge"))
        ok = d.ok and ("emulator-challenge" in d.body)
        return _json({"ok": ok, "delivery": d.to_api()})

    async def deliveries(request: Request) -> Response:
        with state.lock:
            return _json({"deliveries": [d["delivery"].to_api() for d in state.deliveries]})

    def guarded(fn: Any) -> Any:
        async def run(request: Request) -> Response:
            try:
                return await fn(request)
            except (UiError, KeyError, json.JSONDecodeError) as e:
                message = f"missing field {e}" if isinstance(e, KeyError) else str(e)
                return _json({"ok": False, "error": message}, 400)

        return run

    routes: list[Route | Mount] = [
        Route("/", index),
        Route("/ui/state", guarded(get_state)),
        Route("/ui/events", events),
        Route("/ui/channels", guarded(channels)),
        Route("/ui/messages", guarded(messages)),
        Route("/ui/deliveries", guarded(deliveries)),
    ]
    for path, fn in (("post", post), ("click", click), ("submit_view", submit_view), ("close_view", close_view),
                     ("react", react), ("open_dm", open_dm), ("url_verification", url_verification)):
        routes.append(Route(f"/ui/{path}", guarded(fn), methods=["POST"]))
    routes.append(Mount("/static", app=StaticFiles(directory=STATIC), name="static"))
    return routes
