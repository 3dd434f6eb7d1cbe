"""Celery tasks of the knowledge domain; they take IDs only."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from revline.kernel.config import get_settings
from revline.kernel.db import get_database
from revline.kernel.jobs import periodic, task

log = logging.getLogger(__name__)
OPTIMIZE_ENTRY = "kb-optimize-hourly"


def _run_job(kind: str, tenant_id: str, job_id: str) -> dict[str, Any]:
    """Run a queued job; any unexpected failure is recorded on the job before re-raising."""
    from revline.knowledge.jobs import mark_failed, run_ingest_job, run_reembed_job

    settings = get_settings()
    db = get_database(settings)
    runner = run_ingest_job if kind == "ingest" else run_reembed_job
    try:
        return runner(db, settings, uuid.UUID(tenant_id), uuid.UUID(job_id))
    except Exception as exc:
        mark_failed(db, uuid.UUID(tenant_id), uuid.UUID(job_id), f"{type(exc).__name__}: {exc}")
        raise


@task("kb.ingest")
def ingest(tenant_id: str, job_id: str) -> dict[str, Any]:
    """Ingest the uploads/URLs of a queued job (resumes at the first unfinished item)."""
    return _run_job("ingest", tenant_id, job_id)


@task("kb.reembed")
def reembed(tenant_id: str, job_id: str) -> dict[str, Any]:
    """Re-embed a knowledge base with the configured model and backend."""
    return _run_job("reembed", tenant_id, job_id)


@task("kb.optimize")
def optimize() -> list[dict[str, Any]]:
    """Compact every collection and update its indexes (LanceDB); ANALYZE on pgvector."""
    from revline.knowledge.kbs import collection_of, store_of
    from revline.knowledge.repository import all_knowledge_bases

    settings = get_settings()
    done: list[dict[str, Any]] = []
    with get_database(settings).session() as session:
        bases = [(kb, collection_of(kb)) for kb in all_knowledge_bases(session)]
    for kb, collection in bases:
        name = f"{kb.tenant_id}/{kb.name}"
        try:
            done.append({"kb": name, **store_of(settings, kb).optimize(collection)})
        except Exception as exc:  # one broken collection must not stop the others
            log.warning("kb.optimize %s: %s", name, exc)
            done.append({"kb": name, "error": str(exc)[:300]})
    return done


periodic(OPTIMIZE_ENTRY, "kb.optimize", timedelta(hours=1))

