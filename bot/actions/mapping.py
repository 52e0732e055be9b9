"""From a mitigation (FORMAT.md kind + target) to a concrete registry action and its parameters.

The investigator passes what it learned as ``context``. Keys by kind:

| kind | action | context keys (target is always the FORMAT.md target) |
|---|---|---|
| rollback | k8s.rollout_undo | ``namespace`` (default "default"), ``deployment`` (default target), and one of: ``to_revision``; a deploy ``change`` with attribute ``previous_revision``; ``revisions`` (RolloutRevision list from ``rollout_history``) whose image is tagged with the deploy ``change``'s ``previous`` version; ``revisions`` + ``current_revision``: the newest below current |
| revert_config | k8s.configmap_revert | ``change`` (config ChangeEvent: id, attributes key/old, optional configmap) or ``change_id``/``key``/``old``; ``namespace``; ``configmap`` (default: the change's ``configmap`` attribute, else target) |
| disable_flag | flags.disable | ``flag`` or ``change`` (feature_flag ChangeEvent, attribute ``flag``) |
| restart | k8s.rollout_restart | ``namespace``, ``deployment`` |
| kill_query | pg.cancel_query (pg.terminate_query when ``terminate`` is true) | ``pid`` or ``session`` (DbSession); ``database`` (default target) |
| scale_out | aws.asg_set_capacity when ``asg_group`` is given, else k8s.scale | ``replicas`` / ``desired``, or ``current_replicas`` / ``current_desired`` (x1.5, rounded up, capped); ``namespace``, ``deployment`` |
| free_disk | aws.ssm_free_disk | ``instance`` (default target), ``path`` (default /var/log), ``older_than_hours`` (default 24) |
| drain_node | k8s.drain_node | ``namespaces`` (default [``namespace`` or "default"]) |
| flush_cache | redis.flush | ``pattern`` |
| failover | aws.rds_failover | ``cluster`` (default target) |
| escalate | incident.escalate | ``owners`` (required), ``text`` (default "<target> needs a person") |
| none | incident.none | ``reason`` |
"""

from __future__ import annotations

import math
from typing import Any

from bot.actions.catalog.infra import MAX_CAPACITY
from bot.actions.catalog.k8s import MAX_REPLICAS
from bot.actions.spec import NoActionFor

SCALE_FACTOR = 1.5


