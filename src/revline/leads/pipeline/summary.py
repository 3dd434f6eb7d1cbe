"""Aggregates of a run for the report and the CLI: pure, one streaming pass."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from revline.leads.dedupe.deduper import DedupeStats
from revline.leads.schemas import LeadResult, RunSummary

# Run-level dedupe figures kept for the report (the rest of DedupeStats is for the CLI).
DEDUPE_SUMMARY_KEYS: tuple[str, ...] = (
    "profile", "model", "scored_pairs", "vetoed_pairs", "labelled_pairs", "uncertain_pairs",
    "llm_reviewed", "weak_links_cut", "capped_clusters", "largest_cluster", "golden_records",
)


def tally(summary: RunSummary, leads: Iterable[LeadResult]) -> RunSummary:
    """Fill counts, shares, coverage and clusters of `summary` from the run's leads."""
    layers: Counter[str] = Counter()
    tiers: Counter[str] = Counter()
    verticals: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    coverage: Counter[str] = Counter()
    clusters: set[str] = set()
    for lead in leads:
        summary.total += 1
        if lead.row_errors:
            summary.rows_with_errors += 1
        layers[str(lead.classification.get("layer") or "none")] += 1
        tiers[str(lead.score.get("tier") or "D")] += 1
        if lead.classification.get("vertical"):
            verticals[str(lead.classification["vertical"])] += 1
        statuses[str(lead.enrichment.get("status") or "none")] += 1
        summary.scores.append(int(lead.score.get("score") or 0))
        c, e = lead.contact, lead.enrichment
        for name, present in (
            ("valid email", c.get("email_valid") is True),
            ("valid phone", c.get("phone_valid") is True),
            ("domain", bool(c.get("domain"))),
            ("website reached", e.get("status") == "ok"),
            ("page title", bool(e.get("title"))),
            ("social links", bool(e.get("social"))),
            ("structured data", bool(e.get("structured_types"))),
            ("site audit", bool(e.get("audit"))),
            ("SEO audit", bool(e.get("seo"))),
            ("vertical", bool(lead.classification.get("vertical"))),
        ):
            coverage[name] += int(present)
        cid = str(lead.cluster.get("cluster_id") or "")
        if cid:
            clusters.add(cid)
        if lead.cluster and not lead.cluster.get("is_primary", True):
            summary.duplicates += 1
    summary.layer_counts = dict(layers)
    summary.tier_counts = dict(tiers)
    summary.vertical_counts = dict(verticals.most_common())
    summary.enrichment_status_counts = dict(statuses)
    summary.coverage = dict(coverage)
    summary.clusters = len(clusters)
    summary.offline = statuses.get("offline", 0) > 0
    return summary


def histogram(scores: Sequence[int]) -> list[int]:
    """10 bins over 0-100, the compact form kept in the DB."""
    bins = [0] * 10
    for s in scores:
        bins[min(9, max(0, int(s)) // 10)] += 1
    return bins


def _row_ref(record_id: Any) -> int | str:
    text = str(record_id)
    return int(text) if text.isdigit() else text


def lead_cluster(info: dict[str, Any]) -> dict[str, Any]:
    """The dedupe engine's per-record facts as stored on a lead: ids become row numbers and
    cluster ids read "c-<first row>"."""
    out = dict(info)
    out["cluster_id"] = f"c-{info['cluster_id']}"
    out["linked_to"] = _row_ref(info["linked_to"]) if info.get("linked_to") else None
    if "golden_from" in out:
        out["golden_from"] = {k: _row_ref(v) for k, v in out["golden_from"].items()}
    if "members" in out:
        out["members"] = [_row_ref(m) for m in out["members"]]
    return out


def dedupe_summary(stats: DedupeStats) -> dict[str, Any]:
    """The run-level dedupe figures shown in the XLSX Summary sheet and the HTML report."""
    data = stats.as_dict()
    return {k: data[k] for k in DEDUPE_SUMMARY_KEYS}
