"""Shared async HTTP: one client factory plus a polite fetcher that never raises on site problems.

`make_client` builds the httpx client every domain uses (timeouts, connection limits, user
agent; redirects off, because `PoliteFetcher` follows them itself to count hops and catch
loops). `PoliteFetcher.fetch` adds per-host concurrency limits, robots.txt, retries with
jittered backoff, a body size cap and an optional TTL cache, and returns a `FetchResult`
whose `error` names what went wrong instead of raising.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import ssl
import time
import urllib.robotparser
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_result,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)
from tenacity.wait import wait_base

from revline.kernel.cache import TTLCache
from revline.kernel.config import Settings

ErrorKind = Literal[
    "dns_error",
    "timeout",
    "tls_error",
    "connect_error",
    "protocol_error",
    "invalid_url",
    "redirect_loop",
    "too_many_redirects",
    "too_large",
    "blocked_by_robots",
]

MAX_REDIRECTS = 10
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
# Network failures worth another attempt; DNS and TLS failures will not fix themselves.
RETRY_ERRORS = frozenset({"timeout", "connect_error", "protocol_error"})
NETWORK_ERRORS = frozenset({"dns_error", "timeout", "tls_error", "connect_error", "protocol_error"})
ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
ROBOTS_MAX_BYTES = 512_000


def make_client(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    verify: bool | ssl.SSLContext = True,
) -> httpx.AsyncClient:
    """The one way to build an outbound client, so timeouts and limits are the same everywhere."""
    timeout = httpx.Timeout(settings.http_timeout_s, connect=settings.http_connect_timeout_s)
    total = max(1, settings.http_total_limit)
    limits = httpx.Limits(max_connections=total, max_keepalive_connections=total)
    return httpx.AsyncClient(
        timeout=timeout,
        limits=limits,
        headers={"user-agent": settings.user_agent, "accept": ACCEPT},
        follow_redirects=False,
        transport=transport,
        verify=verify,
        trust_env=False,
    )


@dataclass
class FetchResult:
    """What one fetch produced; `error` is None when a response (of any status) was read."""

    url: str
    final_url: str = ""
    status_code: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    ttfb_ms: float | None = None
    total_ms: float = 0.0
    redirects: list[str] = field(default_factory=list)  # every URL after the first, in order
    error: ErrorKind | None = None
    error_detail: str = ""
    attempts: int = 0
    from_cache: bool = False

    @property
    def ok(self) -> bool:
        """A response arrived, was not an error status, and its body was read in full."""
        return self.error is None and self.status_code is not None and self.status_code < 400

    @property
    def content_type(self) -> str:
        """Media type without parameters, lower-case ("" when absent)."""
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @property
    def charset(self) -> str | None:
        """Charset parameter of the content-type header, if any."""
        for part in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = part.partition("=")
            if key.strip().lower() == "charset" and value.strip():
                return value.strip().strip("\"'")
        return None

    def text(self) -> str:
        """Body decoded with the header or <meta> charset, else UTF-8, never failing."""
        try:
            return self.body.decode(
                self.charset or _sniff_charset(self.body) or "utf-8", errors="replace"
            )
        except LookupError:
            return self.body.decode("utf-8", errors="replace")

    @property
    def retryable(self) -> bool:
        """Transient failures: timeouts, refused connections, 429 and 5xx."""
        if self.error is not None:
            return self.error in RETRY_ERRORS
        return self.status_code in RETRY_STATUS

    def to_cache_blob(self) -> bytes:
        """Serialize as one JSON line (metadata) followed by the raw body."""
        meta = asdict(self)
        del meta["body"]
        del meta["from_cache"]
        return json.dumps(meta, separators=(",", ":")).encode() + b"\n" + self.body

    @classmethod
    def from_cache_blob(cls, blob: bytes) -> FetchResult:
        """Inverse of to_cache_blob: rebuild a result stored in the TTL cache."""
        head, _, body = blob.partition(b"\n")
        meta = json.loads(head)
        return cls(**meta, body=body, from_cache=True)


_META_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([A-Za-z0-9._:-]+)""", re.IGNORECASE)


def _sniff_charset(body: bytes) -> str | None:
    """Charset from a <meta> tag in the first 2 KB, as browsers do when the header has none."""
    match = _META_CHARSET.search(body[:2048])
    return match.group(1).decode("ascii") if match else None


