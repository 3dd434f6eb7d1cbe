"""Ads domain service: the entry point for the API, CLI, tasks and other domains.

Never commits; the request, task or CLI command owns the transaction. Attribution lives in
`tracking`, CRM work in `crm`, the rules run in `evaluation`; this module re-exports them.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from revline.ads.crm import (
    aggregate_pipeline_value,
    hubspot_configured,
    ingest,
    process_webhook,
    store_webhook,
    sync_hubspot,
)
from revline.ads.evaluation import create_evaluation, queue_evaluation, run_evaluation
from revline.ads.executor import ChangeExecutor, RunReport, enqueue
from revline.ads.executor.guards import SET_BUDGET, jitter_seconds
from revline.ads.models import (
    Ad,
    AdChangeHistory,
    AdDecision,
    AdEvaluation,
    PendingAdChange,
)
from revline.ads.money import fmt, normalize_currency
from revline.ads.pipeline_value import roas
from revline.ads.platform_sync import meta_configured, sync_meta
from revline.ads.recovery import requeue_stalled
from revline.ads.repository import (
    AccountRepository,
    AdRepository,
    ChangeRepository,
    ConfigRepository,
    DecisionRepository,
    EvaluationRepository,
    HistoryRepository,
    Totals,
)
from revline.ads.schemas import (
    AdIn,
    AdOut,
    AdsRules,
    BudgetChangeIn,
    ChangeOut,
    DecisionOut,
    EvaluationOut,
    HistoryOut,
    MetricsIn,
)
from revline.ads.tracking import attribution_out, record_conversion, recovery_report, track_click
from revline.kernel.auth import ensure_tenant
from revline.kernel.config import Settings
from revline.kernel.db import Database
from revline.kernel.db.base import utcnow
from revline.kernel.errors import Conflict, InvalidInput
from revline.kernel.jobs import enqueue_after_commit

__all__ = [
    "ChangeExecutor",
    "aggregate_pipeline_value",
    "attribution_out",
    "create_evaluation",
    "execute_pending",
    "get_rules",
    "hubspot_configured",
    "ingest",
    "integration_tenant",
    "meta_configured",
    "process_webhook",
    "queue_evaluation",
    "record_conversion",
    "recovery_report",
    "requeue_stalled",
    "run_evaluation",
    "store_webhook",
    "sync_hubspot",
    "sync_meta",
    "track_click",
]


def integration_tenant(session: Session, settings: Settings) -> uuid.UUID:
    """The tenant the configured Meta/HubSpot credentials and webhooks serve."""
    return ensure_tenant(session, settings.ads_tenant or settings.default_tenant).id


# --- Rules -----------------------------------------------------------------------------------
def get_rules(session: Session, tenant_id: uuid.UUID) -> AdsRules:
    """The tenant's effective rules (stored values over defaults)."""
    return ConfigRepository(session, tenant_id).rules()


def _validation_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "config"
    return f"ads config {where}: {first.get('msg', 'invalid value')}"


def update_rules(session: Session, tenant_id: uuid.UUID, updates: dict[str, Any]) -> AdsRules:
    """Merge updates into the stored rules; invalid values change nothing."""
    row = ConfigRepository(session, tenant_id).row()
    merged = {**row.rules, **updates}
    try:
        rules = AdsRules.model_validate(merged)
    except ValidationError as exc:
        raise InvalidInput(_validation_message(exc)) from None
    row.rules = rules.model_dump(exclude_defaults=True)
    session.flush()
    return rules


