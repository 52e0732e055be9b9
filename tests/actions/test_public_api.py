from __future__ import annotations


def test_public_api_is_importable():
    from bot.actions.approvals import Inquiry, Verdict, check, params_hash  # noqa: F401
    from bot.actions.executor import Executor  # noqa: F401
    from bot.actions.policy import Decision, Policy, PolicyContext, PolicyError, load_policy  # noqa: F401
    from bot.actions.ports import (  # noqa: F401
        AutoScaling,
        CacheTarget,
        ChangeHistory,
        Directory,
        FlagService,
        MetricsReader,
        Pager,
        Ports,
        Rds,
        Ssm,
    )
    from bot.actions.registry import Registry
    from bot.actions.runtime import ActionDeps, ActionRequest, Outcome, Submission  # noqa: F401
    from bot.actions.service import ActionService

    assert {"submit", "decide", "request_approval", "expire_due", "reset_breaker", "set_freeze", "inquiry",
            "policy_context", "view"} <= set(dir(ActionService))
    assert {"validate", "json_schema", "tool_definitions", "for_mitigation", "get", "names"} <= set(dir(Registry))
    assert {"run", "find_interrupted"} <= set(dir(Executor))
