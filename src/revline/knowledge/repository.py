"""All SQL of the knowledge domain, always scoped to one tenant."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from revline.kernel.db.repository import TenantRepository
from revline.knowledge.models import (
    KBChunk,
    KBDocument,
    KBJob,
    KnowledgeBase,
    Pattern,
    PatternSeed,
    Winner,
)


class KnowledgeBaseRepository(TenantRepository[KnowledgeBase]):
    """Knowledge bases of this tenant."""

    model = KnowledgeBase

    def by_name(self, name: str) -> KnowledgeBase | None:
        """The KB called `name`, if any."""
        return self.session.scalars(self.query().where(KnowledgeBase.name == name)).first()

    def visible(self, include_system: bool = False) -> list[KnowledgeBase]:
        """User KBs by name (plus internal ones on request)."""
        stmt = self.query().order_by(KnowledgeBase.name)
        if not include_system:
            stmt = stmt.where(KnowledgeBase.system.is_(False))
        return list(self.session.scalars(stmt))


def all_knowledge_bases(session: Session) -> list[KnowledgeBase]:
    """Every KB of every tenant: only for housekeeping jobs (optimize)."""
    return list(session.scalars(select(KnowledgeBase).order_by(KnowledgeBase.created_at)))


class DocumentRepository(TenantRepository[KBDocument]):
    """Documents of this tenant's KBs."""

    model = KBDocument

    def by_source_keys(self, kb_id: uuid.UUID, keys: Iterable[str]) -> dict[str, KBDocument]:
        """Existing documents keyed by source_key."""
        wanted = list(keys)
        if not wanted:
            return {}
        rows = self.session.scalars(
            self.query().where(KBDocument.kb_id == kb_id, KBDocument.source_key.in_(wanted))
        )
        return {row.source_key: row for row in rows}

    def by_content(self, kb_id: uuid.UUID, shas: Iterable[str]) -> dict[str, KBDocument]:
        """Documents whose content hash is among `shas` (duplicate detection)."""
        wanted = list(shas)
        if not wanted:
            return {}
        rows = self.session.scalars(
            self.query().where(KBDocument.kb_id == kb_id, KBDocument.content_sha256.in_(wanted))
        )
        return {row.content_sha256: row for row in rows}

    def page(self, kb_id: uuid.UUID, limit: int, offset: int) -> list[KBDocument]:
        """Documents of a KB by source."""
        stmt = (
            self.query().where(KBDocument.kb_id == kb_id).order_by(KBDocument.source)
            .limit(limit).offset(offset)
        )
        return list(self.session.scalars(stmt))

    def all_for(self, kb_id: uuid.UUID) -> list[KBDocument]:
        """Every document of a KB."""
        return list(self.session.scalars(self.query().where(KBDocument.kb_id == kb_id)))

    def with_source_prefix(self, kb_id: uuid.UUID, prefix: str) -> list[KBDocument]:
        """Documents whose source lies under a directory (for --prune)."""
        stmt = self.query().where(
            KBDocument.kb_id == kb_id, func.substr(KBDocument.source, 1, len(prefix)) == prefix
        )
        return list(self.session.scalars(stmt))

    def totals(self, kb_id: uuid.UUID) -> tuple[int, int, int]:
        """(documents, chunks, bytes) of a KB."""
        row = self.session.execute(
            select(
                func.count(KBDocument.id),
                func.coalesce(func.sum(KBDocument.chunk_count), 0),
                func.coalesce(func.sum(KBDocument.size_bytes), 0),
            ).where(KBDocument.tenant_id == self.tenant_id, KBDocument.kb_id == kb_id)
        ).one()
        return int(row[0]), int(row[1]), int(row[2])

    def kinds(self, kb_id: uuid.UUID) -> dict[str, int]:
        """Document count per kind."""
        rows = self.session.execute(
            select(KBDocument.kind, func.count())
            .where(KBDocument.tenant_id == self.tenant_id, KBDocument.kb_id == kb_id)
            .group_by(KBDocument.kind)
        ).all()
        return {str(kind): int(n) for kind, n in rows}


class ChunkRepository(TenantRepository[KBChunk]):
    """Chunks (text and spans) of this tenant's documents."""

    model = KBChunk

    def for_document(self, document_id: uuid.UUID, limit: int = 1000, offset: int = 0
                     ) -> list[KBChunk]:
        """A page of a document's chunks in order."""
        stmt = (
            self.query().where(KBChunk.document_id == document_id).order_by(KBChunk.ordinal)
            .limit(limit).offset(offset)
        )
        return list(self.session.scalars(stmt))

    def for_documents(self, document_ids: list[uuid.UUID]) -> list[KBChunk]:
        """All chunks of several documents, grouped by document then ordinal."""
        if not document_ids:
            return []
        stmt = (
            self.query().where(KBChunk.document_id.in_(document_ids))
            .order_by(KBChunk.document_id, KBChunk.ordinal)
        )
        return list(self.session.scalars(stmt))

    def delete_for(self, document_ids: list[uuid.UUID]) -> None:
        """Remove the chunks of these documents."""
        if document_ids:
            self.session.execute(
                delete(KBChunk).where(
                    KBChunk.tenant_id == self.tenant_id, KBChunk.document_id.in_(document_ids)
                )
            )


class JobRepository(TenantRepository[KBJob]):
    """Ingest and re-embed jobs."""

    model = KBJob


class PatternRepository(TenantRepository[Pattern]):
    """This tenant's patterns."""

    model = Pattern

    def by_pattern_id(self, pattern_id: str) -> Pattern | None:
        """A pattern by its slug id."""
        return self.session.scalars(self.query().where(Pattern.pattern_id == pattern_id)).first()

    def all(self) -> list[Pattern]:
        """Every pattern, by id."""
        return list(self.session.scalars(self.query().order_by(Pattern.pattern_id)))

    def count(self) -> int:
        """How many patterns the tenant has."""
        return int(
            self.session.scalar(
                select(func.count(Pattern.id)).where(Pattern.tenant_id == self.tenant_id)
            ) or 0
        )

    def unindexed(self) -> list[Pattern]:
        """Patterns whose current content is not in the search index yet."""
        stmt = self.query().where(
            (Pattern.indexed_sha256.is_(None))
            | (Pattern.indexed_sha256 != Pattern.content_sha256)
        )
        return list(self.session.scalars(stmt))


class PatternSeedRepository(TenantRepository[PatternSeed]):
    """The tenant's seeding manifest row."""

    model = PatternSeed

    def current(self) -> PatternSeed | None:
        """The manifest row, if the tenant was ever seeded."""
        return self.session.scalars(self.query()).first()


class WinnerRepository(TenantRepository[Winner]):
    """Winning creatives."""

    model = Winner

    def by_content(self, channel: str, sha: str) -> Winner | None:
        """The same creative on the same channel, if already recorded."""
        return self.session.scalars(
            self.query().where(Winner.channel == channel, Winner.content_sha256 == sha)
        ).first()

    def by_ids(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, Winner]:
        """Winners by id."""
        if not ids:
            return {}
        return {w.id: w for w in self.session.scalars(self.query().where(Winner.id.in_(ids)))}
