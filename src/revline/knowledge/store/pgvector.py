"""PostgreSQL + pgvector backend (scale-out): one table per vector size, rows keyed by collection.

Vector leg: `embedding <=> query` (cosine) over an HNSW index, with pgvector 0.8 iterative
scans so filters do not starve the result. Text leg: real Okapi BM25 (k1 = 1.2, b = 0.75,
Lucene's idf) computed in SQL from a generated `tsvector` column ('english' config: stemming
and stop words, like LanceDB's tokenizer), with a GIN index to find candidates and a stats
row per collection for N and the average length. `ts_rank_cd` was not used: it is not BM25
and would rank differently from the embedded backend.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from revline.kernel.errors import ConfigError
from revline.knowledge.store.base import (
    HIT_FIELDS,
    Collection,
    FilterSpec,
    StoreHit,
    StoreRow,
    Vector,
    VectorStore,
    hit_from_mapping,
)

K1 = 1.2
B = 0.75
STATS = "kb_vector_stats"
_COLUMNS = ", ".join(f"d.{c}" for c in HIT_FIELDS)


def vector_literal(vector: Vector) -> str:
    """pgvector text form; %.9g round-trips float32 exactly."""
    return "[" + ",".join(f"{x:.9g}" for x in np.asarray(vector, dtype=np.float32)) + "]"


def parse_vector(value: str) -> Vector:
    """Inverse of vector_literal (pgvector's text output)."""
    return np.array([float(x) for x in value.strip("[]").split(",") if x], dtype=np.float32)


def _table(dim: int) -> str:
    return f"kb_vectors_{int(dim)}"


def psycopg_url(url: str) -> str:
    """postgresql:// URLs use the psycopg 3 driver (the one the postgres extra installs)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ConfigError(f"kb_pg_url must be a PostgreSQL URL, got {parsed.get_backend_name()}")
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


class PgVectorStore(VectorStore):
    """pgvector store; creates the extension and its tables on first use."""

    backend = "pgvector"

    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(psycopg_url(url), pool_pre_ping=True)
        self._ready: set[int] = set()
        self._lock = threading.Lock()

    def close(self) -> None:
        """Dispose pooled connections."""
        self.engine.dispose()

    # Schema ------------------------------------------------------------------------------
    def _ensure(self, dim: int) -> None:
        with self._lock:
            if dim in self._ready:
                return
            table = _table(dim)
            try:
                with self.engine.begin() as conn:
                    # Serialize DDL: concurrent CREATE EXTENSION/INDEX IF NOT EXISTS can race.
                    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('revline.kb.ddl'))"))
                    conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
                    conn.execute(text(f"""
                        CREATE TABLE IF NOT EXISTS {table} (
                            collection text NOT NULL,
                            chunk_id text NOT NULL,
                            tenant_id text NOT NULL,
                            document_id text NOT NULL,
                            source text NOT NULL,
                            title text NOT NULL DEFAULT '',
                            section text NOT NULL DEFAULT '',
                            kind text NOT NULL DEFAULT '',
                            ordinal integer NOT NULL,
                            span_start integer NOT NULL,
                            span_end integer NOT NULL,
                            page_start integer,
                            page_end integer,
                            text text NOT NULL,
                            search_text text NOT NULL,
                            meta text[] NOT NULL DEFAULT '{{}}',
                            tsv tsvector GENERATED ALWAYS AS
                                (to_tsvector('english', search_text)) STORED,
                            dl integer NOT NULL,
                            embedding vector({int(dim)}) NOT NULL,
                            PRIMARY KEY (collection, chunk_id)
                        )"""))
                    conn.execute(text(
                        f"CREATE INDEX IF NOT EXISTS {table}_doc ON {table} "
                        "(collection, document_id)"))
                    conn.execute(text(
                        f"CREATE INDEX IF NOT EXISTS {table}_tsv ON {table} USING gin (tsv)"))
                    conn.execute(text(
                        f"CREATE INDEX IF NOT EXISTS {table}_meta ON {table} USING gin (meta)"))
                    conn.execute(text(
                        f"CREATE INDEX IF NOT EXISTS {table}_hnsw ON {table} "
                        "USING hnsw (embedding vector_cosine_ops)"))
                    conn.execute(text(f"""
                        CREATE TABLE IF NOT EXISTS {STATS} (
                            collection text PRIMARY KEY,
                            tenant_id text NOT NULL,
                            dim integer NOT NULL,
                            chunk_count bigint NOT NULL DEFAULT 0,
                            total_terms bigint NOT NULL DEFAULT 0
                        )"""))
            except DBAPIError as exc:
                first = str(exc.orig or exc).strip().splitlines()[0]
                raise ConfigError(
                    f"pgvector backend unavailable ({first}); install the PostgreSQL "
                    "'vector' extension (Debian: postgresql-15-pgvector) or use "
                    "kb_vector_backend=lancedb"
                ) from exc
            self._ready.add(dim)

    # Writes ------------------------------------------------------------------------------
    def replace_documents(
        self, collection: Collection, document_ids: list[str], rows: list[StoreRow]
    ) -> None:
        """Delete the documents' rows and insert the new ones in one transaction."""
        if not document_ids and not rows:
            return
        self._ensure(collection.dim)
        table = _table(collection.dim)
        ids = sorted(set(document_ids) | {row.document_id for row in rows})
        with self.engine.begin() as conn:
            conn.execute(text(
                f"INSERT INTO {STATS} (collection, tenant_id, dim) VALUES (:c, :t, :d) "
                "ON CONFLICT (collection) DO NOTHING"),
                {"c": collection.name, "t": collection.tenant_id, "d": collection.dim})
            # The stats row is the per-collection write lock: counts stay exact.
            conn.execute(text(f"SELECT 1 FROM {STATS} WHERE collection = :c FOR UPDATE"),
                         {"c": collection.name})
            removed = conn.execute(text(
                f"DELETE FROM {table} WHERE collection = :c AND document_id = ANY(:ids) "
                "RETURNING dl"), {"c": collection.name, "ids": ids}).scalars().all()
            if rows:
                conn.execute(text(f"""
                    INSERT INTO {table} (collection, chunk_id, tenant_id, document_id, source,
                        title, section, kind, ordinal, span_start, span_end, page_start,
                        page_end, text, search_text, meta, dl, embedding)
                    VALUES (:collection, :chunk_id, :tenant_id, :document_id, :source, :title,
                        :section, :kind, :ordinal, :span_start, :span_end, :page_start,
                        :page_end, :text, :search_text, :meta,
                        (SELECT coalesce(sum(array_length(positions, 1)), 0)
                           FROM unnest(to_tsvector('english', CAST(:search_text AS text)))),
                        CAST(:embedding AS vector))"""),
                    [self._params(collection, row) for row in rows])
            added = conn.execute(text(
                f"SELECT count(*), coalesce(sum(dl), 0) FROM {table} "
                "WHERE collection = :c AND document_id = ANY(:ids)"),
                {"c": collection.name, "ids": ids}).one()
            conn.execute(text(
                f"UPDATE {STATS} SET chunk_count = chunk_count - :rc + :ac, "
                "total_terms = total_terms - :rt + :at WHERE collection = :c"),
                {"c": collection.name, "rc": len(removed), "rt": sum(removed),
                 "ac": int(added[0]), "at": int(added[1])})

    @staticmethod
    def _params(collection: Collection, row: StoreRow) -> dict[str, Any]:
        values = {name: getattr(row, name) for name in HIT_FIELDS}
        values.update(collection=collection.name, tenant_id=collection.tenant_id,
                      search_text=row.search_text, embedding=vector_literal(row.vector))
        return values

    def drop(self, collection: Collection) -> None:
        """Delete every row of the collection and its stats."""
        self._ensure(collection.dim)
        with self.engine.begin() as conn:
            conn.execute(text(f"DELETE FROM {_table(collection.dim)} WHERE collection = :c"),
                         {"c": collection.name})
            conn.execute(text(f"DELETE FROM {STATS} WHERE collection = :c"),
                         {"c": collection.name})

    def optimize(self, collection: Collection) -> dict[str, Any]:
        """Refresh planner statistics; PostgreSQL maintains its indexes itself."""
        self._ensure(collection.dim)
        with self.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                text(f"ANALYZE {_table(collection.dim)}"))
        return {"collection": collection.name, "rows": self.count(collection), "analyzed": True}

    # Reads -------------------------------------------------------------------------------
    def count(self, collection: Collection) -> int:
        """Rows of the collection (from its stats row)."""
        self._ensure(collection.dim)
        with self.engine.connect() as conn:
            value = conn.execute(text(f"SELECT chunk_count FROM {STATS} WHERE collection = :c"),
                                 {"c": collection.name}).scalar()
        return int(value or 0)

    @staticmethod
    def _filter_sql(filters: FilterSpec, params: dict[str, Any]) -> str:
        parts: list[str] = []
        for index, (column, values) in enumerate(sorted(filters.columns.items())):
            params[f"fc{index}"] = values
            parts.append(f"AND d.{column} = ANY(:fc{index})")
        for index, tags in enumerate(filters.tags):
            params[f"ft{index}"] = tags
            parts.append(f"AND d.meta && CAST(:ft{index} AS text[])")
        return " ".join(parts)

    def vector_search(
        self,
        collection: Collection,
        vector: Vector,
        k: int,
        filters: FilterSpec,
        with_vectors: bool = False,
    ) -> list[StoreHit]:
        """HNSW cosine search; iterative scan keeps filtered queries from coming back short."""
        self._ensure(collection.dim)
        params: dict[str, Any] = {"c": collection.name, "t": collection.tenant_id,
                                  "q": vector_literal(vector), "k": k}
        where = self._filter_sql(filters, params)
        extra = ", d.embedding::text AS embedding_text" if with_vectors else ""
        with self.engine.begin() as conn:
            self._tune(conn, k)
            rows = conn.execute(text(f"""
                SELECT {_COLUMNS}, (d.embedding <=> CAST(:q AS vector)) AS distance{extra}
                FROM {_table(collection.dim)} d
                WHERE d.collection = :c AND d.tenant_id = :t {where}
                ORDER BY d.embedding <=> CAST(:q AS vector) LIMIT :k"""), params).mappings().all()
        hits = [
            hit_from_mapping(dict(r), 1.0 - float(r["distance"]),
                             parse_vector(r["embedding_text"]) if with_vectors else None)
            for r in rows
        ]
        # relaxed_order may return neighbours slightly out of order; restore it.
        hits.sort(key=lambda h: (-h.score, h.chunk_id))
        return hits

    @staticmethod
    def _tune(conn: Connection, k: int) -> None:
        conn.execute(text(f"SET LOCAL hnsw.ef_search = {max(40, min(1000, int(k) * 2))}"))
        conn.execute(text("SET LOCAL hnsw.iterative_scan = 'relaxed_order'"))

    def text_search(
        self, collection: Collection, text_query: str, k: int, filters: FilterSpec
    ) -> list[StoreHit]:
        """Okapi BM25 over the collection; candidates come from the GIN index."""
        if not text_query.strip():
            return []
        self._ensure(collection.dim)
        table = _table(collection.dim)
        params: dict[str, Any] = {"c": collection.name, "t": collection.tenant_id,
                                  "q": text_query, "k": k, "k1": K1, "b": B}
        where = self._filter_sql(filters, params)
        with self.engine.connect() as conn:
            stats = conn.execute(text(
                f"SELECT chunk_count, total_terms FROM {STATS} WHERE collection = :c"),
                {"c": collection.name}).one_or_none()
            if stats is None or not stats[0]:
                return []
            params["n"] = float(stats[0])
            params["avgdl"] = max(1.0, float(stats[1]) / float(stats[0]))
            rows = conn.execute(text(f"""
                WITH q AS (
                    SELECT DISTINCT lexeme FROM unnest(to_tsvector('english', CAST(:q AS text)))
                ), tq AS (
                    SELECT CAST(string_agg(quote_literal(lexeme), ' | ') AS tsquery) AS query
                    FROM q
                ), df AS (
                    SELECT q.lexeme, (SELECT count(*) FROM {table} x
                        WHERE x.collection = :c
                          AND x.tsv @@ CAST(quote_literal(q.lexeme) AS tsquery)) AS n
                    FROM q
                ), cand AS (
                    SELECT d.chunk_id, d.tsv, d.dl FROM {table} d, tq
                    WHERE d.collection = :c AND d.tenant_id = :t AND d.tsv @@ tq.query {where}
                ), scored AS (
                    SELECT cand.chunk_id, sum(
                        ln(1 + (:n - df.n + 0.5) / (df.n + 0.5))
                        * array_length(u.positions, 1) * (:k1 + 1)
                        / (array_length(u.positions, 1)
                           + :k1 * (1 - :b + :b * cand.dl / :avgdl))) AS score
                    FROM cand CROSS JOIN LATERAL unnest(cand.tsv) AS u
                    JOIN df ON df.lexeme = u.lexeme
                    GROUP BY cand.chunk_id
                    ORDER BY score DESC, cand.chunk_id LIMIT :k
                )
                SELECT {_COLUMNS}, scored.score FROM scored
                JOIN {table} d ON d.collection = :c AND d.chunk_id = scored.chunk_id
                ORDER BY scored.score DESC, d.chunk_id"""), params).mappings().all()
        return [hit_from_mapping(dict(r), float(r["score"])) for r in rows]
