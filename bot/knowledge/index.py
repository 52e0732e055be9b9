"""The chromadb index: runbook sections and incident memory.

:func:`make_client` builds a chromadb client from :class:`KnowledgeSettings`
(a local ``PersistentClient`` at ``chroma_path``, or an ``HttpClient`` for
``chroma_url``) with telemetry off. :class:`KnowledgeIndex` owns the two
collections, ``runbooks`` and ``incidents``, both embedded with
:class:`~bot.knowledge.embedding.MiniLMEmbedding` in cosine space.

Runbooks are indexed incrementally: each section chunk stores its file's
content hash, and :meth:`KnowledgeIndex.sync_runbooks` re-embeds only files
whose hash changed and deletes the chunks of removed files. A file that is now
invalid is reported and its previously indexed version is kept, so a typo does
not make a runbook disappear from search during an incident.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from bot.knowledge.runbooks import Runbook, load_runbooks

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection as ChromaCollection

    from bot.settings import KnowledgeSettings

RUNBOOKS = "runbooks"
INCIDENTS = "incidents"
SERVICE_BOOST = 0.05  # added to the score of a hit whose runbook names the service
_CHUNK_WORDS = 160


def chroma_settings() -> Any:
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=True)


def make_client(settings: KnowledgeSettings) -> ClientAPI:
    """A chromadb client for these settings; nothing here talks to the network unless ``chroma_url`` is set."""
    import chromadb

    if settings.chroma_url:
        u = urlparse(settings.chroma_url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(
                f"AISRE_KNOWLEDGE__CHROMA_URL={settings.chroma_url!r}: expected http(s)://host[:port]"
            )
        return chromadb.HttpClient(
            host=u.hostname,
            port=u.port or (443 if u.scheme == "https" else 8000),
            ssl=u.scheme == "https",
            settings=chroma_settings(),
        )
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings())


@dataclass(frozen=True)
class RunbookHit:
    path: str  # "runbooks/db-pool.md"
    title: str
    section: str  # the ``##`` heading
    snippet: str  # the section text (first ~300 characters)
    score: float  # cosine similarity, plus SERVICE_BOOST when the runbook names the service
    services: list[str]
    categories: list[str]
    actions: list[dict[str, Any]]  # [{name, params, when}]


@dataclass
class SyncReport:
    indexed: list[str] = field(default_factory=list)  # new or changed files, re-embedded
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    invalid: dict[str, list[str]] = field(default_factory=dict)  # path -> problems (skipped)
    chunks: int = 0  # chunks embedded in this run
    seconds: float = 0.0


def _chunks(text: str) -> list[str]:
    """Paragraph-aligned pieces of at most ~_CHUNK_WORDS words (the model reads 256 tokens)."""
    out: list[str] = []
    cur: list[str] = []
    words = 0
    for para in [p.strip() for p in text.split("\n\n") if p.strip()]:
        n = len(para.split())
        if cur and words + n > _CHUNK_WORDS:
            out.append("\n\n".join(cur))
            cur, words = [], 0
        cur.append(para)
        words += n
    if cur:
        out.append("\n\n".join(cur))
    return out


def runbook_documents(rb: Runbook) -> tuple[list[str], list[str], list[dict[str, Any]]]:
    """(ids, documents, metadatas) for one runbook: a summary chunk plus its section chunks."""
    base = {
        "path": rb.path,
        "title": rb.title,
        "hash": rb.content_hash,
        "services": json.dumps(rb.services),
        "categories": json.dumps(rb.categories),
        "actions": json.dumps([a.to_json() for a in rb.actions]),
    }
    summary = f"{rb.title}. Symptoms: {'; '.join(rb.symptoms)}."
    if rb.signals:
        summary += f" Signals: {', '.join(rb.signals)}."
    summary += f" Categories: {', '.join(c.replace('_', ' ') for c in rb.categories)}."
    ids = [f"{rb.path}#0"]
    docs = [summary]
    metas: list[dict[str, Any]] = [{**base, "section": "Summary", "snippet": "; ".join(rb.symptoms)[:300]}]
    for sec in rb.sections:
        for piece in _chunks(sec.text):
            ids.append(f"{rb.path}#{len(ids)}")
            docs.append(f"{rb.title}. {sec.heading}.\n{piece}")
            metas.append({**base, "section": sec.heading, "snippet": " ".join(piece.split())[:300]})
    return ids, docs, metas


class KnowledgeIndex:
    """The two collections behind one client. Build with :meth:`from_settings`, or pass a client (tests)."""

    def __init__(self, client: ClientAPI) -> None:
        from bot.knowledge.embedding import MiniLMEmbedding

        self.client = client
        ef = MiniLMEmbedding()
        meta = {"hnsw:space": "cosine"}
        self.runbooks: ChromaCollection = client.get_or_create_collection(
            RUNBOOKS, embedding_function=ef, metadata=meta  # type: ignore[arg-type]
        )
        self.incidents: ChromaCollection = client.get_or_create_collection(
            INCIDENTS, embedding_function=ef, metadata=meta  # type: ignore[arg-type]
        )

    @classmethod
    def from_settings(cls, settings: KnowledgeSettings) -> KnowledgeIndex:
        return cls(make_client(settings))

    def indexed_hashes(self) -> dict[str, str]:
        got = self.runbooks.get(include=["metadatas"])  # type: ignore[list-item]
        out: dict[str, str] = {}
        for m in got.get("metadatas") or []:
            if m:
                out[str(m["path"])] = str(m["hash"])
        return out

    def sync_runbooks(self, directory: Path, *, known_actions: Collection[str] | None = None) -> SyncReport:
        """Bring the ``runbooks`` collection in line with ``directory`` (incremental)."""
        t0 = time.perf_counter()
        report = SyncReport()
        good, bad = load_runbooks(directory, known_actions=known_actions)
        report.invalid = bad
        have = self.indexed_hashes()
        present = {rb.path for rb in good} | set(bad)
        ids: list[str] = []
        docs: list[str] = []
        metas: list[dict[str, Any]] = []
        for rb in good:
            if have.get(rb.path) == rb.content_hash:
                report.unchanged.append(rb.path)
                continue
            if rb.path in have:
                self.runbooks.delete(where={"path": rb.path})
            i, d, m = runbook_documents(rb)
            ids += i
            docs += d
            metas += m
            report.indexed.append(rb.path)
        for path in sorted(set(have) - present):
            self.runbooks.delete(where={"path": path})
            report.removed.append(path)
        if ids:
            self.runbooks.add(ids=ids, documents=docs, metadatas=metas)  # type: ignore[arg-type]
        report.chunks = len(ids)
        report.seconds = time.perf_counter() - t0
        return report

    def search(self, query: str, *, k: int = 5, services: Collection[str] = (), per_runbook: bool = True) -> list[RunbookHit]:
        """The best ``k`` hits for ``query``; with ``per_runbook`` only each runbook's best section."""
        total = self.runbooks.count()
        if total == 0 or not query.strip():
            return []
        res = self.runbooks.query(
            query_texts=[query],
            n_results=min(total, max(k * 6, 20)),
            include=["metadatas", "distances"],  # type: ignore[list-item]
        )
        metas = (res.get("metadatas") or [[]])[0]
        dists = (res.get("distances") or [[]])[0]
        hits: list[RunbookHit] = []
        wanted = set(services)
        for m, dist in zip(metas, dists, strict=False):
            rb_services = json.loads(str(m["services"]))
            score = 1.0 - float(dist)
            if wanted & set(rb_services):
                score += SERVICE_BOOST
            hits.append(
                RunbookHit(
                    path=str(m["path"]),
                    title=str(m["title"]),
                    section=str(m["section"]),
                    snippet=str(m["snippet"]),
                    score=round(score, 4),
                    services=rb_services,
                    categories=json.loads(str(m["categories"])),
                    actions=json.loads(str(m["actions"])),
                )
            )
        hits.sort(key=lambda h: h.score, reverse=True)
        if per_runbook:
            seen: set[str] = set()
            best = []
            for h in hits:
                if h.path not in seen:
                    seen.add(h.path)
                    best.append(h)
            hits = best
        return hits[:k]
