"""False positives that outlast their signal or are planned, and capacity behind a caller (synthetic evidence)."""

from __future__ import annotations

from bot.investigation.reasoner import build, reason
from bot.investigation.reasoner.facts import raw_name
from bot.investigation.reasoner.resources import demand
from bot.investigation.reasoner.schedule import drained, impact, job_runs, rise_start, scheduled_work

from .factories import Ev, catalog

QUEUE = catalog(("producer", "deployment", ["jobs-q"]), ("jobs-q", "queue", []),
                ("consumer", "deployment", ["jobs-q"]), ("batch", "deployment", ["producer"]))
RENDER = catalog(("edge", "deployment", ["render"]), ("render", "deployment", ["db"]),
                 ("warmer", "deployment", ["render"]), ("db", "database", []))
CHAIN = catalog(("gateway", "deployment", ["checker", "engine"]), ("checker", "deployment", ["db"]),
                ("engine", "deployment", []), ("db", "database", []))


def _facts(e: Ev, cat, service: str, metric: str):  # type: ignore[no-untyped-def]
    return build(e.items, cat, alert_service=service, alert_metric=metric, alert_source="datadog")


# --- smoothed alert metrics -------------------------------------------------------------------------------


def test_raw_name_strips_averaging_and_windows() -> None:
    assert raw_name("queue_depth_avg_15m") == "queue_depth"
    assert raw_name("rolling_error_rate_5m") == "error_rate"
    assert raw_name("avg_cpu_pct_over_10m") == "cpu_pct"
    assert raw_name("error_rate_15m") == "error_rate"
    assert raw_name("queue_depth") is None
    assert raw_name("latency_p95_ms") is None
    assert raw_name("avg") is None


def test_average_still_high_after_the_raw_signal_recovered_is_a_false_positive() -> None:
    e = Ev()
    e.series("jobs-q", "queue_depth", 1000, blip=(-19, -6, 200000), noise=0.05)
    e.series("jobs-q", "queue_depth_avg_15m", 1000, ramp=(-18, -5, 110000), noise=0.01)
    e.change("cron-1", "cron", "batch", -20, job="blast", status="started")
    e.change("cron-2", "cron", "batch", -14, job="blast", status="finished")
    e.change("cfg-1", "config", "consumer", -22, key="log.level", old="INFO", new="DEBUG")
    e.pods("consumer", [{"name": "consumer-1", "phase": "Running", "restarts": 0}])
    h = reason(e.items, QUEUE, alert_service="jobs-q", alert_metric="queue_depth_avg_15m")
    assert h[0].category == "false_positive" and h[0].mitigation == "none"
    assert all(x.culprit != "cfg-1" for x in h)  # the average's late onset is not read as following the config


def test_average_and_raw_both_still_high_is_not_a_false_positive() -> None:
    e = Ev()
    e.series("jobs-q", "queue_depth", 1000, step=(-19, 200000), noise=0.05)
    e.series("jobs-q", "queue_depth_avg_15m", 1000, ramp=(-18, -4, 200000), noise=0.01)
    h = reason(e.items, QUEUE, alert_service="jobs-q", alert_metric="queue_depth_avg_15m")
    assert all(x.category != "false_positive" for x in h)


def test_a_smoothed_series_gives_no_onset_when_its_raw_series_is_there() -> None:
    e = Ev()
    e.series("jobs-q", "queue_depth", 1000, blip=(-19, -6, 200000), noise=0.05)
    e.series("jobs-q", "queue_depth_avg_15m", 1000, ramp=(-18, -5, 110000), noise=0.01)
    f = _facts(e, QUEUE, "jobs-q", "queue_depth_avg_15m")
    assert [s.metric for s in f.primary("jobs-q")] == ["queue_depth"]
    assert f.onsets("jobs-q") == [] and not f.symptomatic("jobs-q")


# --- scheduled work ---------------------------------------------------------------------------------------


def _prewarm(e: Ev) -> None:
    e.series("render", "cpu_pct", 34, step=(-30, 94), noise=0.02)
    e.series("render", "rps", 600, step=(-30, 2400))
    e.series("render", "latency_p95_ms", 300)
    e.series("edge", "latency_p95_ms", 45)
    e.series("edge", "error_rate", 0.001)
    e.change("pw-1", "cron", "warmer", -30, job="prewarm", status="started")
    e.change("hpa-1", "scaling", "render", -22, old="6", new="9")
    e.pods("render", [{"name": f"render-{i}", "phase": "Running", "restarts": 0} for i in range(9)])


