"""The emulated workspace: users, channels, messages, views, files, and what the bot asked for.

Everything lives in one :class:`EmulatorState` guarded by one re-entrant lock, because
the bot calls the Web API from many threads at once. Messages are kept in Slack's own
JSON shape (``{"type": "message", "ts": ..., "user": ..., ...}``) so the Web API can
return them as they are. Tests read :attr:`EmulatorState.calls` and
:meth:`EmulatorState.messages`, and make the next calls fail with :meth:`inject_fault`.
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

TEAM_ID = "T0AISRE"
TEAM_NAME = "Demo"
TEAM_DOMAIN = "demo"
APP_ID = "A0AISRE"
BOT_USER_ID = "U0AISREBOT"
BOT_ID = "B0AISRE"
TS_BASE_MICROS = 1733100000_000100

FaultKind = Literal["ratelimited", "server_error"]


@dataclass
class User:
    id: str
    name: str
    real_name: str
    title: str = ""
    is_bot: bool = False
    bot_id: str | None = None
    color: str = "#4a154b"

    @property
    def email(self) -> str:
        return f"{self.name}@demo.example.com"

    def to_api(self) -> dict[str, Any]:
        profile: dict[str, Any] = {
            "real_name": self.real_name,
            "display_name": self.name,
            "title": self.title,
            "team": TEAM_ID,
        }
        if self.is_bot:
            profile["bot_id"] = self.bot_id
        else:
            profile["email"] = self.email
        return {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.name,
            "real_name": self.real_name,
            "deleted": False,
            "is_bot": self.is_bot,
            "is_admin": False,
            "is_app_user": False,
            "tz": "UTC",
            "tz_offset": 0,
            "color": self.color.lstrip("#"),
            "profile": profile,
        }


@dataclass
class Channel:
    id: str
    name: str
    created: int
    creator: str
    members: set[str] = field(default_factory=set)
    is_private: bool = False
    is_im: bool = False
    is_archived: bool = False
    is_general: bool = False
    topic: str = ""
    purpose: str = ""
    pins: list[str] = field(default_factory=list)

    def to_api(self, viewer: str = BOT_USER_ID) -> dict[str, Any]:
        if self.is_im:
            other = next((m for m in sorted(self.members) if m != BOT_USER_ID), BOT_USER_ID)
            return {"id": self.id, "created": self.created, "is_im": True, "is_org_shared": False,
                    "user": other, "is_user_deleted": False, "priority": 0}
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_general": self.is_general,
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "created": self.created,
            "creator": self.creator,
            "context_team_id": TEAM_ID,
            "is_member": viewer in self.members,
            "num_members": len(self.members),
            "topic": {"value": self.topic, "creator": self.creator if self.topic else "", "last_set": 0},
            "purpose": {"value": self.purpose, "creator": self.creator if self.purpose else "", "last_set": 0},
        }


@dataclass
class Fault:
    kind: FaultKind
    remaining: int
    retry_after: int


@dataclass
class FileRecord:
    id: str
    name: str
    length: int
    user: str
    title: str = ""
    alt_txt: str = ""
    data: bytes | None = None
    created: int = 0

    @property
    def mimetype(self) -> str:
        ext = self.name.rsplit(".", 1)[-1].lower() if "." in self.name else ""
        return {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
                "svg": "image/svg+xml", "txt": "text/plain", "json": "application/json",
                "md": "text/markdown", "csv": "text/csv", "pdf": "application/pdf"}.get(ext, "application/octet-stream")


@dataclass
class Trigger:
    user: str
    channel: str | None
    created: float
    used: bool = False


@dataclass
class ResponseUrl:
    channel: str
    user: str
    created: float
    thread_ts: str | None = None
    message_ts: str | None = None
    uses: int = 0


def default_users() -> list[User]:
    return [
        User(BOT_USER_ID, "ai-sre", "ai-sre", "AI SRE bot", is_bot=True, bot_id=BOT_ID, color="#2eb67d"),
        User("U0ALICE", "alice", "Alice Adams", "SRE, on-call (approver)", color="#e01e5a"),
        User("U0BOB", "bob", "Bob Brown", "Software engineer", color="#36c5f0"),
        User("U0CAROL", "carol", "Carol Chen", "Engineering manager", color="#ecb22e"),
    ]


class EmulatorState:
    """One Slack workspace in memory. Every public method is thread-safe."""

    def __init__(self, *, public_url: str = "http://127.0.0.1:8700", bot_token: str = "xoxb-local-emulator",
                 trigger_ttl_s: float = 3.0, response_url_ttl_s: float = 1800.0, response_url_max_uses: int = 5):
        self.lock = threading.RLock()
        self.public_url = public_url.rstrip("/")
        self.bot_token = bot_token
        self.trigger_ttl_s = trigger_ttl_s
        self.response_url_ttl_s = response_url_ttl_s
        self.response_url_max_uses = response_url_max_uses
        self.users: dict[str, User] = {u.id: u for u in default_users()}
        self.usergroups: dict[str, dict[str, Any]] = {
            "S0ONCALL": {"id": "S0ONCALL", "handle": "oncall", "name": "On-call", "users": ["U0ALICE"]},
        }
        self.channels: dict[str, Channel] = {}
        self.history: dict[str, list[dict[str, Any]]] = {}
        self.ephemeral: dict[str, list[dict[str, Any]]] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.modal_stack: dict[str, list[str]] = {}
        self.home_views: dict[str, str] = {}
        self.files: dict[str, FileRecord] = {}
        self.triggers: dict[str, Trigger] = {}
        self.response_urls: dict[str, ResponseUrl] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.deliveries: list[dict[str, Any]] = []
        self.faults: dict[str, list[Fault]] = {}
        self.seq = 0
        self._ids = itertools.count(1)
        self._ts_n = itertools.count(0)
        self._started = int(time.time())
        all_humans = {u.id for u in self.users.values()}
        for name, cid, topic in (
            ("general", "C0GENERAL", "Company-wide announcements"),
            ("incidents", "C0INCIDENTS", "Where new incidents are announced"),
            ("sre-digest", "C0SREDIGEST", "Daily digest of autonomous actions"),
        ):
            ch = Channel(cid, name, created=self._started, creator="U0ALICE", members=set(all_humans),
                         is_general=name == "general", topic=topic)
            self.channels[cid] = ch
            self.history[cid] = []

    # ---- ids, clocks, change feed -------------------------------------------------------------

    @contextmanager
    def changing(self) -> Iterator[None]:
        """Hold the lock and bump :attr:`seq` so the page knows to refresh."""
        with self.lock:
            yield
            self.seq += 1

    def new_id(self, prefix: str) -> str:
        return f"{prefix}0{next(self._ids):07d}"

    def next_ts(self) -> str:
        """Like Slack's: the wall clock in seconds with six decimals, strictly increasing."""
        with self.lock:
            micros = max(int(time.time() * 1_000_000), getattr(self, "_last_ts", TS_BASE_MICROS) + 100)
            self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def new_trigger(self, user: str, channel: str | None = None) -> str:
        with self.lock:
            tid = f"{next(self._ids)}.{TEAM_ID[1:]}.{int(time.time() * 1000) % 10**10:x}"
            self.triggers[tid] = Trigger(user=user, channel=channel, created=time.monotonic())
            return tid

    def new_response_url(self, channel: str, user: str, *, thread_ts: str | None = None,
                         message_ts: str | None = None) -> str:
        with self.lock:
            token = f"{TEAM_ID}/{next(self._ids)}/{int(time.time() * 1000):x}"
            self.response_urls[token] = ResponseUrl(channel, user, time.monotonic(), thread_ts, message_ts)
            return f"{self.public_url}/response_url/{token}"

    # ---- lookups -------------------------------------------------------------------------------

    def user(self, user_id: str) -> User | None:
        return self.users.get(user_id)

    def resolve_channel(self, ref: str) -> Channel | None:
        """A channel by id, ``#name`` or name; a user id opens (or finds) the bot's DM with them."""
        with self.lock:
            if ref in self.channels:
                return self.channels[ref]
            if ref in self.users and ref != BOT_USER_ID:
                return self.open_dm(ref)
            name = ref.lstrip("#")
            return next((c for c in self.channels.values() if c.name == name and not c.is_im), None)

    def open_dm(self, user_id: str) -> Channel:
        with self.lock:
            for c in self.channels.values():
                if c.is_im and c.members == {BOT_USER_ID, user_id}:
                    return c
            cid = "D" + self.new_id("")[1:]
            ch = Channel(cid, f"dm-{user_id}", created=int(time.time()), creator=BOT_USER_ID,
                         members={BOT_USER_ID, user_id}, is_im=True)
            self.channels[cid] = ch
            self.history[cid] = []
            self.seq += 1
            return ch

    def find_message(self, channel_id: str, ts: str) -> dict[str, Any] | None:
        with self.lock:
            return next((m for m in self.history.get(channel_id, []) if m["ts"] == ts), None)

    # ---- the Python API tests use --------------------------------------------------------------

    def record_call(self, method: str, args: dict[str, Any]) -> None:
        with self.lock:
            self.calls.append((method, copy.deepcopy(args)))

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        with self.lock:
            return [a for m, a in self.calls if m == method]

    def clear_calls(self) -> None:
        with self.lock:
            self.calls.clear()
            self.deliveries.clear()

    def messages(self, channel: str, *, include_replies: bool = True) -> list[dict[str, Any]]:
        """Messages of a channel (id or name), oldest first, as deep copies."""
        with self.lock:
            ch = self.resolve_channel(channel)
            if ch is None:
                return []
            msgs = self.history[ch.id]
            if not include_replies:
                msgs = [m for m in msgs if m.get("thread_ts") in (None, m["ts"]) or m.get("subtype") == "thread_broadcast"]
            return copy.deepcopy(msgs)

    def replies(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        with self.lock:
            ch = self.resolve_channel(channel)
            if ch is None:
                return []
            return copy.deepcopy([m for m in self.history[ch.id] if m["ts"] == thread_ts or m.get("thread_ts") == thread_ts])

    def ephemeral_messages(self, channel: str, user: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            ch = self.resolve_channel(channel)
            if ch is None:
                return []
            return copy.deepcopy([e for e in self.ephemeral.get(ch.id, []) if user is None or e["user"] == user])

    def channel_by_name(self, name: str) -> Channel | None:
        with self.lock:
            return next((c for c in self.channels.values() if c.name == name.lstrip("#")), None)

    def open_modal(self, user: str) -> dict[str, Any] | None:
        """The top modal the user sees, if any."""
        with self.lock:
            stack = self.modal_stack.get(user) or []
            return copy.deepcopy(self.views[stack[-1]]) if stack else None

    def home_view(self, user: str) -> dict[str, Any] | None:
        with self.lock:
            vid = self.home_views.get(user)
            return copy.deepcopy(self.views[vid]) if vid else None

    def inject_fault(self, method: str, kind: FaultKind = "ratelimited", *, times: int = 1, retry_after: int = 1) -> None:
        """Make the next ``times`` calls of ``method`` (or ``"*"``) fail with ``kind``."""
        if kind not in ("ratelimited", "server_error"):
            raise ValueError(f"inject_fault kind must be 'ratelimited' or 'server_error', got {kind!r}")
        with self.lock:
            self.faults.setdefault(method, []).append(Fault(kind, times, retry_after))

    def take_fault(self, method: str) -> Fault | None:
        with self.lock:
            for key in (method, "*"):
                queue = self.faults.get(key) or []
                while queue and queue[0].remaining <= 0:
                    queue.pop(0)
                if queue:
                    queue[0].remaining -= 1
                    return queue[0]
            return None
