"""Fixtures for knowledge tests: small runbooks, a chromadb index in a temp dir."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.knowledge.index import KnowledgeIndex
from bot.settings import KnowledgeSettings

REPO = Path(__file__).resolve().parents[2]


def runbook_text(
    title: str = "Pool exhausted",
    *,
    services: str = '["checkout"]',
    categories: str = "[connection_leak]",
    actions: str = '[{name: k8s.rollout_restart, params: {deployment: "{service}"}, when: one service holds them}]',
    body: str = "## Diagnosis\nCount connections by application.\n\n## Mitigation\nRestart the leaking service.\n",
    extra: str = "",
) -> str:
    fm = textwrap.dedent(
        f"""\
        ---
        title: {title}
        services: {services}
        symptoms: ["timeouts acquiring a connection"]
        categories: {categories}
        signals: [db_connections_pct]
        actions: {actions}
        """
    )
    return fm + extra + "---\n" + body


@pytest.fixture
def write_runbook(tmp_path: Path) -> Callable[..., Path]:
    directory = tmp_path / "runbooks"
    directory.mkdir()

    def write(name: str, text: str | None = None, **kw: str) -> Path:
        p = directory / name
        p.write_text(text if text is not None else runbook_text(**kw))
        return p

    return write


@pytest.fixture
def index(tmp_path: Path) -> KnowledgeIndex:
    return KnowledgeIndex.from_settings(KnowledgeSettings(chroma_path=tmp_path / "chroma"))


@pytest.fixture(scope="session")
def starter_index(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeIndex:
    """The repository's starter runbooks, indexed once per session."""
    idx = KnowledgeIndex.from_settings(KnowledgeSettings(chroma_path=tmp_path_factory.mktemp("chroma")))
    report = idx.sync_runbooks(REPO / "runbooks")
    assert not report.invalid, report.invalid
    return idx
