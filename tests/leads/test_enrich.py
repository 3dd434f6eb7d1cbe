"""Enricher against the local fixture sites: facts, statuses, discovery, audit and caching."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from revline.kernel.cache import TTLCache
from revline.kernel.config import Settings
from revline.leads.enrich import STATUSES, Enricher, audit_score, empty_result, parse_page
from tests.emulators.sites import SiteServer, serve_sites


@pytest.fixture(scope="module")
def sites() -> Iterator[SiteServer]:
    with serve_sites(slow_delay_s=2.0, huge_bytes=400_000) as s:
        yield s


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "home": tmp_path,
        "http_timeout_s": 2.0,
        "http_connect_timeout_s": 1.0,
        "http_retries": 0,
    }
    values.update(overrides)
    return Settings(**values)


def enrich(
    settings: Settings,
    url: str | None,
    domain: str | None = None,
    tier: int = 1,
    *,
    cache: TTLCache | None = None,
    verify: bool | ssl.SSLContext = True,
    transport: httpx.AsyncBaseTransport | None = None,
) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        async with Enricher(settings, cache, transport=transport, verify=verify) as enricher:
            return await enricher.enrich(url, domain, tier)

    result = asyncio.run(go())
    assert set(empty_result()) <= set(result)
    assert result["status"] in STATUSES
    json.dumps(result)  # always JSON-serializable
    return result


def test_rich_homepage_tier1_facts(tmp_path: Path, sites: SiteServer) -> None:
    out = enrich(make_settings(tmp_path), sites.url("rich"))
    assert out["status"] == "ok"
    assert out["error"] == ""
    assert out["http_status"] == 200
    assert out["redirect_count"] == 0
    assert out["https"] is False
    assert out["url"] == out["final_url"] == sites.url("rich")
    assert out["title"] == "Bright Smile Dental | Family Dentist in Springfield"
    assert out["meta_description"].startswith("Gentle family dentistry")
    assert out["og"]["title"] == "Bright Smile Dental"
    assert out["og"]["type"] == "business.business"
    assert {"Organization", "LocalBusiness", "Dentist", "MedicalClinic"} <= set(
        out["structured_types"]
    )
    assert "og:business.business" in out["structured_types"]
    assert out["social"] == {
        "facebook": "https://www.facebook.com/brightsmile",
        "linkedin": "https://www.linkedin.com/company/brightsmile",
        "instagram": "https://instagram.com/brightsmile",
        "x": "https://x.com/brightsmile",
        "youtube": "https://www.youtube.com/@brightsmile",
    }
    assert set(out["emails"]) == {
        "info@brightsmile.test",
        "billing@brightsmile.test",
        "hello@brightsmile.test",
    }
    assert out["phones"][:2] == ["+1-217-555-0100", "(217) 555-0199"]
    assert "Springfield" in out["text_excerpt"]
    assert "dataLayer" not in out["text_excerpt"]
    assert "<p>" not in out["text_excerpt"]
    assert len(out["text_excerpt"]) <= 1500
    assert "Dentist" in out["category_hints"]
    assert "dental implants" in out["category_hints"]
    assert "Organization" not in out["category_hints"]
    assert "audit" not in out
    assert "seo" not in out


def test_tier2_audit_values_and_score(tmp_path: Path, sites: SiteServer) -> None:
    out = enrich(make_settings(tmp_path), sites.url("rich"), tier=2)
    audit = out["audit"]
    assert audit["https"] is False
    assert audit["http_to_https"] is False
    assert audit["redirect_count"] == 0
    assert audit["scripts"] == 3  # two external + one inline; JSON-LD is data, not script
    assert audit["stylesheets"] == 2
    assert audit["images"] == 4
    assert audit["images_missing_alt"] == 1
    assert audit["alt_coverage"] == 0.75
    assert audit["has_viewport"] is True
    assert audit["h1_count"] == 1
    assert audit["mixed_content"] == 0  # plain http page: nothing is "mixed"
    assert audit["robots_txt"] is True
    assert audit["sitemap"] is True
    assert audit["page_bytes"] > 3000
    assert audit["ttfb_ms"] < 200
    assert audit["total_ms"] < 1000
    # http only: 0 of 25 security points; everything else full except 2.5 alt points
    assert audit["score"] == 72
    assert audit["score"] == audit_score(audit, True, True)


def test_audit_score_formula_extremes() -> None:
    best = {
        "https": True, "http_to_https": True, "mixed_content": 0, "ttfb_ms": 50,
        "total_ms": 300, "page_bytes": 10_000, "has_viewport": True, "alt_coverage": 1.0,
        "h1_count": 1, "robots_txt": True, "sitemap": True,
    }  # fmt: skip
    assert audit_score(best, True, True) == 100
    worst = dict(best, https=False, http_to_https=False, ttfb_ms=5000, total_ms=9000,
                 page_bytes=9_000_000, has_viewport=False, alt_coverage=0.0, h1_count=0,
                 robots_txt=False, sitemap=False)  # fmt: skip
    assert audit_score(worst, False, False) == 0
    halfway = dict(best, ttfb_ms=850)  # ttfb halfway between 200 and 1500 ms
    assert audit_score(halfway, True, True) == round(100 - 7.5)


def test_https_site_mixed_content_with_trusted_ca(tmp_path: Path, sites: SiteServer) -> None:
    out = enrich(
        make_settings(tmp_path), sites.url("tls"), tier=2, verify=sites.client_ssl_context()
    )
    assert out["status"] == "ok"
    assert out["https"] is True
    assert out["audit"]["https"] is True
    assert out["audit"]["mixed_content"] == 1  # the http:// badge image
    assert out["audit"]["http_to_https"] is False  # non-default port: can't be probed


def test_http_to_https_redirect(tmp_path: Path, sites: SiteServer) -> None:
    out = enrich(
        make_settings(tmp_path), sites.url("redirect"), tier=2, verify=sites.client_ssl_context()
    )
    assert out["status"] == "ok"
    assert out["url"] == sites.url("redirect")
    assert out["final_url"] == sites.url("tls")
    assert out["redirect_count"] == 1
    assert out["https"] is True
    assert out["audit"]["http_to_https"] is True
    assert out["audit"]["redirect_count"] == 1


def test_bad_certificate_is_tls_error(tmp_path: Path, sites: SiteServer) -> None:
    out = enrich(make_settings(tmp_path), sites.url("tls"), tier=2)
    assert out["status"] == "tls_error"
    assert out["error"]
    assert out["title"] == ""
    assert "audit" not in out


def test_no_website(tmp_path: Path) -> None:
    out = enrich(make_settings(tmp_path), None, None)
    assert out["status"] == "no_website"
    assert out["error"] == "no website or domain"
    assert enrich(make_settings(tmp_path), "  ", "")["status"] == "no_website"


def test_slow_site_is_timeout(tmp_path: Path, sites: SiteServer) -> None:
    settings = make_settings(tmp_path, http_timeout_s=0.3, http_connect_timeout_s=0.3)
    started = time.perf_counter()
    out = enrich(settings, sites.url("slow"))
    assert out["status"] == "timeout"
    assert time.perf_counter() - started < 1.5


def test_404_homepage_is_http_error(tmp_path: Path, sites: SiteServer) -> None:
    out = enrich(make_settings(tmp_path), sites.url("notfound"), tier=2)
    assert out["status"] == "http_error"
    assert out["http_status"] == 404
    assert out["error"] == "HTTP 404"
    assert "audit" not in out


def test_redirect_loop(tmp_path: Path, sites: SiteServer) -> None:
    out = enrich(make_settings(tmp_path), sites.url("loop"))
    assert out["status"] == "redirect_loop"
    assert out["redirect_count"] == 3  # / -> /a -> /b -> /a again


def test_huge_page_is_too_large(tmp_path: Path, sites: SiteServer) -> None:
    out = enrich(make_settings(tmp_path, http_max_bytes=100_000), sites.url("huge"))
    assert out["status"] == "too_large"
    assert "100000" in out["error"]


@pytest.mark.parametrize(
    ("path", "kind"), [("/", "application/pdf"), ("/data.json", "application/json")]
)
def test_non_html_responses(tmp_path: Path, sites: SiteServer, path: str, kind: str) -> None:
    out = enrich(make_settings(tmp_path), sites.url("nonhtml", path))
    assert out["status"] == "not_html"
    assert kind in out["error"]
    assert out["http_status"] == 200


def test_robots_disallow_all(tmp_path: Path, sites: SiteServer) -> None:
    out = enrich(make_settings(tmp_path), sites.url("blocked", "/home"))
    assert out["status"] == "blocked_by_robots"
    assert sites.hits("blocked", "/home") == 0


def test_connection_refused_is_unreachable(tmp_path: Path) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    out = enrich(make_settings(tmp_path), f"http://127.0.0.1:{port}/")
    assert out["status"] == "unreachable"
    assert out["error"]


def test_discovery_from_domain_falls_back_to_http(tmp_path: Path, sites: SiteServer) -> None:
    # https://127.0.0.1:port/ talks TLS to a plain-HTTP server and fails; http:// works.
    out = enrich(make_settings(tmp_path), None, sites.host("rich"))
    assert out["status"] == "ok"
    assert out["url"] == sites.url("rich")
    assert out["title"].startswith("Bright Smile Dental")


def test_discovery_order_and_www_variant(tmp_path: Path) -> None:
    tried: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        tried.append(f"{request.url.scheme}://{request.url.host}{request.url.path}")
        if request.url.host == "www.acme-dental.com" and request.url.scheme == "http":
            if request.url.path == "/robots.txt":
                return httpx.Response(404)
            return httpx.Response(200, html="<html><title>Acme Dental</title></html>")
        if request.url.host == "acme-dental.com":
            raise httpx.ConnectError("Connection refused")
        raise httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")

    out = enrich(
        make_settings(tmp_path), None, "Acme-Dental.com", transport=httpx.MockTransport(handler)
    )
    assert out["status"] == "ok"
    assert out["title"] == "Acme Dental"
    assert out["url"] == "http://www.acme-dental.com/"
    assert tried == [
        "https://acme-dental.com/robots.txt",
        "http://acme-dental.com/robots.txt",
        "https://www.acme-dental.com/robots.txt",
        "http://www.acme-dental.com/robots.txt",
        "http://www.acme-dental.com/",
    ]


def test_dns_failure_skips_other_scheme(tmp_path: Path) -> None:
    tried: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        tried.append(str(request.url))
        try:
            raise socket.gaierror(-2, "Name or service not known")
        except socket.gaierror as exc:
            raise httpx.ConnectError(str(exc)) from exc

    out = enrich(
        make_settings(tmp_path), None, "gone.example", transport=httpx.MockTransport(handler)
    )
    assert out["status"] == "dns_error"
    assert out["url"] == "https://gone.example/"
    assert tried == ["https://gone.example/robots.txt", "https://www.gone.example/robots.txt"]


def test_page_cache_avoids_refetch(tmp_path: Path, sites: SiteServer) -> None:
    settings = make_settings(tmp_path)
    url = sites.url("rich", "/about")
    with TTLCache(tmp_path / "cache.db", settings.cache_ttl_s) as cache:
        before = sites.hits("rich")
        first = enrich(settings, url, tier=2, cache=cache)
        after_first = sites.hits("rich")
        second = enrich(settings, url, tier=2, cache=cache)
        assert after_first > before
        assert sites.hits("rich") == after_first  # page, robots and sitemap all from cache
        assert second == first
        stats = cache.stats()["namespaces"]
        assert stats["page"]["hits"] >= 2
        assert stats["robots"]["hits"] >= 1


def test_many_leads_share_robots_and_sitemap(tmp_path: Path, sites: SiteServer) -> None:
    settings = make_settings(tmp_path)
    before_robots = sites.hits("biz", "/robots.txt")
    before_sitemap = sites.hits("biz", "/sitemap.xml")

    async def go() -> list[dict[str, Any]]:
        async with Enricher(settings) as enricher:
            return list(
                await asyncio.gather(
                    *(enricher.enrich(sites.biz_url(n), None, 2) for n in range(40))
                )
            )

    results = asyncio.run(go())
    assert [r["status"] for r in results] == ["ok"] * 40
    assert results[1]["structured_types"] == ["Plumber"]
    assert results[1]["category_hints"] == ["Plumber"]
    assert results[3]["title"] == "Business 3 Law Firm"
    assert results[7]["emails"] == ["owner7@biz7.test"]
    assert sites.hits("biz", "/robots.txt") - before_robots == 1
    assert sites.hits("biz", "/sitemap.xml") - before_sitemap == 1  # probed once, 404
    assert all(r["audit"]["sitemap"] is False for r in results)


def test_parse_page_survives_broken_markup() -> None:
    broken = (
        '<html><head><script type="application/ld+json">{"@type": "Dentist",,}</script>'
        '<div itemscope itemtype="not a url"><span itemprop=name>x</span>'
        "<title>Broken <b>page</title><img><a href='mailto:'>m</a><a href='tel:'>t</a>"
    )
    facts = parse_page(broken, "http://x.test/")
    assert facts.title.startswith("Broken")
    assert facts.images == 1
    assert facts.images_missing_alt == 1
    assert facts.emails == []
    assert facts.phones == []
    assert parse_page("", "http://x.test/").title == ""
    assert parse_page("\x00\xff not html at all", "http://x.test/").word_count >= 1
