"""views.open / update / push / publish and the two-step external file upload."""

from __future__ import annotations

import copy
import time
from typing import Any

from bot.sandbox.slack.api_common import SlackError, add_to_history, arg, channel_arg, method, require_member
from bot.sandbox.slack.blocks import validate_view
from bot.sandbox.slack.state import APP_ID, BOT_ID, BOT_USER_ID, TEAM_ID, EmulatorState, FileRecord


def _checked_view(args: dict[str, Any]) -> dict[str, Any]:
    view = args.get("view")
    if not view:
        raise SlackError("invalid_arguments", ["[ERROR] missing required field: view"])
    problems = validate_view(view)
    if problems:
        raise SlackError("invalid_arguments", problems)
    return dict(view)


def _store_view(state: EmulatorState, view: dict[str, Any], *, user: str, view_id: str | None = None,
                root_id: str | None = None, previous: str | None = None) -> dict[str, Any]:
    vid = view_id or state.new_id("V")
    stored = {
        "id": vid,
        "team_id": TEAM_ID,
        "type": view["type"],
        "blocks": [dict(b, block_id=b.get("block_id") or state.new_id("b").lower()) for b in view.get("blocks", [])],
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "state": {"values": {}},
        "hash": f"{int(time.time())}.{state.new_id('h')}",
        "title": view.get("title"),
        "close": view.get("close"),
        "submit": view.get("submit"),
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "external_id": view.get("external_id", ""),
        "root_view_id": root_id or vid,
        "previous_view_id": previous,
        "app_id": APP_ID,
        "app_installed_team_id": TEAM_ID,
        "bot_id": BOT_ID,
        "_user": user,
    }
    state.views[vid] = stored
    return stored


def public_view(view: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in view.items() if not k.startswith("_")}


def _trigger(state: EmulatorState, args: dict[str, Any]) -> str:
    tid = str(args.get("trigger_id") or args.get("interactivity_pointer") or "")
    if not tid:
        raise SlackError("invalid_arguments", ["[ERROR] missing required field: trigger_id"])
    trig = state.triggers.get(tid)
    if trig is None:
        raise SlackError("invalid_trigger_id")
    if trig.used:
        raise SlackError("exchanged_trigger_id")
    if time.monotonic() - trig.created > state.trigger_ttl_s:
        raise SlackError("expired_trigger_id")
    trig.used = True
    return trig.user


@method("views.open")
def views_open(state: EmulatorState, args: dict[str, Any]) -> dict[str, Any]:
    with state.changing():
        view = _checked_view(args)
        if view.get("type") != "modal":
            raise SlackError("invalid_arguments", ["[ERROR] must be modal [json-pointer:/view/type]"])
        user = _trigger(state, args)
        stored = _store_view(state, view, user=user)
        state.modal_stack[user] = [stored["id"]]
        return {"view": public_view(stored)}


@method("views.push")
def views_push(state: EmulatorState, args: dict[str, Any]) -> dict[str, Any]:
    with state.changing():
        view = _checked_view(args)
        user = _trigger(state, args)
        stack = state.modal_stack.get(user) or []
        if not stack:
            raise SlackError("not_found")
        if len(stack) >= 3:
            raise SlackError("push_limit_reached")
        stored = _store_view(state, view, user=user, root_id=stack[0], previous=stack[-1])
        stack.append(stored["id"])
        return {"view": public_view(stored)}


@method("views.update")
def views_update(state: EmulatorState, args: dict[str, Any]) -> dict[str, Any]:
    with state.changing():
        view = _checked_view(args)
        vid = args.get("view_id")
        ext = args.get("external_id")
        if not vid and not ext:
            raise SlackError("invalid_arguments", ["[ERROR] missing required field: view_id or external_id"])
        old = state.views.get(str(vid)) if vid else next(
            (v for v in state.views.values() if v.get("external_id") == ext), None)
        if old is None:
            raise SlackError("not_found")
        if args.get("hash") and args["hash"] != old["hash"]:
            raise SlackError("hash_conflict")
        stored = _store_view(state, view, user=old["_user"], view_id=old["id"], root_id=old["root_view_id"],
                             previous=old.get("previous_view_id"))
        return {"view": public_view(stored)}


