"""Celery tasks of the experiments domain; they take IDs only."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from revline.kernel.config import get_settings
from revline.kernel.db import get_database
from revline.kernel.jobs import periodic, task


@task("experiments.update_posteriors")
def update_posteriors(tenant_id: str, experiment_id: str) -> dict[str, Any]:
    """Fold an experiment's pending observations into its posteriors (idempotent)."""
    from revline.experiments import service

    db = get_database(get_settings())
    with db.session() as session:
        result = service.update_posteriors(session, uuid.UUID(tenant_id), uuid.UUID(experiment_id))
    return result.model_dump()


@task("experiments.sweep_pending")
def sweep_pending() -> int:
    """Apply observations whose update job was lost (broker outage, worker crash); returns count."""
    from revline.experiments import service
    from revline.experiments.repository import experiments_with_pending

    db = get_database(get_settings())
    with db.session() as session:
        targets = experiments_with_pending(session)
    applied = 0
    for tenant_id, experiment_id in targets:
        with db.session() as session:
            applied += service.update_posteriors(session, tenant_id, experiment_id).applied
    return applied


# Each observation enqueues its own update; the sweep only catches jobs that were lost.
periodic("experiments-sweep-pending", "experiments.sweep_pending", timedelta(minutes=5))
