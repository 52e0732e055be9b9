"""The action names (and their parameter names) a runbook may recommend.

:func:`default_known_actions` asks the action registry (``bot.actions.registry``)
and falls back to :data:`KNOWN_ACTIONS` when the registry cannot be imported,
so runbook validation works on its own. Validation takes the set as a
parameter; these are only the defaults.
"""

from __future__ import annotations

from collections.abc import Mapping

KNOWN_ACTIONS: tuple[str, ...] = (
    "k8s.rollout_undo",
    "k8s.rollout_restart",
    "k8s.scale",
    "aws.asg_set_capacity",
    "k8s.configmap_revert",
    "flags.disable",
    "pg.cancel_query",
    "pg.terminate_query",
    "redis.flush",
    "aws.ssm_free_disk",
    "k8s.drain_node",
    "aws.rds_failover",
    "incident.escalate",
    "incident.none",
)


def _registry_params() -> dict[str, frozenset[str]] | None:
    try:
        from bot.actions.registry import Registry

        reg = Registry.builtin()
        return {s.name: frozenset(s.params_model.model_fields) for s in reg.specs()}
    except Exception:  # not importable yet, or a different API: use the list
        return None


def default_known_actions() -> frozenset[str]:
    """Registry action names when the registry is importable, else :data:`KNOWN_ACTIONS`."""
    params = _registry_params()
    return frozenset(params) if params else frozenset(KNOWN_ACTIONS)


def default_action_params() -> Mapping[str, frozenset[str]] | None:
    """Action name -> its parameter names, from the registry; ``None`` when unknown."""
    return _registry_params()
