"""The reasoner as pure functions over small synthetic evidence, category by category."""

from __future__ import annotations

from bot.investigation.reasoner import reason

from .factories import Ev, catalog

SHOP = catalog(("checkout", "deployment", ["payments", "orders-db"]), ("search", "deployment", ["orders-db"]),
               ("payments", "external", []), ("orders-db", "database", []))


def test_deploy_just_before_the_onset_wins() -> None:
    e = Ev()
    e.series("checkout", "error_rate", 0.002, step=(-7, 0.2))
    dep = e.change("d-1", "deploy", "checkout", -9, version="2", previous="1")
    e.change("c-1", "config", "search", -50, key="k", old="1", new="2")
    h = reason(e.items, SHOP, alert_service="checkout", alert_metric="error_rate")
    assert (h[0].category, h[0].culprit, h[0].mitigation, h[0].target) == ("deploy_regression", "d-1", "rollback",
                                                                          "checkout")
    assert dep in h[0].evidence


def test_change_after_the_onset_loses() -> None:
    e = Ev()
    e.series("checkout", "error_rate", 0.002, step=(-20, 0.2))
    e.change("c-late", "config", "checkout", -5, key="k", old="1", new="2")
    e.change("d-early", "deploy", "checkout", -22, version="2")
    h = reason(e.items, SHOP, alert_service="checkout", alert_metric="error_rate")
    assert h[0].culprit == "d-early"
    late = [x for x in h if x.culprit == "c-late"]
    assert not late or late[0].confidence < 0.3


def test_change_on_an_unrelated_flat_service_loses() -> None:
    e = Ev()
    e.series("checkout", "error_rate", 0.002, step=(-6, 0.2))
    e.series("search", "error_rate", 0.001)
    e.change("c-1", "config", "checkout", -7, key="timeout", old="4000", new="400")
    e.change("d-9", "deploy", "search", -8, version="9")
    h = reason(e.items, SHOP, alert_service="checkout", alert_metric="error_rate")
    assert h[0].culprit == "c-1" and h[0].category == "config_regression"
    assert all(x.culprit != "d-9" or x.confidence < 0.3 for x in h)


def test_status_page_points_at_the_provider() -> None:
    e = Ev()
    e.series("checkout", "error_rate", 0.002, step=(-5, 0.4))
    e.change("sp-1", "status_page", "payments", -4, provider="Pay", status="major_outage")
    e.log("checkout", "payments call returned 503 Service Unavailable", -5,
          sigs=[{"category": "dependency_outage", "weight": 0.8, "phrase": "service unavailable"}])
    h = reason(e.items, SHOP, alert_service="checkout", alert_metric="error_rate")
    assert (h[0].category, h[0].culprit, h[0].target) == ("dependency_outage", "sp-1", "payments")


def test_node_not_ready_with_unknown_pods() -> None:
    e = Ev()
    e.series("checkout", "error_rate", 0.002, step=(-7, 0.2))
    e.nodes([{"name": "n-2", "status": "NotReady", "ready": "Unknown", "since": -8}])
    e.pods("checkout", [{"name": "checkout-a", "node": "n-2", "phase": "Unknown", "since": -8, "restarts": 0}])
    h = reason(e.items, SHOP, alert_service="checkout", alert_metric="error_rate")
    assert (h[0].category, h[0].culprit, h[0].mitigation) == ("node_failure", "n-2", "drain_node")


def test_long_query_matching_db_cpu_onset_is_runaway() -> None:
    e = Ev()
    e.series("orders-db", "db_cpu_pct", 30, step=(-12, 97))
    e.series("checkout", "latency_p95_ms", 180, step=(-10, 1900))
    e.sessions("orders-db", [
        {"id": "s-1", "pid": 11, "user": "analyst", "state": "active", "started": -12, "query": "SELECT ..."},
        {"id": "s-2", "pid": 12, "user": "checkout", "state": "active", "started": -0.1, "query": "SELECT 1"},
    ])
    h = reason(e.items, SHOP, alert_service="checkout", alert_metric="latency_p95_ms")
    assert (h[0].category, h[0].culprit, h[0].target) == ("runaway_query", "s-1", "orders-db")


def test_idle_in_transaction_sessions_of_one_user_are_a_leak_in_its_service() -> None:
    e = Ev()
    e.series("orders-db", "db_connections_pct", 40, ramp=(-300, -10, 99))
    e.series("checkout", "error_rate", 0.002, step=(-9, 0.2))
    e.sessions("orders-db", [
        {"id": f"s-{i}", "pid": i, "user": "search", "state": "idle in transaction", "started": -200 + i * 40,
         "query": "UPDATE"} for i in range(3)])
    h = reason(e.items, SHOP, alert_service="checkout", alert_metric="error_rate")
    assert (h[0].category, h[0].culprit, h[0].mitigation) == ("connection_leak", "search", "restart")


def test_memory_climbing_for_hours_is_a_leak() -> None:
    e = Ev()
    e.series("search", "memory_pct", 45, ramp=(-360, 0, 95), noise=0.01)
    e.pods("search", [{"name": "search-1", "phase": "CrashLoopBackOff", "reason": "OOMKilled", "restarts": 3,
                       "since": -4}])
    h = reason(e.items, SHOP, alert_service="search", alert_metric="memory_pct")
    assert (h[0].category, h[0].culprit, h[0].mitigation) == ("memory_leak", "search", "restart")


def test_recovered_signal_is_a_false_positive() -> None:
    e = Ev()
    e.series("search", "queue_depth", 300, noise=0.05)
    e.pods("search", [{"name": "search-1", "phase": "Running", "restarts": 0}])
    h = reason(e.items, SHOP, alert_service="search", alert_metric="queue_depth")
    assert h[0].category == "false_positive" and h[0].culprit is None and h[0].mitigation == "none"


def test_several_callers_timing_out_on_one_dependency_is_network() -> None:
    cat = catalog(("a", "deployment", ["cache"]), ("b", "deployment", ["cache"]), ("cache", "cache", []))
    e = Ev()
    sig = [{"category": "network", "weight": 0.9, "phrase": "i/o timeout"}]
    e.series("a", "error_rate", 0.002, step=(-6, 0.14))
    e.series("b", "error_rate", 0.002, step=(-6, 0.1))
    e.series("cache", "rps", 5000, step=(-6, 200))
    e.log("a", "cache GET failed: dial tcp 10.0.0.1:6379: i/o timeout", -6, sigs=sig)
    e.log("b", "lookup failed: dial tcp 10.0.0.1:6379: i/o timeout", -6, sigs=sig)
    e.change("d-a", "deploy", "a", -8, version="2")
    h = reason(e.items, cat, alert_service="a", alert_metric="error_rate")
    assert (h[0].category, h[0].culprit, h[0].target) == ("network", "cache", "cache")


def test_every_hypothesis_cites_existing_evidence() -> None:
    e = Ev()
    e.series("checkout", "error_rate", 0.002, step=(-7, 0.2))
    e.change("d-1", "deploy", "checkout", -9, version="2")
    ids = {x.id for x in e.items}
    for h in reason(e.items, SHOP, alert_service="checkout", alert_metric="error_rate"):
        assert h.evidence and set(h.evidence) <= ids


def test_no_evidence_no_hypothesis() -> None:
    assert reason([], SHOP, alert_service="checkout", alert_metric="error_rate") == []
