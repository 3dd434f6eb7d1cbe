"""Ingestion: read, hash, skip unchanged or duplicate content, chunk, embed, index, record.

Documents are identified by source within a KB. Unchanged content (same sha256) is skipped
without reading the model; changed content replaces the document's chunks in one store
commit. Content already indexed under another source is reported as a duplicate. Work is
flushed in batches (one embedding batch, one store commit, one SQL flush) and the caller's
`checkpoint` (a commit) runs after each, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from revline.kernel.config import Settings
from revline.kernel.errors import RevlineError
from revline.knowledge.embed import get_embedder
from revline.knowledge.ingest.chunker import Chunk, chunk_document, context_text
from revline.knowledge.ingest.document import ParsedDoc
from revline.knowledge.ingest.readers import read_document
from revline.knowledge.ingest.sources import Source, limit_bytes, source_key, too_large
from revline.knowledge.kbs import check_model, collection_of, refresh_counts, store_of
from revline.knowledge.models import KBChunk, KBDocument, KnowledgeBase
from revline.knowledge.repository import ChunkRepository, DocumentRepository
from revline.knowledge.store import StoreRow, meta_tags

CHUNK_NAMESPACE = uuid.UUID("6f1c2b1e-3d0a-4c9e-9b7a-2f5d8e4a1c01")
FLUSH_CHUNKS = 256
FLUSH_DOCS = 64

ProgressFn = Callable[[str, "DocResult"], None]


@dataclass
class DocResult:
    """What happened to one source."""

    source: str
    status: str  # added | updated | unchanged | duplicate | failed | removed
    chunks: int = 0
    error: str | None = None
    document_id: str | None = None
    duplicate_of: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form (None fields dropped)."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class IngestReport:
    """Outcome of one ingest call."""

    kb: str
    documents: list[DocResult] = field(default_factory=list)
    skipped_unsupported: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    duration_s: float = 0.0

    def count(self, status: str) -> int:
        """How many documents ended with `status`."""
        return sum(1 for d in self.documents if d.status == status)

    @property
    def failed(self) -> list[DocResult]:
        """Sources that could not be ingested."""
        return [d for d in self.documents if d.status == "failed"]

    def summary(self) -> dict[str, int]:
        """Counts by status plus chunk totals."""
        statuses = ("added", "updated", "unchanged", "duplicate", "removed", "failed")
        out = {s: self.count(s) for s in statuses}
        out.update(chunks_added=self.chunks_added, chunks_removed=self.chunks_removed,
                   skipped_unsupported=self.skipped_unsupported)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"kb": self.kb, **self.summary(), "duration_s": round(self.duration_s, 3),
                "documents": [d.to_dict() for d in self.documents]}


@dataclass
class _Prepared:
    source: Source
    sha: str
    size: int
    doc: ParsedDoc
    chunks: list[Chunk]
    existing: KBDocument | None


def chunk_id_for(document_id: uuid.UUID, ordinal: int, content_sha: str) -> uuid.UUID:
    """Deterministic: two processes ingesting the same content produce the same ids."""
    return uuid.uuid5(CHUNK_NAMESPACE, f"{document_id}:{ordinal}:{content_sha}")


def store_row(doc: KBDocument, chunk: KBChunk, vector: Any) -> StoreRow:
    """The store's copy of a chunk."""
    return StoreRow(
        chunk_id=str(chunk.id), document_id=str(doc.id), source=doc.source, title=doc.title,
        section=chunk.section, kind=doc.kind, ordinal=chunk.ordinal,
        span_start=chunk.span_start, span_end=chunk.span_end, page_start=chunk.page_start,
        page_end=chunk.page_end, text=chunk.text,
        search_text=context_text(doc.title, chunk.section, chunk.text),
        meta=meta_tags(doc.meta), vector=vector,
    )


