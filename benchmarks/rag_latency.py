"""Query latency of the knowledge base at 100k chunks (embedded LanceDB backend).

    python benchmarks/rag_latency.py [--chunks 100000] [--queries 300]

What a measured query includes: one `service.search(session, tenant, kb, text, k=10)` call,
as the API or `revline kb query` makes it: the KB lookup in SQLite and the model check, the
query's embedding on CPU, the BM25 leg (LanceDB native full-text index) and the vector leg
(IVF-SQ index), their reciprocal rank fusion, and reading the ten winning rows.
Not included: process start, loading the model (done once, before timing), warm-up queries.
Every timed query text is distinct (no cache can help).

Corpus: ~100 manual pages are ingested through the real pipeline (reader, chunker, model,
store). Building 100k real embeddings would take most of an hour on 2 shared cores, so the
other rows are synthesized from them and written through the same store interface: each
synthetic chunk's text is 4-8 real sentences drawn from two real chunks (real vocabulary and
term statistics for BM25), and its vector is the normalized mix of those two chunks' real
embeddings plus small noise (so vectors stay on the model's manifold). The collection is
then optimized the way the hourly job does it (compaction, FTS update, ANN index build).
Goal: p50 <= 10 ms on 2 cores. The last line is JSON.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rag_corpus import bench_home, build_corpus  # noqa: E402

_SENTENCE = re.compile(r"(?<=[.!?:])\s+|\n\s*\n")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def synthesize(real: list[dict[str, Any]], count: int, dim: int, seed: int = 7) -> list[Any]:
    """Rows built from real chunks: sentences recombined, embeddings mixed (see docstring)."""
    from revline.knowledge.store import StoreRow

    rng = np.random.default_rng(seed)
    sentences = [[s.strip() for s in _SENTENCE.split(r["text"]) if len(s.strip()) > 20]
                 for r in real]
    vectors = np.vstack([r["vector"] for r in real]).astype(np.float32)
    rows: list[Any] = []
    for i in range(count):
        a, b = rng.integers(0, len(real), size=2)
        pool = (sentences[a] or [real[a]["text"]]) + (sentences[b] or [real[b]["text"]])
        picked = [pool[j] for j in rng.integers(0, len(pool), size=int(rng.integers(4, 9)))]
        text = " ".join(picked)[:1000]
        weight = float(rng.uniform(0.5, 0.9))
        vector = weight * vectors[a] + (1 - weight) * vectors[b]
        vector += rng.normal(0, 0.02, dim).astype(np.float32)
        vector /= np.linalg.norm(vector)
        doc = f"synthetic-{i // 10}"
        rows.append(StoreRow(
            chunk_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"synthetic/{i}")), document_id=doc,
            source=f"synthetic/{real[a]['source'].rsplit('/', 1)[-1]}#{i}",
            title=real[a]["title"], section=real[a]["section"], kind="text", ordinal=i % 10,
            span_start=0, span_end=len(text), page_start=None, page_end=None, text=text,
            search_text=f"{real[a]['title']}\n{text}", meta=[], vector=vector.astype(np.float32),
        ))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--pages", type=int, default=100, help="real pages ingested")
    parser.add_argument("--home", type=Path, default=None)
    args = parser.parse_args()
    with bench_home(args.home, "revline-lat-") as home:
        run(args, home)


def run(args: argparse.Namespace, home: Path) -> None:
    """Build the collection under `home`, time the queries, print the JSON line."""

    from revline.kernel.auth import ensure_tenant
    from revline.kernel.config import get_settings
    from revline.kernel.db import get_database
    from revline.knowledge import service
    from revline.knowledge.embed import get_embedder
    from revline.knowledge.kbs import collection_of, store_of
    from revline.knowledge.store import parse_filters

    settings = get_settings()
    db = get_database(settings)
    all_pages = build_corpus(home / "all", limit=None)
    step = max(1, len(all_pages) // args.pages)
    real_pages = all_pages[::step][: args.pages]
    corpus = home / "corpus"
    corpus.mkdir()
    for page in real_pages:
        (corpus / f"{page.name}.txt").write_text(page.body + "\n", encoding="utf-8")
    with db.session() as session:
        tenant = ensure_tenant(session, "bench").id
    started = time.perf_counter()
    with db.session() as session:
        report = service.ingest_paths(session, tenant, "bench", [corpus])
    print(f"real: {report.chunks_added} chunks from {len(real_pages)} pages in "
          f"{time.perf_counter() - started:.1f}s", file=sys.stderr)
    with db.session() as session:
        kb = service.get_kb(session, tenant, "bench")
        store, collection = store_of(settings, kb), collection_of(kb)
    table = store._open(collection)  # type: ignore[attr-defined]
    real = table.to_arrow().to_pylist()
    started = time.perf_counter()
    synthetic = synthesize(real, args.chunks - len(real), collection.dim)
    for offset in range(0, len(synthetic), 5_000):
        batch = synthetic[offset:offset + 5_000]
        store.replace_documents(collection, sorted({r.document_id for r in batch}), batch)
    print(f"synthetic: {len(synthetic)} rows written in {time.perf_counter() - started:.1f}s",
          file=sys.stderr)
    # A server does not hold 100k row objects; without this, garbage-collector passes over
    # them land inside timed queries.
    del synthetic, real
    gc.collect()
    started = time.perf_counter()
    optimized = store.optimize(collection)
    index_s = time.perf_counter() - started
    print(f"optimize: {optimized} in {index_s:.1f}s", file=sys.stderr)

    embedder = get_embedder(settings)
    queries = [p.query for p in all_pages if p not in real_pages]
    queries += [f"how to {p.query}" for p in all_pages]
    queries = list(dict.fromkeys(queries))[: args.queries + 20]
    warmup, timed = queries[:20], queries[20:]
    with db.session() as session:
        for text in warmup:
            service.search(session, tenant, "bench", text, k=10)
        totals: list[float] = []
        for text in timed:
            t0 = time.perf_counter()
            hits = service.search(session, tenant, "bench", text, k=10)
            totals.append((time.perf_counter() - t0) * 1000)
            assert len(hits) == 10
    # The parts, measured separately on the same queries.
    embed_ms, bm25_ms, vector_ms, fetch_ms = [], [], [], []
    no_filter = parse_filters(None)
    depth = settings.kb_candidates
    for text in timed:
        t0 = time.perf_counter()
        vector = embedder.embed_one(text)
        t1 = time.perf_counter()
        store.rank_text(collection, text, depth, no_filter)
        t2 = time.perf_counter()
        ranked = store.rank_vector(collection, vector, depth, no_filter)
        t3 = time.perf_counter()
        store.fetch(collection, ranked[:10])
        t4 = time.perf_counter()
        embed_ms.append((t1 - t0) * 1000)
        bm25_ms.append((t2 - t1) * 1000)
        vector_ms.append((t3 - t2) * 1000)
        fetch_ms.append((t4 - t3) * 1000)
    # ANN quality: the indexed vector leg's top 10 (at the depth search uses) against exact.
    everything = table.to_arrow()
    dim = collection.dim
    matrix = everything.column("vector").combine_chunks().flatten().to_numpy().reshape(-1, dim)
    ids = everything.column("chunk_id").to_pylist()
    recall = []
    for text in timed[:100]:
        vector = embedder.embed_one(text)
        exact = {ids[i] for i in np.argsort(-(matrix @ vector))[:10]}
        approx = {r.chunk_id for r in store.rank_vector(collection, vector, depth, no_filter)[:10]}
        recall.append(len(exact & approx) / 10)
    line = {
        "p50_ms": round(statistics.median(totals), 2),
        "p99_ms": round(percentile(totals, 0.99), 2),
        "mean_ms": round(statistics.fmean(totals), 2),
        "embed_p50_ms": round(statistics.median(embed_ms), 2),
        "bm25_p50_ms": round(statistics.median(bm25_ms), 2),
        "vector_p50_ms": round(statistics.median(vector_ms), 2),
        "fetch_p50_ms": round(statistics.median(fetch_ms), 2),
        "ann_recall10": round(statistics.fmean(recall), 3),
        "chunks": int(store.count(collection)),
        "queries": len(timed),
        "index_build_s": round(index_s, 1),
        "cpu_count": os.cpu_count(),
        "goal_p50_ms": 10,
    }
    print(json.dumps(line))


if __name__ == "__main__":
    main()
