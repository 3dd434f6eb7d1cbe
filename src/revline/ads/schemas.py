"""Pydantic models of the ads domain: the per-tenant rules and the API's inputs and outputs."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Mode = Literal["direct", "pipeline"]
ValueSource = Literal["stage_value", "probability"]
Layer = Literal["click_id", "hashed_identity", "time_window"]


def stage_key(text: str) -> str:
    """Stage ids and labels compared loosely: 'Appointment Scheduled' == appointment_scheduled."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


class AdsRules(BaseModel):
    """A tenant's decision rules, guards and attribution settings; every field has a default."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    # Modes: direct = platform revenue / spend; pipeline = CRM synthetic revenue / spend.
    mode: Mode = "direct"
    account_modes: dict[str, Mode] = Field(default_factory=dict)
    campaign_modes: dict[str, Mode] = Field(default_factory=dict)
    currency: str = "USD"
    value_source: ValueSource = "stage_value"
    # Stage id or label -> value in minor units, e.g. {"appointment_scheduled": 225000}.
    stage_values: dict[str, int] = Field(default_factory=dict)
    expected_deal_value_minor: int = Field(default=0, ge=0)
    # Decision rules.
    ignorance_days: float = Field(default=2.0, ge=0)
    ignorance_spend_minor: int = Field(default=10_000, ge=0)
    kill_spend_minor: int = Field(default=20_000, ge=0)
    kill_roas: float = Field(default=0.5, ge=0)
    scale_roas: float = Field(default=3.0, ge=0)
    min_shift_pct: float = Field(default=5.0, ge=0, le=100)
    min_share: float = Field(default=0.05, ge=0, le=0.5)
    roas_std_floor: float = Field(default=0.5, gt=0)
    # Executor guards.
    max_step_pct: float = Field(default=20.0, gt=0, le=100)
    min_budget_minor: int = Field(default=100, ge=1)
    budget_changes_per_hour: int = Field(default=4, ge=1)
    account_usage_max_pct: int = Field(default=75, ge=1, le=100)
    velocity_max_ratio: float = Field(default=1.5, gt=0)
    learning_hold: bool = True
    learning_recheck_minutes: int = Field(default=360, ge=1)
    fuzzy_step_minor: int = Field(default=100, ge=1)
    # Attribution.
    attribution_lookback_days: int = Field(default=28, ge=1)
    time_window_minutes: int = Field(default=60, ge=1)
    time_window_max_confidence: float = Field(default=0.6, gt=0, le=1)
    min_confidence: float = Field(default=0.2, ge=0, le=1)
    phone_region: str = "US"

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        code = value.strip().upper()
        if len(code) != 3 or not code.isalpha():
            raise ValueError("must be a 3-letter ISO code like USD")
        return code

    @field_validator("stage_values")
    @classmethod
    def _stage_values(cls, value: dict[str, int]) -> dict[str, int]:
        for stage, minor in value.items():
            if minor < 0:
                raise ValueError(f"stage {stage!r}: value must be >= 0 (minor units)")
        return value

    @model_validator(mode="after")
    def _kill_below_scale(self) -> AdsRules:
        if self.kill_roas >= self.scale_roas:
            raise ValueError("kill_roas must be below scale_roas")
        return self

    def mode_for(self, account_external_id: str, campaign_id: str) -> Mode:
        """Campaign override, else account override, else the tenant's mode."""
        if campaign_id and campaign_id in self.campaign_modes:
            return self.campaign_modes[campaign_id]
        return self.account_modes.get(account_external_id, self.mode)

    def stage_value(self, stage_id: str, label: str = "") -> int | None:
        """Configured value of a stage, matched on id or label; None when not configured."""
        wanted = {stage_key(stage_id), stage_key(label)} - {""}
        for key, minor in self.stage_values.items():
            if stage_key(key) in wanted:
                return minor
        return None


# --- API inputs -----------------------------------------------------------------------------
class AdIn(BaseModel):
    """Register an ad (one budget) by hand; Meta ad sets are registered by `sync`."""

    model_config = ConfigDict(extra="forbid")

    platform: Literal["meta", "manual"] = "manual"
    account_id: str = Field(min_length=1, max_length=64, description="Platform account id")
    external_id: str = Field(min_length=1, max_length=64, description="Platform ad (set) id")
    name: str = Field(default="", max_length=300)
    campaign_id: str = Field(default="", max_length=64)
    daily_budget_minor: int = Field(ge=0)
    currency: str = "USD"
    started_at: datetime | None = None


class MetricIn(BaseModel):
    """One day of spend and platform results for an ad."""

    model_config = ConfigDict(extra="forbid")

    day: date
    spend_minor: int = Field(ge=0)
    revenue_minor: int = Field(default=0, ge=0)
    impressions: int = Field(default=0, ge=0)
    clicks: int = Field(default=0, ge=0)
    conversions: int = Field(default=0, ge=0)


class MetricsIn(BaseModel):
    """A batch of daily metrics (upserted by day)."""

    model_config = ConfigDict(extra="forbid")

    days: list[MetricIn] = Field(min_length=1, max_length=1000)


class BudgetChangeIn(BaseModel):
    """Ask for a new daily budget; it is queued and applied by the safe executor."""

    model_config = ConfigDict(extra="forbid")

    daily_budget_minor: int = Field(ge=0)
    reason: str = Field(default="manual change", max_length=500)


