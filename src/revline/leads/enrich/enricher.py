"""Website enrichment for one lead: discover the site, fetch and parse it, audit it by tier.

Tier 1: homepage facts (title, description, OpenGraph, schema.org types, social links, emails,
phones, visible text). Tier 2 adds a local audit and, with API keys, ScreenshotOne and
PageSpeed. Tier 3 adds an SEO crawl of internal pages and, with a key, SEMrush ranks.
`Enricher.enrich` never raises for site problems: the returned dict's `status` says what
happened, so the pipeline can store every lead's outcome.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

from revline.kernel.cache import TTLCache
from revline.kernel.config import Settings
from revline.kernel.http import (
    NETWORK_ERRORS,
    FetchResult,
    PoliteFetcher,
    make_client,
    origin_of,
)
from revline.leads.enrich.adapters import PageSpeedAdapter, ScreenshotOneAdapter, SemrushAdapter
from revline.leads.enrich.audit import build_audit
from revline.leads.enrich.extract import PageFacts, looks_like_html, parse_page
from revline.leads.enrich.network import candidate_urls, is_ip, registered_domain
from revline.leads.enrich.seo import crawl_site

log = logging.getLogger(__name__)

STATUSES = (
    "ok",
    "no_website",
    "unreachable",
    "dns_error",
    "timeout",
    "tls_error",
    "http_error",
    "not_html",
    "too_large",
    "redirect_loop",
    "blocked_by_robots",
)
STATUS_FOR_ERROR: dict[str, str] = {
    "dns_error": "dns_error",
    "timeout": "timeout",
    "tls_error": "tls_error",
    "connect_error": "unreachable",
    "protocol_error": "unreachable",
    "invalid_url": "unreachable",
    "redirect_loop": "redirect_loop",
    "too_many_redirects": "redirect_loop",
    "too_large": "too_large",
    "blocked_by_robots": "blocked_by_robots",
}
API_CACHE_TTL_S = 7 * 24 * 3600


def empty_result(url: str = "") -> dict[str, Any]:
    """Every key enrich() promises, with neutral values, so consumers never miss a key."""
    return {
        "status": "no_website",
        "error": "",
        "url": url,
        "final_url": "",
        "http_status": None,
        "redirect_count": 0,
        "https": False,
        "title": "",
        "meta_description": "",
        "og": {},
        "structured_types": [],
        "social": {},
        "emails": [],
        "phones": [],
        "text_excerpt": "",
        "category_hints": [],
    }


def _secret(value: Any) -> str:
    return value.get_secret_value() if value is not None else ""


class Enricher:
    """One per run: shares a client, politeness state, robots and the page cache across leads."""

    def __init__(
        self,
        settings: Settings,
        cache: TTLCache | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: bool | ssl.SSLContext = True,
    ) -> None:
        self.settings = settings
        self.cache = cache
        self.client = make_client(settings, transport=transport, verify=verify)
        self.fetcher = PoliteFetcher(self.client, settings, cache=cache)
        self._memo: dict[str, asyncio.Task[Any]] = {}
        shot_key = _secret(settings.screenshotone_api_key)
        speed_key = _secret(settings.pagespeed_api_key)
        rush_key = _secret(settings.semrush_api_key)
        self.screenshotone = (
            ScreenshotOneAdapter(self.client, settings.screenshotone_base_url, shot_key)
            if shot_key
            else None
        )
        self.pagespeed = (
            PageSpeedAdapter(self.client, settings.pagespeed_base_url, speed_key)
            if speed_key
            else None
        )
        self.semrush = (
            SemrushAdapter(self.client, settings.semrush_base_url, rush_key) if rush_key else None
        )

    async def __aenter__(self) -> Enricher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client and drop pending per-origin lookups."""
        for task in self._memo.values():
            task.cancel()
        self._memo.clear()
        self.fetcher.close()
        await self.client.aclose()

    # Public -----------------------------------------------------------------------------
    async def enrich(
        self, website_url: str | None, domain: str | None, tier: int
    ) -> dict[str, Any]:
        """Enrich one lead's website; returns a JSON-able dict and never raises for site issues."""
        try:
            return await self._enrich(website_url, domain, tier)
        except Exception as exc:  # a bug must cost one lead, not the run
            log.exception("enrichment failed for %s / %s", website_url, domain)
            out = empty_result(website_url or domain or "")
            out["status"] = "unreachable"
            out["error"] = f"enrichment failed: {type(exc).__name__}: {exc}"[:300]
            return out

    # Steps ------------------------------------------------------------------------------
    async def _enrich(
        self, website_url: str | None, domain: str | None, tier: int
    ) -> dict[str, Any]:
        candidates = candidate_urls(website_url, domain)
        if not candidates:
            out = empty_result(website_url or "")
            out["error"] = "no website or domain"
            return out
        res = await self._discover(candidates)
        out = empty_result(res.url)
        out["final_url"] = res.final_url
        out["http_status"] = res.status_code
        out["redirect_count"] = len(res.redirects)
        out["https"] = res.final_url.lower().startswith("https://")
        if res.error is not None:
            out["status"] = STATUS_FOR_ERROR.get(res.error, "unreachable")
            out["error"] = res.error_detail or res.error
            return out
        status = res.status_code or 0
        if status >= 400:
            out["status"], out["error"] = "http_error", f"HTTP {status}"
            return out
        if not looks_like_html(res.content_type, res.body):
            out["status"] = "not_html"
            out["error"] = f"content-type {res.content_type or 'unknown'}"
            return out
        facts = self._parse(res)
        if facts is None:
            out["status"], out["error"] = "not_html", "page could not be parsed"
            return out
        out.update(
            status="ok",
            title=facts.title,
            meta_description=facts.meta_description,
            og=facts.og,
            structured_types=facts.structured_types,
            social=facts.social,
            emails=facts.emails,
            phones=facts.phones,
            text_excerpt=facts.text_excerpt,
            category_hints=facts.category_hints,
        )
        if tier >= 2:
            await self._tier2(res, facts, out)
        if tier >= 3:
            await self._tier3(res, facts, out)
        return out

    async def _discover(self, candidates: list[str]) -> FetchResult:
        """First candidate that answers at all; else the first candidate's failure."""
        first: FetchResult | None = None
        dns_failed: set[str] = set()
        for url in candidates:
            host = urlsplit(url).netloc
            if host in dns_failed:
                continue  # the other scheme can't resolve either
            res = await self.fetcher.fetch(url)
            if res.error not in NETWORK_ERRORS:
                return res
            if res.error == "dns_error":
                dns_failed.add(host)
            first = first or res
        assert first is not None
        return first

    def _parse(self, res: FetchResult) -> PageFacts | None:
        if not res.ok or not looks_like_html(res.content_type, res.body):
            return None
        try:
            return parse_page(res.text(), res.final_url)
        except Exception:  # pathological markup: report the page as unparseable
            log.warning("could not parse %s", res.final_url, exc_info=True)
            return None

    async def _tier2(self, res: FetchResult, facts: PageFacts, out: dict[str, Any]) -> None:
        url = res.final_url
        jobs: dict[str, Awaitable[Any]] = {
            "robots": self.fetcher.robots(url),
            "sitemap": self._once(f"sitemap:{origin_of(url)}", lambda: self._has_sitemap(url)),
            "http_to_https": self._http_to_https(res),
        }
        if self.screenshotone is not None:
            shooter = self.screenshotone
            jobs["screenshot"] = self._api_cached(
                f"screenshot:{url}", lambda: shooter.screenshot(url)
            )
        if self.pagespeed is not None:
            speed = self.pagespeed
            jobs["pagespeed"] = self._api_cached(f"pagespeed:{url}", lambda: speed.analyze(url))
        values = dict(zip(jobs, await asyncio.gather(*jobs.values()), strict=True))
        out["audit"] = build_audit(
            res,
            facts,
            http_to_https=bool(values["http_to_https"]),
            robots_txt=values["robots"].exists,
            sitemap=bool(values["sitemap"]),
        )
        for key in ("screenshot", "pagespeed"):
            if key in values:
                out[key] = values[key]

    async def _tier3(self, res: FetchResult, facts: PageFacts, out: dict[str, Any]) -> None:
        jobs: list[Awaitable[Any]] = [
            crawl_site(self.fetcher, res, facts, max(1, self.settings.seo_max_pages), self._parse)
        ]
        if self.semrush is not None:
            rush = self.semrush
            host = urlsplit(res.final_url).hostname or ""
            site = host if is_ip(host) else registered_domain(host)
            jobs.append(self._api_cached(f"semrush:{site}", lambda: rush.domain_ranks(site)))
        results = await asyncio.gather(*jobs)
        out["seo"] = results[0]
        if self.semrush is not None:
            out["semrush"] = results[1]

    # Per-origin facts -------------------------------------------------------------------
    async def _once(self, key: str, factory: Callable[[], Awaitable[Any]]) -> Any:
        """Run factory once per key for this enricher; concurrent callers share the result."""
        task = self._memo.get(key)
        if task is None:

            async def run() -> Any:
                return await factory()

            task = asyncio.ensure_future(run())
            self._memo[key] = task
        return await asyncio.shield(task)

    async def _has_sitemap(self, url: str) -> bool:
        robots = await self.fetcher.robots(url)
        target = robots.sitemaps[0] if robots.sitemaps else origin_of(url) + "/sitemap.xml"
        res = await self.fetcher.fetch(target, check_robots=False)
        if not res.ok:
            return False
        head = res.body[:4096].lower()
        return b"<urlset" in head or b"<sitemapindex" in head or "xml" in res.content_type

    async def _http_to_https(self, res: FetchResult) -> bool:
        final = urlsplit(res.final_url)
        if final.scheme != "https":
            return False
        if res.url.lower().startswith("http://"):
            return True
        if final.port not in (None, 443):
            return False  # no way to know which port would serve plain HTTP
        host = final.hostname or ""
        return bool(await self._once(f"http2https:{host}", lambda: self._probe_http(host)))

    async def _probe_http(self, host: str) -> bool:
        probe = await self.fetcher.fetch(f"http://{host}/", check_robots=False, max_redirects=0)
        return bool(probe.redirects) and probe.redirects[0].lower().startswith("https://")

    async def _api_cached(
        self, key: str, call: Callable[[], Awaitable[dict[str, Any]]]
    ) -> dict[str, Any]:
        """Paid API calls are cached like pages, so re-runs don't spend quota again."""
        if self.cache is not None:
            hit = self.cache.get(key)
            if isinstance(hit, dict):
                return hit
        value = await call()
        if self.cache is not None and value.get("status") in ("ok", "not_found"):
            self.cache.set(key, value, API_CACHE_TTL_S)
        return value
