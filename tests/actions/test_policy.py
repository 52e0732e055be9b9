from __future__ import annotations

import pytest

from bot.actions.policy import Policy, PolicyContext, PolicyError, load_policy, parse_policy
from bot.actions.registry import Registry

R = Registry.builtin()
RESTART = R.get("k8s.rollout_restart")  # low, reversible
UNDO = R.get("k8s.rollout_undo")  # medium, reversible
FLUSH = R.get("redis.flush")  # medium, irreversible
READ = R.get("k8s.describe_deployment")

AUTO = Policy(parse_policy({"default": "autonomous"}))
SUPERVISED = Policy()


@pytest.mark.parametrize(
    ("policy", "spec", "ctx", "mode", "reason"),
    [
        (AUTO, RESTART, PolicyContext(), "execute", "autonomous"),
        (SUPERVISED, RESTART, PolicyContext(), "needs_approval", "supervised"),
        (AUTO, RESTART, PolicyContext(freeze=True), "shadow", "freeze"),
        (AUTO, READ, PolicyContext(freeze=True), "execute", "read-only"),
        (AUTO, RESTART, PolicyContext(tier="critical"), "needs_approval", "critical-tier"),
        (AUTO, FLUSH, PolicyContext(), "needs_approval", "cannot be undone"),
        (AUTO, UNDO, PolicyContext(), "needs_approval", "medium risk"),
        (AUTO, RESTART, PolicyContext(attempts_this_incident=2), "refuse", "escalate"),
        (AUTO, RESTART, PolicyContext(attempts_this_incident=5, requested_by="U1"), "execute", "autonomous"),
        (AUTO, RESTART, PolicyContext(service_actions_last_hour=4), "refuse", "rate limit"),
        (AUTO, RESTART, PolicyContext(global_actions_last_hour=20), "refuse", "rate limit"),
        (AUTO, RESTART, PolicyContext(open_breakers={"checkout:k8s.rollout_restart": "opened after 2 reverts"}),
         "refuse", "circuit breaker open"),
        (AUTO, UNDO, PolicyContext(open_breakers={"checkout:k8s.rollout_restart": "x"}), "needs_approval", "medium"),
        (Policy(parse_policy({"default": "shadow"})), RESTART, PolicyContext(), "shadow", "shadow"),
        (Policy(parse_policy({"default": "advisory"})), RESTART, PolicyContext(), "advisory", "advisory"),
        (Policy(parse_policy({"default": "advisory"})), RESTART, PolicyContext(requested_by="U1"),
         "needs_approval", "requested by"),
        (SUPERVISED, RESTART, PolicyContext(overrides={("checkout", None): "autonomous"}), "execute", "autonomous"),
    ],
)
def test_decide(policy, spec, ctx, mode, reason):
    d = policy.decide(spec, "checkout", ctx)
    assert d.mode == mode, d.reasons
    assert any(reason in r for r in d.reasons), d.reasons


def test_escalate_flag_and_self_approval():
    d = AUTO.decide(RESTART, "checkout", PolicyContext(attempts_this_incident=2))
    assert d.escalate
    assert AUTO.decide(FLUSH, "checkout", PolicyContext()).requester_may_approve is False
    assert SUPERVISED.decide(RESTART, "checkout", PolicyContext()).requester_may_approve is True


def test_most_specific_level_wins():
    p = Policy(parse_policy({
        "default": "advisory",
        "actions": {"k8s.rollout_restart": "autonomous"},
        "services": {"checkout": {"level": "supervised", "actions": {"k8s.scale": "shadow"}}},
    }))
    assert p.level("search", "k8s.scale") == "advisory"
    assert p.level("search", "k8s.rollout_restart") == "autonomous"
    assert p.level("checkout", "k8s.rollout_restart") == "supervised"
    assert p.level("checkout", "k8s.scale") == "shadow"
    assert p.level("checkout", "k8s.scale", {("checkout", "k8s.scale"): "autonomous"}) == "autonomous"
    assert Policy().level("x", "y") == "supervised"


def test_max_attempts_from_file():
    p = Policy(parse_policy({"default": "autonomous", "max_auto_attempts": 1}), max_auto_attempts=2)
    assert p.decide(RESTART, "checkout", PolicyContext(attempts_this_incident=1)).mode == "refuse"


def test_policy_errors_name_the_key_path(tmp_path):
    with pytest.raises(PolicyError) as e:
        parse_policy({"services": {"checkout": {"levle": "autonomous"}}, "default": "yolo"})
    msg = str(e.value)
    assert "policy.yaml: services.checkout.levle: unknown key" in msg
    assert "policy.yaml: default:" in msg
    with pytest.raises(PolicyError, match="actions.k8s.restrat: unknown action"):
        parse_policy({"actions": {"k8s.restrat": "autonomous"}}, known_actions=set(R.names()))
    bad = tmp_path / "p.yaml"
    bad.write_text("default: [")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policy(bad)


def test_example_policy_file_is_valid():
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "policy.example.yaml"
    pf = load_policy(path, known_actions=set(R.names()))
    assert pf.default == "supervised"