def set_rule(session: Session, tenant_id: uuid.UUID, key: str, raw: str) -> AdsRules:
    """Set one rule from text: `mode pipeline`, `kill_roas 0.4`, `stage_values.demo 50000`.

    Values are read as JSON when they parse (numbers, true/false, objects), else as text; a
    dotted key sets one entry of a mapping rule and `null` removes it.
    """
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw
    name, _, sub = key.partition(".")
    if name not in AdsRules.model_fields:
        known = ", ".join(sorted(AdsRules.model_fields))
        raise InvalidInput(f"unknown ads setting {name!r}; known: {known}")
    if not sub:
        return update_rules(session, tenant_id, {name: value})
    current = get_rules(session, tenant_id).model_dump()[name]
    if not isinstance(current, dict):
        raise InvalidInput(f"{name} is not a mapping; set it without a dotted key")
    mapping = dict(current)
    if value is None:
        mapping.pop(sub, None)
    else:
        mapping[sub] = value
    return update_rules(session, tenant_id, {name: mapping})


# --- Ads and metrics -------------------------------------------------------------------------
def register_ad(session: Session, tenant_id: uuid.UUID, data: AdIn) -> Ad:
    """Register a budget to optimize; the same platform id twice is a Conflict."""
    currency = normalize_currency(data.currency)
    ads = AdRepository(session, tenant_id)
    if ads.by_external(data.platform, data.external_id) is not None:
        raise Conflict(f"ad {data.platform}:{data.external_id} is already registered")
    account = AccountRepository(session, tenant_id).ensure(data.platform, data.account_id,
                                                           currency)
    return ads.add(
        account_id=account.id, platform=data.platform, external_id=data.external_id,
        name=data.name, campaign_id=data.campaign_id, daily_budget_minor=data.daily_budget_minor,
        currency=currency, started_at=data.started_at or utcnow(),
    )


def push_metrics(session: Session, tenant_id: uuid.UUID, ad_id: uuid.UUID, data: MetricsIn) -> int:
    """Upsert daily metrics for a known ad (unknown ad -> NotFound)."""
    ads = AdRepository(session, tenant_id)
    ads.get_ad(ad_id)
    days = [m.day for m in data.days]
    if len(set(days)) != len(days):
        raise InvalidInput("metrics: each day may appear once per request")
    for m in data.days:
        ads.upsert_metric(ad_id, m.day, m.model_dump(exclude={"day"}))
    return len(data.days)


def ad_out(
    ad: Ad, account_external_id: str, totals: Totals, rules: AdsRules, now: datetime,
    open_change: uuid.UUID | None = None,
) -> AdOut:
    """API view of one ad in its effective mode."""
    mode = rules.mode_for(account_external_id, ad.campaign_id)
    value = ad.pipeline_value_minor if mode == "pipeline" else totals.revenue_minor
    return AdOut(
        id=ad.id, platform=ad.platform, account_id=account_external_id,
        external_id=ad.external_id, name=ad.name, campaign_id=ad.campaign_id, status=ad.status,
        mode=mode, daily_budget_minor=ad.daily_budget_minor, currency=ad.currency,
        spend_minor=totals.spend_minor, platform_revenue_minor=totals.revenue_minor,
        pipeline_value_minor=ad.pipeline_value_minor, pipeline_deals=ad.pipeline_deals,
        value_minor=value, roas=roas(value, totals.spend_minor),
        learning_status=ad.learning_status,
        age_days=round(max((now - ad.started_at).total_seconds(), 0.0) / 86_400.0, 2),
        open_change_id=open_change,
    )


def ad_views(
    session: Session, tenant_id: uuid.UUID, ad_id: uuid.UUID | None = None
) -> list[AdOut]:
    """Every ad (or one) with spend, value and ROAS."""
    ads = AdRepository(session, tenant_id)
    rows = [ads.get_ad(ad_id)] if ad_id else ads.all()
    totals = ads.totals()
    accounts = AccountRepository(session, tenant_id).by_ids({a.account_id for a in rows})
    open_changes = ChangeRepository(session, tenant_id).open_by_ad()
    rules, now = get_rules(session, tenant_id), utcnow()
    return [ad_out(a, accounts[a.account_id].external_id, totals.get(a.id, Totals()), rules,
                   now, open_changes.get(a.id)) for a in rows]


