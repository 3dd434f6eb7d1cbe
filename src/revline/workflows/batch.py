"""Batch generation: one generation row and one `workflows.generate` job per requirement.

Items are the source of truth, not the broker: a job that finds its item done does
nothing, an item is claimed before it runs, and a run that went silent (its worker was
killed) is claimed again once `workflows_stale_after_s` has passed, by the periodic
`workflows.resume_stalled` sweep or by an explicit resume.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from revline.kernel.config import Settings
from revline.kernel.db.base import utcnow
from revline.kernel.errors import InvalidInput
from revline.kernel.jobs import enqueue_after_commit
from revline.workflows.history import generation_dict
from revline.workflows.models import WorkflowBatch, WorkflowGeneration
from revline.workflows.repository import BatchRepository, GenerationRepository

GENERATE_TASK = "workflows.generate"


def enqueue(session: Session, gen: WorkflowGeneration) -> None:
    """Queue the generation's job for after commit."""
    enqueue_after_commit(session, GENERATE_TASK, str(gen.tenant_id), str(gen.id))


def create_batch(
    session: Session, settings: Settings, tenant_id: uuid.UUID, items: list[dict[str, Any]],
    mode: str, name: str = "", options: dict[str, Any] | None = None,
) -> WorkflowBatch:
    """A batch with one queued generation per item; all or nothing."""
    from revline.workflows.service import check_mode, check_requirement

    check_mode(mode)
    if not items:
        raise InvalidInput("a batch needs at least one requirement")
    if len(items) > settings.workflows_max_batch:
        raise InvalidInput(f"a batch holds at most {settings.workflows_max_batch} requirements "
                           f"(workflows_max_batch), got {len(items)}; split it")
    checked: list[tuple[str, dict[str, Any]]] = []
    for index, item in enumerate(items):
        try:
            text, notes = check_requirement(settings, str(item.get("requirement") or ""))
        except InvalidInput as exc:
            raise InvalidInput(f"item {index + 1}: {exc.message}") from None
        extra = {"name": item["name"]} if item.get("name") else {}
        checked.append((text, {**(options or {}), **extra, "notes": notes}))
    batch = BatchRepository(session, tenant_id).add(
        name=name[:200], mode=mode, total=len(items), options=dict(options or {}))
    repo = GenerationRepository(session, tenant_id)
    for index, (text, opts) in enumerate(checked):
        gen = repo.add(requirement=text, title=str(opts.get("name") or "")[:200],
                       requested_mode=mode, status="queued", batch_id=batch.id,
                       batch_index=index, options=opts)
        enqueue(session, gen)
    return batch


def batch_dict(session: Session, tenant_id: uuid.UUID, batch_id: uuid.UUID,
               items: bool = True) -> dict[str, Any]:
    """A batch with per-status counts and (optionally) its items in order."""
    repo = BatchRepository(session, tenant_id)
    batch = repo.get(batch_id)
    counts = repo.counts(batch_id)
    finished = counts.get("done", 0) + counts.get("failed", 0)
    out: dict[str, Any] = {
        "id": str(batch.id), "name": batch.name, "mode": batch.mode, "total": batch.total,
        "counts": counts, "finished": finished, "complete": finished == batch.total,
        "created_at": batch.created_at.isoformat(),
    }
    if items:
        rows = GenerationRepository(session, tenant_id).page(
            batch.total or 1, 0, batch_id=batch_id)
        out["items"] = [generation_dict(g) for g in rows]
    return out


def resume_batch(session: Session, settings: Settings, tenant_id: uuid.UUID,
                 batch_id: uuid.UUID, retry_failed: bool = False) -> list[str]:
    """Re-queue the batch's unfinished items (and failed ones with `retry_failed`).

    Running items whose worker is still alive are left alone; done items are never redone.
    """
    BatchRepository(session, tenant_id).get(batch_id)
    now = utcnow()
    queued: list[str] = []
    for gen in GenerationRepository(session, tenant_id).page(
            settings.workflows_max_batch, 0, batch_id=batch_id):
        silent = (now - gen.updated_at).total_seconds() >= settings.workflows_stale_after_s
        if gen.status == "done" or (gen.status == "running" and not silent):
            continue
        if gen.status == "failed":
            if not retry_failed:
                continue
            gen.status, gen.updated_at = "queued", now
        enqueue(session, gen)
        queued.append(str(gen.id))
    return queued
