"""Runbook retrieval benchmark: recall@1/@3 and timings over labelled incident descriptions.

    .venv/bin/python benchmarks/retrieval.py [--runbooks runbooks] [--queries benchmarks/data/retrieval_queries.yaml]

Indexes the runbooks into a fresh temporary chromadb, runs every query and
prints the model load time, index time, per-query latency, recall@1 and
recall@3, a per-document embedding time, the process's peak memory, and a
last line ``recall_at_3=... index_s=... query_ms=...``.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.knowledge import embedding  # noqa: E402
from bot.knowledge.index import KnowledgeIndex  # noqa: E402
from bot.settings import KnowledgeSettings  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runbooks", type=Path, default=ROOT / "runbooks")
    ap.add_argument("--queries", type=Path, default=ROOT / "benchmarks/data/retrieval_queries.yaml")
    ap.add_argument("--verbose", "-v", action="store_true", help="print every query")
    args = ap.parse_args()
    queries = yaml.safe_load(args.queries.read_text())["queries"]

    t0 = time.perf_counter()
    model = embedding.get_model()
    load_s = time.perf_counter() - t0
    sample = [q["q"] for q in queries[:32]]
    t0 = time.perf_counter()
    model.encode(sample)
    per_doc_ms = (time.perf_counter() - t0) * 1000 / len(sample)

    with tempfile.TemporaryDirectory() as tmp:
        index = KnowledgeIndex.from_settings(KnowledgeSettings(chroma_path=Path(tmp) / "chroma"))
        report = index.sync_runbooks(args.runbooks)
        if report.invalid:
            for lines in report.invalid.values():
                for line in lines:
                    print(f"invalid: {line}")
        index_s = report.seconds
        chunk_ms = index_s * 1000 / max(report.chunks, 1)
        times: list[float] = []
        hit1 = hit3 = 0
        misses: list[str] = []
        for q in queries:
            services = [q["service"]] if q.get("service") else []
            t = time.perf_counter()
            hits = index.search(q["q"], k=3, services=services)
            times.append((time.perf_counter() - t) * 1000)
            paths = [h.path for h in hits]
            if paths[:1] == [q["expect"]]:
                hit1 += 1
            if q["expect"] in paths:
                hit3 += 1
            else:
                misses.append(f"  miss: {q['q']!r} -> {paths} (want {q['expect']})")
            if args.verbose:
                print(f"{'ok ' if q['expect'] in paths else 'MISS'} {times[-1]:6.1f} ms  {q['q'][:70]:70}  {paths[:1]}")

    n = len(queries)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    query_ms = statistics.median(times)
    print(f"model load:        {load_s:.2f} s")
    print(f"embed per doc:     {per_doc_ms:.1f} ms (short queries, batched)")
    print(f"index:             {index_s:.2f} s ({len(report.indexed)} runbooks, {report.chunks} chunks, "
          f"{chunk_ms:.0f} ms per chunk)")
    print(f"query:             median {query_ms:.1f} ms, p95 {sorted(times)[int(0.95 * (n - 1))]:.1f} ms")
    print(f"recall@1:          {hit1 / n:.3f} ({hit1}/{n})")
    print(f"recall@3:          {hit3 / n:.3f} ({hit3}/{n})")
    print(f"peak RSS:          {peak_mb:.0f} MB")
    for m in misses:
        print(m)
    print(f"recall_at_3={hit3 / n:.3f} index_s={index_s:.2f} query_ms={query_ms:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