def test_load_held_by_an_on_time_scheduled_job_that_hurts_no_one_is_a_false_positive() -> None:
    e = Ev()
    _prewarm(e)
    h = reason(e.items, RENDER, alert_service="render", alert_metric="cpu_pct")
    assert (h[0].category, h[0].culprit, h[0].mitigation) == ("false_positive", None, "none")
    cap = [x for x in h if x.category == "capacity"]
    assert not cap or cap[0].confidence < 0.5  # scaled-up, planned load is not a shortage


def test_the_same_load_with_callers_slowing_down_is_capacity() -> None:
    e = Ev()
    _prewarm(e)
    e.series("edge", "latency_p95_ms", 45, step=(-25, 900), seed=5)
    h = reason(e.items, RENDER, alert_service="render", alert_metric="cpu_pct")
    assert all(x.category != "false_positive" for x in h)
    assert (h[0].category, h[0].culprit) == ("capacity", "render")


def test_an_overdue_run_explains_nothing() -> None:
    e = Ev()
    e.change("r-0", "cron", "warmer", -200, job="prewarm", status="started")
    e.change("r-1", "cron", "warmer", -190, job="prewarm", status="finished")
    e.change("r-2", "cron", "warmer", -40, job="prewarm", status="started")
    e.series("render", "cpu_pct", 34, step=(-38, 94), noise=0.02)
    f = _facts(e, RENDER, "render", "cpu_pct")
    runs = {r.job: r for r in job_runs(f)}
    assert runs["prewarm"].durations == [10.0] and runs["prewarm"].overdue() == 4.0
    assert scheduled_work(f, -38) == []


def test_scheduled_work_must_still_be_running_and_start_with_the_onset() -> None:
    e = Ev()
    e.change("a", "cron", "warmer", -95, job="import", status="started")
    e.change("b", "cron", "warmer", -34, job="import", status="finished")
    e.change("c", "cron", "warmer", -30, job="prewarm", status="started")
    e.change("m", "maintenance", "db", -60, note="vacuum")
    f = _facts(e, RENDER, "render", "cpu_pct")
    assert [ch.id for ch in scheduled_work(f, -30)] == ["c"]


def test_impact_sees_caller_latency_unhealthy_pods_and_new_warnings_only() -> None:
    e = Ev()
    e.series("edge", "latency_p95_ms", 45)
    e.log("render", "slow render", -300, level="warn")  # there all along
    f = _facts(e, RENDER, "render", "cpu_pct")
    assert impact(f, "render", -30) == []
    lat = e.series("edge", "latency_p95_ms", 45, step=(-20, 700), seed=9)
    pod = e.pods("render", [{"name": "render-1", "phase": "CrashLoopBackOff", "restarts": 4}])
    warn = e.log("edge", "upstream render timed out", -18, level="warn")
    f = _facts(e, RENDER, "render", "cpu_pct")
    assert set(impact(f, "render", -30)) == {lat, pod, warn}


# --- capacity behind a caller -----------------------------------------------------------------------------


def _volatility(e: Ev) -> None:
    e.series("gateway", "rps", 7000, ramp=(-35, -15, 22000))
    e.series("gateway", "cpu_pct", 38, step=(-20, 55))
    e.series("gateway", "latency_p95_ms", 18, ramp=(-18, -6, 640), noise=0.05)
    e.series("checker", "cpu_pct", 41, ramp=(-35, -18, 99), noise=0.005)
    e.series("checker", "queue_depth", 30, ramp=(-18, -8, 4000))
    e.series("engine", "rps", 7000, ramp=(-35, -15, 15000))
    e.series("engine", "cpu_pct", 30, ramp=(-35, -15, 52))
    e.change("hpa-1", "scaling", "gateway", -20, old="12", new="20")


def test_a_saturated_service_without_traffic_metrics_takes_its_callers_demand() -> None:
    e = Ev()
    _volatility(e)
    f = _facts(e, CHAIN, "gateway", "latency_p95_ms")
    grew, own = demand(f, "checker")
    assert [s.service for s in grew] == ["gateway"] and not own
    grew, own = demand(f, "engine")
    assert [s.service for s in grew] == ["engine"] and own


