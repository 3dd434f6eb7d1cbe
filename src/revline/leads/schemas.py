"""Shapes shared by the lead pipeline stages and the API.

Stage outputs are plain JSON-able dicts (fast for 10k+ leads and stored as JSON in the DB);
the keys each stage writes are documented on the dataclass fields below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

# Canonical lead fields the importer maps input columns onto.
CANONICAL_FIELDS: tuple[str, ...] = (
    "external_id",
    "company",
    "contact_name",
    "first_name",
    "last_name",
    "title",
    "email",
    "phone",
    "website",
    "address",
    "city",
    "state",
    "postal_code",
    "country",
    "category",
    "description",
    "source",
)

# At least one of these must be mapped, or the file is not a leads file.
REQUIRED_ANY: tuple[str, ...] = ("company", "email", "website", "phone")


@dataclass
class ImportedRow:
    """One input row: original cells, canonical fields and row-level problems (never dropped)."""

    row_index: int  # 1-based data row number (header excluded), stable across re-reads
    raw: dict[str, str]  # original column -> original cell text
    fields: dict[str, str]  # canonical field -> stripped value ("" when absent)
    errors: list[str] = field(default_factory=list)  # "column: message"


@dataclass
class LeadResult:
    """Everything the pipeline knows about one lead, as exported."""

    row_index: int
    raw: dict[str, str]
    fields: dict[str, str]
    row_errors: list[str] = field(default_factory=list)
    # validate.py: email_normalized, email_valid, email_error, email_disposable, email_role,
    # email_free, phone_e164, phone_valid, phone_type, phone_region, phone_error,
    # domain, domain_source, website_url
    contact: dict[str, Any] = field(default_factory=dict)
    # enrich: status, final_url, http_status, title, ...; nested "audit" (tier 2), "seo"
    # (tier 3), "mockup" (brief text) dicts
    enrichment: dict[str, Any] = field(default_factory=dict)
    # classify: vertical, layer (rules|fuzzy|llm|none), confidence, evidence
    classification: dict[str, Any] = field(default_factory=dict)
    # score: score (0-100), tier (A-D), reasons (list[str])
    score: dict[str, Any] = field(default_factory=dict)
    # dedupe: cluster_id, cluster_size, is_primary, match_reason (per-field explanation of the
    # link), linked_to (row), match_probability, match_weight; the primary of a cluster of 2+
    # also has golden (field -> value), golden_from (field -> row) and members (rows)
    cluster: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunSummary:
    """Aggregates for the report and the CLI summary."""

    run_id: str
    input_path: str
    tier: int
    original_columns: list[str]
    total: int = 0
    rows_with_errors: int = 0
    offline: bool = False
    duration_s: float = 0.0
    layer_counts: dict[str, int] = field(default_factory=dict)
    tier_counts: dict[str, int] = field(default_factory=dict)
    vertical_counts: dict[str, int] = field(default_factory=dict)
    scores: list[int] = field(default_factory=list)
    enrichment_status_counts: dict[str, int] = field(default_factory=dict)
    coverage: dict[str, int] = field(default_factory=dict)  # field -> leads that have it
    duplicates: int = 0
    clusters: int = 0
    llm_calls: int = 0
    llm_cost_usd: float = 0.0
    notes: list[str] = field(default_factory=list)
    dedupe: dict[str, Any] = field(default_factory=dict)  # run-level figures, see pipeline.summary


class RunOut(BaseModel):
    """API view of a lead run."""

    id: str
    status: str
    input_name: str
    tier: int
    total: int
    processed: dict[str, int]
    summary: dict[str, Any] | None = None
