"""The knowledge domain's public interface (other domains import only this module).

Never commits: the request, task or CLI wrapper owns the transaction. The first call for a
tenant in a process also seeds the bundled pattern library for that tenant.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from revline.kernel.config import Settings, get_settings
from revline.kernel.errors import InvalidInput, NotFound
from revline.knowledge import kbs
from revline.knowledge.embed import get_embedder
from revline.knowledge.ingest.pipeline import DocResult, Ingestor, IngestReport, ProgressFn
from revline.knowledge.ingest.sources import Source, expand_paths
from revline.knowledge.models import KBChunk, KBDocument, KnowledgeBase, Winner
from revline.knowledge.patterns import service as patterns
from revline.knowledge.patterns.library import load_library
from revline.knowledge.patterns.service import PatternRecord
from revline.knowledge.repository import (
    ChunkRepository,
    DocumentRepository,
    KnowledgeBaseRepository,
)
from revline.knowledge.search import Hit, Span, check_query, search_collection
from revline.knowledge.store import Filters, parse_filters
from revline.knowledge.winners import WinnerHit, WinnerInput

__all__ = [
    "DocResult",
    "Hit",
    "IngestReport",
    "PatternRecord",
    "Span",
    "WinnerHit",
    "WinnerInput",
    "add_winner",
    "chunks_page",
    "create_kb",
    "delete_document",
    "delete_kb",
    "delete_pattern",
    "documents_page",
    "ensure_kb",
    "ensure_patterns",
    "find_similar",
    "get_document",
    "get_kb",
    "get_pattern",
    "ingest_paths",
    "ingest_sources",
    "list_kbs",
    "list_patterns",
    "pattern_library_count",
    "search",
    "search_patterns",
    "stats",
    "upsert_pattern",
]


def _settings(settings: Settings | None) -> Settings:
    return settings or get_settings()


def first_use(session: Session, settings: Settings, tenant_id: uuid.UUID) -> None:
    """Seed the tenant's pattern library once per process (idempotent, locked)."""
    patterns.ensure_seeded_once(session, settings, tenant_id)


# Knowledge bases --------------------------------------------------------------------------
def create_kb(
    session: Session, tenant_id: uuid.UUID, name: str, description: str = "",
    chunk_size: int | None = None, chunk_overlap: int | None = None,
    settings: Settings | None = None,
) -> KnowledgeBase:
    """Create a knowledge base (Conflict if it exists)."""
    settings = _settings(settings)
    first_use(session, settings, tenant_id)
    return kbs.create_kb(session, settings, tenant_id, name, description, chunk_size,
                         chunk_overlap)


def ensure_kb(
    session: Session, tenant_id: uuid.UUID, name: str, settings: Settings | None = None
) -> KnowledgeBase:
    """Get or create a knowledge base by name."""
    settings = _settings(settings)
    first_use(session, settings, tenant_id)
    kbs.validate_name(name)
    return kbs.ensure_kb(session, settings, tenant_id, name)


def get_kb(session: Session, tenant_id: uuid.UUID, name: str) -> KnowledgeBase:
    """A knowledge base by name, else NotFound."""
    kbs.validate_name(name)
    return kbs.get_kb(session, tenant_id, name)


def list_kbs(
    session: Session, tenant_id: uuid.UUID, include_system: bool = False,
    settings: Settings | None = None,
) -> list[KnowledgeBase]:
    """The tenant's knowledge bases by name."""
    first_use(session, _settings(settings), tenant_id)
    return KnowledgeBaseRepository(session, tenant_id).visible(include_system)


def delete_kb(
    session: Session, tenant_id: uuid.UUID, name: str, settings: Settings | None = None
) -> None:
    """Delete a knowledge base with its documents; vectors are dropped after commit."""
    kbs.validate_name(name)
    kbs.delete_kb(session, _settings(settings), tenant_id, name)


def stats(
    session: Session, tenant_id: uuid.UUID, name: str, settings: Settings | None = None
) -> dict[str, Any]:
    """Counts, sizes, model and store details of one knowledge base."""
    return kbs.kb_stats(session, _settings(settings), get_kb(session, tenant_id, name))


