from __future__ import annotations

import pytest

from bot.investigation.evidence import CATEGORIES
from bot.knowledge.index import KnowledgeIndex
from bot.knowledge.memory import IncidentMemory, IncidentRecord, memory_evidence


def rec(key: str, summary: str, services: list[str], category: str, **kw: object) -> IncidentRecord:
    return IncidentRecord(key=key, summary=summary, services=services, category=category, **kw)  # type: ignore[arg-type]


@pytest.fixture
def memory(index: KnowledgeIndex) -> IncidentMemory:
    m = IncidentMemory(index)
    m.remember(rec("INC-42", "checkout 5xx after pool.max_size was lowered from 40 to 4", ["checkout"],
                   "config_regression", culprit="cfg-77", mitigation="revert_config", minutes_to_mitigate=4))
    m.remember(rec("INC-43", "orders-worker pods OOMKilled every few hours, memory climbing", ["orders-worker"],
                   "memory_leak", mitigation="restart", minutes_to_mitigate=12))
    m.remember(rec("INC-44", "checkout latency from a bad release v2.1", ["checkout"], "deploy_regression",
                   mitigation="rollback", outcome="failed"))
    m.remember(rec("INC-45", "checkout errors after the payment timeout config change", ["checkout", "payments"],
                   "config_regression", mitigation="revert_config", minutes_to_mitigate=6))
    return m


def test_similar(memory: IncidentMemory) -> None:
    got = memory.similar("checkout errors after somebody changed the connection pool size", services=["checkout"], k=2)
    assert [r.key for r, _ in got][:1] == ["INC-42"]
    assert got[0][0].culprit == "cfg-77" and got[0][0].minutes_to_mitigate == 4
    assert got[0][1] >= got[1][1]
    oom = memory.similar("worker keeps getting OOM killed", k=1)
    assert oom[0][0].key == "INC-43"


def test_remember_replaces_by_key(memory: IncidentMemory) -> None:
    memory.remember(rec("INC-43", "orders-worker memory leak again", ["orders-worker"], "memory_leak"))
    assert memory.collection.count() == 4
    assert [r.summary for r in memory.records("orders-worker")] == ["orders-worker memory leak again"]


def test_priors(memory: IncidentMemory) -> None:
    p = memory.priors("checkout")
    assert set(p) == set(CATEGORIES)
    assert sum(p.values()) == pytest.approx(1.0)
    n, c = 3, len(CATEGORIES)
    assert p["config_regression"] == pytest.approx((2 + 1) / (n + c))
    assert p["deploy_regression"] == pytest.approx((1 + 1) / (n + c))
    assert p["memory_leak"] == pytest.approx(1 / (n + c))
    assert memory.priors("never-seen") == pytest.approx({k: 1 / c for k in CATEGORIES})


def test_memory_evidence(memory: IncidentMemory) -> None:
    ids = iter(f"ev-{i}" for i in range(1, 10))
    items = memory_evidence(memory=memory, query_text="checkout errors after the pool size config was changed",
                            services=["checkout"], window=(-360, 0), next_id=lambda: next(ids))
    assert items[0].summary == "seen before: INC-42 (config_regression on checkout), revert_config worked in 4 min"
    assert items[0].source == "incident_memory" and items[0].status == "ok"
    assert items[0].data["culprit"] == "cfg-77"
    failed = [i for i in items if i.data.get("key") == "INC-44"]
    for f in failed:
        assert f.summary.endswith("rollback did not work (failed)")


def test_memory_evidence_empty(index: KnowledgeIndex) -> None:
    (item,) = memory_evidence(memory=IncidentMemory(index), query_text="x", services=[], window=(0, 1),
                              next_id=lambda: "ev-1")
    assert item.status == "no_data"


def test_unknown_category_rejected() -> None:
    with pytest.raises(ValueError, match="unknown category"):
        rec("INC-1", "x", ["a"], "bogus")
