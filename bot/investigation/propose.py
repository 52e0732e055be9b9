"""The first step for the top hypothesis: a mitigation kind bound to a registry action (pure).

The action registry (``bot.actions.registry``) maps a mitigation kind and
target to an action and validated parameters; when it cannot (or is absent),
a small local mapping with the same action names is used. ``requires_approval``
mirrors the policy's simple rule: false only for a low-risk, reversible action
on a service that is not critical; the policy engine has the final word.
"""

from __future__ import annotations

from typing import Any

from bot.catalog.model import ServiceCatalog
from bot.investigation.evidence import Evidence, Hypothesis, Proposal

LOW_RISK_REVERSIBLE = {"k8s.rollout_restart", "k8s.scale", "flags.disable", "pg.cancel_query", "incident.escalate",
                       "incident.none"}


def _change(evidence: list[Evidence], change_id: str | None) -> dict[str, Any] | None:
    for ev in evidence:
        if ev.data.get("type") == "change" and ev.data.get("id") == change_id:
            return ev.data
    return None


def _session(evidence: list[Evidence], session_id: str | None) -> dict[str, Any] | None:
    for ev in evidence:
        if ev.data.get("type") == "db_sessions":
            for s in ev.data.get("sessions", []):
                if s.get("id") == session_id:
                    return dict(s, database=ev.data.get("database"))
    return None


def context_for(h: Hypothesis, *, catalog: ServiceCatalog, evidence: list[Evidence],
                alert_service: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the registry's mapping needs, read from the hypothesis, the catalog and the evidence."""
    target = h.target or alert_service
    svc = catalog.get(target)
    ctx: dict[str, Any] = {"namespace": svc.namespace if svc else "default", "deployment": target}
    ch = _change(evidence, h.culprit)
    if ch is not None:
        attrs = ch.get("attributes", {})
        ctx["change"] = {"id": ch["id"], "attributes": attrs}
        ctx["change_id"] = ch["id"]
        for k in ("key", "old", "flag"):
            if k in attrs:
                ctx[k] = attrs[k]
    ses = _session(evidence, h.culprit)
    if ses is not None:
        ctx["pid"] = ses["pid"]
        ctx["database"] = ses.get("database") or target
    if svc is not None:
        ctx["current_replicas"] = max(1, svc.replicas)
    owners = (svc.owners if svc else []) or (a.owners if (a := catalog.get(alert_service)) else [])
    ctx["owners"] = list(owners) or [f"{target}-oncall"]
    if h.category == "node_failure":
        ns = sorted({str(ev.data.get("namespace", "default")) for ev in evidence if ev.data.get("type") == "pods"
                     and any(row.get("node") == target for row in ev.data.get("pods", []))})
        ctx["namespaces"] = ns or ["default"]
    ctx["reason"] = h.explanation or "no incident"
    ctx.update(extra or {})
    return ctx


def local_action(kind: str, target: str, ctx: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The fallback mapping, used when the registry cannot build the action."""
    ns, dep = ctx.get("namespace", "default"), ctx.get("deployment", target)
    table: dict[str, tuple[str | None, dict[str, Any]]] = {
        "rollback": ("k8s.rollout_undo", {"namespace": ns, "deployment": dep, "to_revision": ctx.get("to_revision")}),
        "revert_config": ("k8s.configmap_revert", {"change_id": ctx.get("change_id"), "namespace": ns,
                                                   "configmap": target, "key": ctx.get("key"),
                                                   "value": None if ctx.get("old") is None else str(ctx["old"])}),
        "disable_flag": ("flags.disable", {"service": target, "flag": ctx.get("flag")}),
        "restart": ("k8s.rollout_restart", {"namespace": ns, "deployment": dep}),
        "kill_query": ("pg.cancel_query", {"database": ctx.get("database", target), "pid": ctx.get("pid")}),
        "scale_out": ("k8s.scale", {"namespace": ns, "deployment": dep,
                                    "replicas": int(ctx.get("current_replicas", 1)) * 3 // 2 + 1}),
        "free_disk": ("aws.ssm_free_disk", {"service": target}),
        "drain_node": ("k8s.drain_node", {"node": target}),
        "flush_cache": ("redis.flush", {"cache": target}),
        "failover": ("aws.rds_failover", {"database": target}),
        "escalate": ("incident.escalate", {"service": target, "owners": ctx.get("owners", [])}),
        "none": (None, {}),
    }
    return table.get(kind, (None, {}))


def propose(h: Hypothesis | None, *, catalog: ServiceCatalog, evidence: list[Evidence], alert_service: str,
            registry: Any = None, extra: dict[str, Any] | None = None) -> Proposal | None:
    if h is None:
        return None
    kind = h.mitigation or "escalate"
    target = h.target or alert_service
    if kind == "none":
        return Proposal(kind="none", target=target, action=None, params={}, requires_approval=False,
                        reason=h.explanation, evidence=list(h.evidence))
    ctx = context_for(h, catalog=catalog, evidence=evidence, alert_service=alert_service, extra=extra)
    action: str | None
    params: dict[str, Any]
    risk_low = False
    try:
        if registry is None:
            raise LookupError("no registry")
        action, params = registry.for_mitigation(kind, target, ctx)
        spec = registry.get(action)
        risk_low = spec.risk == "low" and bool(spec.reversible)
    except Exception:  # noqa: BLE001 - the registry could not build it: fall back to the local mapping
        action, params = local_action(kind, target, ctx)
        risk_low = action in LOW_RISK_REVERSIBLE
    svc = catalog.get(target)
    critical = svc is not None and svc.tier == "critical"
    return Proposal(kind=kind, target=target, action=action, params=params,
                    requires_approval=not (risk_low and not critical), reason=h.explanation,
                    evidence=list(h.evidence))


def default_registry() -> Any:
    try:
        from bot.actions.registry import Registry
    except ImportError:
        return None
    try:
        return Registry.builtin()
    except Exception:  # noqa: BLE001
        return None