def request_budget(
    session: Session, settings: Settings, tenant_id: uuid.UUID, ad_id: uuid.UUID,
    data: BudgetChangeIn, *, execute_after: bool = True, rng: random.Random | None = None,
) -> PendingAdChange:
    """Queue a manual budget change; unknown ad -> 404, below the minimum -> 422, no row."""
    ad = AdRepository(session, tenant_id).get_ad(ad_id)
    rules = get_rules(session, tenant_id)
    if data.daily_budget_minor < rules.min_budget_minor:
        raise InvalidInput(
            f"daily budget {fmt(data.daily_budget_minor, ad.currency)} is below this tenant's "
            f"minimum {fmt(rules.min_budget_minor, ad.currency)} (ads config min_budget_minor)"
        )
    change = enqueue(
        session, tenant_id, ad.id, SET_BUDGET, requested_budget_minor=data.daily_budget_minor,
        reason=data.reason, origin="manual", now=utcnow(),
        jitter_s=jitter_seconds(rng or random.Random(), settings.ads_jitter_max_s),
        lease_s=settings.ads_executor_lease_s,
    )
    if execute_after:
        enqueue_after_commit(session, "ads.execute_pending")
    return change


def execute_pending(
    db: Database, settings: Settings, limit: int | None = None, **options: Any
) -> RunReport:
    """Run one executor pass (claims its own rows; owns its short transactions)."""
    return ChangeExecutor(db, settings, **options).run(limit)


# --- Views -----------------------------------------------------------------------------------
def change_out(row: PendingAdChange) -> ChangeOut:
    """API view of a queued change."""
    return ChangeOut.model_validate(row, from_attributes=True)


def history_out(row: AdChangeHistory) -> HistoryOut:
    """API view of an audit row."""
    return HistoryOut.model_validate(row, from_attributes=True)


def decision_out(row: AdDecision) -> DecisionOut:
    """API view of a decision."""
    return DecisionOut.model_validate(row, from_attributes=True)


def list_changes(
    session: Session, tenant_id: uuid.UUID, status: str | None = None, limit: int = 50
) -> list[ChangeOut]:
    """Newest queued changes."""
    return [change_out(c) for c in ChangeRepository(session, tenant_id).recent(status, limit)]


def list_history(
    session: Session, tenant_id: uuid.UUID, ad_id: uuid.UUID | None = None, limit: int = 50
) -> list[HistoryOut]:
    """Newest audit rows (optionally of one ad)."""
    if ad_id is not None:
        AdRepository(session, tenant_id).get_ad(ad_id)
    return [history_out(h) for h in HistoryRepository(session, tenant_id).recent(ad_id, limit)]


def evaluation_out(session: Session, tenant_id: uuid.UUID, row: AdEvaluation) -> EvaluationOut:
    """An evaluation with its decisions."""
    decisions = DecisionRepository(session, tenant_id).for_evaluation(row.id)
    return EvaluationOut(
        id=row.id, status=row.status, trigger=row.trigger, summary=row.summary, error=row.error,
        created_at=row.created_at, finished_at=row.finished_at,
        decisions=[decision_out(d) for d in decisions],
    )


def get_evaluation(
    session: Session, tenant_id: uuid.UUID, evaluation_id: uuid.UUID
) -> EvaluationOut:
    """One evaluation (NotFound for other tenants')."""
    row = EvaluationRepository(session, tenant_id).get(evaluation_id)
    return evaluation_out(session, tenant_id, row)


def latest_decisions(
    session: Session, tenant_id: uuid.UUID, limit: int = 20
) -> EvaluationOut | None:
    """The newest evaluation with its decisions, if any ran."""
    rows = EvaluationRepository(session, tenant_id).list(limit=limit)
    done = next((e for e in rows if e.status == "done"), None)
    return evaluation_out(session, tenant_id, done) if done else None