# Ingestion --------------------------------------------------------------------------------
def ingest_sources(
    session: Session,
    tenant_id: uuid.UUID,
    kb_name: str,
    sources: list[Source],
    *,
    settings: Settings | None = None,
    progress: ProgressFn | None = None,
    checkpoint: Any = None,
    prune_under: list[Path] | None = None,
) -> IngestReport:
    """Ingest prepared sources into a KB (created if missing)."""
    settings = _settings(settings)
    kb = ensure_kb(session, tenant_id, kb_name, settings)
    ingestor = Ingestor(session, settings, kb, progress=progress, checkpoint=checkpoint)
    report = ingestor.run(sources)
    if prune_under:
        seen = {s.source for s in sources}
        docs = DocumentRepository(session, tenant_id)
        stale = [
            doc
            for folder in prune_under
            for doc in docs.with_source_prefix(kb.id, str(folder).rstrip("/") + "/")
            if doc.source not in seen
        ]
        ingestor.remove(stale)
    return report


def ingest_paths(
    session: Session,
    tenant_id: uuid.UUID,
    kb_name: str,
    paths: list[str] | list[Path],
    *,
    meta: dict[str, Any] | None = None,
    prune: bool = False,
    settings: Settings | None = None,
    progress: ProgressFn | None = None,
    checkpoint: Any = None,
) -> IngestReport:
    """Ingest files, directories (recursively) and URLs into a KB, created if missing.

    Unchanged documents are skipped, changed ones replaced; with `prune`, documents that
    vanished from an ingested directory are removed.
    """
    sources, walked, skipped = expand_paths([str(p) for p in paths], meta)
    report = ingest_sources(
        session, tenant_id, kb_name, sources, settings=settings, progress=progress,
        checkpoint=checkpoint, prune_under=walked if prune else None,
    )
    report.skipped_unsupported = skipped
    return report


def documents_page(
    session: Session, tenant_id: uuid.UUID, kb_name: str, limit: int = 100, offset: int = 0
) -> list[KBDocument]:
    """A page of the KB's documents, by source."""
    kb = get_kb(session, tenant_id, kb_name)
    return DocumentRepository(session, tenant_id).page(kb.id, limit, offset)


def get_document(
    session: Session, tenant_id: uuid.UUID, kb_name: str, document_id: str
) -> KBDocument:
    """One document of the KB by id or by source."""
    kb = get_kb(session, tenant_id, kb_name)
    docs = DocumentRepository(session, tenant_id)
    doc: KBDocument | None
    try:
        doc = docs.get(uuid.UUID(document_id))
    except (ValueError, NotFound):
        from revline.knowledge.ingest.sources import source_key

        doc = docs.by_source_keys(kb.id, [source_key(document_id)]).get(source_key(document_id))
    if doc is None or doc.kb_id != kb.id:
        raise NotFound(f"document {document_id!r} not found in knowledge base {kb_name!r}")
    return doc


def chunks_page(
    session: Session, tenant_id: uuid.UUID, kb_name: str, document_id: str,
    limit: int = 100, offset: int = 0,
) -> list[KBChunk]:
    """A page of one document's chunks in order."""
    doc = get_document(session, tenant_id, kb_name, document_id)
    return ChunkRepository(session, tenant_id).for_document(doc.id, limit, offset)


def delete_document(
    session: Session, tenant_id: uuid.UUID, kb_name: str, document_id: str,
    settings: Settings | None = None,
) -> None:
    """Remove one document and its chunks from SQL and the index."""
    settings = _settings(settings)
    doc = get_document(session, tenant_id, kb_name, document_id)
    kb = get_kb(session, tenant_id, kb_name)
    Ingestor(session, settings, kb).remove([doc])


