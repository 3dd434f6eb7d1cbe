"""Tier-2 site audit: a local, Lighthouse-like score from one homepage fetch (no API key)."""

from __future__ import annotations

from typing import Any

from revline.kernel.http import FetchResult
from revline.leads.enrich.extract import PageFacts


def _linear(value: float, best: float, worst: float) -> float:
    """1.0 at or better than best, 0.0 at or worse than worst, linear in between."""
    if value <= best:
        return 1.0
    if value >= worst:
        return 0.0
    return (worst - value) / (worst - best)


def audit_score(audit: dict[str, Any], has_title: bool, has_meta_description: bool) -> int:
    """Score 0-100 as a weighted sum of checks, so each missing point has a visible cause.

    Security 25: https 15, http->https redirect 5, no mixed content 5.
    Speed 35: ttfb 15 (full <=200 ms, zero >=1500 ms), total 10 (full <=1000 ms,
    zero >=5000 ms), page weight 10 (full <=500 KB, zero >=5 MB).
    Mobile and accessibility 20: viewport meta 10, image alt coverage 10 (no images = full).
    Basics 20: exactly one h1 5 (several h1 3), robots.txt 5, sitemap 5,
    title 2.5, meta description 2.5.
    The sum is rounded to an integer.
    """
    points = 0.0
    points += 15 if audit["https"] else 0
    points += 5 if audit["http_to_https"] else 0
    points += 5 if audit["https"] and audit["mixed_content"] == 0 else 0
    ttfb = audit["ttfb_ms"]
    points += 15 * _linear(ttfb, 200, 1500) if ttfb is not None else 0
    points += 10 * _linear(audit["total_ms"], 1000, 5000)
    points += 10 * _linear(audit["page_bytes"], 500_000, 5_000_000)
    points += 10 if audit["has_viewport"] else 0
    points += 10 * audit["alt_coverage"]
    points += 5 if audit["h1_count"] == 1 else 3 if audit["h1_count"] > 1 else 0
    points += 5 if audit["robots_txt"] else 0
    points += 5 if audit["sitemap"] else 0
    points += 2.5 if has_title else 0
    points += 2.5 if has_meta_description else 0
    return int(max(0, min(100, round(points))))


def build_audit(
    result: FetchResult,
    facts: PageFacts,
    *,
    http_to_https: bool,
    robots_txt: bool,
    sitemap: bool,
) -> dict[str, Any]:
    """The audit dict for one fetched homepage (see audit_score for the score)."""
    https = result.final_url.lower().startswith("https://")
    images = facts.images
    alt_coverage = 1.0 if images == 0 else (images - facts.images_missing_alt) / images
    audit: dict[str, Any] = {
        "ttfb_ms": result.ttfb_ms,
        "total_ms": result.total_ms,
        "https": https,
        "redirect_count": len(result.redirects),
        "http_to_https": http_to_https,
        "page_bytes": len(result.body),
        "scripts": facts.scripts,
        "stylesheets": facts.stylesheets,
        "images": images,
        "images_missing_alt": facts.images_missing_alt,
        "alt_coverage": round(alt_coverage, 3),
        "has_viewport": facts.has_viewport,
        "h1_count": facts.h1_count,
        "mixed_content": facts.mixed_content,
        "robots_txt": robots_txt,
        "sitemap": sitemap,
    }
    audit["score"] = audit_score(audit, bool(facts.title), bool(facts.meta_description))
    return audit
