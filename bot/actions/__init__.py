"""Actions: the allowlisted registry, the policy, approvals and the executor.

The public API (pinned by ``tests/actions/test_public_api.py``)::

    Registry.builtin()          validate / json_schema / tool_definitions / for_mitigation
    Policy, PolicyContext, Decision, load_policy
    ActionDeps, ActionRequest, ActionService (submit, decide, request_approval, expire_due,
                                              reset_breaker, set_freeze, inquiry, executor.run,
                                              executor.find_interrupted)
    Ports and the port protocols in :mod:`bot.actions.ports`

Import from the submodules; this package imports nothing at import time.
"""
