"""PageSpeed Insights v5 adapter: GET {base}/runPagespeed for Lighthouse lab scores.

Docs: https://developers.google.com/speed/docs/insights/v5/reference/pagespeedapi/runpagespeed
(errors come back as {"error": {"code", "message", "status"}}).
"""

from __future__ import annotations

from typing import Any

import httpx

from revline.leads.enrich.adapters.base import AdapterResult, api_get, error_result, json_body

CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
METRICS = {
    "first-contentful-paint": "fcp_ms",
    "largest-contentful-paint": "lcp_ms",
    "total-blocking-time": "tbt_ms",
    "speed-index": "speed_index_ms",
    "interactive": "tti_ms",
    "cumulative-layout-shift": "cls",
}


class PageSpeedAdapter:
    """Google's Lighthouse scores, for leads worth a deeper (tier 2+) look."""

    def __init__(
        self, client: httpx.AsyncClient, base_url: str, api_key: str, strategy: str = "mobile"
    ) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.strategy = strategy

    async def analyze(self, url: str) -> AdapterResult:
        """Category scores (0-100) and core lab metrics for url, or an error dict."""
        params: list[tuple[str, Any]] = [
            ("url", url),
            ("key", self.api_key),
            ("strategy", self.strategy),
        ]
        params += [("category", c.upper().replace("-", "_")) for c in CATEGORIES]
        response = await api_get(
            self.client, f"{self.base_url}/runPagespeed", params=params, secret=self.api_key
        )
        if isinstance(response, dict):
            return response
        body = json_body(response)
        if response.status_code != 200 or not isinstance(body, dict):
            message = ""
            if isinstance(body, dict) and isinstance(body.get("error"), dict):
                message = str(body["error"].get("message") or "")
            return error_result(
                f"PageSpeed HTTP {response.status_code}: {message}".rstrip(": "),
                self.api_key,
                http_status=response.status_code,
            )
        lighthouse = body.get("lighthouseResult") or {}
        categories: dict[str, int | None] = {}
        for cid, cat in (lighthouse.get("categories") or {}).items():
            score = cat.get("score") if isinstance(cat, dict) else None
            categories[cid] = round(score * 100) if isinstance(score, int | float) else None
        metrics: dict[str, float | None] = {}
        audits = lighthouse.get("audits") or {}
        for audit_id, key in METRICS.items():
            value = (audits.get(audit_id) or {}).get("numericValue")
            metrics[key] = round(float(value), 3) if isinstance(value, int | float) else None
        return {
            "status": "ok",
            "strategy": self.strategy,
            "performance": categories.get("performance"),
            "categories": categories,
            "metrics": metrics,
            "final_url": lighthouse.get("finalUrl") or lighthouse.get("finalDisplayedUrl") or url,
            "lighthouse_version": lighthouse.get("lighthouseVersion"),
        }
