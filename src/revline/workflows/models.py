"""SQLAlchemy tables of the workflows domain: generations, versions, events, batches, usage.

A generation is one requirement's history: each run (generate, regenerate) or edit adds a
version holding the DSL, its validation, quality score, cost and timings. Progress events
are rows, so a stream in any process (API, worker, CLI) can follow a run in any other.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from revline.kernel.db.base import Base, TenantMixin, TimestampMixin, UUIDPkMixin


class WorkflowBatch(UUIDPkMixin, TimestampMixin, TenantMixin, Base):
    """Many requirements generated as one Celery job each; counts are derived from items."""

    __tablename__ = "workflow_batches"

    name: Mapped[str] = mapped_column(String(200), default="")
    mode: Mapped[str] = mapped_column(String(20))  # requested mode of every item
    total: Mapped[int] = mapped_column(Integer, default=0)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)


class WorkflowGeneration(UUIDPkMixin, TimestampMixin, TenantMixin, Base):
    """One requirement and the state of its latest run; `updated_at` is the run's heartbeat."""

    __tablename__ = "workflow_generations"
    __table_args__ = (
        Index("ix_workflow_generations_tenant_created", "tenant_id", "created_at"),
        Index("ix_workflow_generations_status_updated", "status", "updated_at"),
    )

    requirement: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(String(200), default="")
    requested_mode: Mapped[str] = mapped_column(String(20))  # simple|full|multi-agent|retrieval
    mode: Mapped[str | None] = mapped_column(String(20), default=None)  # what actually ran
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued|running|done|failed
    stage: Mapped[str | None] = mapped_column(String(30), default=None)
    batch_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("workflow_batches.id", ondelete="CASCADE"), default=None, index=True
    )
    batch_index: Mapped[int | None] = mapped_column(Integer, default=None)
    current_version: Mapped[int] = mapped_column(Integer, default=0)
    valid: Mapped[bool | None] = mapped_column(default=None)
    quality_score: Mapped[float | None] = mapped_column(Float, default=None)
    cost_usd_micros: Mapped[int] = mapped_column(BigInteger, default=0)  # every run, summed
    llm_calls: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # claims, including resumes
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)  # run options, next run's too
    error: Mapped[str | None] = mapped_column(Text, default=None)
    error_status: Mapped[int | None] = mapped_column(Integer, default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class WorkflowVersion(UUIDPkMixin, TenantMixin, Base):
    """An immutable version of a generation's DSL with everything needed to judge it."""

    __tablename__ = "workflow_versions"
    __table_args__ = (
        UniqueConstraint("generation_id", "number", name="uq_workflow_versions_generation_number"),
    )

    generation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workflow_generations.id", ondelete="CASCADE")
    )
    number: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20))  # generate | regenerate | edit
    mode: Mapped[str] = mapped_column(String(20))
    app_mode: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200), default="")
    dsl: Mapped[str] = mapped_column(Text)
    valid: Mapped[bool] = mapped_column()
    errors: Mapped[list[Any]] = mapped_column(default=list)
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    quality_score: Mapped[float] = mapped_column(Float)
    quality: Mapped[dict[str, Any]] = mapped_column(default=dict)  # score breakdown
    repairs: Mapped[list[Any]] = mapped_column(default=list)
    rounds: Mapped[int] = mapped_column(Integer, default=0)  # quality fix rounds used
    patterns: Mapped[list[Any]] = mapped_column(default=list)  # retrieved, with `used`
    templates: Mapped[list[Any]] = mapped_column(default=list)  # node templates used
    timings: Mapped[dict[str, Any]] = mapped_column(default=dict)  # stage -> ms
    notes: Mapped[list[Any]] = mapped_column(default=list)
    cost_usd_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    llm_calls: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column()


class WorkflowEvent(UUIDPkMixin, TenantMixin, Base):
    """A progress event of a generation run, numbered per generation (the SSE event id)."""

    __tablename__ = "workflow_generation_events"
    __table_args__ = (
        UniqueConstraint("generation_id", "seq", name="uq_workflow_generation_events_seq"),
    )

    generation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workflow_generations.id", ondelete="CASCADE")
    )
    seq: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20))  # started | finished | info | failed
    message: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column()


class PatternUsage(UUIDPkMixin, TenantMixin, Base):
    """A pattern retrieved for a version (rank, score) and whether the result was built on it."""

    __tablename__ = "workflow_pattern_usage"
    __table_args__ = (
        Index("ix_workflow_pattern_usage_tenant_pattern", "tenant_id", "pattern_id"),
    )

    generation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workflow_generations.id", ondelete="CASCADE")
    )
    version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workflow_versions.id", ondelete="CASCADE"), index=True
    )
    pattern_id: Mapped[str] = mapped_column(String(100))
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    used: Mapped[bool] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()


class NodeTemplate(UUIDPkMixin, TimestampMixin, TenantMixin, Base):
    """A tenant's reusable node snippet (a Dify node's `data`), offered to the generator."""

    __tablename__ = "workflow_node_templates"
    __table_args__ = (
        UniqueConstraint("tenant_id", "template_id", name="uq_workflow_node_templates_tenant_id"),
    )

    template_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    node_type: Mapped[str] = mapped_column(String(50))
    tags: Mapped[list[Any]] = mapped_column(default=list)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    uses: Mapped[int] = mapped_column(Integer, default=0)
