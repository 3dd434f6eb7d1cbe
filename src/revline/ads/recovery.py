"""Jobs whose message was lost: re-queue stored webhook deliveries and evaluations.

The rows, not the broker, say what is left to do. The embedded broker (kombu's SQL
transport) marks a message delivered when a worker takes it and never hands it out again, so
a worker killed mid-job loses it; a send after commit can fail too. A row still `queued` (or
`running`) and untouched for `STALE_AFTER` gets its job again. Both jobs are idempotent: a
processed delivery or a finished evaluation returns at once, and deals are upserted.

Cross-tenant, like the executor's claim: the sweep is a system job.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from revline.ads.models import AdEvaluation, CrmWebhookEvent
from revline.kernel.jobs import enqueue_after_commit

# Longer than a normal webhook fetch or evaluation, so a live job is rarely doubled.
STALE_AFTER = timedelta(minutes=10)
SWEEP_LIMIT = 500


def requeue_stalled(session: Session, now: datetime) -> dict[str, int]:
    """Re-queue stale webhook deliveries and evaluations (after commit); counts per kind."""
    cutoff = now - STALE_AFTER
    events = list(session.scalars(
        select(CrmWebhookEvent)
        .where(CrmWebhookEvent.status == "queued", CrmWebhookEvent.updated_at < cutoff)
        .order_by(CrmWebhookEvent.updated_at).limit(SWEEP_LIMIT)
    ))
    for event in events:
        event.updated_at = now  # once per stale period, not on every sweep
        enqueue_after_commit(session, "ads.process_webhook", str(event.tenant_id),
                             str(event.id))
    evaluations = list(session.scalars(
        select(AdEvaluation)
        .where(AdEvaluation.status.in_(("queued", "running")), AdEvaluation.updated_at < cutoff)
        .order_by(AdEvaluation.updated_at).limit(SWEEP_LIMIT)
    ))
    for evaluation in evaluations:
        evaluation.updated_at = now
        enqueue_after_commit(session, "ads.evaluate", str(evaluation.tenant_id),
                             str(evaluation.id))
    session.flush()
    return {"webhooks": len(events), "evaluations": len(evaluations)}
