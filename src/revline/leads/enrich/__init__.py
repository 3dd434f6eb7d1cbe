"""Website enrichment for the lead pipeline (tiers 1-3) and the network check it needs first."""

from __future__ import annotations

from revline.leads.enrich.audit import audit_score, build_audit
from revline.leads.enrich.enricher import STATUSES, Enricher, empty_result
from revline.leads.enrich.extract import PageFacts, parse_page
from revline.leads.enrich.network import candidate_urls, network_available, registered_domain

__all__ = [
    "STATUSES",
    "Enricher",
    "PageFacts",
    "audit_score",
    "build_audit",
    "candidate_urls",
    "empty_result",
    "network_available",
    "parse_page",
    "registered_domain",
]
