from __future__ import annotations

import itertools
import socket
from pathlib import Path

import pytest

from bot.knowledge.index import KnowledgeIndex
from bot.knowledge.known_actions import KNOWN_ACTIONS
from bot.knowledge.retrieval import build_query, runbook_evidence
from bot.settings import KnowledgeSettings
from tests.knowledge.conftest import runbook_text


def test_incremental_reindex(index: KnowledgeIndex, write_runbook) -> None:  # type: ignore[no-untyped-def]
    a = write_runbook("a.md", title="Pool exhausted")
    write_runbook("b.md", title="Disk full", categories="[disk_full]")
    directory = a.parent
    first = index.sync_runbooks(directory, known_actions=KNOWN_ACTIONS)
    assert sorted(first.indexed) == ["runbooks/a.md", "runbooks/b.md"] and first.chunks > 0

    second = index.sync_runbooks(directory, known_actions=KNOWN_ACTIONS)
    assert second.indexed == [] and sorted(second.unchanged) == ["runbooks/a.md", "runbooks/b.md"]
    assert second.chunks == 0

    a.write_text(runbook_text(title="Pool exhausted", body="## Diagnosis\nNew text about idle sessions.\n"))
    third = index.sync_runbooks(directory, known_actions=KNOWN_ACTIONS)
    assert third.indexed == ["runbooks/a.md"] and third.unchanged == ["runbooks/b.md"]
    got = index.runbooks.get(where={"path": "runbooks/a.md"}, include=["documents"])
    assert any("idle sessions" in d for d in got["documents"] or [])
    assert not any("Restart the leaking service" in d for d in got["documents"] or [])

    (directory / "b.md").unlink()
    fourth = index.sync_runbooks(directory, known_actions=KNOWN_ACTIONS)
    assert fourth.removed == ["runbooks/b.md"]
    assert index.runbooks.get(where={"path": "runbooks/b.md"})["ids"] == []
    assert set(index.indexed_hashes()) == {"runbooks/a.md"}


def test_invalid_file_is_reported_and_keeps_previous_version(index: KnowledgeIndex, write_runbook) -> None:  # type: ignore[no-untyped-def]
    a = write_runbook("a.md")
    index.sync_runbooks(a.parent, known_actions=KNOWN_ACTIONS)
    a.write_text(runbook_text(actions="[{name: k8s.restartt}]"))
    report = index.sync_runbooks(a.parent, known_actions=KNOWN_ACTIONS)
    assert list(report.invalid) == ["runbooks/a.md"] and report.removed == []
    assert "runbooks/a.md" in index.indexed_hashes()


def test_reopen_persisted_collection_without_warnings(tmp_path: Path, write_runbook) -> None:  # type: ignore[no-untyped-def]
    settings = KnowledgeSettings(chroma_path=tmp_path / "chroma")
    a = write_runbook("a.md")
    KnowledgeIndex.from_settings(settings).sync_runbooks(a.parent, known_actions=KNOWN_ACTIONS)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = KnowledgeIndex.from_settings(settings)
        assert again.search("connections", k=1)[0].path == "runbooks/a.md"


@pytest.mark.parametrize(
    ("description", "service", "expected"),
    [
        ("orders-db refuses connections: too many clients already", "orders", "runbooks/db-connection-pool.md"),
        ("node-7 went NotReady and its pods are Unknown", None, "runbooks/node-failure.md"),
        ("redis at maxmemory, evictions through the roof", "sessions-cache", "runbooks/cache-saturation.md"),
        ("checkout errors jumped right after version 3.2 was released", "checkout", "runbooks/deploy-regression.md"),
        ("ssl certificate expired on api.example.com", None, "runbooks/cert-expiry.md"),
    ],
)
def test_search_finds_the_right_runbook(starter_index: KnowledgeIndex, description: str, service: str | None, expected: str) -> None:
    hits = starter_index.search(description, k=3, services=[service] if service else [])
    assert expected in [h.path for h in hits]
    top = hits[0]
    assert top.section and top.snippet and 0 < top.score <= 1.1
    assert all(isinstance(a["name"], str) for a in top.actions)


