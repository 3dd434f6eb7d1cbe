"""Knowledge-base lifecycle: names, creation, lookup, model checks, deletion, statistics."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from revline.kernel.config import Settings
from revline.kernel.errors import Conflict, InvalidInput, NotFound
from revline.knowledge.embed import ModelIdentity, model_identity
from revline.knowledge.errors import ModelMismatch
from revline.knowledge.models import KnowledgeBase
from revline.knowledge.repository import DocumentRepository, KnowledgeBaseRepository
from revline.knowledge.store import Collection, VectorStore, get_store

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,99}$")
# Literal path segments under /api/v1/kb/ that a KB name would shadow.
RESERVED_NAMES = frozenset({"winners", "patterns", "jobs"})
PATTERNS_KB = "_patterns"
WINNERS_KB = "_winners"


def validate_name(name: str) -> str:
    """A usable KB name, else a one-line InvalidInput."""
    name = name.strip()
    if not NAME_RE.match(name):
        raise InvalidInput(
            f"knowledge base name {name!r} must be 1-100 letters, digits, spaces, '_', '.' or '-'"
            ", starting with a letter or digit"
        )
    if name.lower() in RESERVED_NAMES:
        raise InvalidInput(f"knowledge base name {name!r} is reserved; pick another name")
    return name


def collection_of(kb: KnowledgeBase) -> Collection:
    """The store location of a KB's chunks."""
    return Collection(kb.collection, str(kb.tenant_id), kb.embed_dim)


def store_of(settings: Settings, kb: KnowledgeBase) -> VectorStore:
    """The store the KB's collection lives in (the backend recorded at creation/re-embed)."""
    return get_store(settings, kb.backend)


def new_collection_name(kb_id: uuid.UUID) -> str:
    """A fresh collection name; re-embeds write a new one and switch over."""
    return f"kb_{kb_id.hex}_{secrets.token_hex(3)}"


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run `action` once the caller commits (dropping store data only after SQL agrees)."""
    event.listen(session, "after_commit", lambda _s: action(), once=True)


def create_kb(
    session: Session,
    settings: Settings,
    tenant_id: uuid.UUID,
    name: str,
    description: str = "",
    chunk_size: int | None = None,
    chunk_overlap: int | None = None,
    system: bool = False,
) -> KnowledgeBase:
    """Create a KB recording the current model and backend; Conflict if the name is taken."""
    if not system:
        name = validate_name(name)
    size = chunk_size or settings.kb_chunk_size
    overlap = settings.kb_chunk_overlap if chunk_overlap is None else chunk_overlap
    if not 200 <= size <= 20_000:
        raise InvalidInput(f"chunk_size must be 200-20000 characters, got {size}")
    if not 0 <= overlap < size // 2:
        raise InvalidInput(f"chunk_overlap must be 0 to half of chunk_size, got {overlap}")
    repo = KnowledgeBaseRepository(session, tenant_id)
    if repo.by_name(name) is not None:
        raise Conflict(f"knowledge base {name!r} already exists")
    identity = model_identity(settings)
    kb_id = uuid.uuid4()
    try:
        with session.begin_nested():
            kb = repo.add(
                id=kb_id, name=name, description=description, system=system,
                backend=settings.kb_vector_backend, collection=f"kb_{kb_id.hex}",
                embed_model=identity.model_id, embed_sha256=identity.sha256,
                embed_dim=identity.dim, chunk_size=size, chunk_overlap=overlap,
            )
    except IntegrityError:
        raise Conflict(f"knowledge base {name!r} already exists") from None
    return kb


def get_kb(session: Session, tenant_id: uuid.UUID, name: str) -> KnowledgeBase:
    """The tenant's KB by name, else NotFound with the command that creates it."""
    kb = KnowledgeBaseRepository(session, tenant_id).by_name(name)
    if kb is None:
        raise NotFound(
            f"knowledge base {name!r} not found; create it with `revline kb create {name}`"
        )
    return kb


def ensure_kb(
    session: Session, settings: Settings, tenant_id: uuid.UUID, name: str, system: bool = False
) -> KnowledgeBase:
    """Get or create, safe when two processes create the same KB at once."""
    kb = KnowledgeBaseRepository(session, tenant_id).by_name(name)
    if kb is not None:
        return kb
    try:
        return create_kb(session, settings, tenant_id, name, system=system)
    except Conflict:
        return get_kb(session, tenant_id, name)


def check_model(settings: Settings, kb: KnowledgeBase) -> ModelIdentity:
    """Refuse to mix models in one collection: id and weights hash must both match."""
    identity = model_identity(settings)
    if kb.embed_model != identity.model_id or kb.embed_sha256 != identity.sha256:
        recorded = f"{kb.embed_model} (sha256 {kb.embed_sha256[:12]})"
        raise ModelMismatch(
            f"knowledge base {kb.name!r} was embedded with {recorded} but this process uses "
            f"{identity.short()}; run `revline kb reembed {kb.name}` to re-embed it"
        )
    return identity


def delete_kb(session: Session, settings: Settings, tenant_id: uuid.UUID, name: str) -> None:
    """Delete the KB (documents and chunks cascade); its vectors go once the caller commits."""
    kb = get_kb(session, tenant_id, name)
    store, collection = store_of(settings, kb), collection_of(kb)
    session.delete(kb)
    session.flush()
    after_commit(session, lambda: store.drop(collection))


def refresh_counts(session: Session, kb: KnowledgeBase) -> None:
    """Denormalized document/chunk counts shown in listings."""
    docs, chunks, _ = DocumentRepository(session, kb.tenant_id).totals(kb.id)
    kb.document_count, kb.chunk_count = docs, chunks


def kb_stats(session: Session, settings: Settings, kb: KnowledgeBase) -> dict[str, Any]:
    """Everything `revline kb stats` shows about one KB."""
    repo = DocumentRepository(session, kb.tenant_id)
    docs, chunks, size = repo.totals(kb.id)
    identity = model_identity(settings)
    return {
        "name": kb.name,
        "id": str(kb.id),
        "description": kb.description,
        "documents": docs,
        "chunks": chunks,
        "bytes": size,
        "kinds": repo.kinds(kb.id),
        "backend": kb.backend,
        "collection": kb.collection,
        "store_rows": store_of(settings, kb).count(collection_of(kb)),
        "embed_model": kb.embed_model,
        "embed_sha256": kb.embed_sha256,
        "embed_dim": kb.embed_dim,
        "model_matches": kb.embed_sha256 == identity.sha256
        and kb.embed_model == identity.model_id,
        "chunk_size": kb.chunk_size,
        "chunk_overlap": kb.chunk_overlap,
        "created_at": kb.created_at.isoformat(),
        "updated_at": kb.updated_at.isoformat(),
    }
