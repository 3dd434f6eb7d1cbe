"""The dedupe model configuration: comparisons, blocking, training, thresholds, survivorship.

The bundled `data/dedupe.yml` holds sensible defaults for person and company leads, including
default m/u probabilities so small inputs are scored without training. `REVLINE_DEDUPE_CONFIG`
(or `--config`) replaces it; settings such as `REVLINE_DEDUPE_THRESHOLD` override single values.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from revline.kernel.config import Settings
from revline.kernel.errors import ConfigError, InvalidInput

LEVEL_KINDS: tuple[str, ...] = (
    "missing",
    "exact",
    "jaro_winkler",
    "levenshtein",
    "damerau_levenshtein",
    "reversed",
    "sql",
    "else",
)
_IDENT = re.compile(r"^[a-z][a-z0-9_]*$")
SURVIVORSHIP_RULES = ("source_priority", "most_recent", "most_complete")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class LevelSpec(_Strict):
    """One comparison level: exactly one kind key, plus a label and optional default m/u."""

    missing: str | None = None
    exact: str | None = None
    jaro_winkler: str | None = None
    levenshtein: str | None = None
    damerau_levenshtein: str | None = None
    reversed: list[str] | None = None
    sql: str | None = None
    else_: bool | None = Field(default=None, alias="else")
    threshold: float | None = None
    label: str = ""
    m: float | None = Field(default=None, gt=0, le=1)
    u: float | None = Field(default=None, gt=0, le=1)

    @model_validator(mode="after")
    def _one_kind(self) -> LevelSpec:
        kinds = [k for k in LEVEL_KINDS if getattr(self, "else_" if k == "else" else k)]
        if len(kinds) != 1:
            raise ValueError(f"a level needs exactly one of {', '.join(LEVEL_KINDS)}")
        kind = kinds[0]
        fuzzy = ("jaro_winkler", "levenshtein", "damerau_levenshtein")
        if kind in fuzzy and self.threshold is None:
            raise ValueError(f"{kind} level needs a threshold")
        if kind == "reversed" and len(self.reversed or []) != 2:
            raise ValueError("reversed level needs two columns: [first_name, last_name]")
        return self

    @property
    def kind(self) -> str:
        """Which kind of level this is."""
        return next(k for k in LEVEL_KINDS if getattr(self, "else_" if k == "else" else k))


class ComparisonSpec(_Strict):
    """One compared field: a name (gamma_<name> in predictions) and its levels, best first."""

    name: str
    levels: list[LevelSpec]

    @field_validator("name")
    @classmethod
    def _ident(cls, value: str) -> str:
        if not _IDENT.match(value):
            raise ValueError(f"comparison name {value!r} must be lowercase letters, digits, _")
        return value

    @model_validator(mode="after")
    def _shape(self) -> ComparisonSpec:
        kinds = [lv.kind for lv in self.levels]
        first, last = kinds[0], kinds[-1]
        if len(kinds) < 2 or first != "missing" or last != "else" or kinds.count("missing") > 1:
            raise ValueError(
                f"comparison {self.name!r}: levels must start with a missing level and end "
                "with else"
            )
        return self


class VetoSpec(_Strict):
    """A hard rule over a scored pair (SQL on the predictions) that forbids linking it."""

    name: str
    sql: str


class ProfileSpec(_Strict):
    """A model for one kind of record (person or company leads, or any other table)."""

    description: str = ""
    comparisons: list[ComparisonSpec]
    blocking: list[list[str]]
    training: list[list[str]]
    deterministic: list[list[str]]
    vetoes: list[VetoSpec] = Field(default_factory=list)
    prior: float = Field(default=0.0, ge=0, lt=1)

    @model_validator(mode="after")
    def _unique(self) -> ProfileSpec:
        names = [c.name for c in self.comparisons]
        if len(names) != len(set(names)):
            raise ValueError("comparison names must be unique")
        if not self.blocking:
            raise ValueError("at least one blocking rule is needed")
        return self


class LinkSpec(_Strict):
    """When a pair links, when it is uncertain, and how clusters are kept honest."""

    threshold: float = Field(default=0.92, gt=0, lt=1)
    strong_link: float = Field(default=0.99, gt=0, le=1)
    uncertain: tuple[float, float] = (0.5, 0.92)
    max_cluster_size: int = Field(default=50, ge=2)

    @model_validator(mode="after")
    def _band(self) -> LinkSpec:
        lo, hi = self.uncertain
        if not 0 < lo <= hi < 1:
            raise ValueError("uncertain must be [low, high] with 0 < low <= high < 1")
        return self


class TrainingSpec(_Strict):
    """Unsupervised training: u by random sampling, m by EM, the prior from deterministic rules."""

    min_records: int = Field(default=5000, ge=0)
    u_max_pairs: float = Field(default=2e6, gt=0)
    em_max_pairs: float = Field(default=1e6, gt=0)
    seed: int = 42
    recall: float = Field(default=0.8, gt=0, le=1)
    max_iterations: int = Field(default=10, ge=1, le=100)
    # No field is perfectly stable across real duplicates (people move, fix typos); a floor on
    # m keeps one disagreement from acting as a veto when EM overfits clean data.
    m_floor: float = Field(default=0.001, ge=0, lt=0.5)


class SurvivorshipSpec(_Strict):
    """How a cluster's golden record picks each field's value among its members."""

    rules: list[str] = Field(default_factory=lambda: list(SURVIVORSHIP_RULES))
    source_priority: list[str] = Field(default_factory=list)
    recency_columns: list[str] = Field(default_factory=list)
    fields: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("rules")
    @classmethod
    def _rules(cls, value: list[str]) -> list[str]:
        for rule in value:
            if rule not in SURVIVORSHIP_RULES:
                raise ValueError(f"unknown survivorship rule {rule!r}; use {SURVIVORSHIP_RULES}")
        return value

    @field_validator("fields")
    @classmethod
    def _field_rules(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for field, rules in value.items():
            for rule in rules:
                if rule not in SURVIVORSHIP_RULES:
                    raise ValueError(f"survivorship.fields.{field}: unknown rule {rule!r}")
        return value


class LLMReviewSpec(_Strict):
    """Uncertain pairs sent to the LLM gateway: batch size and a per-run cap on pairs."""

    batch_size: int = Field(default=10, ge=1, le=50)
    max_pairs: int = Field(default=200, ge=0)


class DedupeConfig(_Strict):
    """The whole dedupe configuration (one YAML file)."""

    version: Literal[1] = 1
    profile: str = "auto"
    person_share: float = Field(default=0.3, ge=0, le=1)
    max_block_size: int = Field(default=500, ge=2)
    link: LinkSpec = Field(default_factory=LinkSpec)
    training: TrainingSpec = Field(default_factory=TrainingSpec)
    survivorship: SurvivorshipSpec = Field(default_factory=SurvivorshipSpec)
    llm: LLMReviewSpec = Field(default_factory=LLMReviewSpec)
    anchors: dict[str, Any] = Field(default_factory=dict)  # YAML anchors only; not read
    profiles: dict[str, ProfileSpec]

    @model_validator(mode="after")
    def _profile(self) -> DedupeConfig:
        if self.profile != "auto" and self.profile not in self.profiles:
            raise ValueError(
                f"profile {self.profile!r} is not defined; profiles: {', '.join(self.profiles)}"
            )
        if self.profile == "auto" and not {"person", "company"} <= set(self.profiles):
            raise ValueError("profile: auto needs both a 'person' and a 'company' profile")
        return self

    def digest(self) -> str:
        """Short hash of the model-relevant parts, to notice a config change under saved state."""
        blob = json.dumps(
            {"profiles": self.model_dump(mode="json", by_alias=True)["profiles"]}, sort_keys=True
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def parse_config(data: Any, origin: str) -> DedupeConfig:
    """Validate a parsed YAML document; errors name the file and the first bad key."""
    try:
        return DedupeConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{origin}: {where}: {message}") from exc


@lru_cache(maxsize=1)
def _bundled_text() -> str:
    return resources.files("revline.leads").joinpath("data", "dedupe.yml").read_text("utf-8")


def load_config(path: Path | None = None) -> DedupeConfig:
    """The YAML at `path`, else the bundled default."""
    if path is None:
        return parse_config(yaml.safe_load(_bundled_text()), "bundled dedupe.yml")
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"dedupe config {path} not found") from exc
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"dedupe config {path} is not readable YAML: {exc}") from exc
    return parse_config(data, str(path))


def effective_config(settings: Settings, path: Path | None = None) -> DedupeConfig:
    """Config file (explicit path > REVLINE_DEDUPE_CONFIG > bundled) with settings overrides."""
    cfg = load_config(path or settings.dedupe_config)
    link = cfg.link.model_copy()
    if settings.dedupe_threshold is not None:
        link.threshold = settings.dedupe_threshold
        lo, hi = link.uncertain
        link.uncertain = (min(lo, link.threshold), link.threshold)
    if settings.dedupe_max_cluster_size is not None:
        link.max_cluster_size = settings.dedupe_max_cluster_size
    training = cfg.training.model_copy()
    if settings.dedupe_min_train_records is not None:
        training.min_records = settings.dedupe_min_train_records
    return cfg.model_copy(update={"link": link, "training": training})


def with_threshold(cfg: DedupeConfig, threshold: float | None) -> DedupeConfig:
    """A copy linking at `threshold` (the review band's top follows it)."""
    if threshold is None:
        return cfg
    if not 0 < threshold < 1:
        raise InvalidInput(f"--threshold must be between 0 and 1 (exclusive), got {threshold}")
    lo, _ = cfg.link.uncertain
    link = cfg.link.model_copy(
        update={"threshold": threshold, "uncertain": (min(lo, threshold), threshold)}
    )
    return cfg.model_copy(update={"link": link})
