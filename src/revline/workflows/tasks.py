"""Celery tasks of the workflows domain; they take IDs only."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from revline.kernel.config import get_settings
from revline.kernel.db import get_database
from revline.kernel.errors import RevlineError
from revline.kernel.jobs import enqueue_after_commit, periodic, task

log = logging.getLogger(__name__)
SWEEP_ENTRY = "workflows-resume-stalled"


@task("workflows.generate")
def generate(tenant_id: str, generation_id: str) -> dict[str, Any]:
    """Run one queued generation (a batch item or an API request with wait=false).

    A finished item is not redone; a failure is recorded on the item, not retried by Celery
    (the error is the item's result, e.g. a budget that ran out).
    """
    from revline.workflows.runner import run_generation

    settings = get_settings()
    db = get_database(settings)
    try:
        outcome = run_generation(db, settings, uuid.UUID(tenant_id), uuid.UUID(generation_id))
    except RevlineError as exc:
        return {"generation_id": generation_id, "status": "failed", "error": exc.message}
    return {"generation_id": generation_id, "ran": outcome.ran, "version": outcome.version,
            "status": "done" if outcome.ran else "skipped"}


@task("workflows.resume_stalled")
def resume_stalled() -> int:
    """Re-queue runs whose process went silent (a killed worker) or whose job was lost."""
    from revline.kernel.db.base import utcnow
    from revline.workflows.models import WorkflowGeneration
    from revline.workflows.repository import stalled

    settings = get_settings()
    with get_database(settings).session() as session:
        found = stalled(session, settings.workflows_stale_after_s)
        for tenant_id, generation_id, _ in found:
            gen = session.get(WorkflowGeneration, generation_id)
            if gen is not None and gen.status == "queued":
                gen.updated_at = utcnow()  # a running one stays stale so it can be claimed
            enqueue_after_commit(session, "workflows.generate", str(tenant_id),
                                 str(generation_id))
    if found:
        log.info("workflows.resume_stalled: re-queued %d run(s)", len(found))
    return len(found)


periodic(SWEEP_ENTRY, "workflows.resume_stalled", timedelta(minutes=5))

