"""LanceDB backend (embedded default): one table per collection in a local directory.

Writers take a per-collection file lock and re-read the latest version before committing,
so concurrent processes never interleave a document's delete-and-insert (LanceDB's own
merge_insert alone lets concurrent writers duplicate rows). Commit conflicts that still
happen (another writer outside our lock, a compaction) are retried.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from revline.kernel.errors import ConfigError
from revline.kernel.filelock import exclusive
from revline.knowledge.store.base import (
    HIT_FIELDS,
    Collection,
    FilterSpec,
    Ranked,
    StoreHit,
    StoreRow,
    Vector,
    VectorStore,
    ordered_hits,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
_CONFLICT = re.compile(r"conflict|retryable|concurrent", re.IGNORECASE)
_SAFE_NAME = re.compile(r"^[a-z0-9_]{1,80}$")
FTS_COLUMN = "search_text"


def _is_conflict(exc: BaseException) -> bool:
    return isinstance(exc, OSError | RuntimeError | ValueError) and bool(
        _CONFLICT.search(str(exc))
    )


def with_conflict_retry(fn: Callable[[], T], attempts: int = 6) -> T:
    """Run a write, retrying LanceDB commit conflicts with jittered backoff."""
    retrying = Retrying(
        stop=stop_after_attempt(attempts),
        wait=wait_random_exponential(multiplier=0.05, max=2.0),
        retry=retry_if_exception(_is_conflict),
        reraise=True,
    )
    return retrying(fn)


def quote(value: str) -> str:
    """A SQL string literal for LanceDB filters."""
    return "'" + value.replace("'", "''") + "'"


def where_clause(filters: FilterSpec, extra: list[str] | None = None) -> str:
    """LanceDB (DataFusion SQL) predicate for column and metadata-tag filters."""
    parts = list(extra or [])
    for column, values in filters.columns.items():
        parts.append(f"{column} IN ({', '.join(quote(v) for v in values)})")
    for tags in filters.tags:
        parts.append(f"array_has_any(meta, [{', '.join(quote(t) for t in tags)}])")
    return " AND ".join(parts)


def schema(dim: int) -> pa.Schema:
    """Arrow schema of a collection table."""
    return pa.schema(
        [
            pa.field("chunk_id", pa.string(), nullable=False),
            pa.field("document_id", pa.string(), nullable=False),
            pa.field("tenant_id", pa.string(), nullable=False),
            pa.field("source", pa.string()),
            pa.field("title", pa.string()),
            pa.field("section", pa.string()),
            pa.field("kind", pa.string()),
            pa.field("ordinal", pa.int32()),
            pa.field("span_start", pa.int32()),
            pa.field("span_end", pa.int32()),
            pa.field("page_start", pa.int32()),
            pa.field("page_end", pa.int32()),
            pa.field("text", pa.string()),
            pa.field(FTS_COLUMN, pa.string()),
            pa.field("meta", pa.list_(pa.string())),
            pa.field("vector", pa.list_(pa.float32(), dim)),
        ]
    )


def to_arrow(collection: Collection, rows: list[StoreRow]) -> pa.Table:
    """Rows as an Arrow table in the collection's schema."""
    columns: dict[str, list[Any]] = {name: [] for name in schema(collection.dim).names}
    for row in rows:
        for name in columns:
            if name == "tenant_id":
                columns[name].append(collection.tenant_id)
            elif name != "vector":
                columns[name].append(getattr(row, name))
    vectors = np.vstack([row.vector for row in rows]).astype(np.float32) if rows else np.zeros(
        (0, collection.dim), dtype=np.float32
    )
    arrays = [
        pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), collection.dim)
        if name == "vector"
        else pa.array(values, type=schema(collection.dim).field(name).type)
        for name, values in columns.items()
    ]
    return pa.Table.from_arrays(arrays, schema=schema(collection.dim))


