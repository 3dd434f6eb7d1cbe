"""CRM deals into synthetic revenue: bulk ingest, HubSpot sync, queued webhooks, aggregation."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import httpx
from sqlalchemy.orm import Session

from revline.ads.adapters.hubspot import (
    DEAL_EVENTS,
    HubSpotAdapter,
    HubSpotDeal,
    HubSpotError,
    PipelineStage,
    parse_webhook,
    verify_v3,
)
from revline.ads.models import CrmDeal, CrmWebhookEvent
from revline.ads.money import normalize_currency, to_minor
from revline.ads.pipeline_value import deal_value
from revline.ads.repository import (
    AdRepository,
    ConfigRepository,
    ConversionRepository,
    DealRepository,
    StageRepository,
    WebhookRepository,
)
from revline.ads.schemas import AdsRules, CrmIngestIn
from revline.ads.tracking import Identifiers, attribute, save_conversion
from revline.kernel.auth import ensure_tenant
from revline.kernel.config import Settings
from revline.kernel.db.base import utcnow
from revline.kernel.errors import ConfigError, InvalidInput, RevlineError
from revline.kernel.http import make_client
from revline.kernel.jobs import enqueue_after_commit

HUBSPOT = "hubspot"
T = TypeVar("T")


@dataclass
class DealData:
    """A deal from any CRM, normalized: money in minor units, identities still raw."""

    external_id: str
    stage_id: str
    pipeline_id: str = "default"
    name: str = ""
    amount_minor: int | None = None
    currency: str = "USD"
    created_at: datetime = field(default_factory=utcnow)
    archived: bool = False
    properties: dict[str, Any] = field(default_factory=dict)
    click_refs: tuple[str, ...] = ()
    email: str | None = None
    phone: str | None = None


def _identifiers(deal: DealData) -> Identifiers:
    return Identifiers(deal.created_at, deal.click_refs, deal.email, deal.phone)


def _safe_identifiers(deal: DealData) -> Identifiers:
    """CRM contacts may hold junk; a bad email or phone only drops that identity."""
    from revline.ads.identity import normalize_email, normalize_phone

    email, phone = deal.email, deal.phone
    try:
        if email:
            normalize_email(email)
    except InvalidInput:
        email = None
    try:
        if phone:
            normalize_phone(phone)
    except InvalidInput:
        phone = None
    return Identifiers(deal.created_at, deal.click_refs, email, phone)


def upsert_deal(
    session: Session, tenant_id: uuid.UUID, rules: AdsRules, source: str, deal: DealData,
    *, strict: bool = False,
) -> tuple[CrmDeal, bool]:
    """Insert or update a deal; a new (or still unattributed) deal goes through attribution."""
    ids = _identifiers(deal) if strict else _safe_identifiers(deal)
    repo = DealRepository(session, tenant_id)
    row = repo.by_external(source, deal.external_id)
    created = row is None
    values = {
        "name": deal.name[:300], "pipeline_id": deal.pipeline_id, "stage_id": deal.stage_id,
        "amount_minor": deal.amount_minor, "currency": deal.currency,
        "deal_created_at": deal.created_at, "archived": deal.archived,
        "properties": deal.properties,
    }
    if row is None:
        row = repo.add(source=source, external_id=deal.external_id, **values)
    else:
        for key, value in values.items():
            setattr(row, key, value)
    conversions = ConversionRepository(session, tenant_id)
    conversion = conversions.get(row.conversion_id) if row.conversion_id else None
    if conversion is None:
        conversion = save_conversion(
            session, tenant_id, rules, source=source, external_id=deal.external_id, ids=ids,
            value_minor=deal.amount_minor, currency=deal.currency,
        )
        row.conversion_id = conversion.id
    elif conversion.ad_id is None:
        match, hashed = attribute(session, tenant_id, rules, ids)
        for key, value in hashed.items():
            setattr(conversion, key, value)
        if match is not None:
            conversion.ad_id, conversion.click_id = match.ad_id, match.click_id
            conversion.layer, conversion.confidence = match.layer, match.confidence
            conversion.match_details = match.details
    conversion.value_minor = deal.amount_minor
    session.flush()
    return row, created


def upsert_stages(
    session: Session, tenant_id: uuid.UUID, source: str, stages: list[PipelineStage]
) -> int:
    """Store pipeline stage metadata (labels, probabilities, closed flags)."""
    repo = StageRepository(session, tenant_id)
    for s in stages:
        repo.upsert(source, s.pipeline_id, s.stage_id, pipeline_label=s.pipeline_label,
                    label=s.label, probability=s.probability, is_closed=s.is_closed,
                    display_order=s.display_order)
    return len(stages)


def aggregate_pipeline_value(
    session: Session, tenant_id: uuid.UUID, now: datetime | None = None
) -> dict[str, Any]:
    """Recompute every ad's pipeline value from its attributed deals under the current rules."""
    now = now or utcnow()
    rules = ConfigRepository(session, tenant_id).rules()
    stages = StageRepository(session, tenant_id).infos()
    ads = AdRepository(session, tenant_id).all()
    currency = {ad.id: ad.currency for ad in ads}
    values: dict[uuid.UUID, int] = defaultdict(int)
    counts: dict[uuid.UUID, int] = defaultdict(int)
    skipped = 0
    for deal, ad_id in DealRepository(session, tenant_id).attributed():
        if currency.get(ad_id) != deal.currency:
            skipped += 1  # no FX rates here: a mismatched deal must not distort ROAS
            continue
        info = stages.get((deal.source, deal.pipeline_id, deal.stage_id))
        values[ad_id] += deal_value(deal.stage_id, deal.amount_minor, info, rules)
        counts[ad_id] += 1
    for ad in ads:
        ad.pipeline_value_minor = values.get(ad.id, 0)
        ad.pipeline_deals = counts.get(ad.id, 0)
        ad.pipeline_aggregated_at = now
    session.flush()
    return {"ads": len(ads), "deals": sum(counts.values()),
            "value_minor": sum(values.values()), "skipped_currency": skipped,
            "value_source": rules.value_source}


