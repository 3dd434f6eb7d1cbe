"""Re-embedding: rebuild a KB's vectors from its SQL chunks with the current model and backend.

The new vectors go to a fresh collection; the KB switches to it in the caller's transaction
and the old collection is dropped only after commit, so an interrupted re-embed leaves the
KB exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from revline.kernel.config import Settings
from revline.knowledge import kbs
from revline.knowledge.embed import get_embedder, model_identity
from revline.knowledge.ingest.chunker import context_text
from revline.knowledge.ingest.pipeline import store_row
from revline.knowledge.models import KBDocument, KnowledgeBase
from revline.knowledge.repository import ChunkRepository, DocumentRepository
from revline.knowledge.store import Collection, get_store

BATCH_CHUNKS = 256


def _batches(docs: list[KBDocument]) -> list[list[KBDocument]]:
    out: list[list[KBDocument]] = []
    current: list[KBDocument] = []
    size = 0
    for doc in docs:
        current.append(doc)
        size += doc.chunk_count
        if size >= BATCH_CHUNKS:
            out.append(current)
            current, size = [], 0
    if current:
        out.append(current)
    return out


def reembed_kb(
    session: Session,
    settings: Settings,
    kb: KnowledgeBase,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Re-embed every chunk of `kb`; `progress(done_chunks, total_chunks)` is called per batch."""
    identity = model_identity(settings)
    if kb.system:
        return _reembed_system(session, settings, kb)
    new = Collection(kbs.new_collection_name(kb.id), str(kb.tenant_id), identity.dim)
    new_store = get_store(settings)
    docs = DocumentRepository(session, kb.tenant_id).all_for(kb.id)
    total = sum(d.chunk_count for d in docs)
    chunks_repo = ChunkRepository(session, kb.tenant_id)
    embedder = get_embedder(settings)
    done = 0
    try:
        for batch in _batches(docs):
            by_id = {d.id: d for d in batch}
            chunks = chunks_repo.for_documents(list(by_id))
            texts = [context_text(by_id[c.document_id].title, c.section, c.text) for c in chunks]
            vectors = embedder.embed(texts)
            rows = [store_row(by_id[c.document_id], c, v)
                    for c, v in zip(chunks, vectors, strict=True)]
            new_store.replace_documents(new, [str(d.id) for d in batch], rows)
            done += len(chunks)
            if progress is not None:
                progress(done, total)
    except BaseException:
        new_store.drop(new)
        raise
    old_store, old = kbs.store_of(settings, kb), kbs.collection_of(kb)
    previous = f"{kb.embed_model} (sha256 {kb.embed_sha256[:12]}) on {kb.backend}"
    kb.collection, kb.backend = new.name, new_store.backend
    kb.embed_model, kb.embed_sha256, kb.embed_dim = (
        identity.model_id, identity.sha256, identity.dim)
    session.flush()
    kbs.after_commit(session, lambda: old_store.drop(old))
    return {"kb": kb.name, "documents": len(docs), "chunks": done, "previous": previous,
            "model": identity.short(), "backend": new_store.backend, "collection": new.name}


def _reembed_system(session: Session, settings: Settings, kb: KnowledgeBase) -> dict[str, Any]:
    """Internal collections are derived data: mark them stale and let their owner rebuild."""
    from revline.knowledge import winners
    from revline.knowledge.patterns import service as patterns

    kb.embed_sha256 = ""
    session.flush()
    if kb.name == kbs.PATTERNS_KB:
        patterns.sync_index(session, settings, kb.tenant_id)
    else:
        winners._winners_kb(session, settings, kb.tenant_id)
    return {"kb": kb.name, "model": model_identity(settings).short(), "backend": kb.backend,
            "collection": kb.collection}
