"""Pull ad sets and daily insights from Meta into ads and ad_metrics_daily."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.orm import Session

from revline.ads.adapters.base import PlatformError, Usage, parse_time
from revline.ads.adapters.meta import MetaAdapter, insight_metrics
from revline.ads.repository import AccountRepository, AdRepository
from revline.kernel.config import Settings
from revline.kernel.db.base import utcnow
from revline.kernel.errors import ConfigError, RevlineError
from revline.kernel.http import make_client

ACTIVE_STATUSES = {"ACTIVE", "IN_PROCESS", "WITH_ISSUES"}


def meta_configured(settings: Settings) -> bool:
    """True when a token and an ad account are configured."""
    return settings.meta_access_token is not None and bool(settings.meta_ad_account_id)


async def _pull(
    settings: Settings, account_id: str, currency: str,
    transport: httpx.AsyncBaseTransport | None,
) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]], Usage | None]:
    assert settings.meta_access_token is not None
    async with make_client(settings, transport=transport) as client:
        meta = MetaAdapter(client, settings.meta_base_url, settings.meta_api_version,
                           settings.meta_access_token.get_secret_value(), currency)
        adsets = await meta.list_adsets(account_id)
        insights = {str(a["id"]): await meta.insights(str(a["id"])) for a in adsets}
        return adsets, insights, meta.last_usage


def sync_meta(
    session: Session, settings: Settings, tenant_id: uuid.UUID, *, currency: str = "USD",
    transport: httpx.AsyncBaseTransport | None = None, now: datetime | None = None,
) -> dict[str, Any]:
    """Register/refresh the account's ad sets and their last 30 days of daily metrics."""
    if not meta_configured(settings):
        raise ConfigError("Meta not configured: set REVLINE_META_ACCESS_TOKEN and "
                          "REVLINE_META_AD_ACCOUNT_ID (act_...)")
    now = now or utcnow()
    account_ext = str(settings.meta_ad_account_id)
    account_ext = account_ext if account_ext.startswith("act_") else f"act_{account_ext}"
    try:
        adsets, insights, usage = asyncio.run(_pull(settings, account_ext, currency, transport))
    except PlatformError as exc:
        raise RevlineError(exc.message, status_code=502) from None
    account = AccountRepository(session, tenant_id).ensure("meta", account_ext, currency)
    if usage is not None:
        account.usage_pct, account.usage_at = usage.pct, now
        account.usage = {"regain_minutes": usage.regain_minutes, "header": usage.raw}
    ads = AdRepository(session, tenant_id)
    days = 0
    for adset in adsets:
        ext = str(adset["id"])
        ad = ads.by_external("meta", ext)
        if ad is None:
            started = parse_time(adset.get("start_time") or adset.get("created_time")) or now
            ad = ads.add(account_id=account.id, platform="meta", external_id=ext,
                         currency=account.currency, started_at=started)
        learning = adset.get("learning_stage_info")
        learning = learning if isinstance(learning, dict) else {}
        status = str(adset.get("effective_status") or adset.get("status") or "")
        ad.name = str(adset.get("name") or "")[:300]
        ad.campaign_id = str(adset.get("campaign_id") or "")
        ad.daily_budget_minor = int(adset.get("daily_budget") or 0)
        ad.status = "active" if status in ACTIVE_STATUSES else status.lower() or "unknown"
        ad.learning_status = str(learning["status"]) if learning.get("status") else None
        ad.learning_info = learning
        ad.synced_at = now
        for row in insights.get(ext, []):
            metrics = insight_metrics(row, account.currency)
            day = metrics.pop("day")
            ads.upsert_metric(ad.id, day, metrics)
            days += 1
    session.flush()
    return {"account": account_ext, "adsets": len(adsets), "metric_days": days,
            "usage_pct": usage.pct if usage else None}
