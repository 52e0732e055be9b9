"""deploy/slack-app-manifest.yaml: the manifest's shape, its URLs, and least-privilege scopes.

Every Web API method the bot calls (outside bot/sandbox) must be covered by a requested bot
scope, and every requested scope must be needed by a method, an event or the slash command.
``METHOD_SCOPES`` is Slack's documented bot-token scope per method (any one of the set
suffices); a method missing from it fails the test, so add it with its scope from
https://docs.slack.dev/reference/methods/<method>.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import yaml

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "deploy" / "slack-app-manifest.yaml"

METHOD_SCOPES: dict[str, set[str]] = {
    "auth.test": set(),
    "chat.postMessage": {"chat:write"},
    "chat.update": {"chat:write"},
    "chat.delete": {"chat:write"},
    "chat.postEphemeral": {"chat:write"},
    "chat.scheduleMessage": {"chat:write"},
    "chat.getPermalink": set(),
    "conversations.create": {"channels:manage"},
    "conversations.join": {"channels:join"},
    "conversations.invite": {"channels:manage", "channels:write.invites"},
    "conversations.setTopic": {"channels:manage", "channels:write.topic"},
    "conversations.setPurpose": {"channels:manage"},
    "conversations.rename": {"channels:manage"},
    "conversations.archive": {"channels:manage"},
    "conversations.list": {"channels:read"},
    "conversations.info": {"channels:read"},
    "conversations.members": {"channels:read"},
    "conversations.history": {"channels:history"},
    "conversations.replies": {"channels:history"},
    "conversations.open": {"im:write"},
    "users.info": {"users:read"},
    "users.list": {"users:read"},
    "users.lookupByEmail": {"users:read.email"},
    "usergroups.list": {"usergroups:read"},
    "usergroups.users.list": {"usergroups:read"},
    "views.open": set(),
    "views.push": set(),
    "views.update": set(),
    "views.publish": set(),
    "files.getUploadURLExternal": {"files:write"},
    "files.completeUploadExternal": {"files:write"},
    "files.info": {"files:read"},
    "reactions.add": {"reactions:write"},
    "reactions.remove": {"reactions:write"},
    "pins.add": {"pins:write"},
    "bookmarks.add": {"bookmarks:write"},
    "team.info": {"team:read"},
}
# slack_sdk helpers that call several methods.
SDK_COMPOSITES = {"files_upload_v2": ["files.getUploadURLExternal", "files.completeUploadExternal"]}
EVENT_SCOPES: dict[str, set[str]] = {
    "app_mention": {"app_mentions:read"},
    "app_home_opened": set(),
    "message.channels": {"channels:history"},
    "reaction_added": {"reactions:read"},
    "reaction_removed": {"reactions:read"},
    "member_joined_channel": {"channels:read"},
}
# Bolt's event("message") receives any of these subscriptions.
MESSAGE_EVENTS = {"message.channels", "message.groups", "message.im", "message.mpim"}
# Scopes Slack requires alongside another.
REQUIRED_WITH = {"users:read.email": {"users:read"}}

_PREFIXES = "|".join(sorted({m.split(".")[0] for m in METHOD_SCOPES} | {"admin", "dnd", "emoji", "reminders",
                                                                        "search", "stars", "apps"}))
_METHOD_STR = re.compile(rf'"((?:{_PREFIXES})\.[A-Za-z]+(?:\.[A-Za-z]+)?)"')
_SDK_CALL = re.compile(r"\bclient\.([a-z]+_[A-Za-z_0-9]+)\(")
_EVENT = re.compile(r"\.event\(\s*[\"']([a-z_.]+)[\"']")
_COMMAND = re.compile(r"\.command\(\s*[\"'](/[a-z0-9_-]+)[\"']")


def manifest() -> dict:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


def production_sources() -> list[Path]:
    return [p for p in (ROOT / "bot").rglob("*.py") if "sandbox" not in p.relative_to(ROOT).parts]


def methods_called() -> dict[str, str]:
    """Web API method -> the first file that calls it."""
    from slack_sdk import WebClient

    out: dict[str, str] = {}
    for path in production_sources():
        text = path.read_text(encoding="utf-8")
        rel = str(path.relative_to(ROOT))
        for m in _METHOD_STR.findall(text):
            out.setdefault(m, rel)
        for name in _SDK_CALL.findall(text):
            if name == "api_call" or not hasattr(WebClient, name):
                continue
            for m in SDK_COMPOSITES.get(name, [name.replace("_", ".")]):
                out.setdefault(m, rel)
        if re.search(r"\bsay\(", text) and "slack" in path.parts:
            out.setdefault("chat.postMessage", rel)
    return out


def test_shape() -> None:
    m = manifest()
    assert isinstance(m["display_information"]["name"], str) and m["display_information"]["name"]
    assert len(m["display_information"]["name"]) <= 35
    assert isinstance(m["features"]["bot_user"]["display_name"], str)
    assert isinstance(m["features"]["bot_user"].get("always_online", False), bool)
    scopes = m["oauth_config"]["scopes"]["bot"]
    assert isinstance(scopes, list) and all(isinstance(s, str) for s in scopes) and len(scopes) == len(set(scopes))
    settings = m["settings"]
    assert isinstance(settings["event_subscriptions"]["request_url"], str)
    assert isinstance(settings["event_subscriptions"]["bot_events"], list)
    assert isinstance(settings["interactivity"]["is_enabled"], bool) and settings["interactivity"]["is_enabled"]
    assert isinstance(settings["interactivity"]["request_url"], str)
    for key in ("org_deploy_enabled", "socket_mode_enabled", "token_rotation_enabled"):
        assert isinstance(settings.get(key, False), bool), key
    allowed_top = {"_metadata", "display_information", "features", "oauth_config", "settings", "functions"}
    assert set(m) <= allowed_top


def test_slash_command_and_urls_match_the_web_app() -> None:
    from bot.web.app import create_web_app

    web = create_web_app(intake=None, metrics=None, readiness=list)  # type: ignore[arg-type]
    served = {r.path for r in web.routes}  # type: ignore[attr-defined]
    m = manifest()
    commands = {c["command"]: c for c in m["features"]["slash_commands"]}
    assert "/aisre" in commands
    urls = [c["url"] for c in commands.values()]
    urls += [m["settings"]["event_subscriptions"]["request_url"], m["settings"]["interactivity"]["request_url"]]
    hosts = {urlparse(u).netloc for u in urls}
    assert len(hosts) == 1, f"all request URLs should name one host, got {hosts}"
    for u in urls:
        parsed = urlparse(u)
        assert parsed.scheme == "https", f"{u}: Slack needs https"
        assert parsed.path in served and parsed.path.startswith("/slack/"), f"{u}: the web app does not serve it"


def test_every_called_method_has_a_requested_scope() -> None:
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])
    called = methods_called()
    assert "chat.postMessage" in called and "conversations.create" in called  # the scan works
    unknown = {m: f for m, f in called.items() if m not in METHOD_SCOPES}
    assert not unknown, f"add these Web API methods and their scopes to METHOD_SCOPES: {unknown}"
    missing = {m: sorted(METHOD_SCOPES[m]) for m in called if METHOD_SCOPES[m] and not METHOD_SCOPES[m] & scopes}
    assert not missing, f"deploy/slack-app-manifest.yaml lacks a scope for: {missing}"


def test_every_requested_scope_is_needed() -> None:
    m = manifest()
    scopes = set(m["oauth_config"]["scopes"]["bot"])
    needed: set[str] = set()
    for method in methods_called():
        options = METHOD_SCOPES.get(method, set())
        needed |= options & scopes or set(sorted(options)[:1])
    for event in m["settings"]["event_subscriptions"]["bot_events"]:
        assert event in EVENT_SCOPES, f"event {event}: add its scope to EVENT_SCOPES"
        needed |= EVENT_SCOPES[event]
    if m["features"].get("slash_commands"):
        needed.add("commands")
    for scope in list(needed):
        needed |= REQUIRED_WITH.get(scope, set())
    assert scopes - needed == set(), f"scopes no method, event or command needs: {sorted(scopes - needed)}"
    for scope in scopes:
        assert REQUIRED_WITH.get(scope, set()) <= scopes, f"{scope} needs {REQUIRED_WITH[scope]}"


def test_listeners_use_only_subscribed_events_and_commands() -> None:
    m = manifest()
    events = set(m["settings"]["event_subscriptions"]["bot_events"])
    commands = {c["command"] for c in m["features"]["slash_commands"]}
    for path in production_sources():
        if "slack" not in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        for e in _EVENT.findall(text):
            subscribed = events & MESSAGE_EVENTS if e == "message" else {e} & events
            assert subscribed, f"{path}: listens to {e!r}, not in the manifest's bot_events"
        for c in _COMMAND.findall(text):
            assert c in commands, f"{path}: handles {c!r}, not in the manifest's slash_commands"


def test_home_tab_enabled_when_the_bot_publishes_a_home() -> None:
    m = manifest()
    if "views.publish" in methods_called() or "app_home_opened" in m["settings"]["event_subscriptions"]["bot_events"]:
        assert m["features"]["app_home"]["home_tab_enabled"] is True
