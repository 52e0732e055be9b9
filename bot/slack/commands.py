"""``/aisre ...`` text into typed commands; pure, never raises.

:func:`parse` returns one of the command models below, or a :class:`CommandError` carrying
that command's usage line (``/aisre scale checkout lots`` -> "replicas must be a whole
number" + "Usage: /aisre scale <service> <replicas>"). :data:`USAGE` is the one list of
commands; the help message and the tests read it.
"""

from __future__ import annotations

import re
import shlex
from abc import abstractmethod
from collections.abc import Callable
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict

Level = Literal["shadow", "advisory", "supervised", "autonomous"]
LEVELS: tuple[str, ...] = ("shadow", "advisory", "supervised", "autonomous")

USAGE: dict[str, tuple[str, str]] = {
    "help": ("/aisre help", "this list"),
    "status": ("/aisre status [INC-42]", "the incident's current state (this channel's when omitted)"),
    "timeline": ("/aisre timeline [INC-42]", "everything that happened, timestamped"),
    "catchup": ("/aisre catchup", "a private summary for someone joining late"),
    "resolve": ("/aisre resolve [INC-42] [note]", "resolve the incident; drafts the postmortem"),
    "declare": ("/aisre declare <service> <title...>", "open an incident by hand"),
    "maintenance": ("/aisre maintenance <service> <duration e.g. 2h> [note]", "silence a service's alerts"),
    "rollback": ("/aisre rollback <service> [revision]", "roll a deployment back (the previous revision by default)"),
    "restart": ("/aisre restart <service>", "rolling restart of a deployment"),
    "scale": ("/aisre scale <service> <replicas>", "set a deployment's replicas"),
    "kill-query": ("/aisre kill-query <database> <pid>", "terminate one PostgreSQL backend"),
    "flush-cache": ("/aisre flush-cache <cache>", "flush a Redis cache"),
    "drain": ("/aisre drain <node>", "cordon and drain a Kubernetes node"),
    "failover": ("/aisre failover <database>", "fail a database over to its replica"),
    "freeze": ("/aisre freeze", "change freeze: the bot only watches and suggests"),
    "unfreeze": ("/aisre unfreeze", "end the change freeze"),
    "autonomy": ("/aisre autonomy [<service|action> <shadow|advisory|supervised|autonomous>]",
                 "show or set an autonomy level"),
    "audit": ("/aisre audit [INC-42]", "the audit log (of one incident, or the latest entries)"),
    "heartbeats": ("/aisre heartbeats", "the heartbeat checks and when each last beat"),
    "digest": ("/aisre digest", "the digest of autonomous actions, now"),
}

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,252}$")
_INCIDENT = re.compile(r"^(?:INC-)?(\d{1,9})$", re.IGNORECASE)
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
MAX_MAINTENANCE_S = 7 * 24 * 3600


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: ClassVar[str]

    @property
    def usage(self) -> str:
        return USAGE[self.name][0]


class Help(Command):
    name: ClassVar[str] = "help"


class Status(Command):
    name: ClassVar[str] = "status"
    incident: str | None = None


class Timeline(Command):
    name: ClassVar[str] = "timeline"
    incident: str | None = None


class Catchup(Command):
    name: ClassVar[str] = "catchup"


class Resolve(Command):
    name: ClassVar[str] = "resolve"
    incident: str | None = None
    note: str | None = None


class Declare(Command):
    name: ClassVar[str] = "declare"
    service: str
    title: str


class Maintenance(Command):
    name: ClassVar[str] = "maintenance"
    service: str
    duration_s: int
    note: str | None = None


class Freeze(Command):
    name: ClassVar[str] = "freeze"


class Unfreeze(Command):
    name: ClassVar[str] = "unfreeze"


class Autonomy(Command):
    """No scope: show the levels. ``scope_kind`` is "action" for dotted names (``k8s.scale``)."""

    name: ClassVar[str] = "autonomy"
    scope: str | None = None
    scope_kind: Literal["service", "action"] | None = None
    level: Level | None = None


class Audit(Command):
    name: ClassVar[str] = "audit"
    incident: str | None = None


class Heartbeats(Command):
    name: ClassVar[str] = "heartbeats"


class Digest(Command):
    name: ClassVar[str] = "digest"


