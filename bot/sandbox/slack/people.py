"""What the humans in the workspace do: post, mention, run /commands, click, submit, react.

:class:`People` changes the state the way Slack would and sends the bot the matching
event or interaction through :class:`~bot.sandbox.slack.outbound.Outbound`. The page's
``/ui/...`` routes and tests both use it. Methods return the ``Future`` of the delivery
(or ``None`` when Slack would send nothing, e.g. a message in a channel the bot is not in).
"""

from __future__ import annotations

import contextlib
import copy
import re
from concurrent.futures import Future
from typing import Any

from bot.sandbox.slack import payloads
from bot.sandbox.slack.api_chat import add_reaction, post_ephemeral
from bot.sandbox.slack.api_common import (
    SlackError,
    add_to_history,
    bot_message,
    check_content,
    with_block_ids,
)
from bot.sandbox.slack.outbound import Delivery, Outbound
from bot.sandbox.slack.state import BOT_USER_ID, TEAM_ID, Channel, EmulatorState

SLACKBOT = "USLACKBOT"


class UiError(Exception):
    """Something a person cannot do (unknown channel, button not found); ``str()`` says what."""


class People:
    def __init__(self, state: EmulatorState, outbound: Outbound):
        self.state = state
        self.outbound = outbound

    # ---- helpers -----------------------------------------------------------------------------

    def _channel(self, ref: str) -> Channel:
        ch = self.state.resolve_channel(ref)
        if ch is None:
            raise UiError(f"no channel {ref!r}")
        return ch

    def _user(self, user: str) -> str:
        if self.state.user(user) is None:
            by_name = next((u.id for u in self.state.users.values() if u.name == user), None)
            if by_name is None:
                raise UiError(f"no user {user!r}")
            return by_name
        return user

    def encode_mentions(self, text: str) -> str:
        """``@ai-sre`` -> ``<@U0AISREBOT>``, ``#incidents`` -> ``<#C0INCIDENTS|incidents>``."""
        users = {u.name: u.id for u in self.state.users.values()}
        groups = {g["handle"]: g["id"] for g in self.state.usergroups.values()}

        def at(m: re.Match[str]) -> str:
            name = m.group(1)
            if name in users:
                return f"<@{users[name]}>"
            if name in groups:
                return f"<!subteam^{groups[name]}>"
            return m.group(0)

        def hash_(m: re.Match[str]) -> str:
            ch = self.state.channel_by_name(m.group(1))
            return f"<#{ch.id}|{ch.name}>" if ch else m.group(0)

        text = re.sub(r"(?<![<\w])@([a-z0-9][a-z0-9._-]*)", at, text)
        return re.sub(r"(?<![<\w&])#([a-z0-9][a-z0-9_-]*)", hash_, text)

    def slackbot_says(self, ch: Channel, user: str, text: str) -> None:
        msg = {"type": "message", "user": SLACKBOT, "text": text, "team": TEAM_ID}
        with self.state.changing():
            msg["ts"] = self.state.next_ts()
            self.state.ephemeral.setdefault(ch.id, []).append({"user": user, "message": msg})

    # ---- posting -----------------------------------------------------------------------------

    def post_message(self, user: str, channel: str, text: str, *,
                     thread_ts: str | None = None) -> tuple[dict[str, Any], Future[Delivery] | None]:
        """Post as a person; the bot gets ``app_mention`` if mentioned, else ``message`` if a member."""
        user = self._user(user)
        ch = self._channel(channel)
        if ch.is_archived:
            raise UiError(f"#{ch.name} is archived")
        if text.startswith("/"):
            raise UiError("use slash_command() for /commands")
        if user not in ch.members:
            from bot.sandbox.slack.api_conversations import join

            join(self.state, ch, user)
        encoded = self.encode_mentions(text)
        msg: dict[str, Any] = {"client_msg_id": self.state.new_id("m"), "type": "message", "text": encoded,
                               "user": user, "team": TEAM_ID}
        add_to_history(self.state, ch, msg, thread_ts=thread_ts or None)
        event_msg = copy.deepcopy(msg)
        if f"<@{BOT_USER_ID}>" in encoded:
            if BOT_USER_ID not in ch.members:
                self.slackbot_says(ch, user, f"You mentioned <@{BOT_USER_ID}>, but they're not in this channel.")
                return msg, None
            env = payloads.event_envelope(self.state, payloads.message_event(ch, event_msg, kind="app_mention"))
            return msg, self.outbound.send_event(env)
        if BOT_USER_ID in ch.members:
            env = payloads.event_envelope(self.state, payloads.message_event(ch, event_msg))
            return msg, self.outbound.send_event(env)
        return msg, None

    def react(self, user: str, channel: str, ts: str, name: str) -> Future[Delivery] | None:
        user = self._user(user)
        ch = self._channel(channel)
        with self.state.lock:
            msg = self.state.find_message(ch.id, ts)
            if msg is None:
                raise UiError(f"no message {ts} in #{ch.name}")
            try:
                add_reaction(self.state, ch, msg, name, user)
            except SlackError as e:
                raise UiError(e.error) from None
            snapshot = copy.deepcopy(msg)
        if BOT_USER_ID not in ch.members:
            return None
        env = payloads.event_envelope(self.state, payloads.reaction_event(ch, snapshot, user, name.strip(":")))
        return self.outbound.send_event(env)

    # ---- slash commands ----------------------------------------------------------------------

    def slash_command(self, user: str, channel: str, command: str, text: str = "") -> Future[Delivery]:
        user = self._user(user)
        ch = self._channel(channel)
        form = payloads.command_form(self.state, ch=ch, user=user, command=command, text=text)
        fut = self.outbound.send_command(form)
        fut.add_done_callback(lambda f: self._after_command(f, ch, user, command, form["response_url"]))
        return fut

    def _after_command(self, fut: Future[Delivery], ch: Channel, user: str, command: str, response_url: str) -> None:
        if fut.cancelled() or fut.exception() is not None:
            return
        d = fut.result()
        if not d.ok:
            error = "operation_timeout" if d.timed_out else "dispatch_failed"
            self.slackbot_says(ch, user, f"{command} failed with the error \"{error}\"")
            return
        if not d.body.strip():
            return
        body = d.json()
        if body is None:
            body = {"text": d.body}
        token = response_url.rsplit("/response_url/", 1)[-1]
        with contextlib.suppress(UiError):
            self.respond(token, body, count_use=False)

    # ---- response_url ------------------------------------------------------------------------

    def respond(self, token: str, body: dict[str, Any], *, count_use: bool = True) -> None:
        """What Slack does with a JSON POST to a ``response_url``; raises :class:`UiError` with the error."""
        import time

        st = self.state
        with st.changing():
            ru = st.response_urls.get(token)
            if ru is None:
                raise UiError("invalid_url")
            if time.monotonic() - ru.created > st.response_url_ttl_s:
                raise UiError("expired_url")
            if count_use and ru.uses >= st.response_url_max_uses:
                raise UiError("used_url")
            ch = st.channels[ru.channel]
            if body.get("delete_original") and ru.message_ts:
                st.history[ch.id] = [m for m in st.history[ch.id] if m["ts"] != ru.message_ts]
                st.ephemeral[ch.id] = [e for e in st.ephemeral.get(ch.id, []) if e["message"]["ts"] != ru.message_ts]
            elif body.get("replace_original") and ru.message_ts:
                try:
                    text, blocks = check_content(body)
                except SlackError as e:
                    raise UiError(e.error) from None
                target = st.find_message(ch.id, ru.message_ts) or next(
                    (e["message"] for e in st.ephemeral.get(ch.id, []) if e["message"]["ts"] == ru.message_ts), None)
                if target is None:
                    raise UiError("message_not_found")
                target["text"] = text
                if blocks is not None:
                    target["blocks"] = with_block_ids(st, blocks)
                else:
                    target.pop("blocks", None)
            else:
                try:
                    text, blocks = check_content(body)
                except SlackError as e:
                    raise UiError(e.error) from None
                thread_ts = body.get("thread_ts") or ru.thread_ts
                if body.get("response_type") == "in_channel":
                    add_to_history(st, ch, bot_message(st, text, blocks), thread_ts=thread_ts)
                else:
                    post_ephemeral(st, ch, ru.user, {"text": text, "blocks": blocks, "thread_ts": thread_ts})
            if count_use:
                ru.uses += 1

    # ---- buttons and views -------------------------------------------------------------------

    @staticmethod
    def _find_element(blocks: list[dict[str, Any]], action_id: str,
                      block_id: str | None = None) -> tuple[dict[str, Any], str]:
        for b in blocks:
            if block_id and b.get("block_id") != block_id:
                continue
            candidates = list(b.get("elements") or []) + ([b["accessory"]] if "accessory" in b else [])
            if b.get("type") == "input" and "element" in b:
                candidates.append(b["element"])
            for el in candidates:
                if isinstance(el, dict) and el.get("action_id") == action_id:
                    return el, b.get("block_id", "")
        raise UiError(f"no element with action_id {action_id!r}")

    def click(self, user: str, channel: str, ts: str, action_id: str, *, block_id: str | None = None,
              selected: Any = None) -> Future[Delivery]:
        """Click a button (or pick an option) in a message, ephemeral or not."""
        user = self._user(user)
        ch = self._channel(channel)
        with self.state.lock:
            msg = self.state.find_message(ch.id, ts)
            ephemeral = False
            if msg is None:
                eph = next((e for e in self.state.ephemeral.get(ch.id, [])
                            if e["message"]["ts"] == ts and e["user"] == user), None)
                if eph is None:
                    raise UiError(f"no message {ts} in #{ch.name}")
                msg, ephemeral = eph["message"], True
            element, bid = self._find_element(msg.get("blocks") or [], action_id, block_id)
            payload = payloads.block_actions(self.state, user=user, element=element, block_id=bid, ch=ch,
                                             message=copy.deepcopy(msg), ephemeral=ephemeral, selected=selected)
        return self.outbound.send_interaction(payload)

    def click_view(self, user: str, view_id: str, action_id: str, *, block_id: str | None = None,
                   values: dict[str, dict[str, Any]] | None = None, selected: Any = None) -> Future[Delivery]:
        """Click a button in a modal or the App Home."""
        user = self._user(user)
        with self.state.lock:
            view = self.state.views.get(view_id)
            if view is None:
                raise UiError(f"no view {view_id}")
            if values is not None:
                view["state"] = {"values": values}
            element, bid = self._find_element(view["blocks"], action_id, block_id)
            payload = payloads.block_actions(self.state, user=user, element=element, block_id=bid,
                                             view=copy.deepcopy(view), selected=selected)
        return self.outbound.send_interaction(payload)

    def submit_view(self, user: str, view_id: str, values: dict[str, dict[str, Any]]) -> Delivery:
        """Submit a modal and wait for the bot's answer; apply its ``response_action``.

        ``values`` is ``{block_id: {action_id: {"type": ..., "value"|"selected_option": ...}}}``.
        The returned delivery's JSON carries ``errors`` when the bot rejected the input.
        """
        user = self._user(user)
        with self.state.lock:
            view = self.state.views.get(view_id)
            if view is None or view["type"] != "modal":
                raise UiError(f"no modal {view_id}")
            view["state"] = {"values": values}
            payload = payloads.view_submission(self.state, user=user, view=copy.deepcopy(view))
        d = self.outbound.send_interaction(payload).result()
        if not d.ok:
            return d
        answer = d.json() or {}
        action = answer.get("response_action")
        with self.state.changing():
            stack = self.state.modal_stack.get(user, [])
            if action == "errors":
                return d
            if action == "update" and isinstance(answer.get("view"), dict):
                from bot.sandbox.slack.api_views_files import _store_view

                _store_view(self.state, answer["view"], user=user, view_id=view_id, root_id=view["root_view_id"])
            elif action == "push" and isinstance(answer.get("view"), dict):
                from bot.sandbox.slack.api_views_files import _store_view

                pushed = _store_view(self.state, answer["view"], user=user, root_id=view["root_view_id"])
                stack.append(pushed["id"])
            elif action == "clear":
                self.state.modal_stack[user] = []
            elif view_id in stack:
                stack.remove(view_id)
        return d

    def close_view(self, user: str, view_id: str) -> Future[Delivery] | None:
        user = self._user(user)
        with self.state.changing():
            view = self.state.views.get(view_id)
            stack = self.state.modal_stack.get(user, [])
            if view_id in stack:
                stack.remove(view_id)
            if view is None or not view.get("notify_on_close"):
                return None
            payload = payloads.view_closed(self.state, user=user, view=copy.deepcopy(view))
        return self.outbound.send_interaction(payload)

    def post_ephemeral_text(self, ch: Channel, user: str, text: str) -> None:
        post_ephemeral(self.state, ch, user, {"text": text})