def classify_exception(exc: BaseException) -> tuple[ErrorKind, str]:
    """Map an httpx/OS exception to an ErrorKind and a short detail, by walking its causes."""
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return "timeout", "timed out"
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return "invalid_url", str(exc)[:200]
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, ssl.SSLError | ssl.CertificateError):
            return "tls_error", _short(cur)
        if isinstance(cur, socket.gaierror):
            return "dns_error", _short(cur)
        cur = cur.__cause__ or cur.__context__
    text = str(exc)
    lowered = text.lower()
    if any(s in lowered for s in ("certificate", "ssl", "tls", "wrong_version_number")):
        return "tls_error", text[:200]
    if any(
        s in lowered
        for s in (
            "name or service not known",
            "nodename nor servname",
            "temporary failure in name resolution",
            "getaddrinfo failed",
            "no address associated",
        )
    ):
        return "dns_error", text[:200]
    if isinstance(exc, httpx.ConnectError | ConnectionError):
        return "connect_error", text[:200] or "connection failed"
    return "protocol_error", text[:200] or type(exc).__name__


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:200]


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL: the unit robots.txt and politeness apply to."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


@dataclass
class RobotsInfo:
    """Parsed robots.txt for one origin; `exists` is False when it was missing (allow all)."""

    exists: bool
    parser: urllib.robotparser.RobotFileParser | None
    sitemaps: list[str]
    error: ErrorKind | None = None
    error_detail: str = ""

    def allows(self, user_agent: str, url: str) -> bool:
        """True when the URL may be fetched; a missing or unreadable robots.txt allows all."""
        return self.parser is None or self.parser.can_fetch(user_agent, url)


SleepFn = Callable[[float], Awaitable[None]]