class ActionCommand(Command):
    """A command that runs a registry action (through the policy, like any proposal)."""

    action: ClassVar[str]

    @property
    @abstractmethod
    def target(self) -> str:
        """What the action acts on: a service, database, cache or node."""


class Rollback(ActionCommand):
    name: ClassVar[str] = "rollback"
    action: ClassVar[str] = "k8s.rollout_undo"
    service: str
    revision: int | None = None

    @property
    def target(self) -> str:
        return self.service


class Restart(ActionCommand):
    name: ClassVar[str] = "restart"
    action: ClassVar[str] = "k8s.rollout_restart"
    service: str

    @property
    def target(self) -> str:
        return self.service


class Scale(ActionCommand):
    name: ClassVar[str] = "scale"
    action: ClassVar[str] = "k8s.scale"
    service: str
    replicas: int

    @property
    def target(self) -> str:
        return self.service


class KillQuery(ActionCommand):
    name: ClassVar[str] = "kill-query"
    action: ClassVar[str] = "pg.terminate_query"
    database: str
    pid: int

    @property
    def target(self) -> str:
        return self.database


class FlushCache(ActionCommand):
    name: ClassVar[str] = "flush-cache"
    action: ClassVar[str] = "redis.flush"
    cache: str

    @property
    def target(self) -> str:
        return self.cache


class Drain(ActionCommand):
    name: ClassVar[str] = "drain"
    action: ClassVar[str] = "k8s.drain_node"
    node: str

    @property
    def target(self) -> str:
        return self.node


class Failover(ActionCommand):
    name: ClassVar[str] = "failover"
    action: ClassVar[str] = "aws.rds_failover"
    database: str

    @property
    def target(self) -> str:
        return self.database


class CommandError(BaseModel):
    """A command that could not be parsed: one line saying why, and the usage to show."""

    model_config = ConfigDict(frozen=True)
    command: str | None
    message: str
    usage: str


ParsedCommand = Command | CommandError


class _Bad(Exception):
    pass


def usage_line(name: str) -> str:
    return USAGE[name][0] if name in USAGE else "/aisre help"


def incident_key(token: str) -> str | None:
    """``INC-42`` / ``inc-42`` / ``42`` -> ``INC-42``; None for anything else."""
    m = _INCIDENT.match(token)
    return f"INC-{int(m.group(1))}" if m else None


def parse_duration(token: str) -> int | None:
    """``2h`` / ``90m`` / ``1h30m`` / ``1d`` / ``45s`` -> seconds; None when malformed or zero."""
    m = _DURATION.match(token.strip().lower())
    if not m or not any(m.groups()):
        return None
    d, h, mi, s = (int(g) if g else 0 for g in m.groups())
    total = d * 86400 + h * 3600 + mi * 60 + s
    return total or None


def _name(args: list[str], i: int, what: str) -> str:
    if len(args) <= i:
        raise _Bad(f"missing <{what}>")
    value = args[i]
    if not _NAME.match(value):
        raise _Bad(f"{what} {value!r} may contain only letters, digits and _ . : / -")
    return value


def _int(args: list[str], i: int, what: str, *, minimum: int = 0) -> int:
    if len(args) <= i:
        raise _Bad(f"missing <{what}>")
    try:
        value = int(args[i])
    except ValueError:
        raise _Bad(f"{what} must be a whole number, got {args[i]!r}") from None
    if value < minimum:
        raise _Bad(f"{what} must be at least {minimum}, got {value}")
    return value


def _no_more(args: list[str], n: int) -> None:
    if len(args) > n:
        raise _Bad(f"unexpected {' '.join(args[n:])!r}")


def _optional_incident(args: list[str]) -> str | None:
    _no_more(args, 1)
    if not args:
        return None
    key = incident_key(args[0])
    if key is None:
        raise _Bad(f"{args[0]!r} is not an incident key like INC-42")
    return key


def _resolve(args: list[str]) -> Command:
    if args and (key := incident_key(args[0])):
        return Resolve(incident=key, note=" ".join(args[1:]) or None)
    return Resolve(note=" ".join(args) or None)


def _declare(args: list[str]) -> Command:
    service = _name(args, 0, "service")
    if len(args) < 2:
        raise _Bad("missing <title>")
    return Declare(service=service, title=" ".join(args[1:])[:150])