# Search -----------------------------------------------------------------------------------
def search(
    session: Session,
    tenant_id: uuid.UUID,
    kb_name: str,
    text: str,
    k: int = 10,
    filters: Filters | None = None,
    mode: str = "hybrid",
    collapse: bool = False,
    settings: Settings | None = None,
) -> list[Hit]:
    """Top-k chunks by hybrid (BM25 + vector, RRF), vector or BM25 ranking.

    `filters` match columns (source, kind, document_id, title) or document metadata; a list
    value means any of. `collapse` returns at most one chunk per document.
    """
    settings = _settings(settings)
    checked = check_query(text, k, mode)
    spec = parse_filters(filters)
    first_use(session, settings, tenant_id)
    kb = get_kb(session, tenant_id, kb_name)
    kbs.check_model(settings, kb)
    return search_collection(
        kbs.store_of(settings, kb), kbs.collection_of(kb), get_embedder(settings), text, k,
        spec, checked, settings.kb_candidates, settings.kb_rrf_k, collapse,
        settings.kb_vector_weight,
    )


# Patterns ---------------------------------------------------------------------------------
def ensure_patterns(
    session: Session, tenant_id: uuid.UUID, settings: Settings | None = None
) -> int:
    """Idempotent seed/upgrade of the bundled patterns; returns the tenant's pattern count."""
    return patterns.ensure_patterns(session, _settings(settings), tenant_id)


def list_patterns(
    session: Session, tenant_id: uuid.UUID, settings: Settings | None = None
) -> list[PatternRecord]:
    """Every pattern of the tenant (bundled and own), by id."""
    first_use(session, _settings(settings), tenant_id)
    return patterns.list_patterns(session, tenant_id)


def get_pattern(
    session: Session, tenant_id: uuid.UUID, pattern_id: str, settings: Settings | None = None
) -> PatternRecord:
    """One pattern, else NotFound."""
    first_use(session, _settings(settings), tenant_id)
    return patterns.get_pattern(session, tenant_id, pattern_id)


def search_patterns(
    session: Session, tenant_id: uuid.UUID, text: str, k: int = 5,
    filters: Filters | None = None, settings: Settings | None = None,
) -> list[tuple[PatternRecord, float]]:
    """Patterns most relevant to a requirement text (hybrid search)."""
    settings = _settings(settings)
    first_use(session, settings, tenant_id)
    return patterns.search_patterns(session, settings, tenant_id, text, k, filters)


def upsert_pattern(
    session: Session, tenant_id: uuid.UUID, pattern: dict[str, Any], origin: str = "user",
    settings: Settings | None = None,
) -> PatternRecord:
    """Create or replace a pattern (schema v1 validated)."""
    first_use(session, _settings(settings), tenant_id)
    return patterns.upsert_pattern(session, tenant_id, pattern, origin)


def delete_pattern(
    session: Session, tenant_id: uuid.UUID, pattern_id: str, settings: Settings | None = None
) -> None:
    """Delete a pattern; deleted bundled patterns are not re-seeded."""
    settings = _settings(settings)
    first_use(session, settings, tenant_id)
    patterns.delete_pattern(session, settings, tenant_id, pattern_id)


def pattern_library_count(settings: Settings | None = None) -> int:
    """Valid patterns in the bundled library (what /health reports); no database access."""
    return len(load_library(_settings(settings)).patterns)


# Winners ----------------------------------------------------------------------------------
def add_winner(
    session: Session, tenant_id: uuid.UUID, winner: WinnerInput | None = None,
    settings: Settings | None = None, **fields: Any,
) -> tuple[Winner, bool]:
    """Record a winning creative (or update the metrics of the same creative)."""
    from revline.knowledge import winners

    if winner is None:
        try:
            winner = WinnerInput(**fields)
        except TypeError as exc:
            raise InvalidInput(f"add_winner: {exc}") from exc
    settings = _settings(settings)
    first_use(session, settings, tenant_id)
    return winners.add_winner(session, settings, tenant_id, winner)


def find_similar(
    session: Session, tenant_id: uuid.UUID, text: str, k: int = 5,
    channel: str | None = None, kind: str | None = None, metric: str = "ctr",
    settings: Settings | None = None,
) -> list[WinnerHit]:
    """Winning creatives similar to `text`, ranked by similarity x proven performance."""
    from revline.knowledge import winners

    settings = _settings(settings)
    first_use(session, settings, tenant_id)
    return winners.find_similar(session, settings, tenant_id, text, k, channel, kind, metric)
