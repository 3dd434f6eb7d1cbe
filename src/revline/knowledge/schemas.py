"""Pydantic request/response models of the knowledge API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from revline.knowledge.models import KBChunk, KBDocument, KnowledgeBase

FilterValue = str | int | float | bool | list[str | int | float | bool]


class KBCreate(BaseModel):
    """Create a knowledge base."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    description: str = ""
    chunk_size: int | None = Field(default=None, ge=200, le=20_000)
    chunk_overlap: int | None = Field(default=None, ge=0, le=5_000)


class KBUpdate(BaseModel):
    """Change a knowledge base's description."""

    model_config = ConfigDict(extra="forbid")
    description: str


class KBOut(BaseModel):
    """A knowledge base."""

    id: str
    name: str
    description: str
    documents: int
    chunks: int
    backend: str
    embed_model: str
    embed_sha256: str
    chunk_size: int
    chunk_overlap: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, kb: KnowledgeBase) -> KBOut:
        """From the row."""
        return cls(
            id=str(kb.id), name=kb.name, description=kb.description,
            documents=kb.document_count, chunks=kb.chunk_count, backend=kb.backend,
            embed_model=kb.embed_model, embed_sha256=kb.embed_sha256,
            chunk_size=kb.chunk_size, chunk_overlap=kb.chunk_overlap,
            created_at=kb.created_at, updated_at=kb.updated_at,
        )


class DocumentOut(BaseModel):
    """An ingested document."""

    id: str
    source: str
    title: str
    kind: str
    content_sha256: str
    size_bytes: int
    chunk_count: int
    meta: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, doc: KBDocument) -> DocumentOut:
        """From the row."""
        return cls(
            id=str(doc.id), source=doc.source, title=doc.title, kind=doc.kind,
            content_sha256=doc.content_sha256, size_bytes=doc.size_bytes,
            chunk_count=doc.chunk_count, meta=doc.meta, created_at=doc.created_at,
            updated_at=doc.updated_at,
        )


class ChunkOut(BaseModel):
    """A chunk with its span in the document's canonical text."""

    id: str
    ordinal: int
    text: str
    section: str
    span_start: int
    span_end: int
    page_start: int | None
    page_end: int | None

    @classmethod
    def of(cls, chunk: KBChunk) -> ChunkOut:
        """From the row."""
        return cls(
            id=str(chunk.id), ordinal=chunk.ordinal, text=chunk.text, section=chunk.section,
            span_start=chunk.span_start, span_end=chunk.span_end,
            page_start=chunk.page_start, page_end=chunk.page_end,
        )


class QueryIn(BaseModel):
    """A search request."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, validation_alias=AliasChoices("text", "query"))
    k: int = Field(default=10, ge=1, le=100)
    mode: Literal["hybrid", "vector", "bm25"] = "hybrid"
    filters: dict[str, FilterValue] | None = None
    collapse: bool = False


class HitOut(BaseModel):
    """One result: the CLI's source/chunk/score plus ids, span and metadata."""

    source: str
    chunk: str
    score: float
    document_id: str
    chunk_id: str
    span: dict[str, Any]
    metadata: dict[str, Any]


class QueryOut(BaseModel):
    """Search results."""

    query: str
    hits: list[HitOut]


class UrlsIn(BaseModel):
    """Web pages to fetch and ingest."""

    model_config = ConfigDict(extra="forbid")
    urls: list[str] = Field(min_length=1, max_length=500)
    meta: dict[str, str] = Field(default_factory=dict)


class JobOut(BaseModel):
    """A queued ingest or re-embed job."""

    id: str
    kb: str
    kind: str
    status: str
    total: int
    done: int
    report: dict[str, Any] | None
    error: str | None
    created_at: str
    finished_at: str | None


class WinnerIn(BaseModel):
    """A winning creative with metrics (REST form; money in minor units)."""

    model_config = ConfigDict(extra="forbid")
    body: str
    channel: str = Field(min_length=1, max_length=50)
    kind: Literal["ad", "email"] = "ad"
    headline: str = ""
    external_id: str | None = None
    impressions: int = Field(default=0, ge=0)
    clicks: int = Field(default=0, ge=0)
    conversions: int = Field(default=0, ge=0)
    spend_minor: int = Field(default=0, ge=0)
    revenue_minor: int = Field(default=0, ge=0)
    currency: str = "USD"
    launched_at: datetime | None = None
    observed_at: datetime | None = None
    meta: dict[str, Any] = Field(default_factory=dict)


class WinnerSearchIn(BaseModel):
    """Find winners similar to a creative."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, validation_alias=AliasChoices("text", "query"))
    k: int = Field(default=5, ge=1, le=100)
    channel: str | None = None
    kind: Literal["ad", "email"] | None = None
    metric: Literal["ctr", "cvr", "conversion_rate"] = "ctr"


class LegacyMetrics(BaseModel):
    """Metrics as the seed ML service took them (money as decimal numbers)."""

    impressions: int = Field(default=0, ge=0)
    clicks: int = Field(default=0, ge=0)
    conversions: int = Field(default=0, ge=0)
    spend: float = Field(default=0.0, ge=0)
    revenue: float = Field(default=0.0, ge=0)
    currency: str = "USD"


class LegacyAddWinnerIn(BaseModel):
    """POST /api/ml/rag/add-winner body."""

    ad_id: str | None = None
    text: str = Field(min_length=1, validation_alias=AliasChoices("text", "content", "body"))
    headline: str = ""
    channel: str = "meta"
    kind: Literal["ad", "email"] = "ad"
    metrics: LegacyMetrics = Field(default_factory=LegacyMetrics)
    created_at: datetime | None = None
    observed_at: datetime | None = None


class LegacyFindSimilarIn(BaseModel):
    """POST /api/ml/rag/find-similar body."""

    text: str = Field(min_length=1, validation_alias=AliasChoices("text", "content", "query"))
    top_k: int = Field(default=5, ge=1, le=100, validation_alias=AliasChoices("top_k", "k"))
    channel: str | None = None
    kind: Literal["ad", "email"] | None = None
    metric: Literal["ctr", "cvr", "conversion_rate"] = "ctr"


class PatternSearchIn(BaseModel):
    """Search the pattern library."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, validation_alias=AliasChoices("text", "query"))
    k: int = Field(default=5, ge=1, le=50)
    filters: dict[str, FilterValue] | None = None
