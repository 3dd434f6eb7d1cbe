"""Task registration, the beat schedule, and the hourly CRM sync entry point."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

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
    assert beat["ads-resume-stalled"]["task"] == "ads.resume_stalled"
    assert "ads.resume_stalled" in app.tasks


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


def test_lost_webhook_and_evaluation_jobs_are_requeued(
    db: Database, tenant_id: uuid.UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The embedded broker never redelivers a job its worker died on (and a send can fail
    # after commit): the stored rows, not the broker, say what is still to do.
    from revline.ads import service
    from revline.ads.models import CrmWebhookEvent
    from revline.kernel.db.base import utcnow
    from revline.kernel.jobs import pending_jobs
    from tests.emulators.hubspot_server import HUBSPOT_SECRET, deal_event, signed_webhook

    monkeypatch.setenv("REVLINE_HUBSPOT_CLIENT_SECRET", HUBSPOT_SECRET)
    get_settings.cache_clear()
    url = "https://revline.example/api/v1/ads/webhooks/hubspot"
    body, headers = signed_webhook(url, [deal_event(5, "deal.deletion")])
    with db.session() as session:
        event_id = service.store_webhook(
            session, get_settings(), method="POST", uri=url, body=body,
            signature=headers["X-HubSpot-Signature-v3"],
            timestamp=headers["X-HubSpot-Request-Timestamp"]).id
        evaluation_id = service.create_evaluation(session, tenant_id, "api").id
    with db.session() as session:
        assert service.requeue_stalled(session, utcnow()) == {"webhooks": 0, "evaluations": 0}
    later = utcnow() + timedelta(minutes=11)
    with db.session() as session:
        assert service.requeue_stalled(session, later) == {"webhooks": 1, "evaluations": 1}
        assert sorted(pending_jobs(session)) == sorted([
            ("ads.evaluate", (str(tenant_id), str(evaluation_id)), {}),
            ("ads.process_webhook", (str(tenant_id), str(event_id)), {}),
        ])
    # Re-queued once per stale period, not on every sweep.
    with db.session() as session:
        assert service.requeue_stalled(session, later) == {"webhooks": 0, "evaluations": 0}
    tasks.process_webhook(str(tenant_id), str(event_id))
    tasks.evaluate(str(tenant_id), str(evaluation_id))
    with db.session() as session:
        assert service.requeue_stalled(session, later + timedelta(hours=1)) == \
            {"webhooks": 0, "evaluations": 0}
        row = session.get(CrmWebhookEvent, event_id)
        assert row is not None
        assert row.status == "processed"
