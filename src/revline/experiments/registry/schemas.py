"""Pydantic in/out shapes of the model registry."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from revline.experiments.schemas import NAME_PATTERN

ALIAS_PATTERN = r"^[a-z][a-z0-9_-]{0,49}$"
MetricKind = Literal["auto", "binary", "continuous"]


class VersionIn(BaseModel):
    """A model or policy version to register."""

    model_config = ConfigDict(extra="forbid")

    version: str = Field(pattern=NAME_PATTERN)
    artifact_uri: str | None = Field(default=None, max_length=2000)
    params: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, float] = Field(default_factory=dict)
    description: str = ""


class VersionOut(BaseModel):
    """A registered version."""

    name: str
    version: str
    artifact_uri: str | None
    params: dict[str, Any]
    metrics: dict[str, Any]
    description: str
    created_at: datetime
    aliases: list[str]


class AliasIn(BaseModel):
    """Point an alias at a version; `traffic` is the challenger's share of units."""

    model_config = ConfigDict(extra="forbid")

    version: str = Field(pattern=NAME_PATTERN)
    traffic: float | None = Field(default=None, gt=0, lt=1)


class AliasOut(BaseModel):
    """An alias and the version it points at."""

    alias: str
    version: str
    traffic: float
    updated_at: datetime


class ModelSummary(BaseModel):
    """One model name in the registry list."""

    name: str
    versions: int
    latest_at: datetime
    aliases: dict[str, str]


class ModelOut(BaseModel):
    """A model with all its versions and aliases."""

    name: str
    versions: list[VersionOut]
    aliases: list[AliasOut]


class AssignIn(BaseModel):
    """Units (users, accounts, sessions) to route to champion or challenger."""

    model_config = ConfigDict(extra="forbid")

    unit_ids: list[str] = Field(min_length=1, max_length=10_000)


class Assignment(BaseModel):
    """Which version serves a unit; the same unit always gets the same answer."""

    unit_id: str
    alias: str
    version: str


class OutcomeIn(BaseModel):
    """An online outcome of a version: 0/1 (conversion) or a value (revenue)."""

    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(min_length=1, max_length=200)
    version: str = Field(pattern=NAME_PATTERN)
    value: float = Field(allow_inf_nan=False)
    unit_id: str | None = Field(default=None, max_length=200)


class OutcomeBatchIn(BaseModel):
    """Outcomes stored all together or not at all."""

    model_config = ConfigDict(extra="forbid")

    outcomes: list[OutcomeIn] = Field(min_length=1, max_length=10_000)


class OutcomesOut(BaseModel):
    """How many outcomes were stored."""

    accepted: int


class ArmResult(BaseModel):
    """One side of the champion/challenger comparison."""

    version: str
    n: int
    mean: float | None


class Evaluation(BaseModel):
    """Is the challenger better than the champion, and are we confident enough to promote?"""

    name: str
    kind: Literal["binary", "continuous"]
    champion: ArmResult
    challenger: ArmResult
    prob_challenger_better: float | None
    lift: float | None  # relative difference of means
    confidence: float
    min_samples: int
    ready: bool
    reason: str


class PromoteIn(BaseModel):
    """Thresholds for a promotion; defaults come from the settings."""

    model_config = ConfigDict(extra="forbid")

    confidence: float | None = Field(default=None, gt=0.5, lt=1)
    min_samples: int | None = Field(default=None, ge=1)
    kind: MetricKind = "auto"


class EventOut(BaseModel):
    """One audit-trail entry."""

    action: str
    alias: str | None
    from_version: str | None
    to_version: str | None
    actor: str
    details: dict[str, Any]
    created_at: datetime
