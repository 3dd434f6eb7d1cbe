"""Celery tasks of the leads domain; they take IDs only."""

from __future__ import annotations

import uuid

from revline.kernel.config import get_settings
from revline.kernel.db import get_database
from revline.kernel.jobs import task


@task("leads.run")
def run_pipeline(tenant_id: str, run_id: str) -> dict[str, object]:
    """Run (or resume) a queued lead run to completion inside a worker."""
    from revline.leads.llm import llm_hooks
    from revline.leads.pipeline import LeadPipeline

    settings = get_settings()
    db = get_database(settings)
    classifier, mockup, reason = llm_hooks(settings, uuid.UUID(tenant_id), job_id=run_id)
    pipeline = LeadPipeline(
        db,
        settings,
        uuid.UUID(tenant_id),
        llm_classifier=classifier,
        mockup_writer=mockup,
        llm_unavailable_reason=reason,
    )
    pipeline.claim(uuid.UUID(run_id))
    summary = pipeline.execute(uuid.UUID(run_id))
    return {"run_id": run_id, "total": summary.total, "duplicates": summary.duplicates}
