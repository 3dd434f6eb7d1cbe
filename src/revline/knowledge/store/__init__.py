"""Vector stores behind one interface: LanceDB (embedded default) and PostgreSQL + pgvector."""

from __future__ import annotations

import threading

from revline.kernel.config import Settings
from revline.kernel.errors import ConfigError
from revline.knowledge.store.base import (
    Collection,
    Filters,
    FilterSpec,
    StoreHit,
    StoreRow,
    VectorStore,
    meta_tags,
    parse_filters,
)

__all__ = [
    "Collection",
    "FilterSpec",
    "Filters",
    "StoreHit",
    "StoreRow",
    "VectorStore",
    "get_store",
    "meta_tags",
    "parse_filters",
    "reset_stores",
]

_stores: dict[tuple[str, ...], VectorStore] = {}
_lock = threading.Lock()


def pg_url_for(settings: Settings) -> str:
    """The pgvector database: kb_pg_url, else the main database when it is PostgreSQL."""
    url = settings.kb_pg_url or (
        settings.database_url if settings.database_url.startswith("postgresql") else ""
    )
    if not url:
        raise ConfigError(
            "kb_vector_backend=pgvector needs a PostgreSQL URL: set REVLINE_KB_PG_URL "
            "(or use PostgreSQL for REVLINE_DATABASE_URL)"
        )
    return url


def get_store(settings: Settings, backend: str | None = None) -> VectorStore:
    """The process-wide store for `backend` (default: the configured one)."""
    backend = backend or settings.kb_vector_backend
    if backend == "lancedb":
        root = settings.kb_lancedb_dir or settings.home / "lancedb"
        key: tuple[str, ...] = (backend, str(root), str(settings.kb_read_consistency_s),
                                str(settings.kb_ann_min_rows))
    elif backend == "pgvector":
        key = (backend, pg_url_for(settings))
    else:
        raise ConfigError(f"unknown vector backend {backend!r}; use lancedb or pgvector")
    with _lock:
        store = _stores.get(key)
        if store is None:
            if backend == "lancedb":
                from revline.knowledge.store.lance import LanceStore

                store = LanceStore(root, settings.kb_read_consistency_s, settings.kb_ann_min_rows)
            else:
                from revline.knowledge.store.pgvector import PgVectorStore

                store = PgVectorStore(key[1])
            _stores[key] = store
        return store


def reset_stores() -> None:
    """Close and forget every store (tests switch homes and databases)."""
    with _lock:
        for store in _stores.values():
            store.close()
        _stores.clear()
