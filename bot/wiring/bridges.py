"""Small adapters between integration adapters and the action ports' shapes.

No I/O of their own: each wraps an adapter that does it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.actions.ports import CommandResult
from bot.incidents.ports import ChatPort
from bot.integrations.aws import AwsAdapter
from bot.integrations.errors import IntegrationNotFound
from bot.integrations.flags import HttpFlags
from bot.integrations.interfaces import ChangesSource
from bot.integrations.types import ChangeEvent


class ChangeHistoryFromSource:
    """``ChangeHistory.get(id)`` over a ``ChangesSource`` (looks back a day)."""

    def __init__(self, source: ChangesSource, lookback: timedelta = timedelta(hours=24)) -> None:
        self.source = source
        self.lookback = lookback

    def get(self, change_id: str) -> ChangeEvent:
        now = datetime.now(UTC)
        for ev in self.source.changes(None, now - self.lookback, now + timedelta(minutes=5)):
            if ev.id == change_id:
                return ev
        raise IntegrationNotFound(getattr(self.source, "name", "changes"), f"no change {change_id!r} in the last day")


class FlagsPort:
    def __init__(self, flags: HttpFlags) -> None:
        self.flags = flags

    def get(self, service: str, flag: str) -> str | None:
        state = self.flags.get(service, flag)
        return None if state.value is None else str(state.value)

    def set(self, service: str, flag: str, value: str) -> None:
        v: Any = {"true": True, "false": False}.get(value.lower(), value)
        self.flags.set_value(service, flag, v)


class AutoScalingPort:
    def __init__(self, aws: AwsAdapter) -> None:
        self.aws = aws

    def desired(self, group: str) -> int:
        return self.aws.describe_group(group).desired

    def set_desired(self, group: str, n: int) -> None:
        self.aws.set_desired_capacity(group, n)


class SsmPort:
    def __init__(self, aws: AwsAdapter, poll_s: float = 1.0) -> None:
        self.aws = aws
        self.poll_s = poll_s

    def run(self, target: str, commands: list[str], timeout_s: float) -> CommandResult:
        instances = [target] if target.startswith("i-") else self.aws.instances_of(target)
        if not instances:
            return CommandResult("Failed", f"no instances found for {target}")
        command_id = self.aws.send_command(instances, commands, comment="ai-sre")
        deadline = time.monotonic() + timeout_s
        outputs = []
        status = "Pending"
        for inst in instances:
            while True:
                inv = self.aws.command_invocation(command_id, inst)
                status = inv.status
                if status not in ("Pending", "InProgress", "Delayed") or time.monotonic() > deadline:
                    break
                time.sleep(self.poll_s)
            outputs.append(f"{inst}: {status} {inv.output.strip()[:500]}")
            if status != "Success":
                break
        return CommandResult("TimedOut" if status in ("Pending", "InProgress") else status, "\n".join(outputs))


class RdsPort:
    def __init__(self, aws: AwsAdapter) -> None:
        self.aws = aws

    def writer(self, cluster: str) -> str:
        return self.aws.describe_cluster(cluster).writer or ""

    def failover(self, cluster: str) -> None:
        self.aws.failover(cluster)


class SlackPager:
    """Pages owners by mentioning them in the incident channel (the escalation step)."""

    def __init__(self, chat: ChatPort, channel: str) -> None:
        self.chat = chat
        self.channel = channel

    def page(self, owners: list[str], text: str) -> None:
        users = self.chat.resolve_users(owners)
        mention = " ".join(f"<@{u}>" for u in users) or "@here"
        self.chat.post(self.channel, f":rotating_light: {mention} {text}")


class SlackDirectory:
    def __init__(self, chat: Any) -> None:
        self.chat = chat

    def members(self, group: str) -> set[str]:
        fn = getattr(self.chat, "usergroup_members", None)
        return set(fn(group)) if fn else set()
