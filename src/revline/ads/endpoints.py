"""HTTP API of the ads domain: a thin router over its service.

`/api/v1/ads/...` needs an API key with `ads:read` / `ads:write`; the HubSpot webhook is
authenticated by its signature instead; `/api/ml/ingest-crm-data` keeps the seed ML service's
path for existing CRM exporters.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request

from revline.ads import service
from revline.ads.schemas import (
    AdIn,
    AdOut,
    AttributionOut,
    BudgetChangeIn,
    ChangeOut,
    ClickIn,
    ConversionIn,
    CrmIngestIn,
    EvaluationOut,
    HistoryOut,
    MetricsIn,
)
from revline.kernel.deps import PrincipalDep, SessionDep, SettingsDep
from revline.kernel.jobs import enqueue_after_commit

router = APIRouter()
v1 = APIRouter(prefix="/api/v1/ads", tags=["ads"])
legacy = APIRouter(prefix="/api/ml", tags=["ads (legacy)"])


@v1.get("/config")
def get_config(session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """The tenant's effective rules: mode, stage values, thresholds, guards, attribution."""
    principal.require("ads:read")
    return service.get_rules(session, principal.tenant_id).model_dump()


@v1.patch("/config")
def patch_config(
    body: dict[str, Any], session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Change some rules; unknown keys or bad values are a 422 and change nothing."""
    principal.require("ads:write")
    return service.update_rules(session, principal.tenant_id, body).model_dump()


@v1.get("/ads", response_model=list[AdOut])
def list_ads(session: SessionDep, principal: PrincipalDep) -> list[AdOut]:
    """Every ad with budget, spend, value and ROAS in its effective mode."""
    principal.require("ads:read")
    return service.ad_views(session, principal.tenant_id)


@v1.post("/ads", status_code=201, response_model=AdOut)
def register_ad(data: AdIn, session: SessionDep, principal: PrincipalDep) -> AdOut:
    """Register an ad (a budget) by hand; Meta ad sets arrive by sync."""
    principal.require("ads:write")
    ad = service.register_ad(session, principal.tenant_id, data)
    return service.ad_views(session, principal.tenant_id, ad.id)[0]


@v1.get("/ads/{ad_id}", response_model=AdOut)
def get_ad(ad_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> AdOut:
    """One ad."""
    principal.require("ads:read")
    return service.ad_views(session, principal.tenant_id, ad_id)[0]


@v1.post("/ads/{ad_id}/metrics")
def push_metrics(
    ad_id: uuid.UUID, data: MetricsIn, session: SessionDep, principal: PrincipalDep
) -> dict[str, int]:
    """Upsert daily spend and results for an ad not synced from a platform."""
    principal.require("ads:write")
    return {"days": service.push_metrics(session, principal.tenant_id, ad_id, data)}


@v1.post("/ads/{ad_id}/budget", status_code=202, response_model=ChangeOut)
def request_budget(
    ad_id: uuid.UUID, data: BudgetChangeIn, session: SessionDep, principal: PrincipalDep,
    settings: SettingsDep,
) -> ChangeOut:
    """Queue a budget change for the safe executor (guards still apply)."""
    principal.require("ads:write")
    change = service.request_budget(session, settings, principal.tenant_id, ad_id, data)
    return service.change_out(change)


@v1.post("/evaluations", status_code=202, response_model=EvaluationOut)
def queue_evaluation(session: SessionDep, principal: PrincipalDep) -> EvaluationOut:
    """Run the decision rules in a worker; poll GET /evaluations/{id}."""
    principal.require("ads:write")
    row = service.queue_evaluation(session, principal.tenant_id, "api")
    return service.evaluation_out(session, principal.tenant_id, row)


@v1.get("/evaluations/{evaluation_id}", response_model=EvaluationOut)
def get_evaluation(
    evaluation_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> EvaluationOut:
    """An evaluation and its decisions."""
    principal.require("ads:read")
    return service.get_evaluation(session, principal.tenant_id, evaluation_id)


@v1.get("/changes", response_model=list[ChangeOut])
def list_changes(
    session: SessionDep, principal: PrincipalDep,
    status: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[ChangeOut]:
    """The pending_ad_changes queue, newest first."""
    principal.require("ads:read")
    return service.list_changes(session, principal.tenant_id, status, limit)


@v1.post("/execute", status_code=202)
def execute(session: SessionDep, principal: PrincipalDep) -> dict[str, str]:
    """Ask a worker for a safe-executor pass now (beat also runs one every minute)."""
    principal.require("ads:write")
    enqueue_after_commit(session, "ads.execute_pending")
    return {"status": "queued"}


@v1.get("/history", response_model=list[HistoryOut])
def history(
    session: SessionDep, principal: PrincipalDep, ad_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[HistoryOut]:
    """The ad_change_history audit log."""
    principal.require("ads:read")
    return service.list_history(session, principal.tenant_id, ad_id, limit)


@v1.post("/clicks", status_code=201)
def track_click(data: ClickIn, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """Record a click; the returned click_id is Revline's own click id for attribution."""
    principal.require("ads:write")
    rules = service.get_rules(session, principal.tenant_id)
    click = service.track_click(session, principal.tenant_id, rules, data)
    return {"click_id": str(click.id), "ad_id": str(click.ad_id)}


@v1.post("/conversions", status_code=201, response_model=AttributionOut)
def attribute_conversion(
    data: ConversionIn, session: SessionDep, principal: PrincipalDep
) -> AttributionOut:
    """Attribute a conversion (click id, hashed email/phone, time window); repeats are 409."""
    principal.require("ads:write")
    rules = service.get_rules(session, principal.tenant_id)
    row = service.record_conversion(session, principal.tenant_id, rules, data)
    return service.attribution_out(row)


@v1.get("/attribution/report")
def attribution_report(
    session: SessionDep, principal: PrincipalDep, since: datetime | None = None
) -> dict[str, Any]:
    """Attribution recovery rate: share of conversions attributed, per layer."""
    principal.require("ads:read")
    return service.recovery_report(session, principal.tenant_id, since)


@v1.post("/crm/sync", status_code=202)
def crm_sync(session: SessionDep, principal: PrincipalDep) -> dict[str, str]:
    """Queue a HubSpot sync and pipeline-value aggregation for this tenant."""
    principal.require("ads:write")
    enqueue_after_commit(session, "ads.sync_crm", str(principal.tenant_id))
    return {"status": "queued"}


async def raw_body(request: Request) -> bytes:
    """The exact request bytes: the webhook signature covers them, not a re-serialization."""
    return await request.body()


@v1.post("/webhooks/hubspot", status_code=202)
def hubspot_webhook(
    request: Request,
    body: Annotated[bytes, Depends(raw_body)],
    session: SessionDep,
    settings: SettingsDep,
    signature: Annotated[str | None, Header(alias="X-HubSpot-Signature-v3")] = None,
    timestamp: Annotated[str | None, Header(alias="X-HubSpot-Request-Timestamp")] = None,
) -> dict[str, Any]:
    """HubSpot webhook: 401 on a bad signature, 422 on a bad payload, else stored and queued."""
    row = service.store_webhook(
        session, settings, method=request.method, uri=str(request.url), body=body,
        signature=signature, timestamp=timestamp,
    )
    return {"status": "queued", "event_id": str(row.id), "events": row.event_count}


@legacy.post("/ingest-crm-data")
def ingest_crm_data(
    data: CrmIngestIn, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Bulk CRM ingest (seed ML service path): upsert pipelines and deals, attribute, aggregate."""
    principal.require("ads:write")
    return service.ingest(session, principal.tenant_id, data)


router.include_router(v1)
router.include_router(legacy)
