"""Tables of the LLM gateway: the cost ledger, hierarchical budgets and the response cache.

The gateway writes these on its hot path with plain DBAPI statements (see `store.py`); the
ORM classes define the schema and serve the summaries, the CLI and the API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from revline.kernel.db.base import Base, TenantMixin, TimestampMixin, UUIDPkMixin, utcnow

BUDGET_SCOPES = ("tenant", "job", "workflow", "agent", "conversation")
BUDGET_PERIODS = ("total", "day", "month")
CALL_STATUSES = ("pending", "ok", "error", "truncated", "invalid", "cancelled", "abandoned")


class LLMCall(UUIDPkMixin, TenantMixin, Base):
    """One ledger row per billed unit of work: a completion, a stream, or a cache hit.

    Inserted as `pending` with the reserved estimate before the provider is called, settled
    to the actual cost after, so a crash mid-call leaves a visible, releasable reservation.
    """

    __tablename__ = "llm_calls"
    __table_args__ = (
        Index("ix_llm_calls_tenant_created", "tenant_id", "created_at"),
        Index("ix_llm_calls_status", "status"),
        # Cost per job, workflow, agent and conversation is read by scope, not by time.
        Index("ix_llm_calls_tenant_job", "tenant_id", "job_id"),
        Index("ix_llm_calls_tenant_workflow", "tenant_id", "workflow_id"),
        Index("ix_llm_calls_tenant_agent", "tenant_id", "agent_id"),
        Index("ix_llm_calls_tenant_conversation", "tenant_id", "conversation_id"),
    )

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    feature: Mapped[str] = mapped_column(String(100), default="")
    job_id: Mapped[str | None] = mapped_column(String(64), default=None)
    workflow_id: Mapped[str | None] = mapped_column(String(64), default=None)
    agent_id: Mapped[str | None] = mapped_column(String(64), default=None)
    conversation_id: Mapped[str | None] = mapped_column(String(64), default=None)
    model_requested: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(50), default="")
    model: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    prompt_tokens: Mapped[int] = mapped_column(default=0)
    completion_tokens: Mapped[int] = mapped_column(default=0)
    cost_usd_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved_usd_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    price_version: Mapped[str] = mapped_column(String(32), default="")
    latency_ms: Mapped[float] = mapped_column(default=0.0)
    cached: Mapped[bool] = mapped_column(default=False)
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    # Budget ids holding this call's reservation, so a stale one can be released exactly.
    reserved_budgets: Mapped[list[Any]] = mapped_column(default=list)


class LLMBudget(UUIDPkMixin, TimestampMixin, TenantMixin, Base):
    """A spending limit for a tenant or one of its jobs, workflows, agents or conversations."""

    __tablename__ = "llm_budgets"
    __table_args__ = (UniqueConstraint("tenant_id", "scope", "scope_ref", name="uq_llm_budget"),)

    scope: Mapped[str] = mapped_column(String(20))  # one of BUDGET_SCOPES
    scope_ref: Mapped[str] = mapped_column(String(64), default="")  # "" for the tenant level
    limit_usd_micros: Mapped[int] = mapped_column(BigInteger)
    spent_usd_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved_usd_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    period: Mapped[str] = mapped_column(String(10), default="total")  # one of BUDGET_PERIODS
    period_start: Mapped[datetime] = mapped_column(default=utcnow)


class LLMCacheEntry(UUIDPkMixin, TenantMixin, Base):
    """An exact-match cached answer, isolated per tenant, valid until expires_at."""

    __tablename__ = "llm_cache"
    __table_args__ = (UniqueConstraint("tenant_id", "key", name="uq_llm_cache_key"),)

    key: Mapped[str] = mapped_column(String(64))
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