class Ingestor:
    """Ingests sources into one KB inside the caller's session."""

    def __init__(
        self,
        session: Session,
        settings: Settings,
        kb: KnowledgeBase,
        progress: ProgressFn | None = None,
        checkpoint: Callable[[], None] | None = None,
    ) -> None:
        check_model(settings, kb)
        self.session, self.settings, self.kb = session, settings, kb
        self.progress, self.checkpoint = progress, checkpoint
        self.docs = DocumentRepository(session, kb.tenant_id)
        self.chunks = ChunkRepository(session, kb.tenant_id)
        self.store, self.collection = store_of(settings, kb), collection_of(kb)
        self.report = IngestReport(kb.name)
        self._batch: list[_Prepared] = []
        self._shas_this_run: dict[str, str] = {}

    def run(self, sources: list[Source]) -> IngestReport:
        """Ingest every source; failures are recorded per source, never abort the rest."""
        started = time.perf_counter()
        for source in sources:
            try:
                result = self._prepare(source)
            except RevlineError as exc:
                result = DocResult(source.source, "failed", error=exc.message)
            if result is not None:
                self._record(result)
            if sum(len(p.chunks) for p in self._batch) >= FLUSH_CHUNKS or (
                len(self._batch) >= FLUSH_DOCS
            ):
                self.flush()
        self.flush()
        refresh_counts(self.session, self.kb)
        self.report.duration_s = time.perf_counter() - started
        return self.report

    def _record(self, result: DocResult) -> None:
        self.report.documents.append(result)
        if self.progress is not None:
            self.progress(result.source, result)

    def _prepare(self, source: Source) -> DocResult | None:
        limit = limit_bytes(self.settings)
        if source.size is not None and source.size > limit:
            raise too_large(source.source, source.size, self.settings)
        data, kind = source.load()
        if len(data) > limit:
            raise too_large(source.source, len(data), self.settings)
        sha = hashlib.sha256(data).hexdigest()
        key = source_key(source.source)
        existing = self.docs.by_source_keys(self.kb.id, [key]).get(key)
        if (
            existing is not None
            and existing.content_sha256 == sha
            and all(existing.meta.get(k) == v for k, v in source.meta.items())
        ):
            return DocResult(source.source, "unchanged", existing.chunk_count,
                             document_id=str(existing.id))
        if existing is None:
            twin = self._shas_this_run.get(sha)
            other = self.docs.by_content(self.kb.id, [sha]).get(sha)
            twin = twin or (other.source if other is not None else None)
            if twin is not None and twin != source.source:
                return DocResult(source.source, "duplicate", duplicate_of=twin)
        self._shas_this_run[sha] = source.source
        doc = read_document(data, source.name, kind)
        chunks = chunk_document(doc, self.kb.chunk_size, self.kb.chunk_overlap)
        self._batch.append(_Prepared(source, sha, len(data), doc, chunks, existing))
        return None

    def flush(self) -> None:
        """Embed, index and record the pending documents, then checkpoint."""
        if not self._batch:
            return
        batch, self._batch = self._batch, []
        texts = [context_text(p.doc.title, c.section, c.text) for p in batch for c in p.chunks]
        vectors = get_embedder(self.settings).embed(texts)
        rows: list[StoreRow] = []
        results: list[DocResult] = []
        doc_ids: list[str] = []
        cursor = 0
        # Documents first: chunks reference them and there is no ORM relationship to order by.
        docs = [self._upsert_document(prepared) for prepared in batch]
        self.session.flush()
        for prepared, doc in zip(batch, docs, strict=True):
            doc_ids.append(str(doc.id))
            for chunk in prepared.chunks:
                row = KBChunk(
                    id=chunk_id_for(doc.id, chunk.ordinal, prepared.sha),
                    tenant_id=self.kb.tenant_id, kb_id=self.kb.id, document_id=doc.id,
                    ordinal=chunk.ordinal, text=chunk.text, section=chunk.section[:500],
                    span_start=chunk.start, span_end=chunk.end,
                    page_start=chunk.page_start, page_end=chunk.page_end,
                )
                self.session.add(row)
                rows.append(store_row(doc, row, vectors[cursor]))
                cursor += 1
            status = "updated" if prepared.existing is not None else "added"
            results.append(DocResult(prepared.source.source, status, len(prepared.chunks),
                                     document_id=str(doc.id)))
            self.report.chunks_added += len(prepared.chunks)
        # Index first: if SQL then fails, a re-run replaces these rows (same chunk ids).
        self.store.replace_documents(self.collection, doc_ids, rows)
        self.session.flush()
        for result in results:
            self._record(result)
        if self.checkpoint is not None:
            self.checkpoint()

    def _upsert_document(self, prepared: _Prepared) -> KBDocument:
        doc = prepared.existing
        values: dict[str, Any] = {
            "title": prepared.doc.title, "kind": prepared.doc.kind,
            "content_sha256": prepared.sha, "size_bytes": prepared.size,
            "chunk_count": len(prepared.chunks),
            "meta": {**prepared.doc.meta, **prepared.source.meta},
        }
        if doc is None:
            doc = KBDocument(id=uuid.uuid4(), tenant_id=self.kb.tenant_id, kb_id=self.kb.id,
                             source=prepared.source.source,
                             source_key=source_key(prepared.source.source), **values)
            self.session.add(doc)
            return doc
        self.report.chunks_removed += doc.chunk_count
        self.chunks.delete_for([doc.id])
        for name, value in values.items():
            setattr(doc, name, value)
        return doc

    def remove(self, documents: list[KBDocument]) -> None:
        """Delete documents from the store and SQL."""
        if not documents:
            return
        self.store.replace_documents(self.collection, [str(d.id) for d in documents], [])
        for doc in documents:
            self.report.chunks_removed += doc.chunk_count
            self._record(DocResult(doc.source, "removed", document_id=str(doc.id)))
            self.session.delete(doc)
        self.session.flush()
        refresh_counts(self.session, self.kb)
