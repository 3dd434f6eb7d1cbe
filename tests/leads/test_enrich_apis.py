"""Tier-3 SEO crawl, vendor adapters against local API emulators, and the network check."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from revline.kernel.cache import TTLCache
from revline.kernel.config import Settings
from revline.leads.enrich import Enricher, network_available
from revline.leads.enrich.adapters import PageSpeedAdapter, ScreenshotOneAdapter, SemrushAdapter
from tests.emulators.sites import (
    PAGESPEED_KEY,
    SCREENSHOTONE_KEY,
    SEMRUSH_KEY,
    SiteServer,
    serve_sites,
)


@pytest.fixture(scope="module")
def sites() -> Iterator[SiteServer]:
    with serve_sites() as s:
        yield s


def make_settings(tmp_path: Path, sites: SiteServer | None = None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"home": tmp_path, "http_timeout_s": 2.0, "http_retries": 0}
    if sites is not None:
        values.update(
            screenshotone_base_url=sites.api_base("screenshotone"),
            pagespeed_base_url=sites.api_base("pagespeed"),
            semrush_base_url=sites.api_base("semrush"),
        )
    values.update(overrides)
    return Settings(**values)


def enrich(
    settings: Settings, url: str, tier: int, cache: TTLCache | None = None
) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        async with Enricher(settings, cache) as enricher:
            return await enricher.enrich(url, None, tier)

    return asyncio.run(go())


# SEO crawl ------------------------------------------------------------------------------
def test_tier3_seo_crawl(tmp_path: Path, sites: SiteServer) -> None:
    out = enrich(make_settings(tmp_path), sites.url("rich"), 3)
    seo = out["seo"]
    crawled = {p["url"] for p in seo["pages"]}
    assert crawled == {
        sites.url("rich", p) for p in ("/", "/about", "/services", "/team", "/thin", "/missing")
    }
    assert seo["pages_crawled"] == 6
    assert seo["broken_links"] == 1
    assert seo["broken_urls"] == [sites.url("rich", "/missing")]
    assert seo["blocked_by_robots"] == 1
    assert sites.hits("rich", "/private/secret") == 0
    assert seo["missing_titles"] == 0
    assert seo["duplicate_titles"] == 2  # /services and /team share a title
    assert seo["missing_meta_descriptions"] == 1  # /thin
    assert seo["missing_h1"] == 2  # /team and /thin
    assert seo["thin_pages"] == 1  # /thin has ~50 words
    assert 200 < seo["avg_words"] < 400
    assert out["audit"]["score"] > 0  # tier 3 includes tier 2
    assert "semrush" not in out  # no key configured


def test_seo_crawl_respects_page_limit(tmp_path: Path, sites: SiteServer) -> None:
    out = enrich(make_settings(tmp_path, seo_max_pages=3), sites.url("rich"), 3)
    assert out["seo"]["pages_crawled"] == 3
    assert len(out["seo"]["pages"]) == 3
    assert out["seo"]["pages"][0]["url"] == sites.url("rich")


# Adapters through the Enricher -----------------------------------------------------------
def test_tier2_and_3_with_all_api_keys(tmp_path: Path, sites: SiteServer) -> None:
    settings = make_settings(
        tmp_path,
        sites,
        screenshotone_api_key=SCREENSHOTONE_KEY,
        pagespeed_api_key=PAGESPEED_KEY,
        semrush_api_key=SEMRUSH_KEY,
    )
    out = enrich(settings, sites.url("rich"), 3)
    shot = out["screenshot"]
    assert shot["status"] == "ok"
    assert shot["url"].startswith(sites.api_base("screenshotone") + "/cdn/")
    assert shot["viewport"] == "1280x800"
    assert shot["page_url"] == sites.url("rich")
    speed = out["pagespeed"]
    assert speed["status"] == "ok"
    assert speed["performance"] == 87
    assert speed["categories"] == {
        "performance": 87, "accessibility": 91, "best-practices": 78, "seo": 90,
    }  # fmt: skip
    assert speed["metrics"]["lcp_ms"] == 2450.0
    assert speed["metrics"]["cls"] == 0.05
    rush = out["semrush"]
    assert rush["status"] == "ok"
    assert rush["rank"] == 48213
    assert rush["organic_keywords"] == 1520
    assert rush["organic_traffic"] == 8760
    assert rush["domain"] == "127.0.0.1"
    # The access key travels in a header, never in the query string or the output.
    shots = [r for r in sites.requests if r[0] == "screenshotone"]
    assert shots
    assert shots[-1][3]["x-access-key"] == SCREENSHOTONE_KEY
    assert SCREENSHOTONE_KEY not in shots[-1][2]
    dumped = json.dumps(out)
    for key in (SCREENSHOTONE_KEY, PAGESPEED_KEY, SEMRUSH_KEY):
        assert key not in dumped


def test_tier2_without_keys_has_no_api_sections(tmp_path: Path, sites: SiteServer) -> None:
    out = enrich(make_settings(tmp_path, sites), sites.url("rich"), 2)
    assert "screenshot" not in out
    assert "pagespeed" not in out
    assert "seo" not in out


def test_wrong_api_keys_give_errors_not_exceptions(tmp_path: Path, sites: SiteServer) -> None:
    settings = make_settings(
        tmp_path,
        sites,
        screenshotone_api_key="wrong-so",
        pagespeed_api_key="wrong-ps",
        semrush_api_key="wrong-sr",
    )
    out = enrich(settings, sites.url("rich"), 3)
    assert out["status"] == "ok"
    assert out["screenshot"]["status"] == "error"
    assert "Access key is invalid" in out["screenshot"]["error"]
    assert out["screenshot"]["http_status"] == 401
    assert out["pagespeed"]["status"] == "error"
    assert "API key not valid" in out["pagespeed"]["error"]
    assert out["semrush"]["status"] == "error"
    assert "WRONG KEY" in out["semrush"]["error"]
    dumped = json.dumps(out)
    assert "wrong-so" not in dumped
    assert "wrong-ps" not in dumped
    assert "wrong-sr" not in dumped


def test_api_results_are_cached(tmp_path: Path, sites: SiteServer) -> None:
    settings = make_settings(
        tmp_path, sites, screenshotone_api_key=SCREENSHOTONE_KEY, pagespeed_api_key=PAGESPEED_KEY
    )
    url = sites.url("rich", "/about")
    with TTLCache(tmp_path / "c.db", 3600) as cache:
        first = enrich(settings, url, 2, cache)
        calls = sites.hits("screenshotone") + sites.hits("pagespeed")
        second = enrich(settings, url, 2, cache)
        assert sites.hits("screenshotone") + sites.hits("pagespeed") == calls
        assert second["screenshot"] == first["screenshot"]
        assert second["pagespeed"] == first["pagespeed"]


# Adapters directly ------------------------------------------------------------------------
def test_semrush_nothing_found(sites: SiteServer) -> None:
    async def go() -> dict[str, Any]:
        async with httpx.AsyncClient() as client:
            return await SemrushAdapter(
                client, sites.api_base("semrush"), SEMRUSH_KEY
            ).domain_ranks("unknown-domain.com")

    assert asyncio.run(go()) == {"status": "not_found", "domain": "unknown-domain.com"}


def test_pagespeed_request_shape(sites: SiteServer) -> None:
    async def go() -> dict[str, Any]:
        async with httpx.AsyncClient() as client:
            adapter = PageSpeedAdapter(
                client, sites.api_base("pagespeed"), PAGESPEED_KEY, "desktop"
            )
            return await adapter.analyze("https://example.com/")

    out = asyncio.run(go())
    assert out["strategy"] == "desktop"
    assert out["final_url"] == "https://example.com/"
    raw = [r[2] for r in sites.requests if r[0] == "pagespeed"][-1]
    assert raw.startswith("/pagespeedonline/v5/runPagespeed?")
    for part in ("strategy=desktop", "category=PERFORMANCE", "category=SEO", "url=https"):
        assert part in raw


def test_adapter_network_failure_is_error_dict() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()

    async def go() -> dict[str, Any]:
        async with httpx.AsyncClient() as client:
            adapter = ScreenshotOneAdapter(client, f"http://127.0.0.1:{port}", "k-123")
            return await adapter.screenshot("https://example.com/")

    out = asyncio.run(go())
    assert out["status"] == "error"
    assert out["error"].startswith("connect_error")


# network_available ------------------------------------------------------------------------
def test_network_available_local_hosts_skip_probe(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, network_probe_host="a..b")
    assert asyncio.run(network_available(settings, ["example.com", "127.0.0.2"]))
    assert asyncio.run(network_available(settings, ["http://10.1.2.3:8080/x"]))
    assert asyncio.run(network_available(settings, ["localhost"]))


def test_network_available_probe_resolves_or_fails(tmp_path: Path) -> None:
    assert asyncio.run(
        network_available(make_settings(tmp_path, network_probe_host="localhost"), [])
    )
    bad = make_settings(tmp_path, network_probe_host="a..b")  # fails locally, no DNS traffic
    assert asyncio.run(network_available(bad, ["example.com"])) is False


def test_network_available_is_fast_when_resolver_hangs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def hanging(*args: Any, **kwargs: Any) -> Any:
        time.sleep(4)
        raise socket.gaierror(-3, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", hanging)
    started = time.perf_counter()
    assert asyncio.run(network_available(make_settings(tmp_path), ["example.com"])) is False
    assert time.perf_counter() - started < 2.5
