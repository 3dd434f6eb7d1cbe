"""Pattern records: list, get, upsert, delete and hybrid search over a tenant's patterns.

Patterns are indexed in the tenant's internal `_patterns` collection (one row per pattern,
the text from `schema.search_text`). The index is brought up to date lazily, on search, for
exactly the patterns whose content hash differs from the one indexed, so seeding itself
never loads the embedding model.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from revline.kernel.config import Settings
from revline.kernel.errors import InvalidInput, NotFound
from revline.knowledge.embed import get_embedder
from revline.knowledge.kbs import PATTERNS_KB, collection_of, store_of, system_kb
from revline.knowledge.models import KnowledgeBase, Pattern
from revline.knowledge.patterns.schema import content_sha256, search_text, validate_pattern
from revline.knowledge.patterns.seeding import SeedReport, ensure_seeded, seed_patterns
from revline.knowledge.repository import KnowledgeBaseRepository, PatternRepository
from revline.knowledge.search import search_collection
from revline.knowledge.store import Filters, StoreRow, parse_filters


@dataclass(frozen=True)
class PatternRecord:
    """A pattern as other domains use it; `.pattern` is the full parsed YAML mapping."""

    id: str
    name: str
    mode: str
    category: str
    description: str
    tags: list[str]
    use_when: list[str]
    slots: list[dict[str, Any]]
    pattern: dict[str, Any]
    origin: str
    content_sha256: str
    updated_at: datetime

    def to_dict(self, full: bool = True) -> dict[str, Any]:
        """JSON form; `full=False` leaves out the graph."""
        out = {k: v for k, v in self.__dict__.items() if k != "pattern"}
        out["updated_at"] = self.updated_at.isoformat()
        if full:
            out["pattern"] = self.pattern
        return out


def record(row: Pattern) -> PatternRecord:
    """A row as a PatternRecord."""
    body = dict(row.body or {})
    return PatternRecord(
        id=row.pattern_id, name=row.name, mode=row.mode, category=row.category,
        description=row.description, tags=list(row.tags or []),
        use_when=[str(u) for u in body.get("use_when") or []],
        slots=[s for s in body.get("slots") or [] if isinstance(s, dict)],
        pattern=body, origin=row.origin, content_sha256=row.content_sha256,
        updated_at=row.updated_at,
    )


def list_patterns(session: Session, tenant_id: uuid.UUID) -> list[PatternRecord]:
    """Every pattern of the tenant, by id."""
    return [record(row) for row in PatternRepository(session, tenant_id).all()]


def get_pattern(session: Session, tenant_id: uuid.UUID, pattern_id: str) -> PatternRecord:
    """One pattern by id, else NotFound."""
    row = PatternRepository(session, tenant_id).by_pattern_id(pattern_id)
    if row is None:
        raise NotFound(f"pattern {pattern_id!r} not found; `revline kb patterns list` shows all")
    return record(row)


def upsert_pattern(
    session: Session, tenant_id: uuid.UUID, pattern: dict[str, Any], origin: str = "user"
) -> PatternRecord:
    """Create or replace a pattern after schema validation; the index catches up on search."""
    problems = validate_pattern(pattern)
    if problems:
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        raise InvalidInput(f"invalid pattern: {problems[0]}{more}")
    if origin not in ("user", "bundled"):
        raise InvalidInput(f"origin must be 'user' or 'bundled', got {origin!r}")
    repo = PatternRepository(session, tenant_id)
    values: dict[str, Any] = {
        "name": str(pattern["name"])[:300], "mode": str(pattern["mode"]),
        "category": str(pattern["category"])[:50],
        "description": str(pattern.get("description", "")),
        "tags": [str(t) for t in pattern.get("tags") or []], "body": dict(pattern),
        "content_sha256": content_sha256(pattern), "origin": origin,
    }
    row = repo.by_pattern_id(str(pattern["id"]))
    if row is None:
        row = repo.add(pattern_id=str(pattern["id"]), **values)
    else:
        for name, value in values.items():
            setattr(row, name, value)
        session.flush()
    return record(row)


def _patterns_kb(session: Session, settings: Settings, tenant_id: uuid.UUID) -> KnowledgeBase:
    """The tenant's internal pattern collection; after a rebuild every pattern re-indexes."""
    kb, rebuilt = system_kb(session, settings, tenant_id, PATTERNS_KB)
    if rebuilt:
        for row in PatternRepository(session, tenant_id).all():
            row.indexed_sha256 = None
        session.flush()
    return kb


