"""SQLAlchemy tables of the ads domain: ads and spend, attribution, CRM deals, the change queue.

Money is integer minor units next to a currency; times are UTC; IDs are UUIDs.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from revline.kernel.db.base import Base, TenantMixin, TimestampMixin, UUIDPkMixin, utcnow

# pending_ad_changes.status: only "pending" rows are claimable; the rest are final.
CHANGE_PENDING = "pending"
CHANGE_APPLIED = "applied"
CHANGE_NOOP = "noop"
CHANGE_REJECTED = "rejected"
CHANGE_FAILED = "failed"
CHANGE_EXPIRED = "expired"
CHANGE_SUPERSEDED = "superseded"
FINAL_CHANGE_STATUSES = (
    CHANGE_APPLIED, CHANGE_NOOP, CHANGE_REJECTED, CHANGE_FAILED, CHANGE_EXPIRED, CHANGE_SUPERSEDED,
)


class AdsTenantConfig(UUIDPkMixin, TimestampMixin, TenantMixin, Base):
    """A tenant's decision rules and attribution settings (validated by schemas.AdsRules)."""

    __tablename__ = "ads_tenant_config"
    __table_args__ = (UniqueConstraint("tenant_id", name="uq_ads_tenant_config_tenant"),)

    rules: Mapped[dict[str, Any]] = mapped_column(default=dict)
    crm_synced_at: Mapped[datetime | None] = mapped_column(default=None)
    crm_sync_summary: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AdAccount(UUIDPkMixin, TimestampMixin, TenantMixin, Base):
    """An ad account on a platform; carries the account-level rate-limit state."""

    __tablename__ = "ad_accounts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "platform", "external_id", name="uq_ad_accounts_external"),
    )

    platform: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300), default="")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    # Highest percentage seen in X-Business-Use-Case-Usage (call count, CPU or time).
    usage_pct: Mapped[int] = mapped_column(Integer, default=0)
    usage: Mapped[dict[str, Any]] = mapped_column(default=dict)
    usage_at: Mapped[datetime | None] = mapped_column(default=None)
    throttled_until: Mapped[datetime | None] = mapped_column(default=None)


class Ad(UUIDPkMixin, TimestampMixin, TenantMixin, Base):
    """The unit Revline optimizes: one budget on a platform (on Meta, an ad set)."""

    __tablename__ = "ads"
    __table_args__ = (
        UniqueConstraint("tenant_id", "platform", "external_id", name="uq_ads_external"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ad_accounts.id", ondelete="CASCADE"), index=True
    )
    platform: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(64))
    campaign_id: Mapped[str] = mapped_column(String(64), default="")
    name: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(20), default="active")
    daily_budget_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    # Meta learning_stage_info.status: LEARNING, SUCCESS or FAIL (None when not reported).
    learning_status: Mapped[str | None] = mapped_column(String(20), default=None)
    learning_info: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    pipeline_value_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    pipeline_deals: Mapped[int] = mapped_column(Integer, default=0)
    pipeline_aggregated_at: Mapped[datetime | None] = mapped_column(default=None)
    synced_at: Mapped[datetime | None] = mapped_column(default=None)


class AdMetricDaily(UUIDPkMixin, TenantMixin, Base):
    """Spend and platform results of one ad on one UTC day (from insights or pushed by API)."""

    __tablename__ = "ad_metrics_daily"
    __table_args__ = (UniqueConstraint("ad_id", "day", name="uq_ad_metrics_daily_ad_day"),)

    ad_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ads.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    spend_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    revenue_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    impressions: Mapped[int] = mapped_column(BigInteger, default=0)
    clicks: Mapped[int] = mapped_column(BigInteger, default=0)
    conversions: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AdClick(UUIDPkMixin, TenantMixin, Base):
    """A tracked click; its id is Revline's own click id. Identities are stored only hashed."""

    __tablename__ = "ad_clicks"
    __table_args__ = (
        Index("ix_ad_clicks_tenant_time", "tenant_id", "occurred_at"),
        Index("ix_ad_clicks_fbclid", "tenant_id", "fbclid"),
        Index("ix_ad_clicks_gclid", "tenant_id", "gclid"),
        Index("ix_ad_clicks_email", "tenant_id", "email_sha256"),
        Index("ix_ad_clicks_phone", "tenant_id", "phone_sha256"),
    )

    ad_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ads.id", ondelete="CASCADE"), index=True)
    fbclid: Mapped[str | None] = mapped_column(String(500), default=None)
    gclid: Mapped[str | None] = mapped_column(String(500), default=None)
    email_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    phone_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    ip_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    ua_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    landing_url: Mapped[str] = mapped_column(Text, default="")
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AdConversion(UUIDPkMixin, TenantMixin, Base):
    """A conversion (API event or CRM deal) and the attribution match it got, if any."""

    __tablename__ = "ad_conversions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "source", "external_id", name="uq_ad_conversions_external"),
        Index("ix_ad_conversions_tenant_time", "tenant_id", "occurred_at"),
    )

    source: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(200))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    value_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    click_ref: Mapped[str | None] = mapped_column(String(500), default=None)
    email_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    phone_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    ip_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    ua_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    ad_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("ads.id", ondelete="SET NULL"), default=None, index=True
    )
    click_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("ad_clicks.id", ondelete="SET NULL"), default=None
    )
    layer: Mapped[str | None] = mapped_column(String(20), default=None)
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    match_details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CrmStage(UUIDPkMixin, TimestampMixin, TenantMixin, Base):
    """A CRM pipeline stage with its win probability (HubSpot pipeline metadata)."""

    __tablename__ = "crm_stages"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id", "source", "pipeline_id", "stage_id", name="uq_crm_stages_stage"
        ),
    )

    source: Mapped[str] = mapped_column(String(20))
    pipeline_id: Mapped[str] = mapped_column(String(100))
    pipeline_label: Mapped[str] = mapped_column(String(300), default="")
    stage_id: Mapped[str] = mapped_column(String(100))
    label: Mapped[str] = mapped_column(String(300), default="")
    probability: Mapped[float | None] = mapped_column(Float, default=None)
    is_closed: Mapped[bool] = mapped_column(Boolean, default=False)
    display_order: Mapped[int] = mapped_column(Integer, default=0)


