"""PoliteFetcher and make_client against real loopback servers (tests/emulators/sites.py)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from tenacity import wait_fixed, wait_none

from revline.kernel.cache import TTLCache
from revline.kernel.config import Settings
from revline.kernel.http import (
    FetchResult,
    PoliteFetcher,
    classify_exception,
    make_client,
)
from tests.emulators.sites import SiteServer, serve_sites

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@pytest.fixture(scope="module")
def sites() -> Iterator[SiteServer]:
    with serve_sites(slow_delay_s=2.0, huge_bytes=400_000, flaky_failures=2) as s:
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


async def fetch_one(
    settings: Settings,
    url: str,
    *,
    cache: TTLCache | None = None,
    verify: Any = True,
    transport: httpx.AsyncBaseTransport | None = None,
    **kwargs: Any,
) -> tuple[FetchResult, PoliteFetcher]:
    async with make_client(settings, verify=verify, transport=transport) as client:
        fetcher = PoliteFetcher(client, settings, cache=cache, wait=wait_none())
        return await fetcher.fetch(url, **kwargs), fetcher


def test_make_client_uses_settings(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, http_timeout_s=7.5, http_connect_timeout_s=2.5)

    async def check() -> None:
        async with make_client(settings) as client:
            assert client.timeout.read == 7.5
            assert client.timeout.connect == 2.5
            assert client.follow_redirects is False
            assert client.headers["user-agent"] == settings.user_agent

    run(check())


def test_fetch_ok_with_timings_and_user_agent(tmp_path: Path, sites: SiteServer) -> None:
    res, _ = run(fetch_one(make_settings(tmp_path), sites.url("rich")))
    assert res.ok
    assert res.error is None
    assert res.status_code == 200
    assert res.content_type == "text/html"
    assert b"Bright Smile Dental" in res.body
    assert res.ttfb_ms is not None
    assert 0 <= res.ttfb_ms <= res.total_ms
    assert res.redirects == []
    assert res.final_url == sites.url("rich")
    agents = {h.get("user-agent") for site, path, _, h in sites.requests if site == "rich"}
    assert "RevlineBot/0.1 (+https://revline.invalid/bot)" in agents


def test_redirects_are_followed_and_counted(tmp_path: Path, sites: SiteServer) -> None:
    res, _ = run(fetch_one(make_settings(tmp_path), sites.url("plain", "/hop?n=14")))
    assert res.ok
    assert len(res.redirects) == 6
    assert res.final_url == sites.url("plain", "/hop?n=20")
    assert res.body == b"<p>end</p>"


def test_more_than_ten_redirects_stops(tmp_path: Path, sites: SiteServer) -> None:
    res, _ = run(fetch_one(make_settings(tmp_path), sites.url("plain", "/hop?n=0")))
    assert res.error == "too_many_redirects"
    assert len(res.redirects) == 11
    assert not res.ok


def test_redirect_loop_detected(tmp_path: Path, sites: SiteServer) -> None:
    res, _ = run(fetch_one(make_settings(tmp_path), sites.url("loop", "/a")))
    assert res.error == "redirect_loop"
    assert res.redirects == [sites.url("loop", "/b"), sites.url("loop", "/a")]


def test_slow_site_times_out_quickly(tmp_path: Path, sites: SiteServer) -> None:
    settings = make_settings(tmp_path, http_timeout_s=0.3, http_connect_timeout_s=0.3)
    started = time.perf_counter()
    res, _ = run(fetch_one(settings, sites.url("slow"), check_robots=False))
    assert res.error == "timeout"
    assert res.status_code is None
    assert time.perf_counter() - started < 1.5


def test_retries_5xx_until_success(tmp_path: Path, sites: SiteServer) -> None:
    settings = make_settings(tmp_path, http_retries=2)
    res, _ = run(fetch_one(settings, sites.url("plain", "/flaky/a")))
    assert res.status_code == 200
    assert res.attempts == 3
    assert sites.hits("plain", "/flaky/a") == 3


def test_retries_exhausted_returns_last_status(tmp_path: Path, sites: SiteServer) -> None:
    settings = make_settings(tmp_path, http_retries=1)
    res, _ = run(fetch_one(settings, sites.url("plain", "/flaky/b")))
    assert res.status_code == 503
    assert res.attempts == 2
    assert not res.ok
    assert sites.hits("plain", "/flaky/b") == 2


def test_429_retried_with_injected_wait_and_sleep(tmp_path: Path, sites: SiteServer) -> None:
    settings = make_settings(tmp_path, http_retries=2)
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    async def go() -> FetchResult:
        async with make_client(settings) as client:
            fetcher = PoliteFetcher(client, settings, wait=wait_fixed(1.25), sleep=fake_sleep)
            return await fetcher.fetch(sites.url("plain", "/ratelimited"))

    before = sites.hits("plain", "/ratelimited")
    res = run(go())
    assert res.status_code == 429
    assert res.attempts == 3
    assert slept == [1.25, 1.25]
    assert sites.hits("plain", "/ratelimited") - before == 3


def test_no_retry_on_404(tmp_path: Path, sites: SiteServer) -> None:
    settings = make_settings(tmp_path, http_retries=3)
    res, _ = run(fetch_one(settings, sites.url("plain", "/nope-404")))
    assert res.status_code == 404
    assert res.attempts == 1
    assert res.error is None


def test_streamed_body_over_cap_is_too_large(tmp_path: Path, sites: SiteServer) -> None:
    settings = make_settings(tmp_path, http_max_bytes=100_000)
    res, _ = run(fetch_one(settings, sites.url("huge")))
    assert res.error == "too_large"
    assert res.status_code == 200
    assert res.body == b""  # reading stopped at the cap; nothing partial is kept
    assert "100000" in res.error_detail


def test_declared_length_over_cap_is_too_large(tmp_path: Path, sites: SiteServer) -> None:
    settings = make_settings(tmp_path, http_max_bytes=1000)
    res, _ = run(fetch_one(settings, sites.url("plain", "/declared-huge")))
    assert res.error == "too_large"
    assert "content-length" in res.error_detail


def test_robots_disallow_blocks_without_requesting_page(tmp_path: Path, sites: SiteServer) -> None:
    settings = make_settings(tmp_path)

    async def go() -> list[FetchResult]:
        async with make_client(settings) as client:
            fetcher = PoliteFetcher(client, settings)
            return list(
                await asyncio.gather(
                    *(fetcher.fetch(sites.url("blocked", f"/p{i}")) for i in range(5))
                )
            )

    results = run(go())
    assert {r.error for r in results} == {"blocked_by_robots"}
    assert sites.hits("blocked", "/robots.txt") == 1  # fetched once per origin
    assert all(sites.hits("blocked", f"/p{i}") == 0 for i in range(5))


def test_respect_robots_false_fetches_anyway(tmp_path: Path, sites: SiteServer) -> None:
    settings = make_settings(tmp_path, respect_robots=False)
    res, _ = run(fetch_one(settings, sites.url("blocked", "/allowed-anyway")))
    assert res.ok
    assert sites.hits("blocked", "/allowed-anyway") == 1


def test_robots_partial_rules_and_sitemaps(tmp_path: Path, sites: SiteServer) -> None:
    settings = make_settings(tmp_path)

    async def go() -> tuple[FetchResult, FetchResult, list[str], bool]:
        async with make_client(settings) as client:
            fetcher = PoliteFetcher(client, settings)
            private = await fetcher.fetch(sites.url("rich", "/private/secret"))
            about = await fetcher.fetch(sites.url("rich", "/about"))
            info = await fetcher.robots(sites.url("rich"))
            return private, about, info.sitemaps, info.exists

    private, about, sitemaps, exists = run(go())
    assert private.error == "blocked_by_robots"
    assert about.ok
    assert exists is True
    assert sitemaps == [sites.url("rich", "/sitemap.xml")]


def test_missing_robots_allows_everything(tmp_path: Path, sites: SiteServer) -> None:
    settings = make_settings(tmp_path)

    async def go() -> tuple[FetchResult, bool]:
        async with make_client(settings) as client:
            fetcher = PoliteFetcher(client, settings)
            res = await fetcher.fetch(sites.url("plain"))
            return res, (await fetcher.robots(sites.url("plain"))).exists

    res, exists = run(go())
    assert res.ok
    assert exists is False


def test_connection_refused_is_connect_error(tmp_path: Path) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens here now
    settings = make_settings(tmp_path, http_retries=1)
    res, _ = run(fetch_one(settings, f"http://127.0.0.1:{port}/"))
    assert res.error == "connect_error"
    assert res.attempts == 2  # refused connections are retried


def test_dns_failure_is_classified_and_not_retried(tmp_path: Path) -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        try:
            raise socket.gaierror(-2, "Name or service not known")
        except socket.gaierror as exc:
            raise httpx.ConnectError("[Errno -2] Name or service not known") from exc

    settings = make_settings(tmp_path, http_retries=3)
    res, _ = run(
        fetch_one(settings, "http://no-such-host.test/", transport=httpx.MockTransport(handler))
    )
    assert res.error == "dns_error"
    assert res.attempts == 1
    assert calls == ["http://no-such-host.test/robots.txt"]  # the page was never tried


def test_bad_certificate_is_tls_error(tmp_path: Path, sites: SiteServer) -> None:
    res, _ = run(fetch_one(make_settings(tmp_path), sites.url("tls")))
    assert res.error == "tls_error"
    assert res.status_code is None


def test_trusted_ca_makes_tls_work(tmp_path: Path, sites: SiteServer) -> None:
    res, _ = run(
        fetch_one(make_settings(tmp_path), sites.url("tls"), verify=sites.client_ssl_context())
    )
    assert res.ok
    assert res.final_url.startswith("https://")


def test_per_host_concurrency_limit(tmp_path: Path) -> None:
    active: dict[str, int] = {}
    peak: dict[str, int] = {}

    async def handler(request: httpx.Request) -> httpx.Response:
        host = request.url.host
        active[host] = active.get(host, 0) + 1
        peak[host] = max(peak.get(host, 0), active[host])
        await asyncio.sleep(0.02)
        active[host] -= 1
        return httpx.Response(200, html="<html><title>x</title></html>")

    settings = make_settings(tmp_path, http_per_host_limit=2, respect_robots=False)

    async def go() -> list[FetchResult]:
        async with make_client(settings, transport=httpx.MockTransport(handler)) as client:
            fetcher = PoliteFetcher(client, settings)
            urls = [f"http://{h}.test/{i}" for h in ("a", "b") for i in range(8)]
            return list(await asyncio.gather(*(fetcher.fetch(u) for u in urls)))

    results = run(go())
    assert all(r.ok for r in results)
    assert peak == {"a.test": 2, "b.test": 2}


def test_cache_serves_second_fetch(tmp_path: Path, sites: SiteServer) -> None:
    settings = make_settings(tmp_path)
    url = sites.url("rich", "/about")
    with TTLCache(tmp_path / "cache.db", default_ttl_s=3600) as cache:
        before = sites.hits("rich", "/about")
        first, _ = run(fetch_one(settings, url, cache=cache))
        second, _ = run(fetch_one(settings, url, cache=cache))
        assert sites.hits("rich", "/about") - before == 1
        assert first.from_cache is False
        assert second.from_cache is True
        assert second.body == first.body
        assert second.status_code == 200
        assert second.headers == first.headers
        # robots.txt is cached across runs too
        assert cache.stats()["namespaces"]["robots"]["entries"] == 1


def test_cache_skips_transient_failures(tmp_path: Path, sites: SiteServer) -> None:
    settings = make_settings(tmp_path)
    with TTLCache(tmp_path / "cache.db", default_ttl_s=3600) as cache:
        run(fetch_one(settings, sites.url("plain", "/flaky/c"), cache=cache))
        assert cache.get("page:" + sites.url("plain", "/flaky/c")) is None


def test_result_blob_round_trip() -> None:
    res = FetchResult(
        url="http://a/",
        final_url="http://a/x",
        status_code=200,
        headers={"content-type": "text/html; charset=ISO-8859-1"},
        body="caf\xe9\n<br>".encode("latin-1"),
        ttfb_ms=1.5,
        redirects=["http://a/x"],
    )
    back = FetchResult.from_cache_blob(res.to_cache_blob())
    assert back.body == res.body
    assert back.redirects == res.redirects
    assert back.from_cache
    assert back.charset == "ISO-8859-1"
    assert back.text() == "caf\xe9\n<br>"


def test_classify_exception_kinds() -> None:
    assert classify_exception(httpx.ReadTimeout("x"))[0] == "timeout"
    assert classify_exception(TimeoutError())[0] == "timeout"
    assert classify_exception(httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED]"))[0] == (
        "tls_error"
    )
    assert classify_exception(httpx.ConnectError("Connection refused"))[0] == "connect_error"
    assert classify_exception(httpx.RemoteProtocolError("bad"))[0] == "protocol_error"
    assert classify_exception(httpx.UnsupportedProtocol("ftp"))[0] == "invalid_url"


def test_meta_charset_is_used_without_header_charset() -> None:
    body = '<html><head><meta charset="windows-1252"><title>Caf\xe9</title>'.encode("cp1252")
    res = FetchResult(url="http://a/", headers={"content-type": "text/html"}, body=body)
    assert "Caf\xe9" in res.text()


def test_default_backoff_is_jittered_exponential(tmp_path: Path) -> None:
    from tenacity import RetryCallState

    async def waits() -> list[float]:
        settings = make_settings(tmp_path)
        async with make_client(settings) as client:
            fetcher = PoliteFetcher(client, settings)
            out = []
            for attempt in (1, 2, 3, 4):
                state = RetryCallState(None, None, (), {})
                state.attempt_number = attempt
                out.append(fetcher.wait(state))
            return out

    values = run(waits())
    for value, base in zip(values, (0.5, 1.0, 2.0, 4.0), strict=True):
        assert base <= value <= base + 0.5
