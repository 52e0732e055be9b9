"""Start every sandbox server for one Replay, in-process, on free loopback ports.

``start_all(replay)`` returns a :class:`SandboxServers` handle:

- ``urls``: name -> base URL (``datadog``, ``prometheus``, ``flags``, and
  ``kubernetes`` / ``aws`` / ``postgres`` / ``redis`` when those modules exist);
- ``env``: the ``AISRE_*`` variables that point a bot at them;
- ``settings(base)``: a copy of ``base`` Settings with the same overrides;
- ``stop()``: stops everything (idempotent).

Each server module exposes ``start(replay, **opts) -> handle`` with ``.url`` and
``.stop()``; optional ones are imported only if present, and one that fails to
start is reported in ``skipped`` instead of stopping the others.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox import datadog_server, flags_server, prometheus_server
from bot.sandbox.replay import Replay
from bot.settings import Settings

# (name, module) of servers other components own; started when the module exists
OPTIONAL = (
    ("kubernetes", "bot.sandbox.kubernetes_server"),
    ("aws", "bot.sandbox.aws"),
    ("postgres", "bot.sandbox.pg_sessions"),
    ("redis", "bot.sandbox.redis_cache"),
)


@dataclass
class SandboxServers:
    replay: Replay
    handles: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    _stopped: bool = False

    @property
    def urls(self) -> dict[str, str]:
        """name -> base URL (a DSN for postgres; handles without an address are left out)."""
        out = {}
        for name, h in self.handles.items():
            url = getattr(h, "url", None) or getattr(h, "dsn", None)
            if url:
                out[name] = str(url)
        return out

    @property
    def env(self) -> dict[str, str]:
        env: dict[str, str] = {}
        dd = self.handles.get("datadog")
        if dd is not None:
            env.update({
                "AISRE_DATADOG__ENABLED": "true",
                "AISRE_DATADOG__API_URL": dd.url,
                "AISRE_DATADOG__API_KEY": dd.extra["api_key"],
                "AISRE_DATADOG__APP_KEY": dd.extra["app_key"],
            })
        prom = self.handles.get("prometheus")
        if prom is not None:
            env.update({"AISRE_PROMETHEUS__ENABLED": "true", "AISRE_PROMETHEUS__URL": prom.url})
        flags = self.handles.get("flags")
        if flags is not None:
            env["AISRE_FLAGS__ENABLED"] = "true"
            env["AISRE_FLAGS__URL"] = flags.url
            if flags.extra.get("token"):
                env["AISRE_FLAGS__TOKEN"] = flags.extra["token"]
        k8s = self.handles.get("kubernetes")
        if k8s is not None and getattr(k8s, "kubeconfig_path", None):
            env.update({"AISRE_KUBERNETES__ENABLED": "true", "AISRE_KUBERNETES__KUBECONFIG": str(k8s.kubeconfig_path)})
            if getattr(k8s, "context", None):
                env["AISRE_KUBERNETES__CONTEXT"] = str(k8s.context)
        aws = self.handles.get("aws")
        if aws is not None:
            env.update({"AISRE_AWS__ENABLED": "true", "AISRE_AWS__ENDPOINT_URL": aws.url})
            if getattr(aws, "region", None):
                env["AISRE_AWS__REGION"] = str(aws.region)
        pg = self.handles.get("postgres")
        if pg is not None and getattr(pg, "dsn", None):
            env.update({"AISRE_POSTGRES__ENABLED": "true", "AISRE_POSTGRES__DSN": str(pg.dsn),
                        "AISRE_POSTGRES__DATABASES": json.dumps(getattr(pg, "databases", {}) or {})})
        rd = self.handles.get("redis")
        if rd is not None and getattr(rd, "available", True) and getattr(rd, "caches", None):
            env["AISRE_REDIS__CACHES"] = json.dumps(rd.caches)
            if getattr(rd, "url", None):
                env["AISRE_REDIS__URL"] = str(rd.url)
        return env

    def overrides(self) -> dict[str, dict[str, Any]]:
        """The env as nested Settings keys (known groups only; JSON values decoded)."""
        out: dict[str, dict[str, Any]] = {}
        for key, value in self.env.items():
            group, _, name = key.removeprefix("AISRE_").lower().partition("__")
            if group in Settings.model_fields and name:
                out.setdefault(group, {})[name] = json.loads(value) if value.startswith("{") else value
        return out

    def settings(self, base: Settings) -> Settings:
        """``base`` with every sandbox override applied (validated again)."""
        data = base.model_dump()
        for group, values in self.overrides().items():
            data.setdefault(group, {}).update(values)
        return Settings.model_validate(data)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        for h in reversed(list(self.handles.values())):
            with contextlib.suppress(Exception):  # stop the rest regardless
                h.stop()


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def relevant_servers(replay: Replay) -> set[str]:
    """The servers a scenario can use: the cheap ones always; PostgreSQL sessions, Redis and AWS
    (moto takes seconds to start) only when the scenario has sessions, a cache, or a disk to free."""
    sc = replay.scenario
    names = {"datadog", "prometheus", "flags", "kubernetes"}
    if sc.db_sessions:
        names.add("postgres")
    if any(s.kind == "cache" for s in sc.services):
        names.add("redis")
    if any("disk" in m.name for m in sc.metrics) or any(a.kind in ("free_disk", "failover") for a in sc.after_action):
        names.add("aws")
    return names


def start_all(
    replay: Replay, *, only: set[str] | None = None, options: dict[str, dict[str, Any]] | None = None,
    everything: bool = False,
) -> SandboxServers:
    """Start the servers the scenario can use (``relevant_servers``), every server with
    ``everything=True``, or the names in ``only``; ``options[name]`` are passed to its ``start``."""
    if only is None and not everything:
        only = relevant_servers(replay)
    options = options or {}
    servers = SandboxServers(replay)
    mine = (("datadog", datadog_server), ("prometheus", prometheus_server), ("flags", flags_server))
    try:
        for name, mod in mine:
            if only is None or name in only:
                servers.handles[name] = mod.start(replay, **options.get(name, {}))
        for name, modname in OPTIONAL:
            if (only is not None and name not in only) or not _module_exists(modname):
                continue
            start = getattr(importlib.import_module(modname), "start", None)
            if start is None:
                servers.skipped[name] = f"{modname} has no start(replay)"
                continue
            try:
                servers.handles[name] = start(replay, **options.get(name, {}))
            except Exception as e:
                servers.skipped[name] = f"{type(e).__name__}: {e}"
    except BaseException:
        servers.stop()
        raise
    return servers
