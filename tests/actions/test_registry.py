from __future__ import annotations

import pytest

from bot.actions.registry import Registry
from bot.actions.spec import InvalidParams, NoActionFor, UnknownAction
from bot.integrations.types import ChangeEvent, DbSession, RolloutRevision
from bot.investigation.evidence import MITIGATION_KINDS

from .conftest import T0

R = Registry.builtin()


def test_catalog_covers_every_mitigation_kind():
    kinds = {s.mitigation_kind for s in R.specs() if s.mitigation_kind}
    assert kinds == set(MITIGATION_KINDS)


def test_public_catalog_names():
    assert R.names() == sorted([
        "aws.asg_set_capacity", "aws.rds_failover", "aws.ssm_free_disk", "flags.disable", "incident.escalate",
        "incident.none", "k8s.configmap_revert", "k8s.describe_deployment", "k8s.drain_node",
        "k8s.rollout_restart", "k8s.rollout_undo", "k8s.scale", "metrics.read", "pg.cancel_query",
        "pg.list_sessions", "pg.terminate_query", "redis.flush", "runbooks.apply_update",
    ])


def test_irreversible_and_risk_flags():
    assert not R.get("pg.terminate_query").reversible
    assert not R.get("redis.flush").reversible
    assert R.get("aws.rds_failover").risk == "high" and not R.get("aws.rds_failover").reversible
    assert R.get("k8s.drain_node").revert is not None
    # every non-mitigating action reads only, except the learning step that writes an approved runbook
    assert all(s.read_only for s in R.specs() if s.mitigation_kind is None and not s.name.startswith("runbooks."))
    assert R.get("runbooks.apply_update").reversible and R.get("runbooks.apply_update").revert is not None


def test_validate_returns_model():
    p = R.validate("k8s.scale", {"namespace": "shop", "deployment": "checkout", "replicas": 8})
    assert p.model_dump() == {"namespace": "shop", "deployment": "checkout", "replicas": 8}


def test_invalid_params_one_line_per_field():
    with pytest.raises(InvalidParams) as e:
        R.validate("k8s.scale", {"deployment": "Bad_Name", "replicas": 500, "force": True})
    lines = str(e.value).splitlines()
    assert len(lines) == 3
    assert any(line.startswith("k8s.scale: replicas:") for line in lines)
    assert "k8s.scale: force: unknown parameter" in lines
    with pytest.raises(InvalidParams, match="to_revision: required"):
        R.validate("k8s.rollout_undo", {"deployment": "checkout"})


def test_free_disk_path_is_confined():
    with pytest.raises(InvalidParams, match="path"):
        R.validate("aws.ssm_free_disk", {"target": "i-1", "path": "/"})
    with pytest.raises(InvalidParams, match="path"):
        R.validate("aws.ssm_free_disk", {"target": "i-1", "path": "/var/log/../../etc"})
    assert R.validate("aws.ssm_free_disk", {"target": "i-1", "path": "/var/log/app"})


def test_unknown_action_did_you_mean():
    with pytest.raises(UnknownAction) as e:
        R.get("k8s.rolout_undo")
    assert "did you mean 'k8s.rollout_undo'" in str(e.value)
    with pytest.raises(UnknownAction) as e:
        R.validate("zzz", {})
    assert "did you mean" not in str(e.value)


def test_json_schema_forbids_extra_and_lists_required():
    schema = R.json_schema("k8s.rollout_undo")
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"deployment", "to_revision"}
    assert schema["properties"]["to_revision"]["minimum"] == 1
    assert schema["properties"]["to_revision"]["description"]


def test_tool_definitions_anthropic_format():
    tools = R.tool_definitions()
    assert len(tools) == len(R.names())
    by_name = {t["name"]: t for t in tools}
    t = by_name["k8s__rollout_undo"]
    assert set(t) == {"name", "description", "input_schema"}
    assert t["input_schema"]["type"] == "object"
    assert "risk medium" in t["description"]
    assert "cannot be undone" in by_name["redis__flush"]["description"]
    assert all("." not in t["name"] for t in tools)
    assert R.get("k8s__rollout_undo").name == "k8s.rollout_undo"  # a tool call maps back
    assert len(R.tool_definitions(include_read_only=False)) < len(tools)


