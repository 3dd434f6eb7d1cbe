"""Hybrid retrieval: BM25 and vector legs from the store, fused here with RRF.

Fusion lives above the store so LanceDB and pgvector answer identically when their legs
agree. In hybrid mode the BM25 leg runs on a worker thread while the query is embedded
(both release the GIL), so a query costs about max(embedding, BM25) + vector search.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from revline.kernel.errors import InvalidInput
from revline.knowledge.embed import Embedder
from revline.knowledge.ranking import rrf
from revline.knowledge.store import Collection, FilterSpec, Ranked, StoreHit, VectorStore

Mode = Literal["hybrid", "vector", "bm25"]
MODES: tuple[str, ...] = ("hybrid", "vector", "bm25")
MAX_K = 1000

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kb-bm25")
        return _pool


@dataclass(frozen=True)
class Span:
    """Where a chunk sits in its document: character offsets of the canonical text, pages."""

    start: int
    end: int
    page_start: int | None = None
    page_end: int | None = None
    section: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


@dataclass
class Hit:
    """A search result: the chunk, its source, its score and how to cite it."""

    source: str
    chunk: str
    score: float
    document_id: str
    chunk_id: str
    metadata: dict[str, Any] = field(default_factory=dict)
    span: Span = field(default_factory=lambda: Span(0, 0))

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the CLI contract keys first (source, chunk, score)."""
        return {
            "source": self.source,
            "chunk": self.chunk,
            "score": round(self.score, 6),
            "document_id": self.document_id,
            "chunk_id": self.chunk_id,
            "span": self.span.to_dict(),
            "metadata": self.metadata,
        }


def check_query(text: str, k: int, mode: str) -> Mode:
    """Validate what a caller asked for; one-line errors."""
    if not text or not text.strip():
        raise InvalidInput("query text is empty")
    if not 1 <= k <= MAX_K:
        raise InvalidInput(f"k must be between 1 and {MAX_K}, got {k}")
    if mode == "fts":
        mode = "bm25"
    if mode not in MODES:
        raise InvalidInput(f"mode {mode!r} must be one of {', '.join(MODES)}")
    return mode  # type: ignore[return-value]


def _hit(row: StoreHit, score: float, ranks: dict[str, int]) -> Hit:
    meta: dict[str, Any] = {"title": row.title, "kind": row.kind, "ordinal": row.ordinal}
    for tag in row.meta:
        key, _, value = tag.partition("=")
        meta.setdefault(key, value)
    meta.update(ranks)
    return Hit(
        source=row.source,
        chunk=row.text,
        score=score,
        document_id=row.document_id,
        chunk_id=row.chunk_id,
        metadata=meta,
        span=Span(row.span_start, row.span_end, row.page_start, row.page_end, row.section),
    )


def _dedupe(rows: list[Ranked]) -> list[Ranked]:
    seen: set[str] = set()
    out: list[Ranked] = []
    for row in rows:
        if row.chunk_id not in seen:
            seen.add(row.chunk_id)
            out.append(row)
    return out


def search_collection(
    store: VectorStore,
    collection: Collection,
    embedder: Embedder,
    text: str,
    k: int,
    filters: FilterSpec,
    mode: Mode,
    candidates: int = 50,
    rrf_k: int = 60,
    collapse: bool = False,
    vector_weight: float = 1.0,
) -> list[Hit]:
    """Top-k hits; `collapse` keeps only the best chunk of each document.

    In hybrid mode the vector leg's RRF terms are multiplied by `vector_weight`."""
    depth = max(candidates, k * (3 if collapse else 1))
    if mode == "bm25":
        legs = {"bm25": _dedupe(store.rank_text(collection, text, depth, filters))}
    elif mode == "vector":
        vector = embedder.embed_one(text)
        legs = {"vector": _dedupe(store.rank_vector(collection, vector, depth, filters))}
    else:
        bm25 = _executor().submit(store.rank_text, collection, text, depth, filters)
        vector = embedder.embed_one(text)
        vector_rows = store.rank_vector(collection, vector, depth, filters)
        legs = {"vector": _dedupe(vector_rows), "bm25": _dedupe(bm25.result())}
    by_id: dict[str, Ranked] = {}
    ranks: dict[str, dict[str, int]] = {}
    for leg, rows in legs.items():
        for rank, row in enumerate(rows, start=1):
            by_id.setdefault(row.chunk_id, row)
            ranks.setdefault(row.chunk_id, {})[f"{leg}_rank"] = rank
    if len(legs) == 1:
        ((_, rows),) = legs.items()
        fused = [(row.chunk_id, row.score) for row in rows]
    else:
        fused = rrf(
            [[row.chunk_id for row in rows] for rows in legs.values()], k=rrf_k,
            weights=[vector_weight if leg == "vector" else 1.0 for leg in legs],
        )
    chosen: list[Ranked] = []
    seen_docs: set[str] = set()
    for chunk_id, score in fused:
        row = by_id[chunk_id]
        if collapse:
            if row.document_id in seen_docs:
                continue
            seen_docs.add(row.document_id)
        chosen.append(Ranked(row.chunk_id, row.document_id, score, row.ref))
        if len(chosen) == k:
            break
    # Only the final k rows are read in full (text, spans, metadata).
    return [_hit(row, row.score, ranks[row.chunk_id]) for row in store.fetch(collection, chosen)]