class PersonKeys(BaseModel):
    """Identifiers attribution can match on; email and phone are only ever stored hashed."""

    model_config = ConfigDict(extra="forbid")

    fbclid: str | None = Field(default=None, max_length=500)
    gclid: str | None = Field(default=None, max_length=500)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=50)


class ClickIn(PersonKeys):
    """A click on an ad, reported by the landing page or a redirect."""

    ad_id: uuid.UUID | None = None
    external_ad_id: str | None = Field(default=None, max_length=64)
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=1000)
    landing_url: str = Field(default="", max_length=4000)
    occurred_at: datetime | None = None

    @model_validator(mode="after")
    def _one_ad(self) -> ClickIn:
        if (self.ad_id is None) == (self.external_ad_id is None):
            raise ValueError("give exactly one of ad_id or external_ad_id")
        return self


class ConversionIn(PersonKeys):
    """A conversion to attribute; external_id makes it idempotent (a repeat is a 409)."""

    external_id: str = Field(min_length=1, max_length=200)
    occurred_at: datetime | None = None
    value_minor: int | None = Field(default=None, ge=0)
    currency: str = "USD"
    click_id: str | None = Field(
        default=None, max_length=500, description="Revline click id, fbclid or gclid"
    )
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=1000)


class StageIn(BaseModel):
    """A pipeline stage with its win probability (0-1)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=100)
    label: str = Field(default="", max_length=300)
    probability: float | None = Field(default=None, ge=0, le=1)
    is_closed: bool = False
    display_order: int = 0


class PipelineIn(BaseModel):
    """A CRM pipeline and its stages."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=100)
    label: str = Field(default="", max_length=300)
    stages: list[StageIn] = Field(min_length=1, max_length=200)


class DealIn(PersonKeys):
    """One CRM deal; `amount` is a decimal in major units, as CRMs export it."""

    deal_id: str = Field(min_length=1, max_length=100)
    name: str = Field(default="", max_length=300)
    pipeline: str = Field(default="default", max_length=100)
    stage: str = Field(min_length=1, max_length=100)
    amount: str | float | int | None = None
    currency: str | None = None
    created_at: datetime | None = None
    click_id: str | None = Field(default=None, max_length=500)


class CrmIngestIn(BaseModel):
    """Body of POST /api/ml/ingest-crm-data: pipelines (optional) and deals to upsert."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(default="hubspot", pattern=r"^[a-z0-9_-]{1,20}$")
    pipelines: list[PipelineIn] = Field(default_factory=list, max_length=100)
    deals: list[DealIn] = Field(default_factory=list, max_length=5000)

    @model_validator(mode="after")
    def _unique_deals(self) -> CrmIngestIn:
        seen: set[str] = set()
        for deal in self.deals:
            if deal.deal_id in seen:
                raise ValueError(f"deal_id {deal.deal_id!r} appears twice in one request")
            seen.add(deal.deal_id)
        if not self.deals and not self.pipelines:
            raise ValueError("send at least one deal or pipeline")
        return self


# --- API outputs ----------------------------------------------------------------------------
class AdOut(BaseModel):
    """An ad with its spend, value and ROAS in its effective mode."""

    id: uuid.UUID
    platform: str
    account_id: str
    external_id: str
    name: str
    campaign_id: str
    status: str
    mode: Mode
    daily_budget_minor: int
    currency: str
    spend_minor: int
    platform_revenue_minor: int
    pipeline_value_minor: int
    pipeline_deals: int
    value_minor: int
    roas: float | None
    learning_status: str | None
    age_days: float
    open_change_id: uuid.UUID | None = None


class AttributionOut(BaseModel):
    """Where a click or conversion landed."""

    conversion_id: uuid.UUID
    ad_id: uuid.UUID | None
    click_id: uuid.UUID | None
    layer: Layer | None
    confidence: float
    details: dict[str, Any] = Field(default_factory=dict)


class ChangeOut(BaseModel):
    """A queued (or finished) change."""

    id: uuid.UUID
    ad_id: uuid.UUID
    action: str
    origin: str
    reason: str
    requested_budget_minor: int | None
    status: str
    not_before: datetime
    attempts: int
    hold_reason: str | None
    applied_budget_minor: int | None
    outcome: str | None
    created_at: datetime


class HistoryOut(BaseModel):
    """One audit-log row."""

    id: uuid.UUID
    change_id: uuid.UUID | None
    ad_id: uuid.UUID
    attempt: int
    action: str
    outcome: str
    guard: str | None
    reason: str
    from_budget_minor: int | None
    to_budget_minor: int | None
    details: dict[str, Any]
    created_at: datetime


class DecisionOut(BaseModel):
    """One decision of one evaluation."""

    id: uuid.UUID
    evaluation_id: uuid.UUID
    ad_id: uuid.UUID
    mode: str
    action: str
    reason: str
    currency: str
    spend_minor: int
    value_minor: int
    roas: float | None
    prob_best: float | None
    current_budget_minor: int
    target_budget_minor: int | None
    change_id: uuid.UUID | None
    created_at: datetime


class EvaluationOut(BaseModel):
    """An evaluation run and (when finished) its decisions."""

    id: uuid.UUID
    status: str
    trigger: str
    summary: dict[str, Any]
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    decisions: list[DecisionOut] = Field(default_factory=list)