def test_service_boost(index: KnowledgeIndex, write_runbook) -> None:  # type: ignore[no-untyped-def]
    a = write_runbook("a.md", services='["checkout"]')
    write_runbook("b.md", services='["orders"]')
    index.sync_runbooks(a.parent, known_actions=KNOWN_ACTIONS)
    plain = {h.path: h.score for h in index.search("connection timeouts", k=2)}
    boosted = {h.path: h.score for h in index.search("connection timeouts", k=2, services=["orders"])}
    assert boosted["runbooks/b.md"] == pytest.approx(plain["runbooks/b.md"] + 0.05, abs=1e-3)
    assert boosted["runbooks/a.md"] == pytest.approx(plain["runbooks/a.md"], abs=1e-3)


def test_runbook_evidence(starter_index: KnowledgeIndex) -> None:
    counter = itertools.count(1)
    q = build_query(
        service="checkout",
        alert_title="checkout error rate above 5%",
        log_messages=["timeout acquiring connection from pool", "remaining connection slots are reserved"],
        categories=["connection_leak"],
    )
    items = runbook_evidence(index=starter_index, query_text=q, services=["checkout"], window=(-60, 0),
                             next_id=lambda: f"ev-{next(counter)}")
    assert items[0].source == "runbooks" and items[0].status == "ok" and items[0].id == "ev-1"
    assert items[0].data["path"] == "runbooks/db-connection-pool.md"
    assert items[0].summary.startswith("runbook runbooks/db-connection-pool.md §")
    assert "matches (score 0." in items[0].summary
    assert items[0].window == (-60, 0) and items[0].query == q
    assert items[0].data["actions"][0]["name"] == "k8s.rollout_restart"


def test_runbook_evidence_no_data_and_error(index: KnowledgeIndex) -> None:
    ids = iter(["ev-1", "ev-2"])
    (item,) = runbook_evidence(index=index, query_text="anything", services=[], window=(-5, 0), next_id=lambda: next(ids))
    assert item.status == "no_data"

    class Broken:
        def search(self, *a: object, **k: object) -> list[object]:
            raise RuntimeError("chroma down")

    (err,) = runbook_evidence(index=Broken(), query_text="x", services=[], window=(-5, 0), next_id=lambda: "ev-9")  # type: ignore[arg-type]
    assert err.status == "error" and "chroma down" in err.summary


def test_indexing_works_with_network_blocked(tmp_path: Path, write_runbook, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    attempts: list[object] = []

    def is_loopback(address: object) -> bool:
        host = address[0] if isinstance(address, tuple) else address
        return isinstance(host, str) and (host.startswith("127.") or host in ("::1", "localhost"))

    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: object) -> None:
        if self.family == socket.AF_UNIX or is_loopback(address):
            return real_connect(self, address)  # type: ignore[arg-type]
        attempts.append(address)
        raise OSError(f"network blocked in test: {address}")

    def create_connection(address: object, *a: object, **k: object) -> socket.socket:
        attempts.append(address)
        raise OSError(f"network blocked in test: {address}")

    def getaddrinfo(host: object, *a: object, **k: object) -> list[object]:
        attempts.append(host)
        raise socket.gaierror(f"DNS blocked in test: {host}")

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    a = write_runbook("a.md")
    idx = KnowledgeIndex.from_settings(KnowledgeSettings(chroma_path=tmp_path / "offline-chroma"))
    report = idx.sync_runbooks(a.parent, known_actions=KNOWN_ACTIONS)
    assert report.indexed == ["runbooks/a.md"]
    assert idx.search("connection pool timeouts", k=1)[0].path == "runbooks/a.md"
    assert attempts == []