@pytest.mark.parametrize(
    ("kind", "target", "ctx", "action", "params"),
    [
        ("restart", "checkout", {"namespace": "shop"}, "k8s.rollout_restart",
         {"namespace": "shop", "deployment": "checkout"}),
        ("rollback", "checkout", {"namespace": "shop", "to_revision": 4}, "k8s.rollout_undo",
         {"namespace": "shop", "deployment": "checkout", "to_revision": 4}),
        ("rollback", "checkout", {"revisions": [RolloutRevision(3, "a", None, None), RolloutRevision(5, "b", None, None),
                                                RolloutRevision(6, "c", None, None)], "current_revision": 6},
         "k8s.rollout_undo", {"namespace": "default", "deployment": "checkout", "to_revision": 5}),
        ("scale_out", "checkout", {"current_replicas": 6}, "k8s.scale",
         {"namespace": "default", "deployment": "checkout", "replicas": 9}),
        ("scale_out", "checkout", {"current_replicas": 40}, "k8s.scale",
         {"namespace": "default", "deployment": "checkout", "replicas": 50}),
        ("scale_out", "web", {"asg_group": "web-asg", "current_desired": 2}, "aws.asg_set_capacity",
         {"group": "web-asg", "desired": 3}),
        ("kill_query", "orders-db", {"session": DbSession(4242, "orders", "reporting", "active", "SELECT", None, None)},
         "pg.cancel_query", {"database": "orders", "pid": 4242}),
        ("kill_query", "orders-db", {"pid": 7, "terminate": True}, "pg.terminate_query",
         {"database": "orders-db", "pid": 7}),
        ("flush_cache", "sessions-cache", {}, "redis.flush", {"cache": "sessions-cache", "pattern": None}),
        ("drain_node", "node-3", {"namespaces": ["shop"]}, "k8s.drain_node", {"node": "node-3", "namespaces": ["shop"]}),
        ("free_disk", "logger", {}, "aws.ssm_free_disk", {"target": "logger", "path": "/var/log", "older_than_hours": 24}),
        ("failover", "orders-db", {}, "aws.rds_failover", {"cluster": "orders-db"}),
        ("none", "checkout", {}, "incident.none", {"service": "checkout", "reason": "no incident: standing down"}),
    ],
)
def test_for_mitigation(kind, target, ctx, action, params):
    assert R.for_mitigation(kind, target, ctx) == (action, params)


def test_for_mitigation_from_change_events():
    cfg = ChangeEvent("cfg-77", "config", T0, "checkout", "pool size",
                      {"key": "pool.max_size", "old": "40", "new": "4", "configmap": "checkout-config"})
    name, params = R.for_mitigation("revert_config", "checkout", {"change": cfg, "namespace": "shop"})
    assert name == "k8s.configmap_revert"
    assert params == {"change_id": "cfg-77", "namespace": "shop", "configmap": "checkout-config",
                      "key": "pool.max_size", "value": "40"}
    flag = ChangeEvent("ff-1", "feature_flag", T0, "search", "flag", {"flag": "new_ranker", "old": "false", "new": "true"})
    assert R.for_mitigation("disable_flag", "search", {"change": flag}) == (
        "flags.disable", {"service": "search", "flag": "new_ranker"})
    name, params = R.for_mitigation("escalate", "payments-api", {"owners": ["U1"], "text": "provider down"})
    assert name == "incident.escalate" and params["owners"] == ["U1"]


def test_for_mitigation_missing_context_is_clear():
    with pytest.raises(NoActionFor, match="to_revision"):
        R.for_mitigation("rollback", "checkout", {})
    with pytest.raises(NoActionFor, match="owners"):
        R.for_mitigation("escalate", "payments", {})
    with pytest.raises(NoActionFor, match="unknown_kind"):
        R.for_mitigation("unknown_kind", "x", {})


def test_rollback_pins_the_revision_of_the_previous_image():
    revs = [RolloutRevision(7, "a", "shop/checkout:v2.3.0", None), RolloutRevision(8, "b", "shop/checkout:v2.3.1", None),
            RolloutRevision(9, "c", "shop/checkout:v2.4.0", None)]
    change = {"id": "dep-1", "attributes": {"version": "v2.4.0", "previous": "v2.3.1"}}
    assert R.for_mitigation("rollback", "checkout", {"change": change, "revisions": revs, "namespace": "shop"}) == (
        "k8s.rollout_undo", {"namespace": "shop", "deployment": "checkout", "to_revision": 8})
