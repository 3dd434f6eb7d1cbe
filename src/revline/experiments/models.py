"""SQLAlchemy tables of the experiments domain: bandit experiments and the model registry."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from revline.kernel.db.base import Base, TenantMixin, TimestampMixin, UUIDPkMixin, utcnow


class Experiment(UUIDPkMixin, TimestampMixin, TenantMixin, Base):
    """A bandit experiment: its policy (config) and the evidence clock that drives decay."""

    __tablename__ = "experiments"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_experiments_tenant_name"),)

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    reward: Mapped[str] = mapped_column(String(20))  # bernoulli | gaussian
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)  # bandit.Policy fields
    srm_period_s: Mapped[int] = mapped_column(Integer, default=3600)
    # Evidence folded in so far, in the policy's unit; the decay clock.
    evidence_total: Mapped[float] = mapped_column(Float, default=0.0)
    # Bumped by every posterior update; the UPDATE that bumps it is also the update's lock.
    posterior_version: Mapped[int] = mapped_column(Integer, default=0)
    posteriors_updated_at: Mapped[datetime | None] = mapped_column(default=None)


class Arm(UUIDPkMixin, TimestampMixin, TenantMixin, Base):
    """One arm and its decayed sufficient statistics (see bandit.ArmStats)."""

    __tablename__ = "experiment_arms"
    __table_args__ = (
        UniqueConstraint("experiment_id", "name", name="uq_experiment_arms_experiment_name"),
    )

    experiment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    stat_n: Mapped[float] = mapped_column(Float, default=0.0)
    stat_w: Mapped[float] = mapped_column(Float, default=0.0)
    stat_s: Mapped[float] = mapped_column(Float, default=0.0)
    stat_q: Mapped[float] = mapped_column(Float, default=0.0)
    # Undecayed totals, for people and for burn-in.
    decisions: Mapped[int] = mapped_column(Integer, default=0)
    observations: Mapped[int] = mapped_column(Integer, default=0)
    reward_sum: Mapped[float] = mapped_column(Float, default=0.0)
    weight_sum: Mapped[float] = mapped_column(Float, default=0.0)


class Observation(UUIDPkMixin, TenantMixin, Base):
    """A reward for one arm; `event_id` is the client's id and makes ingestion idempotent."""

    __tablename__ = "experiment_observations"
    __table_args__ = (
        UniqueConstraint(
            "experiment_id", "event_id", name="uq_experiment_observations_experiment_event"
        ),
        Index("ix_experiment_observations_pending", "experiment_id", "applied_at"),
    )

    experiment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE")
    )
    arm_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("experiment_arms.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[str] = mapped_column(String(200))
    reward: Mapped[float] = mapped_column(Float)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(default=None)


class Allocation(UUIDPkMixin, TenantMixin, Base):
    """Per arm and period: decisions made, decisions intended, observations received (SRM)."""

    __tablename__ = "experiment_allocations"
    __table_args__ = (
        UniqueConstraint("arm_id", "period_start", name="uq_experiment_allocations_arm_period"),
        Index("ix_experiment_allocations_experiment_period", "experiment_id", "period_start"),
    )

    experiment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE")
    )
    arm_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("experiment_arms.id", ondelete="CASCADE"))
    period_start: Mapped[datetime] = mapped_column()
    assigned: Mapped[int] = mapped_column(Integer, default=0)
    intended: Mapped[float] = mapped_column(Float, default=0.0)
    observed: Mapped[int] = mapped_column(Integer, default=0)


class ModelVersion(UUIDPkMixin, TimestampMixin, TenantMixin, Base):
    """A registered model or policy version: where it lives, its params and offline metrics."""

    __tablename__ = "model_versions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name", "version", name="uq_model_versions_name_version"),
    )

    name: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[str] = mapped_column(String(100))
    artifact_uri: Mapped[str | None] = mapped_column(Text, default=None)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    description: Mapped[str] = mapped_column(Text, default="")


class ModelAlias(UUIDPkMixin, TimestampMixin, TenantMixin, Base):
    """`champion`, `challenger` (with its traffic share) or any named pointer to a version."""

    __tablename__ = "model_aliases"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name", "alias", name="uq_model_aliases_name_alias"),
    )

    name: Mapped[str] = mapped_column(String(100))
    alias: Mapped[str] = mapped_column(String(50))
    version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), index=True
    )
    traffic: Mapped[float] = mapped_column(Float, default=0.0)


class ModelOutcome(UUIDPkMixin, TenantMixin, Base):
    """An online outcome (0/1 or a value) logged for the version that served a unit."""

    __tablename__ = "model_outcomes"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name", "event_id", name="uq_model_outcomes_name_event"),
    )

    name: Mapped[str] = mapped_column(String(100))
    version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[str | None] = mapped_column(String(200), default=None)
    value: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelEvent(UUIDPkMixin, TenantMixin, Base):
    """Audit trail: every registration, alias change and promotion, with who and why."""

    __tablename__ = "model_events"
    __table_args__ = (Index("ix_model_events_name_created", "tenant_id", "name", "created_at"),)

    name: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(30))  # register | alias | unalias | promote
    alias: Mapped[str | None] = mapped_column(String(50), default=None)
    from_version: Mapped[str | None] = mapped_column(String(100), default=None)
    to_version: Mapped[str | None] = mapped_column(String(100), default=None)
    actor: Mapped[str] = mapped_column(String(200), default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