def map_mitigation(kind: str, target: str, ctx: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    fn = _MAPPERS.get(kind)
    if fn is None:
        raise NoActionFor(f"no action implements mitigation kind {kind!r} (known: {', '.join(sorted(_MAPPERS))})")
    return fn(target, ctx)


def _need(ctx: dict[str, Any], key: str, kind: str) -> Any:
    if ctx.get(key) is None:
        raise NoActionFor(f"{kind}: context key {key!r} is required to build the action")
    return ctx[key]


def _attr(obj: Any, name: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def _change_attrs(ctx: dict[str, Any]) -> dict[str, Any]:
    change = ctx.get("change")
    if change is None:
        return {}
    return dict(_attr(change, "attributes") or {}) | {"id": _attr(change, "id")}


def _deploy(target: str, ctx: dict[str, Any]) -> dict[str, Any]:
    return {"namespace": ctx.get("namespace", "default"), "deployment": ctx.get("deployment", target)}


def _by_image(revisions: list[Any], version: str | None) -> int | None:
    """The newest revision whose image is tagged with ``version`` (a deploy event's ``previous``)."""
    if not version:
        return None
    hits = [int(_attr(r, "revision")) for r in revisions
            if not isinstance(r, int | str) and str(_attr(r, "image") or "").endswith((f":{version}", f"@{version}"))]
    return max(hits) if hits else None


def _rollback(target: str, ctx: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    attrs = _change_attrs(ctx)
    rev = ctx.get("to_revision") or attrs.get("previous_revision")
    if rev is None and ctx.get("revisions"):
        rev = _by_image(list(ctx["revisions"]), attrs.get("previous"))
    if rev is None and ctx.get("revisions"):
        current = int(_need(ctx, "current_revision", "rollback"))
        nums = [int(r) if isinstance(r, int | str) else int(_attr(r, "revision")) for r in ctx["revisions"]]
        older = [n for n in nums if n < current]
        if not older:
            raise NoActionFor(f"rollback: no revision of {target} older than {current}")
        rev = max(older)
    if rev is None:
        raise NoActionFor("rollback: context needs 'to_revision', a deploy 'change' or 'revisions'")
    return "k8s.rollout_undo", _deploy(target, ctx) | {"to_revision": int(rev)}


def _revert_config(target: str, ctx: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    attrs = _change_attrs(ctx)
    change_id = ctx.get("change_id") or attrs.get("id")
    key = ctx.get("key") or attrs.get("key")
    old = ctx["old"] if "old" in ctx else attrs.get("old")
    for name, v in (("change_id", change_id), ("key", key), ("old", old)):
        if v is None:
            raise NoActionFor(f"revert_config: context needs a config 'change' or {name!r}")
    return "k8s.configmap_revert", {
        "change_id": change_id,
        "namespace": ctx.get("namespace", "default"),
        "configmap": ctx.get("configmap") or attrs.get("configmap") or target,
        "key": key,
        "value": str(old),
    }


def _disable_flag(target: str, ctx: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    flag = ctx.get("flag") or _change_attrs(ctx).get("flag")
    if flag is None:
        raise NoActionFor("disable_flag: context needs 'flag' or a feature_flag 'change'")
    return "flags.disable", {"service": target, "flag": flag}


def _restart(target: str, ctx: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "k8s.rollout_restart", _deploy(target, ctx)


def _kill_query(target: str, ctx: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    pid = ctx.get("pid") or _attr(ctx.get("session"), "pid")
    if pid is None:
        raise NoActionFor("kill_query: context needs 'pid' or 'session'")
    database = ctx.get("database") or _attr(ctx.get("session"), "database") or target
    name = "pg.terminate_query" if ctx.get("terminate") else "pg.cancel_query"
    return name, {"database": database, "pid": int(pid)}


def _grow(current: int, cap: int) -> int:
    return min(cap, max(current + 1, math.ceil(current * SCALE_FACTOR)))


def _scale_out(target: str, ctx: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if ctx.get("asg_group"):
        desired = ctx.get("desired")
        if desired is None:
            desired = _grow(int(_need(ctx, "current_desired", "scale_out")), MAX_CAPACITY)
        return "aws.asg_set_capacity", {"group": ctx["asg_group"], "desired": int(desired)}
    replicas = ctx.get("replicas")
    if replicas is None:
        replicas = _grow(int(_need(ctx, "current_replicas", "scale_out")), MAX_REPLICAS)
    return "k8s.scale", _deploy(target, ctx) | {"replicas": int(replicas)}


def _free_disk(target: str, ctx: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "aws.ssm_free_disk", {
        "target": ctx.get("instance", target),
        "path": ctx.get("path", "/var/log"),
        "older_than_hours": int(ctx.get("older_than_hours", 24)),
    }


def _drain(target: str, ctx: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    namespaces = ctx.get("namespaces") or [ctx.get("namespace", "default")]
    return "k8s.drain_node", {"node": target, "namespaces": list(namespaces)}


def _flush(target: str, ctx: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "redis.flush", {"cache": target, "pattern": ctx.get("pattern")}


def _failover(target: str, ctx: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "aws.rds_failover", {"cluster": ctx.get("cluster", target)}


def _escalate(target: str, ctx: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    owners = _need(ctx, "owners", "escalate")
    return "incident.escalate", {
        "service": target,
        "owners": list(owners),
        "text": ctx.get("text") or f"{target} needs a person: the bot proposes no change",
    }


def _none(target: str, ctx: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "incident.none", {"service": target, "reason": ctx.get("reason") or "no incident: standing down"}


_MAPPERS = {
    "rollback": _rollback,
    "revert_config": _revert_config,
    "disable_flag": _disable_flag,
    "restart": _restart,
    "kill_query": _kill_query,
    "scale_out": _scale_out,
    "free_disk": _free_disk,
    "drain_node": _drain,
    "flush_cache": _flush,
    "failover": _failover,
    "escalate": _escalate,
    "none": _none,
}