def test_the_bottleneck_behind_the_alerting_caller_is_the_capacity_culprit() -> None:
    e = Ev()
    _volatility(e)
    h = reason(e.items, CHAIN, alert_service="gateway", alert_metric="latency_p95_ms")
    assert (h[0].category, h[0].culprit, h[0].mitigation, h[0].target) == ("capacity", "checker", "scale_out",
                                                                          "checker")
    assert all(x.culprit != "gateway" for x in h if x.category == "capacity")


def test_an_own_flat_traffic_metric_is_not_overridden_by_callers() -> None:
    e = Ev()
    _volatility(e)
    e.series("checker", "rps", 5000)
    f = _facts(e, CHAIN, "gateway", "latency_p95_ms")
    assert demand(f, "checker") == ([], True)


def test_a_smoothed_error_rate_that_lags_its_recovered_raw_series_is_not_a_live_symptom() -> None:
    cat = catalog(("api", "deployment", []))
    e = Ev()
    e.series("api", "error_rate", 0.002, blip=(-20, -8, 0.2), noise=0.05)
    e.series("api", "error_rate_avg_15m", 0.002, ramp=(-19, -6, 0.09), noise=0.01)
    e.pods("api", [{"name": "api-1", "phase": "Running", "restarts": 0}])
    h = reason(e.items, cat, alert_service="api", alert_metric="error_rate_avg_15m")
    assert h[0].category == "false_positive" and h[0].confidence >= 0.6


# --- backlogs filled by scheduled work --------------------------------------------------------------------

BATCH = catalog(("web", "deployment", ["db"]), ("worker", "deployment", ["work-q", "db"]),
                ("work-q", "queue", []), ("db", "database", []))


def _batch_fill(e: Ev) -> str:
    q = e.series("work-q", "queue_depth", 200, ramp=(-16, -6, 80000), noise=0.02)
    e.series("worker", "messages_processed_per_min", 50, step=(-15, 9000))
    e.series("worker", "error_rate", 0.001)
    e.series("web", "latency_p95_ms", 120)
    e.series("web", "error_rate", 0.002)
    e.change("run-1", "cron", "worker", -16, job="nightly-rollup", status="started")
    e.change("cfg-1", "config", "worker", -34, key="log.format", old="text", new="json")
    e.change("hpa-1", "scaling", "worker", -9, old="2", new="4")
    e.pods("worker", [{"name": f"worker-{i}", "phase": "Running", "restarts": 0} for i in range(4)])
    return q


def test_a_backlog_filled_by_on_time_scheduled_work_and_drained_is_a_false_positive() -> None:
    e = Ev()
    q = _batch_fill(e)
    f = _facts(e, BATCH, "work-q", "queue_depth")
    s = f.get("work-q", "queue_depth")
    assert s is not None and s.ev == q
    start = rise_start(s)
    assert start is not None and start <= -14 and (s.shape.onset is None or start <= s.shape.onset)
    assert drained(f, s)
    h = reason(e.items, BATCH, alert_service="work-q", alert_metric="queue_depth")
    assert (h[0].category, h[0].culprit, h[0].mitigation) == ("false_positive", None, "none")
    cfg = [x for x in h if x.culprit == "cfg-1"]
    assert not cfg or cfg[0].confidence < h[0].confidence / 2  # a change far before the rise does not compete


def test_a_backlog_whose_consumer_slowed_is_not_a_false_positive() -> None:
    e = Ev()
    _batch_fill(e)
    e.series("worker", "messages_processed_per_min", 9000, step=(-15, 900), seed=7)
    h = reason(e.items, BATCH, alert_service="work-q", alert_metric="queue_depth")
    assert all(x.category != "false_positive" for x in h)


def test_a_backlog_with_consumer_errors_or_a_late_start_is_not_a_false_positive() -> None:
    e = Ev()
    _batch_fill(e)
    e.series("worker", "error_rate", 0.001, step=(-14, 0.2), seed=8)
    h = reason(e.items, BATCH, alert_service="work-q", alert_metric="queue_depth")
    assert all(x.category != "false_positive" for x in h)
    e = Ev()
    e.series("work-q", "queue_depth", 200, ramp=(-16, -6, 80000), noise=0.02)
    e.series("worker", "messages_processed_per_min", 50, step=(-15, 9000))
    e.change("run-1", "cron", "worker", -40, job="nightly-rollup", status="started")  # began long before
    h = reason(e.items, BATCH, alert_service="work-q", alert_metric="queue_depth")
    assert all(x.category != "false_positive" for x in h)
