"""Queued work for the API: uploads and URLs ingested by a worker, re-embeds, progress.

A job records each item as it finishes (one transaction per item), so a worker that dies
mid-job resumes at the next item; items already ingested are unchanged and cost nothing.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy.orm import Session

from revline.kernel.config import Settings
from revline.kernel.db import Database
from revline.kernel.db.base import utcnow
from revline.kernel.errors import InvalidInput, RevlineError
from revline.kernel.jobs import enqueue_after_commit
from revline.knowledge import kbs
from revline.knowledge.ingest.readers import SUPPORTED, kind_for
from revline.knowledge.ingest.sources import (
    Source,
    is_url,
    limit_bytes,
    too_large,
    upload_source,
    url_source,
)
from revline.knowledge.models import KBJob, KnowledgeBase
from revline.knowledge.repository import JobRepository

COUNT_KEYS = ("added", "updated", "unchanged", "duplicate", "removed", "failed")


def save_upload(settings: Settings, name: str, stream: BinaryIO) -> Path:
    """Stream an upload under HOME/uploads/kb, enforcing the size limit as bytes arrive."""
    safe = Path(name or "upload").name
    if kind_for(safe) is None:
        raise InvalidInput(f"{safe}: unsupported file type; supported: {SUPPORTED}")
    folder = settings.ensure_home() / "uploads" / "kb" / uuid.uuid4().hex
    folder.mkdir(parents=True)
    target = folder / safe
    limit, written = limit_bytes(settings), 0
    with target.open("wb") as out:
        while block := stream.read(1 << 20):
            written += len(block)
            if written > limit:
                out.close()
                shutil.rmtree(folder, ignore_errors=True)
                raise too_large(safe, written, settings)
            out.write(block)
    if written == 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise InvalidInput(f"{safe} is empty")
    return target


def item_source(item: dict[str, Any], settings: Settings) -> Source:
    """Rebuild the Source a job item describes."""
    meta = dict(item.get("meta") or {})
    if item["type"] == "url":
        return url_source(str(item["url"]), meta, settings)
    return upload_source(str(item["name"]), Path(str(item["path"])), meta)


def queue_ingest(
    session: Session, settings: Settings, tenant_id: uuid.UUID, kb_name: str,
    items: list[dict[str, Any]],
) -> KBJob:
    """Create an ingest job for uploads/URLs and enqueue `kb.ingest` after commit."""
    if not items:
        raise InvalidInput("nothing to ingest: send files or URLs")
    for item in items:
        if item["type"] == "url" and not is_url(str(item["url"])):
            raise InvalidInput(f"{item['url']}: only http(s) URLs can be ingested")
    kb = kbs.ensure_kb(session, settings, tenant_id, kbs.validate_name(kb_name))
    kbs.check_model(settings, kb)
    job = JobRepository(session, tenant_id).add(
        kb_id=kb.id, kind="ingest", items=items, total=len(items), status="queued"
    )
    enqueue_after_commit(session, "kb.ingest", str(tenant_id), str(job.id))
    return job


def queue_reembed(session: Session, tenant_id: uuid.UUID, kb_name: str) -> KBJob:
    """Create a re-embed job and enqueue `kb.reembed` after commit."""
    kb = kbs.get_kb(session, tenant_id, kb_name)
    job = JobRepository(session, tenant_id).add(
        kb_id=kb.id, kind="reembed", items=[], total=1, status="queued"
    )
    enqueue_after_commit(session, "kb.reembed", str(tenant_id), str(job.id))
    return job


def job_out(job: KBJob, kb_name: str) -> dict[str, Any]:
    """API view of a job."""
    return {
        "id": str(job.id), "kb": kb_name, "kind": job.kind, "status": job.status,
        "total": job.total, "done": job.done, "report": job.report, "error": job.error,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def _merge(report: dict[str, Any], documents: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {key: int(report.get(key, 0)) for key in COUNT_KEYS}
    for doc in documents:
        if doc.get("status") in merged:
            merged[doc["status"]] += 1
    merged["documents"] = list(report.get("documents", [])) + documents
    return merged


def run_ingest_job(db: Database, settings: Settings, tenant_id: uuid.UUID,
                   job_id: uuid.UUID) -> dict[str, Any]:
    """Ingest a job's remaining items, committing after each one."""
    from revline.knowledge import service

    with db.session() as session:
        job = JobRepository(session, tenant_id).get(job_id)
        if job.status == "completed":
            return dict(job.report or {})
        job.status, job.started_at = "running", job.started_at or utcnow()
        items, start = list(job.items), job.done
        kb_name = session.get_one(KnowledgeBase, job.kb_id).name
    for index in range(start, len(items)):
        item = items[index]
        label = str(item.get("url") or item.get("name"))
        try:
            with db.session() as session:
                report = service.ingest_sources(
                    session, tenant_id, kb_name, [item_source(item, settings)], settings=settings
                )
                documents = [d.to_dict() for d in report.documents]
                _advance(session, tenant_id, job_id, index, documents)
        except RevlineError as exc:
            with db.session() as session:
                failed = [{"source": label, "status": "failed", "error": exc.message}]
                _advance(session, tenant_id, job_id, index, failed)
        if item["type"] == "upload":
            shutil.rmtree(Path(str(item["path"])).parent, ignore_errors=True)
    with db.session() as session:
        job = JobRepository(session, tenant_id).get(job_id)
        job.status, job.finished_at = "completed", utcnow()
        return dict(job.report or {})


def _advance(session: Session, tenant_id: uuid.UUID, job_id: uuid.UUID, index: int,
             documents: list[dict[str, Any]]) -> None:
    job = JobRepository(session, tenant_id).get(job_id)
    job.report = _merge(dict(job.report or {}), documents)
    job.done = index + 1


def run_reembed_job(db: Database, settings: Settings, tenant_id: uuid.UUID,
                    job_id: uuid.UUID) -> dict[str, Any]:
    """Re-embed the job's KB in one transaction."""
    from revline.knowledge.reembed import reembed_kb

    with db.session() as session:
        job = JobRepository(session, tenant_id).get(job_id)
        job.status, job.started_at = "running", utcnow()
    with db.session() as session:
        job = JobRepository(session, tenant_id).get(job_id)
        kb = session.get_one(KnowledgeBase, job.kb_id)
        result = reembed_kb(session, settings, kb)
        job.status, job.done, job.report, job.finished_at = "completed", 1, result, utcnow()
    return result


def mark_failed(db: Database, tenant_id: uuid.UUID, job_id: uuid.UUID, error: str) -> None:
    """Record an unexpected failure so the API shows it."""
    with db.session() as session:
        job = JobRepository(session, tenant_id).get(job_id)
        job.status, job.error, job.finished_at = "failed", error[:2000], utcnow()
