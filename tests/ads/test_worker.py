"""A real Celery worker: webhook -> queued job -> HubSpot fetch -> pipeline value per ad;
then an API evaluation -> decisions -> safe executor -> Meta budget write, all in the worker."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from fastapi.testclient import TestClient
from sqlalchemy import select

import revline.kernel.jobs.app as jobs_app
from revline.ads import service
from revline.ads.models import Ad, AdChangeHistory, CrmWebhookEvent
from revline.ads.schemas import ClickIn
from revline.api.app import create_app
from revline.kernel.auth import create_api_key, ensure_tenant
from revline.kernel.config import get_settings
from revline.kernel.db import Database
from revline.kernel.jobs import make_celery
from revline.registry import configure_jobs
from tests.emulators.hubspot_server import HubSpotEmulator, deal_event, signed_webhook
from tests.emulators.meta_server import MetaEmulator


def wait_for(check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the worker")


@pytest.mark.slow
def test_worker_processes_webhooks_and_evaluations(
    db: Database, hubspot: HubSpotEmulator, meta: MetaEmulator, tenant_id: uuid.UUID
) -> None:
    settings = get_settings()
    meta.add_adset("5001", daily_budget=10_000)
    meta.add_adset("5002", daily_budget=10_000)
    with db.session() as session:
        service.sync_meta(session, settings, tenant_id)
        service.set_rule(session, tenant_id, "mode", "pipeline")
        service.set_rule(session, tenant_id, "stage_values.appointmentscheduled", "225000")
        ads = {a.external_id: a.id for a in session.scalars(select(Ad))}
        _, key = create_api_key(session, ensure_tenant(session, "default"), "w", ["ads:write"],
                                settings.api_keys_pepper.get_secret_value())
    # Both ad sets have spent $400 over ten days; only 5001 will have pipeline value.
    for ext in ("5001", "5002"):
        with db.session() as session:
            ad = session.get(Ad, ads[ext])
            assert ad is not None
            ad.started_at = ad.started_at.replace(year=ad.started_at.year - 1)
        make_ad_metrics(db, tenant_id, ads[ext], spend=40_000)
    with db.session() as session:
        click = service.track_click(session, tenant_id, service.get_rules(session, tenant_id),
                                    ClickIn(ad_id=ads["5001"]))
    hubspot.add_deal("101", stage="appointmentscheduled", amount="4500", click_id=str(click.id))

    configure_jobs()
    app = make_celery(settings)
    jobs_app._app = app
    url = "https://revline.example/api/v1/ads/webhooks/hubspot"
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30), \
            TestClient(create_app(), base_url="https://revline.example") as client:
        body, headers = signed_webhook(url, [deal_event(101, "deal.creation", prop=None)])
        resp = client.post("/api/v1/ads/webhooks/hubspot", content=body, headers=headers)
        assert resp.status_code == 202, resp.text
        event_id = uuid.UUID(resp.json()["event_id"])

        def processed() -> dict[str, Any] | None:
            with db.session() as session:
                row = session.get(CrmWebhookEvent, event_id)
                return row.result if row is not None and row.status == "processed" else None

        result = wait_for(processed)
        assert result["updated"] == 1
        with db.session() as session:
            a = session.get(Ad, ads["5001"])
            assert a is not None
            assert (a.pipeline_value_minor, a.pipeline_deals) == (225_000, 1)

        # Pipeline ROAS: 5001 = 2250/400 = 5.6 -> scale; 5002 = 0 after $400 -> kill.
        resp = client.post("/api/v1/ads/evaluations", headers={"Authorization": f"Bearer {key}"})
        assert resp.status_code == 202, resp.text

        def applied() -> list[AdChangeHistory] | None:
            with db.session() as session:
                rows = list(session.scalars(select(AdChangeHistory).where(
                    AdChangeHistory.outcome == "applied")))
            return rows if len(rows) == 2 else None

        wait_for(applied)
    assert meta.adsets["5001"].daily_budget == 12_000
    assert meta.adsets["5002"].status == "PAUSED"


def make_ad_metrics(db: Database, tenant_id: uuid.UUID, ad_id: uuid.UUID, spend: int) -> None:
    from datetime import date, timedelta

    from revline.ads.schemas import MetricIn, MetricsIn

    with db.session() as session:
        service.push_metrics(session, tenant_id, ad_id, MetricsIn(days=[MetricIn(
            day=date.today() - timedelta(days=2), spend_minor=spend)]))

