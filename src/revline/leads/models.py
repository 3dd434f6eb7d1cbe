"""Lead runs, per-lead pipeline state, learned classification rules, dedupe state and labels."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from revline.kernel.db.base import Base, TenantMixin, TimestampMixin, UUIDPkMixin

# Per-lead stage: the pipeline only ever moves a lead forward, which is what makes resume exact.
STAGE_IMPORTED = 0
STAGE_VALIDATED = 1
STAGE_ENRICHED = 2
STAGE_CLASSIFIED = 3
STAGE_SCORED = 4


class LeadRun(UUIDPkMixin, TimestampMixin, TenantMixin, Base):
    """One pipeline run over one input file; the unit that resumes after a crash."""

    __tablename__ = "lead_runs"

    input_path: Mapped[str] = mapped_column(Text)
    input_name: Mapped[str] = mapped_column(String(300))
    input_sha256: Mapped[str] = mapped_column(String(64), index=True)
    options_key: Mapped[str] = mapped_column(String(64))
    tier: Mapped[int] = mapped_column(Integer, default=1)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    stage: Mapped[str] = mapped_column(String(20), default="import")
    total_rows: Mapped[int | None] = mapped_column(Integer, default=None)
    imported_rows: Mapped[int] = mapped_column(Integer, default=0)
    original_columns: Mapped[list[Any]] = mapped_column(default=list)
    field_map: Mapped[dict[str, Any]] = mapped_column(default=dict)
    notes: Mapped[list[Any]] = mapped_column(default=list)
    summary: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    output_xlsx: Mapped[str | None] = mapped_column(Text, default=None)
    output_html: Mapped[str | None] = mapped_column(Text, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    owner_pid: Mapped[int | None] = mapped_column(Integer, default=None)
    owner_host: Mapped[str | None] = mapped_column(String(200), default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    duration_s: Mapped[float] = mapped_column(default=0.0)


class Lead(UUIDPkMixin, TenantMixin, Base):
    """One input row and everything each stage learned about it."""

    __tablename__ = "leads"
    __table_args__ = (
        UniqueConstraint("run_id", "row_index", name="uq_leads_run_row"),
        Index("ix_leads_run_stage", "run_id", "stage"),
    )

    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lead_runs.id", ondelete="CASCADE"))
    row_index: Mapped[int] = mapped_column(Integer)
    stage: Mapped[int] = mapped_column(Integer, default=STAGE_IMPORTED)
    company: Mapped[str] = mapped_column(String(300), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    domain: Mapped[str] = mapped_column(String(253), default="", index=True)
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    row_errors: Mapped[list[Any]] = mapped_column(default=list)
    contact: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enrichment: Mapped[dict[str, Any]] = mapped_column(default=dict)
    classification: Mapped[dict[str, Any]] = mapped_column(default=dict)
    score: Mapped[dict[str, Any]] = mapped_column(default=dict)
    cluster: Mapped[dict[str, Any]] = mapped_column(default=dict)
    score_value: Mapped[int | None] = mapped_column(Integer, default=None)
    tier: Mapped[str | None] = mapped_column(String(2), default=None)
    vertical: Mapped[str | None] = mapped_column(String(100), default=None)


class LearnedRule(UUIDPkMixin, TimestampMixin, TenantMixin, Base):
    """A classification answer (usually from the LLM) kept as a rule for later leads."""

    __tablename__ = "lead_learned_rules"
    __table_args__ = (UniqueConstraint("tenant_id", "field", "value", name="uq_learned_rule"),)

    field: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(String(300))
    vertical: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(40), default="llm")
    hits: Mapped[int] = mapped_column(Integer, default=0)


class DedupeState(UUIDPkMixin, TimestampMixin, TenantMixin, Base):
    """Saved dedupe state for incremental runs: the trained model and where the clustered
    records live (a Parquet file under REVLINE_HOME, too big for rows here at 1M records)."""

    __tablename__ = "lead_dedupe_states"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_lead_dedupe_state"),)

    name: Mapped[str] = mapped_column(String(100))
    engine: Mapped[str] = mapped_column(String(20), default="duckdb")
    profile: Mapped[str] = mapped_column(String(40))
    config_digest: Mapped[str] = mapped_column(String(32))
    model: Mapped[dict[str, Any]] = mapped_column(default=dict)
    records_path: Mapped[str] = mapped_column(Text)
    record_count: Mapped[int] = mapped_column(Integer, default=0)
    cluster_count: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)


class DedupeLabel(UUIDPkMixin, TimestampMixin, TenantMixin, Base):
    """An answer about two identities (same entity or not), from the LLM or a person; reused
    as a decision whenever the same two identities are scored again."""

    __tablename__ = "lead_dedupe_labels"
    __table_args__ = (
        UniqueConstraint("tenant_id", "fp_a", "fp_b", name="uq_lead_dedupe_label"),
    )

    fp_a: Mapped[str] = mapped_column(String(32))
    fp_b: Mapped[str] = mapped_column(String(32))
    match: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(20))
    confidence: Mapped[float] = mapped_column(default=1.0)
    reason: Mapped[str] = mapped_column(Text, default="")
    record_a: Mapped[str] = mapped_column(String(200), default="")
    record_b: Mapped[str] = mapped_column(String(200), default="")