def _maintenance(args: list[str]) -> Command:
    service = _name(args, 0, "service")
    if len(args) < 2:
        raise _Bad("missing <duration>")
    seconds = parse_duration(args[1])
    if seconds is None:
        raise _Bad(f"duration {args[1]!r} should look like 30m, 2h or 1h30m")
    if seconds > MAX_MAINTENANCE_S:
        raise _Bad("duration must be at most 7d")
    return Maintenance(service=service, duration_s=seconds, note=" ".join(args[2:]) or None)


def _rollback(args: list[str]) -> Command:
    service = _name(args, 0, "service")
    _no_more(args, 2)
    revision = _int(args, 1, "revision", minimum=1) if len(args) > 1 else None
    return Rollback(service=service, revision=revision)


def _autonomy(args: list[str]) -> Command:
    if not args:
        return Autonomy()
    scope = _name(args, 0, "service|action")
    if len(args) < 2:
        raise _Bad("missing <level>")
    _no_more(args, 2)
    level = args[1].lower()
    if level not in LEVELS:
        raise _Bad(f"level must be one of {', '.join(LEVELS)}, got {args[1]!r}")
    kind: Literal["service", "action"] = "action" if "." in scope else "service"
    return Autonomy(scope=scope, scope_kind=kind, level=level)  # type: ignore[arg-type]


def _bare(cls: type[Command]) -> Callable[[list[str]], Command]:
    def parse_bare(args: list[str]) -> Command:
        _no_more(args, 0)
        return cls()

    return parse_bare


def _at_most(n: int, make: Callable[[list[str]], Command]) -> Callable[[list[str]], Command]:
    def parse_exact(args: list[str]) -> Command:
        _no_more(args, n)
        return make(args)

    return parse_exact


_PARSERS: dict[str, Callable[[list[str]], Command]] = {
    "help": _bare(Help),
    "status": lambda a: Status(incident=_optional_incident(a)),
    "timeline": lambda a: Timeline(incident=_optional_incident(a)),
    "catchup": _bare(Catchup),
    "resolve": _resolve,
    "declare": _declare,
    "maintenance": _maintenance,
    "rollback": _rollback,
    "restart": _at_most(1, lambda a: Restart(service=_name(a, 0, "service"))),
    "scale": _at_most(2, lambda a: Scale(service=_name(a, 0, "service"),
                                         replicas=_int(a, 1, "replicas", minimum=0))),
    "kill-query": _at_most(2, lambda a: KillQuery(database=_name(a, 0, "database"),
                                                  pid=_int(a, 1, "pid", minimum=1))),
    "flush-cache": _at_most(1, lambda a: FlushCache(cache=_name(a, 0, "cache"))),
    "drain": _at_most(1, lambda a: Drain(node=_name(a, 0, "node"))),
    "failover": _at_most(1, lambda a: Failover(database=_name(a, 0, "database"))),
    "freeze": _bare(Freeze),
    "unfreeze": _bare(Unfreeze),
    "autonomy": _autonomy,
    "audit": lambda a: Audit(incident=_optional_incident(a)),
    "heartbeats": _bare(Heartbeats),
    "digest": _bare(Digest),
}
_ALIASES = {"killquery": "kill-query", "kill_query": "kill-query", "flush": "flush-cache",
            "flush_cache": "flush-cache", "?": "help", "roll-back": "rollback"}


def split(text: str) -> list[str]:
    """Words, honouring quotes; unbalanced quotes fall back to plain whitespace splitting."""
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def parse(text: str) -> ParsedCommand:
    """The command ``text`` (what follows ``/aisre``) asks for; an empty text is ``help``."""
    words = split(text or "")
    if not words:
        return Help()
    verb = words[0].lower()
    verb = _ALIASES.get(verb, verb)
    parser = _PARSERS.get(verb)
    if parser is None:
        return CommandError(command=None, message=f"unknown command {words[0]!r}; try /aisre help",
                            usage=usage_line("help"))
    try:
        return parser(words[1:])
    except _Bad as e:
        return CommandError(command=verb, message=str(e), usage=usage_line(verb))
    except Exception as e:  # a model validation we did not foresee: still one line, never a crash
        return CommandError(command=verb, message=f"could not read the command: {e.__class__.__name__}",
                            usage=usage_line(verb))
