"""Celery tasks of the ads domain; they take IDs only."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from revline.kernel.config import get_settings
from revline.kernel.db import get_database
from revline.kernel.db.base import utcnow
from revline.kernel.errors import RevlineError
from revline.kernel.jobs import periodic, task

log = logging.getLogger(__name__)


@task("ads.evaluate")
def evaluate(tenant_id: str, evaluation_id: str) -> dict[str, Any]:
    """Sync Meta (when configured for this tenant), then run the rules and queue changes."""
    from revline.ads import service
    from revline.ads.models import AdEvaluation

    settings = get_settings()
    db = get_database(settings)
    tenant, evaluation = uuid.UUID(tenant_id), uuid.UUID(evaluation_id)
    try:
        with db.session() as session:
            if service.meta_configured(settings) and \
                    service.integration_tenant(session, settings) == tenant:
                service.sync_meta(session, settings, tenant,
                                  currency=service.get_rules(session, tenant).currency)
        with db.session() as session:
            row = service.run_evaluation(session, settings, tenant, evaluation)
            return {"evaluation_id": evaluation_id, "status": row.status, **row.summary}
    except RevlineError as exc:
        with db.session() as session:
            failed = session.get(AdEvaluation, evaluation)
            if failed is not None:
                failed.status, failed.error, failed.finished_at = "failed", exc.message, utcnow()
        return {"evaluation_id": evaluation_id, "status": "failed", "error": exc.message}


@task("ads.execute_pending")
def execute_pending() -> dict[str, Any]:
    """One safe-executor pass over every tenant's due changes (stale leases included)."""
    from revline.ads import service

    settings = get_settings()
    return service.execute_pending(get_database(settings), settings).as_dict()


@task("ads.sync_crm")
def sync_crm(tenant_id: str) -> dict[str, Any]:
    """Pull HubSpot deals and pipelines for a tenant and re-aggregate pipeline value per ad."""
    from revline.ads import service

    settings = get_settings()
    with get_database(settings).session() as session:
        return service.sync_hubspot(session, settings, uuid.UUID(tenant_id))


@task("ads.sync_crm_hourly")
def sync_crm_hourly() -> dict[str, Any]:
    """Beat entry: sync HubSpot into the integration tenant, or just re-aggregate without it."""
    from revline.ads import service

    settings = get_settings()
    db = get_database(settings)
    with db.session() as session:
        tenant = service.integration_tenant(session, settings)
    if not service.hubspot_configured(settings):
        with db.session() as session:
            return {"synced": False, "pipeline": service.aggregate_pipeline_value(session, tenant)}
    try:
        with db.session() as session:
            return {"synced": True, **service.sync_hubspot(session, settings, tenant)}
    except RevlineError as exc:
        log.warning("hourly HubSpot sync failed: %s", exc.message)
        return {"synced": False, "error": exc.message}


@task("ads.process_webhook")
def process_webhook(tenant_id: str, event_id: str) -> dict[str, Any]:
    """Apply a stored CRM webhook delivery (queued by the endpoint, never run inline)."""
    from revline.ads import service
    from revline.ads.models import CrmWebhookEvent

    settings = get_settings()
    db = get_database(settings)
    try:
        with db.session() as session:
            return service.process_webhook(session, settings, uuid.UUID(tenant_id),
                                           uuid.UUID(event_id))
    except RevlineError as exc:
        with db.session() as session:
            row = session.get(CrmWebhookEvent, uuid.UUID(event_id))
            if row is not None:
                row.status, row.error = "failed", exc.message
        raise


@task("ads.resume_stalled")
def resume_stalled() -> dict[str, int]:
    """Re-queue webhook deliveries and evaluations whose job was lost (a killed worker)."""
    from revline.ads import service

    settings = get_settings()
    with get_database(settings).session() as session:
        found = service.requeue_stalled(session, utcnow())
    if any(found.values()):
        log.info("ads.resume_stalled: re-queued %s", found)
    return found


periodic("ads-crm-sync-hourly", "ads.sync_crm_hourly", timedelta(hours=1))
periodic("ads-resume-stalled", "ads.resume_stalled", timedelta(minutes=5))
periodic("ads-execute-pending", "ads.execute_pending", timedelta(minutes=1))
