"""investigate() over the shared examples through in-memory sources; failing sources; skills; drill JSON."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.catalog.model import ServiceCatalog
from bot.integrations.errors import IntegrationUnavailable
from bot.integrations.types import HealthStatus, Series
from bot.investigation.drill import run_drill, score, totals
from bot.investigation.pipeline import investigate
from bot.investigation.skills import SkillError, load_skills, parse_skill
from bot.investigation.sources import AlertContext, Sources
from bot.scenarios import load_scenario

from .conftest import EXAMPLES

CASES = sorted(p.stem for p in EXAMPLES.glob("*.yaml"))


@pytest.mark.parametrize("name", CASES)
def test_every_hypothesis_cites_evidence_that_exists(name: str, investigate_example: Callable) -> None:
    _, res = investigate_example(name)
    ids = [e.id for e in res.evidence]
    assert ids == [f"ev-{i}" for i in range(1, len(ids) + 1)]
    for h in res.hypotheses:
        assert h.evidence and set(h.evidence) <= set(ids)


def test_evidence_ids_are_deterministic(investigate_example: Callable) -> None:
    _, a = investigate_example("network")
    _, b = investigate_example("network")
    assert [(e.id, e.source, e.query) for e in a.evidence] == [(e.id, e.source, e.query) for e in b.evidence]


def test_quality_gate_on_the_shared_examples() -> None:
    scores = []
    for p in sorted(EXAMPLES.glob("*.yaml")):
        sc = load_scenario(p)
        assert sc.truth is not None
        scores.append(score(run_drill(sc, direct=True), sc.truth))
    t = totals(scores)
    assert len(scores) == 15
    assert t["top1"] >= 0.9 and t["mitigation"] >= 0.9 and t["cited"] == 1.0, t


class Broken:
    name = "datadog.metrics"

    def list_metrics(self, service: str) -> list[str]:
        return ["error_rate"]

    def query_series(self, service: str, metric: str, start: datetime, end: datetime) -> Series:
        raise IntegrationUnavailable(self.name, "connection refused")

    def health(self) -> HealthStatus:
        return HealthStatus(self.name, False)


class Hanging:
    name = "datadog.logs"

    def log_patterns(self, service: str, start: datetime, end: datetime) -> list:  # type: ignore[type-arg]
        time.sleep(2)
        return []

    def health(self) -> HealthStatus:
        return HealthStatus(self.name, True)


def test_a_failing_or_hanging_source_becomes_evidence_not_a_crash() -> None:
    cat = ServiceCatalog.model_validate({"services": [{"name": "checkout"}]})
    now = datetime.now(UTC)
    res = investigate(alert_context=AlertContext(service="checkout", at=now, metric="error_rate"),
                      sources=Sources(metrics=Broken(), logs=Hanging()), catalog=cat,
                      clock=lambda: now + timedelta(seconds=1), timeout_s=0.3)
    by_source = {e.source: e for e in res.evidence}
    assert by_source["datadog.metrics"].status == "error"
    assert "connection refused" in by_source["datadog.metrics"].summary
    assert by_source["datadog.logs"].status == "error"
    assert res.hypotheses == []


def test_drill_json_has_the_format_shape() -> None:
    sc = load_scenario(EXAMPLES / "config-regression.yaml")
    out = run_drill(sc, direct=True)
    assert set(out) == {"scenario", "severity", "hypotheses", "mitigation", "evidence", "seconds_to_brief"}
    assert out["scenario"] == sc.id and out["severity"] in ("P0", "P1", "P2", "P3")
    h = out["hypotheses"][0]
    assert set(h) == {"category", "culprit", "confidence", "evidence"}
    assert set(out["mitigation"]) == {"kind", "target", "action", "params", "requires_approval"}
    assert out["mitigation"]["kind"] == "revert_config" and out["mitigation"]["params"]["change_id"] == "ev-2"
    e = out["evidence"][0]
    assert set(e) >= {"id", "source", "query", "window", "status", "summary"}


def test_skills_load_and_bad_skills_name_file_and_key(tmp_path: Path) -> None:
    assert {s.name for s in load_skills()} >= {"generic", "error-rate", "latency", "disk"}
    with pytest.raises(SkillError) as e:
        parse_skill("name: x\nsignatures:\n  - {category: nope, phrases: [a]}\n", "x.yaml")
    assert e.value.problems[0].startswith("x.yaml: signatures[0].category:")
    (tmp_path / "bad.yaml").write_text("name: y\ngather:\n  - {signal: telepathy}\n")
    with pytest.raises(SkillError) as e2:
        load_skills(tmp_path)
    assert "bad.yaml: gather[0].signal:" in e2.value.problems[0]


def test_the_runbook_search_runs_beside_the_queries_and_is_numbered_after_them() -> None:
    import threading

    from bot.investigation.evidence import Evidence

    searching = threading.Event()
    query_saw_search: list[bool] = []

    class Logs:
        name = "datadog.logs"

        def log_patterns(self, service: str, start: datetime, end: datetime) -> list:  # type: ignore[type-arg]
            # waits for the runbook search to start: at once only if the two run together
            query_saw_search.append(searching.wait(2.0))
            return []

        def health(self) -> HealthStatus:
            return HealthStatus(self.name, True)

    def knowledge(*, query_text: str, services: list[str], window: tuple[float, float],
                  next_id: int) -> list[Evidence]:
        searching.set()
        return [Evidence(id=f"ev-{next_id}", source="runbooks", query=query_text, window=window, status="ok",
                         summary="runbook checkout.md: roll back the deploy")]

    cat = ServiceCatalog.model_validate({"services": [{"name": "checkout"}]})
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    res = investigate(alert_context=AlertContext(service="checkout", at=now, metric="error_rate"),
                      sources=Sources(logs=Logs()), catalog=cat, knowledge=knowledge,
                      clock=lambda: now + timedelta(seconds=1))
    assert query_saw_search == [True]
    assert time.perf_counter() - t0 < 1.9  # not the 2 s wait: the search started while the query ran
    ids = [e.id for e in res.evidence]
    assert ids == [f"ev-{i}" for i in range(1, len(ids) + 1)]
    assert res.evidence[-1].source == "runbooks" and len(ids) >= 2


def test_a_failing_runbook_search_is_evidence_not_a_crash() -> None:
    def knowledge(**_: object) -> list:  # type: ignore[type-arg]
        raise RuntimeError("chroma is gone")

    cat = ServiceCatalog.model_validate({"services": [{"name": "checkout"}]})
    now = datetime.now(UTC)
    res = investigate(alert_context=AlertContext(service="checkout", at=now, metric="error_rate"),
                      sources=Sources(metrics=Broken()), catalog=cat, knowledge=knowledge,
                      clock=lambda: now + timedelta(seconds=1))
    last = res.evidence[-1]
    assert last.source == "runbooks" and last.status == "error" and "chroma is gone" in last.summary
    assert last.id == f"ev-{len(res.evidence)}"


def test_the_series_of_one_service_are_queried_together() -> None:
    import threading

    from bot.integrations.types import Point

    metrics = ["error_rate", "latency_p95", "requests"]
    all_in = threading.Barrier(len(metrics), timeout=2.0)

    class Metrics:
        name = "datadog.metrics"

        def list_metrics(self, service: str) -> list[str]:
            return metrics

        def query_series(self, service: str, metric: str, start: datetime, end: datetime) -> Series:
            all_in.wait()  # returns only when every series query of the service is in flight at once
            return Series(service, metric, tuple(Point(start + timedelta(minutes=i), 1.0) for i in range(5)))

        def health(self) -> HealthStatus:
            return HealthStatus(self.name, True)

    cat = ServiceCatalog.model_validate({"services": [{"name": "checkout"}]})
    now = datetime.now(UTC)
    res = investigate(alert_context=AlertContext(service="checkout", at=now, metric="error_rate"),
                      sources=Sources(metrics=Metrics()), catalog=cat, clock=lambda: now + timedelta(seconds=1))
    series = [e for e in res.evidence if e.source == "datadog.metrics"]
    assert sorted(e.data["metric"] for e in series) == metrics
    assert all(e.status == "ok" for e in series), [e.summary for e in series]


def test_a_hanging_runbook_search_is_cut_off_at_the_investigations_budget() -> None:
    import threading

    release = threading.Event()

    def knowledge(**_: object) -> list:  # type: ignore[type-arg]
        release.wait(5.0)
        return []

    cat = ServiceCatalog.model_validate({"services": [{"name": "checkout"}]})
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    try:
        res = investigate(alert_context=AlertContext(service="checkout", at=now, metric="error_rate"),
                          sources=Sources(metrics=Broken()), catalog=cat, knowledge=knowledge,
                          clock=lambda: now + timedelta(seconds=1), timeout_s=0.3)
    finally:
        release.set()
    assert time.perf_counter() - t0 < 2.0  # not the 5 s the search would have taken
    last = res.evidence[-1]
    assert last.source == "runbooks" and last.status == "error" and "time budget" in last.summary
    assert [e.id for e in res.evidence] == [f"ev-{i}" for i in range(1, len(res.evidence) + 1)]