class LanceStore(VectorStore):
    """Embedded, multi-process safe LanceDB store under one directory."""

    backend = "lancedb"

    def __init__(self, root: Path, read_consistency_s: float = 0.0, ann_min_rows: int = 20_000):
        import lancedb

        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.ann_min_rows = ann_min_rows
        self._db = lancedb.connect(
            str(root), read_consistency_interval=timedelta(seconds=read_consistency_s)
        )
        self._tables: dict[str, Any] = {}
        self._has_fts: set[str] = set()
        self._has_ann: dict[str, bool] = {}
        self._lock = threading.Lock()

    # Tables ------------------------------------------------------------------------------
    @staticmethod
    def _name(collection: Collection) -> str:
        if not _SAFE_NAME.match(collection.name):
            raise ConfigError(f"invalid collection name {collection.name!r}")
        return collection.name

    def _open(self, collection: Collection, create: bool = False) -> Any | None:
        name = self._name(collection)
        with self._lock:
            table = self._tables.get(name)
            if table is not None:
                return table
            try:
                table = self._db.open_table(name)
            except (ValueError, FileNotFoundError):
                if not create:
                    return None
                table = self._db.create_table(name, schema=schema(collection.dim), exist_ok=True)
            width = table.schema.field("vector").type.list_size
            if width != collection.dim:
                raise ConfigError(
                    f"collection {name} holds {width}-dimensional vectors, not {collection.dim}"
                )
            self._tables[name] = table
            return table

    @contextmanager
    def _write_lock(self, collection: Collection) -> Iterator[None]:
        """Exclusive across processes and threads (flock is per open file description)."""
        with exclusive(self.root / f"{self._name(collection)}.lock"):
            yield

    def _ensure_fts(self, table: Any, name: str) -> None:
        if name in self._has_fts:
            return
        if not any(FTS_COLUMN in idx.columns for idx in table.list_indices()):
            from lancedb.index import FTS

            table.create_index(FTS_COLUMN, config=FTS(with_position=False), replace=True)
        self._has_fts.add(name)

    # Writes ------------------------------------------------------------------------------
    def replace_documents(
        self, collection: Collection, document_ids: list[str], rows: list[StoreRow]
    ) -> None:
        """One merge-insert commit: upsert `rows`, delete every other row of these docs."""
        if not document_ids and not rows:
            return
        ids = sorted(set(document_ids) | {row.document_id for row in rows})
        predicate = f"document_id IN ({', '.join(quote(i) for i in ids)})"
        name = self._name(collection)
        with self._write_lock(collection):
            table = self._open(collection, create=True)
            assert table is not None

            def write() -> None:
                table.checkout_latest()
                if rows:
                    (
                        table.merge_insert("chunk_id")
                        .when_matched_update_all()
                        .when_not_matched_insert_all()
                        .when_not_matched_by_source_delete(predicate)
                        .execute(to_arrow(collection, rows))
                    )
                else:
                    table.delete(predicate)

            with_conflict_retry(write)
            if rows:
                with_conflict_retry(lambda: self._ensure_fts(table, name))

    def drop(self, collection: Collection) -> None:
        """Drop the table (missing is fine) and forget cached handles."""
        name = self._name(collection)
        with self._write_lock(collection):
            with self._lock:
                self._tables.pop(name, None)
                self._has_fts.discard(name)
                self._has_ann.pop(name, None)
            try:
                self._db.drop_table(name)
            except (ValueError, FileNotFoundError):
                pass
        (self.root / f"{name}.lock").unlink(missing_ok=True)

    def optimize(self, collection: Collection) -> dict[str, Any]:
        """Compact, prune versions older than an hour, update indexes; ANN index when large."""
        table = self._open(collection)
        if table is None:
            return {"collection": collection.name, "rows": 0}
        name = self._name(collection)
        done: dict[str, Any] = {"collection": name}
        with self._write_lock(collection):

            def run() -> None:
                table.checkout_latest()
                rows = table.count_rows()
                done["rows"] = rows
                if rows:
                    self._has_fts.discard(name)
                    self._ensure_fts(table, name)
                if rows >= self.ann_min_rows and not self._ann_exists(table, name):
                    from lancedb.index import IvfSq

                    # IVF with int8 scalar quantization: at 100k rows it builds in seconds
                    # and kept recall@10 at ~0.99 (IVF-PQ: ~0.9; HNSW-SQ: slower to build).
                    table.create_index("vector", config=IvfSq(distance_type="cosine"))
                    self._has_ann[name] = True
                    done["ann_index"] = "IVF_SQ"
                table.optimize(cleanup_older_than=timedelta(hours=1))
                done["version"] = table.version

            with_conflict_retry(run)
        return done

    def after_ingest(self, collection: Collection) -> None:
        """Fold new rows into the indexes when many are unindexed: until then LanceDB
        searches them by brute force, which makes BM25 queries on a fresh KB slow."""
        table = self._open(collection)
        if table is None:
            return
        name = self._name(collection)
        unindexed = 0
        for index in table.list_indices():
            stats = table.index_stats(index.name)
            if stats is not None:
                unindexed = max(unindexed, int(stats.num_unindexed_rows or 0))
        if unindexed >= max(1000, table.count_rows() // 20):
            log.info("optimizing %s: %d unindexed rows", name, unindexed)
            self.optimize(collection)

    # Reads -------------------------------------------------------------------------------
    def count(self, collection: Collection) -> int:
        """Rows in the collection's table."""
        table = self._open(collection)
        return 0 if table is None else int(table.count_rows())

    def _ann_exists(self, table: Any, name: str) -> bool:
        known = self._has_ann.get(name)
        if known is None:
            known = any("vector" in idx.columns for idx in table.list_indices())
            self._has_ann[name] = known
        return known

    def rank_vector(
        self, collection: Collection, vector: Vector, k: int, filters: FilterSpec
    ) -> list[Ranked]:
        """Cosine nearest neighbours: exact below the ANN threshold, IVF-SQ index above."""
        table = self._open(collection)
        if table is None:
            return []
        query = table.search(
            np.asarray(vector, dtype=np.float32), query_type="vector",
            vector_column_name="vector",
        ).distance_type("cosine").limit(k).with_row_id(True)
        where = where_clause(filters)
        if where:
            query = query.where(where, prefilter=True)
        result = query.select(["chunk_id", "document_id", "_distance"]).to_arrow()
        return [
            Ranked(c, d, 1.0 - float(dist), int(rid))
            for c, d, dist, rid in zip(
                result.column("chunk_id").to_pylist(), result.column("document_id").to_pylist(),
                result.column("_distance").to_pylist(), result.column("_rowid").to_pylist(),
                strict=True,
            )
        ]

    def rank_text(
        self, collection: Collection, text: str, k: int, filters: FilterSpec
    ) -> list[Ranked]:
        """Native LanceDB full-text search (BM25, English stemming, stop words removed)."""
        table = self._open(collection)
        if table is None or not text.strip():
            return []
        from lancedb.query import MatchQuery

        # MatchQuery is a pydantic dataclass; mypy misreads its keyword defaults as required.
        match = MatchQuery(text, FTS_COLUMN)  # type: ignore[call-arg]
        query = table.search(match, query_type="fts").limit(k).with_row_id(True)
        where = where_clause(filters)
        if where:
            query = query.where(where, prefilter=True)
        result = query.select(["chunk_id", "document_id", "_score"]).to_arrow()
        return [
            Ranked(c, d, float(score), int(rid))
            for c, d, score, rid in zip(
                result.column("chunk_id").to_pylist(), result.column("document_id").to_pylist(),
                result.column("_score").to_pylist(), result.column("_rowid").to_pylist(),
                strict=True,
            )
        ]

    def fetch(
        self, collection: Collection, ranked: list[Ranked], with_vectors: bool = False
    ) -> list[StoreHit]:
        """Take the rows by row id; if a compaction moved them meanwhile, look up by id."""
        table = self._open(collection)
        if table is None or not ranked:
            return []
        columns = [*HIT_FIELDS, "tenant_id"] + (["vector"] if with_vectors else [])
        result = table.take_row_ids([int(r.ref) for r in ranked]).select(columns).to_arrow()
        rows = self._by_chunk(collection, result)
        if any(r.chunk_id not in rows for r in ranked):
            ids = ", ".join(quote(r.chunk_id) for r in ranked)
            result = (table.search().where(f"chunk_id IN ({ids})").select(columns)
                      .limit(len(ranked)).to_arrow())
            rows = self._by_chunk(collection, result)
        vectors = (
            {cid: np.asarray(row["vector"], dtype=np.float32) for cid, row in rows.items()}
            if with_vectors else None
        )
        return ordered_hits(ranked, rows, vectors)

    @staticmethod
    def _by_chunk(collection: Collection, result: pa.Table) -> dict[str, dict[str, Any]]:
        # Tables are per collection, so the tenant check never drops a row: defence in depth.
        return {
            row["chunk_id"]: row for row in result.to_pylist()
            if row["tenant_id"] == collection.tenant_id
        }

    def close(self) -> None:
        """Forget open table handles."""
        with self._lock:
            self._tables.clear()
