"""Task registration, the beat schedule, and the hourly CRM sync entry point."""

from __future__ import annotations

import uuid
from datetime import timedelta

from revline.ads import tasks
from revline.ads.schemas import ClickIn
from revline.kernel.config import get_settings
from revline.kernel.db import Database
from revline.kernel.jobs import make_celery
from revline.registry import configure_jobs
from tests.ads.conftest import make_ad
from tests.emulators.hubspot_server import HubSpotEmulator


def test_tasks_and_beat_schedule_are_registered() -> None:
    configure_jobs()
    app = make_celery(get_settings())
    app.loader.import_default_modules()
    for name in ("ads.evaluate", "ads.execute_pending", "ads.sync_crm", "ads.sync_crm_hourly",
                 "ads.process_webhook"):
        assert name in app.tasks, name
    beat = app.conf.beat_schedule
    assert beat["ads-crm-sync-hourly"] == {"task": "ads.sync_crm_hourly",
                                           "schedule": timedelta(hours=1)}
    assert beat["ads-execute-pending"]["task"] == "ads.execute_pending"


def test_hourly_sync_pulls_hubspot_and_aggregates(
    db: Database, hubspot: HubSpotEmulator, tenant_id: uuid.UUID
) -> None:
    from revline.ads import service

    ad = make_ad(db, tenant_id, "hourly", spend=50_000)
    with db.session() as session:
        click = service.track_click(session, tenant_id, service.get_rules(session, tenant_id),
                                    ClickIn(ad_id=ad))
        service.set_rule(session, tenant_id, "value_source", "probability")
    hubspot.add_deal("900", stage="contractsent", amount="1000", click_id=str(click.id))
    result = tasks.sync_crm_hourly()
    assert result["synced"] is True
    assert result["pipeline"]["value_minor"] == 90_000
    with db.session() as session:
        [view] = service.ad_views(session, tenant_id)
        assert view.pipeline_value_minor == 90_000


def test_hourly_sync_without_hubspot_still_aggregates(db: Database, tenant_id: uuid.UUID) -> None:
    make_ad(db, tenant_id, "plain")
    result = tasks.sync_crm_hourly()
    assert result == {"synced": False, "pipeline": {
        "ads": 1, "deals": 0, "value_minor": 0, "skipped_currency": 0,
        "value_source": "stage_value"}}
