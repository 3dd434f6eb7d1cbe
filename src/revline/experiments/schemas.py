"""Pydantic in/out shapes of the experiments API and CLI."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"


class PolicyIn(BaseModel):
    """Bandit policy; every field is optional and documented in the README."""

    model_config = ConfigDict(extra="forbid")

    half_life: float | None = Field(
        default=None, gt=0, description="Decay half-life in evidence units; null = stationary."
    )
    evidence: Literal["conversions", "trials", "weight"] | None = Field(
        default=None, description="Unit of the half-life (default conversions / weight)."
    )
    min_weight: float = Field(default=0.0, ge=0, lt=1, description="Traffic floor per arm.")
    burn_in: int = Field(default=0, ge=0, description="Decisions per arm before sampling.")
    top_two: float | None = Field(
        default=None, gt=0, lt=1, description="Top-two TS: probability of playing the leader."
    )
    explore_share: float | None = Field(
        default=None, gt=0, le=1, description="Chance an arm's score is a draw; null = 1/K."
    )
    prior_alpha: float = Field(default=1.0, gt=0)
    prior_beta: float = Field(default=1.0, gt=0)
    prior_mean: float | None = None
    prior_var: float | None = Field(default=None, gt=0)
    prior_strength: float = Field(default=1.0, gt=0)


class ArmIn(BaseModel):
    """An arm: a name, plus any payload the caller wants back with decisions."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    payload: dict[str, Any] = Field(default_factory=dict)


class ExperimentCreate(BaseModel):
    """Create an experiment with its arms and policy."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    reward: Literal["bernoulli", "gaussian"] = "bernoulli"
    arms: list[ArmIn | str] = Field(min_length=2, max_length=1000)
    policy: PolicyIn = Field(default_factory=PolicyIn)
    srm_period_s: int | None = Field(default=None, ge=60, description="SRM period (seconds).")

    @field_validator("arms")
    @classmethod
    def _unique_arms(cls, arms: list[ArmIn | str]) -> list[ArmIn | str]:
        names = [a if isinstance(a, str) else a.name for a in arms]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate arm names: {', '.join(dupes)}")
        if any(not n.strip() for n in names):
            raise ValueError("arm names must not be empty")
        return arms


class ArmOut(BaseModel):
    """An arm with its counters and current posterior summary."""

    id: str
    name: str
    payload: dict[str, Any]
    decisions: int
    observations: int
    mean: float
    std: float | None  # null while the posterior sd does not exist (Gaussian, no data)
    alpha: float | None = None
    beta: float | None = None
    observed_mean: float | None = None  # undecayed mean reward (weighted)
    prob_best: float | None = None  # filled by the posteriors view


class ExperimentOut(BaseModel):
    """An experiment with its arms."""

    id: str
    name: str
    description: str
    reward: str
    policy: dict[str, Any]
    srm_period_s: int
    evidence_total: float
    posterior_version: int
    posteriors_updated_at: datetime | None
    pending_observations: int
    created_at: datetime
    arms: list[ArmOut]


class DecisionOut(BaseModel):
    """One decision; echo `decided_at` with the observation for exact SRM periods."""

    experiment_id: str
    arm: str
    payload: dict[str, Any]
    decided_at: datetime


class BatchDecideIn(BaseModel):
    """How many decisions to make in one call."""

    model_config = ConfigDict(extra="forbid")

    n: int = Field(ge=1, description="Number of requests to decide for.")


class BatchDecisionOut(BaseModel):
    """Arms for n requests, in request order, and the per-arm counts."""

    experiment_id: str
    arms: list[str]
    counts: dict[str, int]
    burn_in: int
    decided_at: datetime


class ObservationIn(BaseModel):
    """A reward for an arm; `event_id` is your id and makes retries safe."""

    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(min_length=1, max_length=200)
    arm: str = Field(min_length=1, max_length=200)
    reward: float = Field(allow_inf_nan=False)
    weight: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    occurred_at: datetime | None = None
    decided_at: datetime | None = Field(
        default=None, description="When the decision was made (sets the SRM period)."
    )


class ObservationBatchIn(BaseModel):
    """Several observations, accepted all together or not at all."""

    model_config = ConfigDict(extra="forbid")

    observations: list[ObservationIn] = Field(min_length=1, max_length=10_000)


class ObserveOut(BaseModel):
    """What was stored; the posterior update runs in the background."""

    experiment_id: str
    accepted: int
    pending_observations: int


class PosteriorsOut(BaseModel):
    """All arms' posteriors at one posterior version."""

    experiment_id: str
    reward: str
    posterior_version: int
    posteriors_updated_at: datetime | None
    evidence_total: float
    pending_observations: int
    draws: int
    arms: list[ArmOut]


class SRMPeriod(BaseModel):
    """A chi-square test of one period's observations against the intended allocation."""

    period_start: datetime
    assigned: dict[str, int]
    intended: dict[str, float]
    observed: dict[str, int]
    expected: dict[str, float]
    chi2: float | None
    df: int
    p_value: float
    sufficient: bool
    mismatch: bool


class SRMReport(BaseModel):
    """Per-period SRM tests, newest first, and the count of flagged periods."""

    experiment_id: str
    alpha: float
    period_s: int
    periods: list[SRMPeriod]
    mismatched_periods: int


class UpdateOut(BaseModel):
    """Result of folding pending observations into the posteriors."""

    experiment_id: str
    applied: int
    posterior_version: int
