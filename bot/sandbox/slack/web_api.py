"""HTTP side of the Web API: ``/api/<method>``, the upload URL, file bytes, response URLs.

Requests may be form-encoded, multipart or JSON; the token comes from
``Authorization: Bearer`` or a ``token`` field. Answers are HTTP 200 with ``ok`` true or
false, except injected rate limits (429 + ``Retry-After``) and server errors (500).
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.sandbox.slack import api_chat, api_conversations, api_views_files  # noqa: F401  (registers methods)
from bot.sandbox.slack.api_common import METHODS, SlackError, decode_json_args
from bot.sandbox.slack.people import People, UiError
from bot.sandbox.slack.state import EmulatorState

log = logging.getLogger(__name__)


async def read_params(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query_params)
    ctype = request.headers.get("content-type", "")
    if "application/json" in ctype:
        raw = await request.body()
        if raw.strip():
            try:
                body = json.loads(raw)
            except json.JSONDecodeError:
                raise SlackError("invalid_json") from None
            if not isinstance(body, dict):
                raise SlackError("invalid_json")
            params.update(body)
    elif "multipart/form-data" in ctype:
        raise SlackError("invalid_form_data", ["[ERROR] multipart uploads (files.upload) are not emulated; "
                                               "use files_upload_v2"])
    else:
        raw = await request.body()
        params.update(urllib.parse.parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    return params


def _token(request: Request, params: dict[str, Any]) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    tok = params.pop("token", None)
    return str(tok) if tok else None


def api_routes(state: EmulatorState) -> list[Route]:
    async def api(request: Request) -> Response:
        name = request.path_params["method"]
        try:
            params = await read_params(request)
            token = _token(request, params)
            state.record_call(name, params)
            fault = state.take_fault(name)
            if fault is not None and fault.kind == "ratelimited":
                return JSONResponse({"ok": False, "error": "ratelimited"}, status_code=429,
                                    headers={"Retry-After": str(fault.retry_after)})
            if fault is not None:
                return JSONResponse({"ok": False, "error": "internal_error"}, status_code=500)
            handler = METHODS.get(name)
            if handler is None:
                raise SlackError("unknown_method", req_method=name)
            if not token:
                raise SlackError("not_authed")
            if token != state.bot_token:
                raise SlackError("invalid_auth")
            result = handler(state, decode_json_args(params))
            return JSONResponse({"ok": True, **result})
        except SlackError as e:
            return JSONResponse(e.to_api())
        except Exception:  # a bug in the emulator must look like Slack's fatal_error, and be logged
            log.exception("emulated %s failed", name)
            return JSONResponse({"ok": False, "error": "fatal_error"})

    async def upload(request: Request) -> Response:
        file_id = request.path_params["file_id"]
        data = await request.body()
        with state.changing():
            rec = state.files.get(file_id)
            if rec is None:
                return Response("file not found", status_code=404)
            rec.data = data
        return Response(f"OK - {len(data)}", media_type="text/plain")

    async def file_bytes(request: Request) -> Response:
        rec = state.files.get(request.path_params["file_id"])
        if rec is None or rec.data is None:
            return Response("file not found", status_code=404)
        return Response(rec.data, media_type=rec.mimetype)

    async def response_url(request: Request) -> Response:
        people: People = request.app.state.people
        try:
            raw = await request.body()
            body = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError:
            return JSONResponse({"ok": False, "error": "invalid_json"}, status_code=400)
        try:
            people.respond(request.path_params["token"], body if isinstance(body, dict) else {})
        except UiError as e:
            status = 404 if str(e) in ("invalid_url", "expired_url", "used_url") else 400
            return JSONResponse({"ok": False, "error": str(e)}, status_code=status)
        return JSONResponse({"ok": True})

    async def archives(request: Request) -> Response:
        cid = request.path_params["channel"]
        return RedirectResponse(f"/#channel={cid}&ts={request.path_params.get('p', '')}")

    return [
        Route("/api/{method}", api, methods=["GET", "POST"]),
        Route("/upload/v1/{file_id}", upload, methods=["POST", "PUT"]),
        Route("/files/{file_id}/{name}", file_bytes, methods=["GET"]),
        Route("/response_url/{token:path}", response_url, methods=["POST"]),
        Route("/archives/{channel}/{p}", archives, methods=["GET"]),
        Route("/archives/{channel}", archives, methods=["GET"]),
    ]