def _index_row(row: Pattern, vector: Any) -> StoreRow:
    text = search_text(row.body)
    meta = [f"category={row.category}", f"mode={row.mode}", f"origin={row.origin}"]
    meta += [f"tags={t}" for t in row.tags or []]
    return StoreRow(
        chunk_id=str(row.id), document_id=str(row.id), source=f"pattern:{row.pattern_id}",
        title=row.name, section="", kind="pattern", ordinal=0, span_start=0,
        span_end=len(text), page_start=None, page_end=None, text=text, search_text=text,
        meta=meta, vector=vector,
    )


def sync_index(session: Session, settings: Settings, tenant_id: uuid.UUID) -> KnowledgeBase:
    """Embed and index the patterns whose content changed since they were last indexed."""
    kb = _patterns_kb(session, settings, tenant_id)
    stale = PatternRepository(session, tenant_id).unindexed()
    if stale:
        vectors = get_embedder(settings).embed([search_text(row.body) for row in stale])
        rows = [_index_row(row, vector) for row, vector in zip(stale, vectors, strict=True)]
        # Same chunk ids every time, so two processes syncing at once write the same rows.
        store_of(settings, kb).replace_documents(collection_of(kb), [r.chunk_id for r in rows],
                                                 rows)
        for row in stale:
            row.indexed_sha256 = row.content_sha256
        session.flush()
    return kb


def unindex(session: Session, settings: Settings, tenant_id: uuid.UUID,
            row_ids: list[uuid.UUID]) -> None:
    """Drop deleted patterns from the index (if the tenant ever searched patterns)."""
    kb = KnowledgeBaseRepository(session, tenant_id).by_name(PATTERNS_KB)
    if kb is not None and row_ids:
        store_of(settings, kb).replace_documents(collection_of(kb), [str(i) for i in row_ids], [])


def delete_pattern(
    session: Session, settings: Settings, tenant_id: uuid.UUID, pattern_id: str
) -> None:
    """Delete a pattern; a bundled one stays deleted across upgrades."""
    row = PatternRepository(session, tenant_id).by_pattern_id(pattern_id)
    if row is None:
        raise NotFound(f"pattern {pattern_id!r} not found")
    row_id = row.id
    session.delete(row)
    session.flush()
    unindex(session, settings, tenant_id, [row_id])


def search_patterns(
    session: Session,
    settings: Settings,
    tenant_id: uuid.UUID,
    text: str,
    k: int = 5,
    filters: Filters | None = None,
) -> list[tuple[PatternRecord, float]]:
    """Hybrid search over the tenant's patterns; filters: category, mode, tags, origin."""
    from revline.knowledge.search import check_query

    mode = check_query(text, k, "hybrid")
    kb = sync_index(session, settings, tenant_id)
    hits = search_collection(
        store_of(settings, kb), collection_of(kb), get_embedder(settings), text, k,
        parse_filters(filters), mode, settings.kb_candidates, settings.kb_rrf_k,
        vector_weight=settings.kb_vector_weight,
    )
    rows = {str(r.id): r for r in PatternRepository(session, tenant_id).all()}
    return [(record(rows[h.document_id]), h.score) for h in hits if h.document_id in rows]


def ensure_seeded_once(session: Session, settings: Settings, tenant_id: uuid.UUID) -> None:
    """First-use hook: seed/upgrade once per process and tenant (a set lookup afterwards)."""
    report = ensure_seeded(session, settings, tenant_id)
    if report is not None and report.deleted_rows:
        unindex(session, settings, tenant_id, report.deleted_rows)


def ensure_patterns(session: Session, settings: Settings, tenant_id: uuid.UUID) -> int:
    """Seed/upgrade the bundled patterns for the tenant (idempotent); returns its count."""
    ensure_seeded_once(session, settings, tenant_id)
    return PatternRepository(session, tenant_id).count()


def reseed(session: Session, settings: Settings, tenant_id: uuid.UUID) -> SeedReport:
    """Explicit seeding pass (CLI `kb patterns seed`), taking the lock even when current."""
    report = seed_patterns(session, settings, tenant_id, force=True)
    unindex(session, settings, tenant_id, report.deleted_rows)
    return report
