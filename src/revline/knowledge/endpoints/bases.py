"""Knowledge bases over HTTP: CRUD, uploads and URLs (queued), documents, chunks, query."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Response, UploadFile
from fastapi.responses import JSONResponse

from revline.kernel.deps import PrincipalDep, SessionDep, SettingsDep
from revline.kernel.errors import InvalidInput
from revline.knowledge import jobs, service
from revline.knowledge.ingest.sources import upload_source
from revline.knowledge.models import KnowledgeBase
from revline.knowledge.repository import JobRepository
from revline.knowledge.schemas import (
    ChunkOut,
    DocumentOut,
    HitOut,
    JobOut,
    KBCreate,
    KBOut,
    KBUpdate,
    QueryIn,
    QueryOut,
    UrlsIn,
)

router = APIRouter(prefix="/api/v1/kb", tags=["knowledge"])


def parse_meta(pairs: list[str] | None) -> dict[str, str]:
    """`key=value` strings (form fields, CLI options) as a dict."""
    meta: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"metadata {pair!r} must look like key=value")
        meta[key.strip()] = value.strip()
    return meta


@router.get("/jobs/{job_id}", response_model=JobOut)
def get_job(job_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """Progress and report of an ingest or re-embed job."""
    principal.require("kb:read")
    job = JobRepository(session, principal.tenant_id).get(job_id)
    kb = session.get_one(KnowledgeBase, job.kb_id)
    return jobs.job_out(job, kb.name)


@router.get("", response_model=list[KBOut])
def list_bases(session: SessionDep, principal: PrincipalDep, settings: SettingsDep) -> list[KBOut]:
    """This tenant's knowledge bases."""
    principal.require("kb:read")
    return [KBOut.of(kb) for kb in service.list_kbs(session, principal.tenant_id,
                                                    settings=settings)]


@router.post("", status_code=201, response_model=KBOut)
def create_base(
    body: KBCreate, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> KBOut:
    """Create a knowledge base (409 if the name is taken)."""
    principal.require("kb:write")
    kb = service.create_kb(session, principal.tenant_id, body.name, body.description,
                           body.chunk_size, body.chunk_overlap, settings=settings)
    return KBOut.of(kb)


@router.get("/{kb}", response_model=dict[str, Any])
def get_base(kb: str, session: SessionDep, principal: PrincipalDep,
             settings: SettingsDep) -> dict[str, Any]:
    """A knowledge base with its statistics."""
    principal.require("kb:read")
    return service.stats(session, principal.tenant_id, kb, settings=settings)


@router.patch("/{kb}", response_model=KBOut)
def update_base(kb: str, body: KBUpdate, session: SessionDep, principal: PrincipalDep) -> KBOut:
    """Change the description."""
    principal.require("kb:write")
    row = service.get_kb(session, principal.tenant_id, kb)
    row.description = body.description
    session.flush()
    return KBOut.of(row)


@router.delete("/{kb}", status_code=204)
def delete_base(kb: str, session: SessionDep, principal: PrincipalDep,
                settings: SettingsDep) -> Response:
    """Delete the knowledge base, its documents and vectors."""
    principal.require("kb:write")
    service.delete_kb(session, principal.tenant_id, kb, settings=settings)
    return Response(status_code=204)


@router.post("/{kb}/documents", status_code=202, response_model=None)
def upload_documents(
    kb: str,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    files: Annotated[list[UploadFile], File(description="PDF, DOCX, HTML, Markdown, text, YAML")],
    meta: Annotated[list[str] | None, Form(description="key=value metadata (repeat)")] = None,
    wait: Annotated[bool, Query(description="ingest now and return the report")] = False,
) -> Any:
    """Upload files (KB created if missing): 202 with a job, or 200 with the report (wait)."""
    principal.require("kb:write")
    extra = parse_meta(meta)
    saved = [(f.filename or "upload", jobs.save_upload(settings, f.filename or "", f.file))
             for f in files]
    if wait:
        sources = [upload_source(name, path, extra) for name, path in saved]
        report = service.ingest_sources(session, principal.tenant_id, kb, sources,
                                        settings=settings)
        for _, path in saved:
            path.unlink(missing_ok=True)
        return JSONResponse(report.to_dict(), status_code=200)
    items = [{"type": "upload", "name": name, "path": str(path), "meta": extra}
             for name, path in saved]
    job = jobs.queue_ingest(session, settings, principal.tenant_id, kb, items)
    return jobs.job_out(job, kb)


@router.post("/{kb}/urls", status_code=202, response_model=JobOut)
def ingest_urls(kb: str, body: UrlsIn, session: SessionDep, principal: PrincipalDep,
                settings: SettingsDep) -> dict[str, Any]:
    """Fetch and ingest web pages in the background."""
    principal.require("kb:write")
    items = [{"type": "url", "url": url, "meta": body.meta} for url in body.urls]
    job = jobs.queue_ingest(session, settings, principal.tenant_id, kb, items)
    return jobs.job_out(job, kb)


@router.post("/{kb}/reembed", status_code=202, response_model=JobOut)
def reembed(kb: str, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """Re-embed the knowledge base with the configured model, in the background."""
    principal.require("kb:write")
    return jobs.job_out(jobs.queue_reembed(session, principal.tenant_id, kb), kb)


@router.get("/{kb}/documents", response_model=list[DocumentOut])
def list_documents(
    kb: str,
    session: SessionDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[DocumentOut]:
    """Documents of the knowledge base, by source."""
    principal.require("kb:read")
    docs = service.documents_page(session, principal.tenant_id, kb, limit, offset)
    return [DocumentOut.of(doc) for doc in docs]


@router.get("/{kb}/documents/{document_id}", response_model=DocumentOut)
def get_document(kb: str, document_id: str, session: SessionDep,
                 principal: PrincipalDep) -> DocumentOut:
    """One document."""
    principal.require("kb:read")
    return DocumentOut.of(service.get_document(session, principal.tenant_id, kb, document_id))


@router.delete("/{kb}/documents/{document_id}", status_code=204)
def delete_document(kb: str, document_id: str, session: SessionDep, principal: PrincipalDep,
                    settings: SettingsDep) -> Response:
    """Remove a document and its chunks."""
    principal.require("kb:write")
    service.delete_document(session, principal.tenant_id, kb, document_id, settings=settings)
    return Response(status_code=204)


@router.get("/{kb}/documents/{document_id}/chunks", response_model=list[ChunkOut])
def list_chunks(
    kb: str,
    document_id: str,
    session: SessionDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[ChunkOut]:
    """A document's chunks in order, with spans."""
    principal.require("kb:read")
    chunks = service.chunks_page(session, principal.tenant_id, kb, document_id, limit, offset)
    return [ChunkOut.of(chunk) for chunk in chunks]


@router.post("/{kb}/query", response_model=QueryOut)
def query(kb: str, body: QueryIn, session: SessionDep, principal: PrincipalDep,
          settings: SettingsDep) -> QueryOut:
    """Hybrid (or vector / BM25) search with filters; top-k with scores and spans."""
    principal.require("kb:read")
    hits = service.search(session, principal.tenant_id, kb, body.text, body.k, body.filters,
                          body.mode, body.collapse, settings=settings)
    return QueryOut(query=body.text, hits=[HitOut(**hit.to_dict()) for hit in hits])
