"""Fixtures for the ads domain: a tenant, ads with metrics, and the Meta/HubSpot emulators."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from revline.ads import service
from revline.ads.schemas import AdIn, MetricIn, MetricsIn
from revline.kernel.auth import ensure_tenant
from revline.kernel.config import Settings, get_settings
from revline.kernel.db import Database
from revline.kernel.db.base import utcnow
from tests.emulators.hubspot_server import (
    HUBSPOT_SECRET,
    HUBSPOT_TOKEN,
    HubSpotEmulator,
    serve_hubspot,
)
from tests.emulators.meta_server import ACCOUNT, META_TOKEN, VERSION, MetaEmulator, serve_meta


@pytest.fixture
def tenant_id(db: Database) -> uuid.UUID:
    """The test tenant (the default one, which integrations also serve)."""
    with db.session() as session:
        return ensure_tenant(session, get_settings().default_tenant).id


def make_ad(
    db: Database, tenant_id: uuid.UUID, external_id: str, *, budget: int = 10_000,
    spend: int = 0, revenue: int = 0, conversions: int = 0, age_days: float = 10.0,
    account: str = "acct-1", campaign: str = "", platform: str = "manual",
) -> uuid.UUID:
    """Register an ad and give it one day of metrics; returns its id."""
    with db.session() as session:
        ad = service.register_ad(session, tenant_id, AdIn(
            platform=platform, account_id=account, external_id=external_id,  # type: ignore[arg-type]
            daily_budget_minor=budget, campaign_id=campaign,
            started_at=utcnow() - timedelta(days=age_days),
        ))
        if spend or revenue or conversions:
            service.push_metrics(session, tenant_id, ad.id, MetricsIn(days=[MetricIn(
                day=date.today() - timedelta(days=1), spend_minor=spend, revenue_minor=revenue,
                conversions=conversions,
            )]))
        return ad.id


@pytest.fixture
def meta(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Iterator[MetaEmulator]:
    """The Meta emulator, with settings pointing at it."""
    with serve_meta() as emulator:
        monkeypatch.setenv("REVLINE_META_ACCESS_TOKEN", META_TOKEN)
        monkeypatch.setenv("REVLINE_META_BASE_URL", emulator.base_url)
        monkeypatch.setenv("REVLINE_META_API_VERSION", VERSION)
        monkeypatch.setenv("REVLINE_META_AD_ACCOUNT_ID", ACCOUNT)
        monkeypatch.setenv("REVLINE_ADS_JITTER_MAX_S", "0")
        get_settings.cache_clear()
        yield emulator


@pytest.fixture
def hubspot(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Iterator[HubSpotEmulator]:
    """The HubSpot emulator, with settings pointing at it."""
    with serve_hubspot() as emulator:
        monkeypatch.setenv("REVLINE_HUBSPOT_ACCESS_TOKEN", HUBSPOT_TOKEN)
        monkeypatch.setenv("REVLINE_HUBSPOT_CLIENT_SECRET", HUBSPOT_SECRET)
        monkeypatch.setenv("REVLINE_HUBSPOT_BASE_URL", emulator.base_url)
        get_settings.cache_clear()
        yield emulator
