"""SQLAlchemy tables of the knowledge domain.

SQL is the source of truth (bases, documents, chunk text and spans, patterns, winners); the
vector store is an index rebuilt from it by `revline kb reembed`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from revline.kernel.db.base import Base, TenantMixin, TimestampMixin, UUIDPkMixin


class KnowledgeBase(UUIDPkMixin, TimestampMixin, TenantMixin, Base):
    """A named collection of documents; records the model and store that index it."""

    __tablename__ = "kb_bases"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_kb_bases_tenant_name"),)

    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    system: Mapped[bool] = mapped_column(default=False)  # internal: patterns, winners
    backend: Mapped[str] = mapped_column(String(20))
    collection: Mapped[str] = mapped_column(String(80))
    embed_model: Mapped[str] = mapped_column(String(200))
    embed_sha256: Mapped[str] = mapped_column(String(64))
    embed_dim: Mapped[int] = mapped_column(Integer)
    chunk_size: Mapped[int] = mapped_column(Integer)
    chunk_overlap: Mapped[int] = mapped_column(Integer)
    document_count: Mapped[int] = mapped_column(Integer, default=0)
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)


class KBDocument(UUIDPkMixin, TimestampMixin, TenantMixin, Base):
    """One ingested source (file path, URL, upload name); replaced when its content changes."""

    __tablename__ = "kb_documents"
    __table_args__ = (
        UniqueConstraint("kb_id", "source_key", name="uq_kb_documents_kb_source"),
        Index("ix_kb_documents_kb_sha", "kb_id", "content_sha256"),
    )

    kb_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("kb_bases.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(Text)
    source_key: Mapped[str] = mapped_column(String(64))  # sha256 of source: bounded index key
    title: Mapped[str] = mapped_column(String(500), default="")
    kind: Mapped[str] = mapped_column(String(20))
    content_sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)


class KBChunk(UUIDPkMixin, TenantMixin, Base):
    """A chunk's text and its span in the document's canonical text (pages for PDFs)."""

    __tablename__ = "kb_chunks"
    __table_args__ = (Index("ix_kb_chunks_document_ordinal", "document_id", "ordinal"),)

    kb_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("kb_bases.id", ondelete="CASCADE"), index=True
    )
    document_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("kb_documents.id", ondelete="CASCADE")
    )
    ordinal: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    section: Mapped[str] = mapped_column(String(500), default="")
    span_start: Mapped[int] = mapped_column(Integer)
    span_end: Mapped[int] = mapped_column(Integer)
    page_start: Mapped[int | None] = mapped_column(Integer, default=None)
    page_end: Mapped[int | None] = mapped_column(Integer, default=None)


class KBJob(UUIDPkMixin, TimestampMixin, TenantMixin, Base):
    """A queued ingest or re-embed run; progress survives restarts and the run resumes."""

    __tablename__ = "kb_jobs"

    kb_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("kb_bases.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))  # ingest | reembed
    status: Mapped[str] = mapped_column(String(20), default="queued")
    items: Mapped[list[Any]] = mapped_column(default=list)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class Pattern(UUIDPkMixin, TimestampMixin, TenantMixin, Base):
    """A workflow/automation pattern of a tenant: bundled (seeded) or the tenant's own."""

    __tablename__ = "kb_patterns"
    __table_args__ = (
        UniqueConstraint("tenant_id", "pattern_id", name="uq_kb_patterns_tenant_pattern"),
    )

    pattern_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(300))
    mode: Mapped[str] = mapped_column(String(30))
    category: Mapped[str] = mapped_column(String(50))
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[Any]] = mapped_column(default=list)
    body: Mapped[dict[str, Any]] = mapped_column(default=dict)
    content_sha256: Mapped[str] = mapped_column(String(64))
    indexed_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    origin: Mapped[str] = mapped_column(String(20), default="bundled")  # bundled | user


class PatternSeed(UUIDPkMixin, TimestampMixin, TenantMixin, Base):
    """Per-tenant manifest of the bundled patterns applied; its row is the seeding lock."""

    __tablename__ = "kb_pattern_seeds"
    __table_args__ = (UniqueConstraint("tenant_id", name="uq_kb_pattern_seeds_tenant"),)

    library_sha256: Mapped[str] = mapped_column(String(64), default="")
    manifest: Mapped[dict[str, Any]] = mapped_column(default=dict)  # pattern id -> sha256
    lock_version: Mapped[int] = mapped_column(Integer, default=0)


class Winner(UUIDPkMixin, TimestampMixin, TenantMixin, Base):
    """A winning ad or email creative and its observed performance."""

    __tablename__ = "kb_winners"
    __table_args__ = (
        UniqueConstraint("tenant_id", "channel", "content_sha256", name="uq_kb_winners_content"),
    )

    kind: Mapped[str] = mapped_column(String(20))  # ad | email
    channel: Mapped[str] = mapped_column(String(50))
    external_id: Mapped[str | None] = mapped_column(String(200), default=None)
    headline: Mapped[str] = mapped_column(String(500), default="")
    body: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))
    impressions: Mapped[int] = mapped_column(BigInteger, default=0)
    clicks: Mapped[int] = mapped_column(BigInteger, default=0)
    conversions: Mapped[int] = mapped_column(BigInteger, default=0)
    spend_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    revenue_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    launched_at: Mapped[datetime | None] = mapped_column(default=None)
    observed_at: Mapped[datetime] = mapped_column()
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
