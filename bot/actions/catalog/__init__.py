"""The built-in action catalog: every allowlisted action, one spec each.

Adding an action: write its parameter model, handler (and checkpoint/revert when
it can be undone) in the module of its system, and add its spec to that
module's ``SPECS``; nothing else changes.
"""

from __future__ import annotations

from bot.actions.catalog import data, infra, k8s, knowledge
from bot.actions.spec import ActionSpec


def builtin_specs() -> list[ActionSpec]:
    return [*k8s.SPECS, *data.SPECS, *infra.SPECS, *knowledge.SPECS]
