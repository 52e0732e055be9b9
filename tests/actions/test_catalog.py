"""Handlers, prechecks, checkpoints and reverts of the catalog, called directly on fakes."""

from __future__ import annotations

import pytest

from bot.actions.catalog.infra import free_disk_commands
from bot.actions.ports import CommandResult, PortMissing, Ports
from bot.actions.registry import Registry
from bot.actions.spec import ActionFailed, PreconditionFailed
from bot.integrations.types import ChangeEvent, DbSession, NodeStatus, PodStatus

from .conftest import T0, FakeDb, FakeFlags, FakeK8s, FakeMetrics

R = Registry.builtin()


def _run(name, params, ports):
    spec = R.get(name)
    p = R.validate(name, params)
    spec.precheck(p, ports)
    cp = spec.checkpoint(p, ports)
    return spec, p, cp, spec.handler(p, ports)


class Changes:
    def __init__(self, *events):
        self.events = {e.id: e for e in events}

    def get(self, change_id):
        return self.events[change_id]


def test_configmap_revert_checks_the_change_and_restores():
    k8s = FakeK8s(FakeMetrics())
    k8s.cms[("shop", "checkout-config")] = {"pool.max_size": "4", "other": "x"}
    cfg = ChangeEvent("cfg-77", "config", T0, "checkout", "t", {"key": "pool.max_size", "old": "40", "new": "4"})
    ports = Ports(k8s=k8s, changes=Changes(cfg))
    params = {"change_id": "cfg-77", "namespace": "shop", "configmap": "checkout-config", "key": "pool.max_size",
              "value": "40"}
    spec, p, cp, _ = _run("k8s.configmap_revert", params, ports)
    assert cp == {"key": "pool.max_size", "value": "4"}
    assert k8s.cms[("shop", "checkout-config")]["pool.max_size"] == "40"
    with pytest.raises(PreconditionFailed, match="already has the old value"):
        spec.precheck(p, ports)
    spec.revert(p, cp, ports)
    assert k8s.cms[("shop", "checkout-config")] == {"pool.max_size": "4", "other": "x"}
    with pytest.raises(PreconditionFailed, match="not from '41'"):
        R.get("k8s.configmap_revert").precheck(R.validate("k8s.configmap_revert", params | {"value": "41"}), ports)


def test_flag_disable_and_revert():
    flags = FakeFlags()
    flags.flags[("search", "new_ranker")] = "true"
    ports = Ports(flags=flags)
    spec, p, cp, _ = _run("flags.disable", {"service": "search", "flag": "new_ranker"}, ports)
    assert flags.flags[("search", "new_ranker")] == "false" and cp == {"value": "true"}
    spec.revert(p, cp, ports)
    assert flags.flags[("search", "new_ranker")] == "true"


def test_drain_node_cordons_evicts_and_reverts():
    k8s = FakeK8s(FakeMetrics())
    k8s.node_list = [NodeStatus("node-3", "False", "NotReady", "KubeletStopped", T0)]
    k8s.pod_list = [PodStatus("a-1", "a", "shop", "node-3", "Running", None, 0, T0),
                    PodStatus("b-1", "b", "shop", "node-1", "Running", None, 0, T0)]
    ports = Ports(k8s=k8s)
    spec, p, cp, out = _run("k8s.drain_node", {"node": "node-3", "namespaces": ["shop"]}, ports)
    assert out == {"evicted": ["shop/a-1"]}
    assert k8s.writes == [("cordon", "node-3", True), ("evict", "shop", "a-1")]
    spec.revert(p, cp, ports)
    assert k8s.writes[-1] == ("cordon", "node-3", False)


def test_cancel_query_needs_the_session():
    db = FakeDb()
    db.session_list = [DbSession(4242, "orders", "reporting", "active", "SELECT", None, None)]
    ports = Ports(db=db)
    _run("pg.cancel_query", {"database": "orders", "pid": 4242}, ports)
    assert db.writes == [("cancel", "orders", 4242)]
    with pytest.raises(PreconditionFailed, match="no session with pid 1"):
        R.get("pg.terminate_query").precheck(R.validate("pg.terminate_query", {"database": "orders", "pid": 1}), ports)


def test_free_disk_runs_quoted_commands_and_reports_failure():
    calls = []

    class Ssm:
        def __init__(self, status):
            self.status = status

        def run(self, target, commands, timeout_s):
            calls.append((target, commands))
            return CommandResult(self.status, "12\n")

    p = R.validate("aws.ssm_free_disk", {"target": "logger", "path": "/var/log/app", "older_than_hours": 2})
    assert "find /var/log/app -xdev -type f -mmin +120 -print -delete | wc -l" in free_disk_commands(p)
    assert R.get("aws.ssm_free_disk").handler(p, Ports(ssm=Ssm("Success")))["output"] == "12\n"
    with pytest.raises(ActionFailed, match="ended Failed"):
        R.get("aws.ssm_free_disk").handler(p, Ports(ssm=Ssm("Failed")))


def test_missing_port_is_one_clear_line():
    p = R.validate("aws.rds_failover", {"cluster": "orders"})
    with pytest.raises(PortMissing, match="'aws.rds' integration is not configured"):
        R.get("aws.rds_failover").handler(p, Ports())


def test_source_metrics_reader_takes_the_last_point():
    from datetime import timedelta

    from bot.actions.ports import SourceMetricsReader
    from bot.integrations.types import Point, Series

    class Source:
        name = "fake"

        def query_series(self, service, metric, start, end):
            assert end - start == timedelta(minutes=5)
            if metric == "none":
                return Series(service, metric, ())
            return Series(service, metric, (Point(start, 0.1), Point(end, 0.02)))

    reader = SourceMetricsReader(Source(), now=lambda: T0)  # type: ignore[arg-type]
    assert reader.current("checkout", "error_rate") == 0.02
    assert reader.current("checkout", "none") is None


def test_source_metrics_reader_ignores_one_noisy_minute():
    from bot.actions.ports import SourceMetricsReader
    from bot.integrations.types import Point, Series

    class Source:
        name = "fake"

        def query_series(self, service, metric, start, end):
            vals = [0.01, 0.011, 0.2] if metric == "spike" else [0.01, 0.2, 0.21]
            return Series(service, metric, tuple(Point(start, v) for v in vals))

    reader = SourceMetricsReader(Source(), now=lambda: T0)  # type: ignore[arg-type]
    assert reader.current("checkout", "spike") == 0.011  # one spike: the median of the last three
    assert reader.current("checkout", "shift") == 0.2  # a real shift shows
