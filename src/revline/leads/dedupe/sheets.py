"""Rows of the dedupe sheets in the enriched XLSX: Duplicates (one row per clustered lead, with
the link that put it there) and Golden records (one survivor per cluster), plus the Summary
sheet's dedupe section. Pure functions over LeadResult, so export.py stays a writer."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from revline.leads.dedupe.golden import GOLDEN_FIELDS
from revline.leads.dedupe.keys import natural_key
from revline.leads.schemas import LeadResult, RunSummary

DUPLICATE_COLUMNS: tuple[str, ...] = (
    "cluster_id", "row_index", "company", "is_primary", "linked_to", "match_probability",
    "match_weight", "match_reason",
)
GOLDEN_COLUMNS: tuple[str, ...] = (
    "cluster_id", "cluster_size", "rows", *GOLDEN_FIELDS, "chosen from",
)
_SUMMARY_LABELS: tuple[tuple[str, str], ...] = (
    ("profile", "model profile"),
    ("model", "model"),
    ("scored_pairs", "pairs scored"),
    ("vetoed_pairs", "pairs vetoed (different people / shared inbox)"),
    ("labelled_pairs", "pairs decided by stored answers"),
    ("llm_reviewed", "uncertain pairs reviewed by the LLM"),
    ("uncertain_pairs", "uncertain pairs left"),
    ("weak_links_cut", "weak links cut (anti-chaining)"),
    ("capped_clusters", "clusters split at the size cap"),
    ("largest_cluster", "largest cluster"),
    ("golden_records", "golden records"),
)


def duplicate_row(lead: LeadResult) -> tuple[Any, ...] | None:
    """The Duplicates row of a lead in a cluster of 2+, else None."""
    cl = lead.cluster
    size = cl.get("cluster_size")
    if not isinstance(size, int | float) or size <= 1:
        return None
    return (
        str(cl.get("cluster_id") or ""), lead.row_index, str(lead.fields.get("company", "")),
        "yes" if cl.get("is_primary") else "no", cl.get("linked_to"),
        cl.get("match_probability"), cl.get("match_weight"), str(cl.get("match_reason") or ""),
    )


def duplicate_sort_key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """Clusters in id order, primary first, then by row."""
    return (natural_key(str(row[0])), row[3] != "yes", row[1])


def golden_row(lead: LeadResult) -> tuple[Any, ...] | None:
    """The Golden records row carried by a cluster's primary lead, else None."""
    cl = lead.cluster
    golden = cl.get("golden")
    if not isinstance(golden, Mapping) or not cl.get("is_primary"):
        return None
    sources = cl.get("golden_from") or {}
    chosen = "; ".join(
        f"{field}: row {sources[field]}" for field in GOLDEN_FIELDS if sources.get(field)
    )
    members = cl.get("members") or []
    return (
        str(cl.get("cluster_id") or ""), cl.get("cluster_size"),
        ", ".join(str(m) for m in members),
        *(golden.get(field, "") for field in GOLDEN_FIELDS),
        chosen,
    )


def golden_sort_key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """Golden records in cluster id order."""
    return natural_key(str(row[0]))


def summary_rows(summary: RunSummary) -> Iterator[tuple[str, Any]]:
    """(metric, value) lines of the dedupe section, when the run recorded them."""
    data = summary.dedupe
    for key, label in _SUMMARY_LABELS:
        if key in data:
            yield label, data[key]