# --- Bulk ingest (POST /api/ml/ingest-crm-data) ----------------------------------------------
def ingest(session: Session, tenant_id: uuid.UUID, data: CrmIngestIn) -> dict[str, Any]:
    """Upsert pipelines and deals from a CRM export, attribute new deals, re-aggregate."""
    rules = ConfigRepository(session, tenant_id).rules()
    stages = [
        PipelineStage(p.id, p.label, s.id, s.label, s.probability, s.is_closed, s.display_order)
        for p in data.pipelines for s in p.stages
    ]
    upsert_stages(session, tenant_id, data.source, stages)
    created = attributed = 0
    for i, d in enumerate(data.deals):
        currency = normalize_currency(d.currency or rules.currency)
        try:
            deal = DealData(
                external_id=d.deal_id, stage_id=d.stage, pipeline_id=d.pipeline, name=d.name,
                amount_minor=to_minor(d.amount, currency) if d.amount not in (None, "") else None,
                currency=currency, created_at=d.created_at or utcnow(),
                click_refs=tuple(r for r in (d.click_id, d.fbclid, d.gclid) if r),
                email=d.email, phone=d.phone,
            )
            if deal.created_at.tzinfo is None:
                raise InvalidInput("created_at must carry a timezone")
            row, is_new = upsert_deal(session, tenant_id, rules, data.source, deal, strict=True)
        except RevlineError as exc:
            raise InvalidInput(f"deals[{i}] ({d.deal_id}): {exc.message}") from exc
        created += int(is_new)
        conversion = ConversionRepository(session, tenant_id).get(row.conversion_id) \
            if row.conversion_id else None
        attributed += int(conversion is not None and conversion.ad_id is not None)
    summary = aggregate_pipeline_value(session, tenant_id)
    return {"source": data.source, "stages": len(stages), "deals": len(data.deals),
            "created": created, "updated": len(data.deals) - created, "attributed": attributed,
            "pipeline": summary}


# --- HubSpot ---------------------------------------------------------------------------------
def hubspot_configured(settings: Settings) -> bool:
    """True when an access token is set."""
    return settings.hubspot_access_token is not None


def with_hubspot(
    settings: Settings,
    fn: Callable[[HubSpotAdapter], Awaitable[T]],
    transport: httpx.AsyncBaseTransport | None = None,
) -> T:
    """Run fn against a HubSpot client built from settings (sync callers: tasks, CLI)."""
    if settings.hubspot_access_token is None:
        raise ConfigError("HubSpot not configured: set REVLINE_HUBSPOT_ACCESS_TOKEN "
                          "(a private app token with crm.objects.deals.read)")
    token = settings.hubspot_access_token.get_secret_value()

    async def main() -> T:
        async with make_client(settings, transport=transport) as client:
            adapter = HubSpotAdapter(client, settings.hubspot_base_url, token,
                                     settings.hubspot_click_id_property)
            return await fn(adapter)

    try:
        return asyncio.run(main())
    except HubSpotError as exc:
        raise RevlineError(exc.message, status_code=502) from None


def _deal_data(deal: HubSpotDeal, contacts: dict[str, dict[str, str]], rules: AdsRules) -> DealData:
    currency = (deal.currency or rules.currency).upper()
    try:
        amount = to_minor(deal.amount, currency) if deal.amount else None
    except InvalidInput:
        amount = None
    person = next((contacts[c] for c in deal.contact_ids if c in contacts), {})
    return DealData(
        external_id=deal.external_id, stage_id=deal.stage_id, pipeline_id=deal.pipeline_id,
        name=deal.name, amount_minor=amount, currency=currency,
        created_at=deal.created_at or utcnow(), archived=deal.archived,
        properties=deal.properties, click_refs=(deal.click_ref,) if deal.click_ref else (),
        email=person.get("email") or None, phone=person.get("phone") or None,
    )