class CrmDeal(UUIDPkMixin, TimestampMixin, TenantMixin, Base):
    """A CRM deal; its attribution lives on the linked ad_conversions row."""

    __tablename__ = "crm_deals"
    __table_args__ = (
        UniqueConstraint("tenant_id", "source", "external_id", name="uq_crm_deals_external"),
    )

    source: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(300), default="")
    pipeline_id: Mapped[str] = mapped_column(String(100), default="default")
    stage_id: Mapped[str] = mapped_column(String(100), default="")
    amount_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    deal_created_at: Mapped[datetime] = mapped_column(default=utcnow)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    conversion_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("ad_conversions.id", ondelete="SET NULL"), default=None, index=True
    )


class CrmWebhookEvent(UUIDPkMixin, TimestampMixin, TenantMixin, Base):
    """A verified webhook delivery, stored raw before a worker processes it."""

    __tablename__ = "crm_webhook_events"

    source: Mapped[str] = mapped_column(String(20))
    body: Mapped[list[Any]] = mapped_column(default=list)
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    processed_at: Mapped[datetime | None] = mapped_column(default=None)


class AdEvaluation(UUIDPkMixin, TimestampMixin, TenantMixin, Base):
    """One run of the decision rules over a tenant's active ads."""

    __tablename__ = "ad_evaluations"

    status: Mapped[str] = mapped_column(String(20), default="queued")
    trigger: Mapped[str] = mapped_column(String(20), default="api")
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class AdDecision(UUIDPkMixin, TenantMixin, Base):
    """What the rules decided for one ad in one evaluation, with the numbers behind it."""

    __tablename__ = "ad_decisions"

    evaluation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ad_evaluations.id", ondelete="CASCADE"), index=True
    )
    ad_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ads.id", ondelete="CASCADE"), index=True)
    mode: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    spend_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    value_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    roas: Mapped[float | None] = mapped_column(Float, default=None)
    prob_best: Mapped[float | None] = mapped_column(Float, default=None)
    current_budget_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    target_budget_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    change_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PendingAdChange(UUIDPkMixin, TimestampMixin, TenantMixin, Base):
    """A queued change to an ad; workers claim it with a lease before touching the platform."""

    __tablename__ = "pending_ad_changes"
    __table_args__ = (Index("ix_pending_ad_changes_claim", "status", "not_before"),)

    ad_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ads.id", ondelete="CASCADE"), index=True)
    decision_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("ad_decisions.id", ondelete="SET NULL"), default=None
    )
    action: Mapped[str] = mapped_column(String(20))
    origin: Mapped[str] = mapped_column(String(20), default="rules")
    reason: Mapped[str] = mapped_column(Text, default="")
    requested_budget_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    status: Mapped[str] = mapped_column(String(20), default=CHANGE_PENDING)
    not_before: Mapped[datetime] = mapped_column(default=utcnow)
    jitter_s: Mapped[float] = mapped_column(Float, default=0.0)
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    claimed_by: Mapped[str | None] = mapped_column(String(200), default=None)
    claim_token: Mapped[uuid.UUID | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    hold_reason: Mapped[str | None] = mapped_column(Text, default=None)
    # Final rows: the budget applied. Pending rows: the budget a write was sent for, so a
    # retry can tell that write landed (executor/queue.renew).
    applied_budget_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    outcome: Mapped[str | None] = mapped_column(Text, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class AdChangeHistory(UUIDPkMixin, TenantMixin, Base):
    """Audit log: one row per attempt to apply a change, with the reason and the outcome."""

    __tablename__ = "ad_change_history"
    __table_args__ = (Index("ix_ad_change_history_ad_time", "ad_id", "created_at"),)

    change_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("pending_ad_changes.id", ondelete="SET NULL"), default=None, index=True
    )
    ad_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ads.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    action: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(20))
    guard: Mapped[str | None] = mapped_column(String(40), default=None)
    reason: Mapped[str] = mapped_column(Text, default="")
    from_budget_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    to_budget_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    worker: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