@method("views.publish")
def views_publish(state: EmulatorState, args: dict[str, Any]) -> dict[str, Any]:
    with state.changing():
        user = str(arg(args, "user_id"))
        if state.user(user) is None or user == BOT_USER_ID:
            raise SlackError("user_not_found")
        view = _checked_view(args)
        if view.get("type") != "home":
            raise SlackError("invalid_arguments", ["[ERROR] must be home [json-pointer:/view/type]"])
        old = state.home_views.get(user)
        if old and args.get("hash") and args["hash"] != state.views[old]["hash"]:
            raise SlackError("hash_conflict")
        stored = _store_view(state, view, user=user, view_id=old)
        state.home_views[user] = stored["id"]
        return {"view": public_view(stored)}


@method("files.getUploadURLExternal")
def files_get_upload_url_external(state: EmulatorState, args: dict[str, Any]) -> dict[str, Any]:
    filename = str(arg(args, "filename"))
    try:
        length = int(arg(args, "length"))
    except ValueError:
        raise SlackError("invalid_arguments", ["[ERROR] length must be an integer"]) from None
    if length <= 0:
        raise SlackError("invalid_arguments", ["[ERROR] length must be positive"])
    with state.lock:
        rec = FileRecord(state.new_id("F"), filename, length, BOT_USER_ID, alt_txt=str(args.get("alt_txt") or ""),
                         created=int(time.time()))
        state.files[rec.id] = rec
        return {"upload_url": f"{state.public_url}/upload/v1/{rec.id}", "file_id": rec.id}


def file_info(state: EmulatorState, rec: FileRecord) -> dict[str, Any]:
    url = f"{state.public_url}/files/{rec.id}/{rec.name}"
    info: dict[str, Any] = {
        "id": rec.id, "created": rec.created, "timestamp": rec.created, "name": rec.name,
        "title": rec.title or rec.name, "mimetype": rec.mimetype, "filetype": rec.name.rsplit(".", 1)[-1].lower(),
        "pretty_type": rec.mimetype, "user": rec.user, "user_team": TEAM_ID, "size": len(rec.data or b""),
        "mode": "hosted", "is_external": False, "is_public": True, "url_private": url,
        "url_private_download": url, "permalink": url, "permalink_public": url, "alt_txt": rec.alt_txt,
    }
    if rec.mimetype.startswith("image/"):
        info.update({"thumb_360": url, "thumb_480": url, "thumb_720": url})
    return info


@method("files.completeUploadExternal")
def files_complete_upload_external(state: EmulatorState, args: dict[str, Any]) -> dict[str, Any]:
    with state.lock:
        items = args.get("files")
        if not isinstance(items, list) or not items:
            raise SlackError("invalid_arguments", ["[ERROR] missing required field: files"])
        recs = []
        for item in items:
            rec = state.files.get(str(item.get("id"))) if isinstance(item, dict) else None
            if rec is None:
                raise SlackError("file_not_found")
            if rec.data is None:
                raise SlackError("file_not_found", ["[ERROR] the file's bytes were never uploaded"])
            rec.title = str(item.get("title") or rec.name)
            recs.append(rec)
        targets = [args["channel_id"]] if args.get("channel_id") else [
            c for c in str(args.get("channels") or "").split(",") if c]
        for ref in targets:
            ch = channel_arg(state, {"channel": ref})
            require_member(ch)
            msg = {"type": "message", "text": str(args.get("initial_comment") or ""), "user": BOT_USER_ID,
                   "bot_id": BOT_ID, "app_id": APP_ID, "team": TEAM_ID, "upload": True, "display_as_bot": False,
                   "files": [file_info(state, r) for r in recs]}
            add_to_history(state, ch, msg, thread_ts=args.get("thread_ts") or None)
        return {"files": [{"id": r.id, "title": r.title} for r in recs]}


@method("files.info")
def files_info(state: EmulatorState, args: dict[str, Any]) -> dict[str, Any]:
    rec = state.files.get(str(arg(args, "file")))
    if rec is None or rec.data is None:
        raise SlackError("file_not_found")
    return {"file": file_info(state, rec)}