async def _fetch_all(
    adapter: HubSpotAdapter,
) -> tuple[list[PipelineStage], list[HubSpotDeal], dict[str, dict[str, str]]]:
    stages = await adapter.pipelines()
    deals = await adapter.deals()
    contacts = await adapter.contacts([c for d in deals for c in d.contact_ids])
    return stages, deals, contacts


def sync_hubspot(
    session: Session, settings: Settings, tenant_id: uuid.UUID,
    transport: httpx.AsyncBaseTransport | None = None,
) -> dict[str, Any]:
    """Pull pipelines, deals and their contacts from HubSpot; upsert; re-aggregate."""
    stages, deals, contacts = with_hubspot(settings, _fetch_all, transport)
    rules = ConfigRepository(session, tenant_id).rules()
    upsert_stages(session, tenant_id, HUBSPOT, stages)
    created = 0
    for deal in deals:
        data = _deal_data(deal, contacts, rules)
        _, is_new = upsert_deal(session, tenant_id, rules, HUBSPOT, data)
        created += int(is_new)
    summary = {"stages": len(stages), "deals": len(deals), "created": created,
               "pipeline": aggregate_pipeline_value(session, tenant_id)}
    config = ConfigRepository(session, tenant_id).row()
    config.crm_synced_at = utcnow()
    config.crm_sync_summary = summary
    return summary


def store_webhook(
    session: Session, settings: Settings, *, method: str, uri: str, body: bytes,
    signature: str | None, timestamp: str | None, now: datetime | None = None,
) -> CrmWebhookEvent:
    """Verify (401), validate (422), store the raw delivery and queue it; never process inline.

    Nothing is written before both checks pass, so a rejected delivery leaves no trace.
    """
    if settings.hubspot_client_secret is None:
        raise ConfigError("HubSpot webhooks need REVLINE_HUBSPOT_CLIENT_SECRET to verify "
                          "signatures", status_code=503)
    verify_v3(settings.hubspot_client_secret.get_secret_value(), method,
              settings.hubspot_webhook_url or uri, body, timestamp, signature,
              now or utcnow(), settings.hubspot_webhook_max_age_s)
    events = parse_webhook(body)
    tenant_id = ensure_tenant(session, settings.ads_tenant or settings.default_tenant).id
    row = WebhookRepository(session, tenant_id).add(
        source=HUBSPOT, body=json.loads(body), event_count=len(events), status="queued"
    )
    enqueue_after_commit(session, "ads.process_webhook", str(tenant_id), str(row.id))
    return row


def process_webhook(
    session: Session, settings: Settings, tenant_id: uuid.UUID, event_id: uuid.UUID,
    transport: httpx.AsyncBaseTransport | None = None,
) -> dict[str, Any]:
    """Apply a stored delivery: refresh each touched deal, then re-aggregate pipeline value."""
    row = WebhookRepository(session, tenant_id).get(event_id)
    if row.status == "processed":
        return row.result
    events = parse_webhook(json.dumps(row.body).encode())
    deal_events = [e for e in events if e.subscription_type in DEAL_EVENTS]
    deal_ids = sorted({str(e.object_id) for e in deal_events})
    rules = ConfigRepository(session, tenant_id).rules()
    repo = DealRepository(session, tenant_id)
    touched = archived = skipped = 0
    if deal_ids and hubspot_configured(settings):

        async def fetch(adapter: HubSpotAdapter) -> tuple[
            dict[str, HubSpotDeal | None], dict[str, dict[str, str]]
        ]:
            found = {i: await adapter.deal(i) for i in deal_ids}
            people = await adapter.contacts(
                [c for d in found.values() if d is not None for c in d.contact_ids]
            )
            return found, people

        found, people = with_hubspot(settings, fetch, transport)
        for deal_id, deal in found.items():
            if deal is None:
                stored = repo.by_external(HUBSPOT, deal_id)
                if stored is not None:
                    stored.archived = True
                    archived += 1
                continue
            upsert_deal(session, tenant_id, rules, HUBSPOT, _deal_data(deal, people, rules))
            touched += 1
    else:
        # No API access: apply what the events themselves say to deals we already know.
        for event in deal_events:
            stored = repo.by_external(HUBSPOT, str(event.object_id))
            if stored is None:
                skipped += 1
                continue
            if event.subscription_type == "deal.deletion":
                stored.archived = True
                archived += 1
            elif event.subscription_type == "deal.restore":
                stored.archived = False
                touched += 1
            elif event.property_name == "dealstage" and event.property_value:
                stored.stage_id = event.property_value
                touched += 1
            elif event.property_name == "amount":
                # A cleared amount arrives as ""; the expected deal value stands in again.
                value = (event.property_value or "").strip()
                try:
                    stored.amount_minor = to_minor(value, stored.currency) if value else None
                except InvalidInput:
                    skipped += 1  # one unreadable value must not sink the whole delivery
                    continue
                touched += 1
    result = {"events": len(events), "deal_events": len(deal_events), "deals": len(deal_ids),
              "updated": touched, "archived": archived, "skipped": skipped,
              "pipeline": aggregate_pipeline_value(session, tenant_id)}
    row.status, row.result, row.processed_at = "processed", result, utcnow()
    return result