class PoliteFetcher:
    """GET with per-host limits, robots.txt, retries, size cap and caching; never raises."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        settings: Settings,
        *,
        cache: TTLCache | None = None,
        wait: wait_base | None = None,
        sleep: SleepFn | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.cache = cache
        # Jittered exponential backoff: 0.5s, 1s, 2s... (max 8s) plus up to 0.5s of noise.
        self.wait = wait or (wait_exponential(multiplier=0.5, max=8.0) + wait_random(0, 0.5))
        self.sleep: SleepFn = sleep or asyncio.sleep
        self.user_agent = settings.user_agent
        self.requests_sent = 0
        self._host_limits: dict[str, asyncio.Semaphore] = {}
        self._robots: dict[str, asyncio.Task[RobotsInfo]] = {}

    # Public -----------------------------------------------------------------------------
    async def fetch(
        self,
        url: str,
        *,
        use_cache: bool = True,
        check_robots: bool | None = None,
        max_redirects: int = MAX_REDIRECTS,
        max_bytes: int | None = None,
    ) -> FetchResult:
        """Fetch url (following redirects ourselves); the result says what happened."""
        key = f"page:{url}"
        if use_cache and self.cache is not None:
            blob = self.cache.get(key)
            if isinstance(blob, bytes):
                try:
                    return FetchResult.from_cache_blob(blob)
                except (ValueError, TypeError):
                    self.cache.delete(key)
        robots = self.settings.respect_robots if check_robots is None else check_robots
        limit = self.settings.http_max_bytes if max_bytes is None else max_bytes
        started = time.perf_counter()
        result = await self._fetch_with_retries(url, robots, max_redirects, limit)
        result.total_ms = round((time.perf_counter() - started) * 1000, 1)
        if use_cache and self.cache is not None and self._cacheable(result):
            self.cache.set(key, result.to_cache_blob())
        return result

    async def robots(self, url: str) -> RobotsInfo:
        """robots.txt of the URL's origin, fetched once per fetcher (and cached across runs)."""
        origin = origin_of(url)
        task = self._robots.get(origin)
        if task is None:
            task = asyncio.ensure_future(self._load_robots(origin))
            self._robots[origin] = task
        return await asyncio.shield(task)

    def close(self) -> None:
        """Cancel robots.txt lookups still in flight (e.g. after Ctrl-C)."""
        for task in self._robots.values():
            if not task.done():
                task.cancel()
        self._robots.clear()

    # Internals --------------------------------------------------------------------------
    @staticmethod
    def _cacheable(result: FetchResult) -> bool:
        if result.error is None:
            return result.status_code is not None and result.status_code not in RETRY_STATUS
        return result.error in ("too_large", "redirect_loop", "too_many_redirects")

    async def _fetch_with_retries(
        self, url: str, robots: bool, max_redirects: int, limit: int
    ) -> FetchResult:
        attempts = 0

        async def attempt() -> FetchResult:
            nonlocal attempts
            attempts += 1
            return await self._follow(url, robots, max_redirects, limit)

        retrying = AsyncRetrying(
            stop=stop_after_attempt(max(0, self.settings.http_retries) + 1),
            wait=self.wait,
            retry=retry_if_result(_is_retryable),
            sleep=self.sleep,
            retry_error_callback=_last_result,
        )
        result: FetchResult = await retrying(attempt)
        result.attempts = attempts
        return result

    async def _follow(self, url: str, robots: bool, max_redirects: int, limit: int) -> FetchResult:
        result = FetchResult(url=url, final_url=url)
        seen = {url}
        current = url
        for _hop in range(max_redirects + 1):
            if robots:
                info = await self.robots(current)
                if info.error in NETWORK_ERRORS:
                    # The origin did not answer for robots.txt: the page would fail the same way.
                    result.error, result.error_detail = info.error, info.error_detail
                    return result
                if not info.allows(self.user_agent, current):
                    result.error = "blocked_by_robots"
                    result.error_detail = f"robots.txt disallows {urlsplit(current).path or '/'}"
                    return result
            await self._get(current, limit, result)
            result.final_url = current
            if result.error is not None or result.status_code not in REDIRECT_CODES:
                return result
            location = result.headers.get("location", "").strip()
            if not location:
                return result
            nxt = urljoin(current, location).split("#", 1)[0]
            result.redirects.append(nxt)
            if nxt in seen:
                result.error = "redirect_loop"
                result.error_detail = f"redirect loop back to {nxt}"
                return result
            seen.add(nxt)
            current = nxt
        result.error = "too_many_redirects"
        result.error_detail = f"more than {max_redirects} redirects"
        return result

    def _host_limit(self, url: str) -> asyncio.Semaphore:
        host = urlsplit(url).netloc.lower()
        sem = self._host_limits.get(host)
        if sem is None:
            sem = asyncio.Semaphore(max(1, self.settings.http_per_host_limit))
            self._host_limits[host] = sem
        return sem

    async def _get(self, url: str, limit: int, result: FetchResult) -> None:
        """One request without redirects; fills status, headers, body, timings or error."""
        result.status_code, result.headers, result.body = None, {}, b""
        result.error, result.error_detail = None, ""
        # Per-operation timeouts can't stop a server trickling bytes; bound the whole request.
        deadline = self.settings.http_timeout_s + self.settings.http_connect_timeout_s
        async with self._host_limit(url):
            self.requests_sent += 1
            started = time.perf_counter()
            try:
                async with asyncio.timeout(deadline):
                    await self._send(url, limit, result, started)
            except Exception as exc:  # network errors become data, never exceptions
                result.error, result.error_detail = classify_exception(exc)

    async def _send(self, url: str, limit: int, result: FetchResult, started: float) -> None:
        request = self.client.build_request("GET", url)
        response = await self.client.send(request, stream=True)
        try:
            result.ttfb_ms = round((time.perf_counter() - started) * 1000, 1)
            result.status_code = response.status_code
            result.headers = {k.lower(): v for k, v in response.headers.items()}
            if response.status_code in REDIRECT_CODES:
                return
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                result.error = "too_large"
                result.error_detail = f"content-length {declared} over the {limit}-byte cap"
                return
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    # Stop reading; the partial body is useless and the cap protects memory.
                    result.error = "too_large"
                    result.error_detail = f"body over the {limit}-byte cap"
                    return
                chunks.append(chunk)
            result.body = b"".join(chunks)
        finally:
            await response.aclose()

    async def _load_robots(self, origin: str) -> RobotsInfo:
        key = f"robots:{origin}"
        cached = self.cache.get(key) if self.cache is not None else None
        if isinstance(cached, dict):
            text_cached = cached.get("text")
            return _robots_from_text(text_cached if isinstance(text_cached, str) else None)
        res = await self._fetch_with_retries(
            origin + "/robots.txt", robots=False, max_redirects=5, limit=ROBOTS_MAX_BYTES
        )
        if res.error in NETWORK_ERRORS:
            return RobotsInfo(False, None, [], res.error, res.error_detail)
        status = res.status_code or 0
        text: str | None
        if res.error is None and 200 <= status < 300:
            text = res.text()
        elif res.error is None and 400 <= status < 500:
            text = None  # missing robots.txt: everything is allowed
        else:
            return RobotsInfo(False, None, [])  # 5xx or odd: allow, but don't remember it
        if self.cache is not None:
            self.cache.set(key, {"text": text})
        return _robots_from_text(text)


def _is_retryable(value: object) -> bool:
    return isinstance(value, FetchResult) and value.retryable


def _last_result(state: RetryCallState) -> FetchResult:
    """After the last attempt, hand back its (still failing) result instead of raising."""
    assert state.outcome is not None
    result = state.outcome.result()
    assert isinstance(result, FetchResult)
    return result


def _robots_from_text(text: str | None) -> RobotsInfo:
    if text is None:
        return RobotsInfo(False, None, [])
    parser = urllib.robotparser.RobotFileParser()
    parser.parse(text.splitlines())
    return RobotsInfo(True, parser, list(parser.site_maps() or []))


def result_summary(result: FetchResult) -> dict[str, Any]:
    """A small JSON-able view of a fetch (no body), for logs and enrichment output."""
    return {
        "url": result.url,
        "final_url": result.final_url,
        "status_code": result.status_code,
        "error": result.error,
        "error_detail": result.error_detail,
        "ttfb_ms": result.ttfb_ms,
        "total_ms": result.total_ms,
        "redirects": list(result.redirects),
        "bytes": len(result.body),
        "from_cache": result.from_cache,
        "attempts": result.attempts,
    }
