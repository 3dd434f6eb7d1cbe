"""Local fixture websites and website-analysis API emulators, on loopback addresses only.

    with serve_sites() as sites:
        sites.url("rich")                 # http://127.0.0.1:<port>/
        sites.url("blocked", "/x")        # robots.txt disallows everything (on 127.0.0.2)
        sites.biz_url(17)                 # generated small-business page #17 (benchmarks)
        sites.hits("rich", "/")           # how many requests that path received
        sites.client_ssl_context()        # trusts the "tls" site's trustme CA
        sites.api_base("pagespeed")       # value for settings.pagespeed_base_url

Each site is its own ThreadingHTTPServer (so each has its own robots.txt origin). Sites:
rich, plain, slow, notfound, loop, huge, nonhtml, blocked, redirect (-> tls), tls (HTTPS with
a trustme certificate no system store trusts), biz. APIs: screenshotone, pagespeed, semrush,
each checking its key (SCREENSHOTONE_KEY, PAGESPEED_KEY, SEMRUSH_KEY).
"""

from __future__ import annotations

import hashlib
import json
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trustme

SCREENSHOTONE_KEY = "so-test-key"
PAGESPEED_KEY = "ps-test-key"
SEMRUSH_KEY = "sr-test-key"

LOREM = (
    "Bright Smile Dental Care has served families in Springfield since 1998 with gentle "
    "general dentistry, cosmetic treatments, teeth whitening, implants and emergency visits. "
    "Our team of experienced dentists and hygienists uses modern digital x-rays and "
    "same-day crowns so that every appointment is quick, comfortable and affordable. "
)

VERTICALS = [
    ("Dentist", "dental clinic", "teeth cleaning, fillings, whitening and implants"),
    ("Plumber", "plumbing service", "leak repair, drain cleaning and water heaters"),
    ("Restaurant", "family restaurant", "breakfast, lunch, dinner and catering"),
    ("LegalService", "law firm", "family law, estate planning and business contracts"),
    ("AutoRepair", "auto repair shop", "brakes, oil changes, tires and diagnostics"),
    ("HairSalon", "hair salon", "haircuts, coloring, styling and treatments"),
    ("RealEstateAgent", "real estate agency", "homes for sale, rentals and valuations"),
    ("Bakery", "bakery", "bread, cakes, pastries and custom orders"),
]


def _words(n: int) -> str:
    base = LOREM.split()
    return " ".join(base[i % len(base)] for i in range(n))


def rich_home(base: str) -> str:
    """The showcase homepage: every signal the enricher extracts, plus audit defects."""
    return f"""<!doctype html>
<html lang="en"><head>
<meta charset="utf-8">
<title>Bright Smile Dental | Family Dentist in Springfield</title>
<meta name="description"
 content="Gentle family dentistry in Springfield: cleanings, implants, whitening.">
<meta name="keywords" content="dentist, dental implants, teeth whitening">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta property="og:title" content="Bright Smile Dental">
<meta property="og:type" content="business.business">
<meta property="og:image" content="{base}/img/og.jpg">
<meta property="og:url" content="{base}/">
<link rel="stylesheet" href="/css/site.css">
<link rel="stylesheet" href="/css/theme.css">
<link rel="icon" href="/favicon.ico">
<script src="/js/app.js"></script>
<script async src="https://www.googletagmanager.com/gtag/js?id=G-TEST"></script>
<script type="application/ld+json">
{{"@context": "https://schema.org", "@graph": [
  {{"@type": "Organization", "name": "Bright Smile Dental Group", "url": "{base}/",
    "sameAs": ["https://www.youtube.com/@brightsmile"]}},
  {{"@type": ["LocalBusiness", "Dentist"], "name": "Bright Smile Dental",
    "telephone": "+1-217-555-0100", "email": "hello@brightsmile.test",
    "address": {{"@type": "PostalAddress", "streetAddress": "1 Main St",
                 "addressLocality": "Springfield"}}}}
]}}
</script>
</head><body>
<header><nav>
<a href="/">Home</a> <a href="/about">About us</a> <a href="/services">Services</a>
<a href="/team">Team</a> <a href="/thin">Offers</a> <a href="/missing">Old page</a>
<a href="/private/secret">Staff</a> <a href="#top">Top</a> <a href="javascript:void(0)">Menu</a>
<a href="https://other-site.test/partner">Partner</a>
</nav></header>
<h1>Your family dentist in Springfield</h1>
<p>{LOREM}</p>
<p>{LOREM}</p>
<p>{LOREM}</p>
<p>{LOREM}</p>
<div itemscope itemtype="https://schema.org/MedicalClinic">
  <span itemprop="name">Bright Smile Clinic</span>
  <span itemprop="telephone">(217) 555-0199</span>
</div>
<img src="/img/team.jpg" alt="Our dental team">
<img src="/img/office.jpg">
<img src="http://cdn.example.test/insecure.png" alt="Badge">
<img src="/img/spacer.gif" alt="">
<p>Write to <a href="mailto:Info@BrightSmile.test?subject=Hi">info@brightsmile.test</a> or
call <a href="tel:+1-217-555-0100">+1 217 555 0100</a>. Billing: billing@brightsmile.test</p>
<footer>
<a href="https://www.facebook.com/brightsmile">Facebook</a>
<a href="https://www.linkedin.com/company/brightsmile">LinkedIn</a>
<a href="https://instagram.com/brightsmile">Instagram</a>
<a href="https://x.com/brightsmile">X</a>
</footer>
<script>window.dataLayer = [];</script>
</body></html>"""


def _page(title: str, body_words: int, *, description: bool = True, h1: bool = True) -> str:
    desc = f'<meta name="description" content="{title} page">' if description else ""
    head_h1 = f"<h1>{title}</h1>" if h1 else ""
    return (
        f"<!doctype html><html><head><title>{title}</title>{desc}</head><body>{head_h1}"
        f'<p>{_words(body_words)}</p><a href="/">Home</a> <a href="/about">About</a>'
        "</body></html>"
    )


def biz_page(n: int, base: str) -> str:
    """A small generated business homepage; the vertical cycles through VERTICALS by n."""
    schema, label, services = VERTICALS[n % len(VERTICALS)]
    name = f"Business {n} {label.title()}"
    return f"""<!doctype html><html><head><title>{name}</title>
<meta name="description" content="{name}: {services}.">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta property="og:title" content="{name}">
<script type="application/ld+json">{{"@context": "https://schema.org", "@type": "{schema}",
"name": "{name}", "telephone": "+1-555-01{n % 100:02d}", "url": "{base}/{n}"}}</script>
<link rel="stylesheet" href="/s.css"></head><body><h1>{name}</h1>
<p>Welcome to {name}, your local {label}. We offer {services}. {_words(120)}</p>
<img src="/logo.png" alt="{name} logo"><img src="/photo.jpg">
<a href="mailto:owner{n}@biz{n}.test">Email us</a> <a href="tel:+15550100{n % 100:02d}">Call</a>
<a href="https://www.facebook.com/biz{n}">Facebook</a>
</body></html>"""


ROBOTS_RICH = "User-agent: *\nDisallow: /private/\nSitemap: {base}/sitemap.xml\n"
SITEMAP = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    "<url><loc>{base}/</loc></url><url><loc>{base}/about</loc></url></urlset>"
)
PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@dataclass
class Reply:
    """A canned HTTP response."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    stream_bytes: int = 0  # when set: no content-length, stream this many bytes, then close


def html(text: str, status: int = 200) -> Reply:
    """An HTML reply."""
    return Reply(status=status, body=text.encode())


def redirect(location: str, status: int = 302) -> Reply:
    """A redirect reply."""
    return Reply(status=status, headers={"location": location}, content_type="text/plain")


NOT_FOUND = Reply(status=404, body=b"not found", content_type="text/plain")


def _json(data: Any, status: int = 200) -> Reply:
    return Reply(status=status, body=json.dumps(data).encode(), content_type="application/json")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, addr: tuple[str, int], site: str, owner: SiteServer) -> None:
        super().__init__(addr, _Handler)
        self.site = site
        self.owner = owner
        self.base = ""

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hang up on slow/huge/TLS-rejected responses; that is the point


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        owner, site = self.server.owner, self.server.site
        parts = urlsplit(self.path)
        owner.record(site, parts.path, self.path, {k.lower(): v for k, v in self.headers.items()})
        reply = owner.route(site, self.server.base, parts.path, parse_qs(parts.query), self)
        self._send(reply)

    do_HEAD = do_GET

    def _send(self, reply: Reply) -> None:
        if reply.delay_s:
            time.sleep(reply.delay_s)
        self.send_response(reply.status)
        self.send_header("content-type", reply.content_type)
        for key, value in reply.headers.items():
            self.send_header(key, value)
        if reply.stream_bytes:
            self.send_header("connection", "close")
            self.end_headers()
            chunk = b"<p>" + b"x" * 16_000 + b"</p>\n"
            sent = 0
            try:
                while sent < reply.stream_bytes:
                    self.wfile.write(chunk)
                    sent += len(chunk)
            except OSError:
                pass
            self.close_connection = True
            return
        self.send_header("content-length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)


@dataclass
class SiteServer:
    """Running fixture sites: base URLs by name, request log and helpers."""

    slow_delay_s: float = 3.0
    huge_bytes: int = 3_000_000
    bases: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, str, str, dict[str, str]]] = field(default_factory=list)
    ca: trustme.CA = field(default_factory=trustme.CA)
    flaky_failures: int = 2
    _hits: Counter[tuple[str, str]] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # Helpers for tests ---------------------------------------------------------------
    def url(self, site: str, path: str = "/") -> str:
        """Absolute URL of path on a fixture site."""
        return self.bases[site] + path

    def biz_url(self, n: int) -> str:
        """URL of generated business page n (distinct URLs, so the page cache can't help)."""
        return f"{self.bases['biz']}/{n}"

    def host(self, site: str) -> str:
        """host:port of a site (what a lead's domain column would hold)."""
        return urlsplit(self.bases[site]).netloc

    def api_base(self, api: str) -> str:
        """Base URL for an API emulator, shaped like the real service's base URL setting."""
        base = self.bases[api]
        return base + "/pagespeedonline/v5" if api == "pagespeed" else base

    def hits(self, site: str, path: str | None = None) -> int:
        """Requests a site (or one path on it) received."""
        with self._lock:
            if path is not None:
                return self._hits[(site, path)]
            return sum(n for (s, _), n in self._hits.items() if s == site)

    def client_ssl_context(self) -> ssl.SSLContext:
        """An SSL context that trusts the tls site's certificate authority."""
        ctx = ssl.create_default_context()
        self.ca.configure_trust(ctx)
        return ctx

    def record(self, site: str, path: str, raw: str, headers: dict[str, str]) -> None:
        """Count a request (called from server threads)."""
        with self._lock:
            self._hits[(site, path)] += 1
            self.requests.append((site, path, raw, headers))

    # Routing -------------------------------------------------------------------------
    def route(
        self,
        site: str,
        base: str,
        path: str,
        query: dict[str, list[str]],
        handler: BaseHTTPRequestHandler,
    ) -> Reply:
        """Pick the reply for one request."""
        router: Callable[..., Reply] = getattr(self, f"_site_{site}")
        return router(base, path, query, handler)

    def _site_rich(self, base: str, path: str, query: Any, handler: Any) -> Reply:
        pages = {
            "/": lambda: html(rich_home(base)),
            "/robots.txt": lambda: Reply(
                body=ROBOTS_RICH.format(base=base).encode(), content_type="text/plain"
            ),
            "/sitemap.xml": lambda: Reply(
                body=SITEMAP.format(base=base).encode(), content_type="application/xml"
            ),
            "/about": lambda: html(_page("About Bright Smile Dental", 320)),
            "/services": lambda: html(_page("Bright Smile Dental", 260)),
            "/team": lambda: html(_page("Bright Smile Dental", 240, h1=False)),
            "/thin": lambda: html(_page("Special offers", 40, description=False, h1=False)),
            "/private/secret": lambda: html(_page("Private", 300)),
        }
        page = pages.get(path)
        return page() if page is not None else NOT_FOUND

    def _site_tls(self, base: str, path: str, query: Any, handler: Any) -> Reply:
        return self._site_rich(base, path, query, handler)

    def _site_plain(self, base: str, path: str, query: Any, handler: Any) -> Reply:
        if path == "/":
            return html("<html><head><title>Plain</title></head><body><p>Hello</p></body></html>")
        if path.startswith("/flaky/"):
            if self.hits("plain", path) <= self.flaky_failures:
                return Reply(status=503, body=b"try later", content_type="text/plain")
            return html("<html><head><title>Recovered</title></head><body>ok</body></html>")
        if path == "/ratelimited":
            return Reply(status=429, body=b"slow down", content_type="text/plain")
        if path == "/hop":
            n = int(query.get("n", ["0"])[0])
            return redirect(f"/hop?n={n + 1}") if n < 20 else html("<p>end</p>")
        if path == "/declared-huge":
            return Reply(body=b"x" * (self.huge_bytes + 10))
        return NOT_FOUND

    def _site_slow(self, base: str, path: str, query: Any, handler: Any) -> Reply:
        return Reply(body=b"<html><title>Slow</title></html>", delay_s=self.slow_delay_s)

    def _site_notfound(self, base: str, path: str, query: Any, handler: Any) -> Reply:
        return Reply(status=404, body=b"<html><title>Not found</title></html>")

    def _site_loop(self, base: str, path: str, query: Any, handler: Any) -> Reply:
        if path == "/robots.txt":
            return NOT_FOUND
        return redirect("/b" if path == "/a" else "/a")

    def _site_huge(self, base: str, path: str, query: Any, handler: Any) -> Reply:
        if path == "/robots.txt":
            return NOT_FOUND
        return Reply(stream_bytes=self.huge_bytes)

    def _site_nonhtml(self, base: str, path: str, query: Any, handler: Any) -> Reply:
        if path == "/data.json":
            return _json({"name": "not a web page"})
        if path == "/":
            return Reply(body=PDF_BYTES, content_type="application/pdf")
        return NOT_FOUND

    def _site_blocked(self, base: str, path: str, query: Any, handler: Any) -> Reply:
        if path == "/robots.txt":
            return Reply(body=b"User-agent: *\nDisallow: /\n", content_type="text/plain")
        return html(_page("Blocked", 300))

    def _site_redirect(self, base: str, path: str, query: Any, handler: Any) -> Reply:
        return redirect(self.bases["tls"] + path, status=301)

    def _site_biz(self, base: str, path: str, query: Any, handler: Any) -> Reply:
        if path == "/robots.txt":
            return Reply(body=b"User-agent: *\nAllow: /\n", content_type="text/plain")
        try:
            n = int(path.strip("/") or "0")
        except ValueError:
            return NOT_FOUND
        return html(biz_page(n, base))

    # API emulators -------------------------------------------------------------------
    def _site_screenshotone(self, base: str, path: str, query: Any, handler: Any) -> Reply:
        if path != "/take":
            return NOT_FOUND
        key = handler.headers.get("x-access-key") or query.get("access_key", [""])[0]
        if key != SCREENSHOTONE_KEY:
            return _json(
                {
                    "is_successful": False,
                    "error_code": "access_key_invalid",
                    "error_message": "Access key is invalid.",
                },
                401,
            )
        target = query.get("url", [""])[0]
        if not target:
            return _json(
                {
                    "is_successful": False,
                    "error_code": "request_not_valid",
                    "error_message": "url is required",
                },
                400,
            )
        digest = hashlib.sha256(target.encode()).hexdigest()[:16]
        fmt = query.get("format", ["jpg"])[0]
        if query.get("response_type", ["by_format"])[0] == "json":
            shot = f"{base}/cdn/{digest}.{fmt}"
            return _json({"screenshot_url": shot, "cache_url": shot})
        return Reply(body=b"\xff\xd8\xff\xe0fake-jpeg", content_type="image/jpeg")

    def _site_pagespeed(self, base: str, path: str, query: Any, handler: Any) -> Reply:
        if path != "/pagespeedonline/v5/runPagespeed":
            return NOT_FOUND
        if query.get("key", [""])[0] != PAGESPEED_KEY:
            return _json(
                {
                    "error": {
                        "code": 400,
                        "message": "API key not valid. Please pass a valid API key.",
                        "status": "INVALID_ARGUMENT",
                    }
                },
                400,
            )
        target = query.get("url", [""])[0]
        if not target.startswith(("http://", "https://")):
            return _json(
                {
                    "error": {
                        "code": 400,
                        "message": "Invalid value at 'url'",
                        "status": "INVALID_ARGUMENT",
                    }
                },
                400,
            )
        cats = query.get("category", ["PERFORMANCE"])
        scores = {"performance": 0.87, "accessibility": 0.91, "best-practices": 0.78, "seo": 0.9}
        categories = {
            c.lower().replace("_", "-"): {
                "id": c.lower().replace("_", "-"),
                "title": c.title(),
                "score": scores.get(c.lower().replace("_", "-"), 0.5),
            }
            for c in cats
        }
        audits = {
            "first-contentful-paint": (1234.5, "1.2 s"),
            "largest-contentful-paint": (2450.0, "2.5 s"),
            "total-blocking-time": (120.0, "120 ms"),
            "speed-index": (2100.0, "2.1 s"),
            "interactive": (3300.0, "3.3 s"),
            "cumulative-layout-shift": (0.05, "0.05"),
        }
        return _json(
            {
                "kind": "pagespeedonline#result",
                "captchaResult": "CAPTCHA_NOT_NEEDED",
                "id": target,
                "analysisUTCTimestamp": "2026-11-23T12:00:00.000Z",
                "lighthouseResult": {
                    "requestedUrl": target,
                    "finalUrl": target,
                    "lighthouseVersion": "12.2.0",
                    "configSettings": {"formFactor": query.get("strategy", ["desktop"])[0]},
                    "categories": categories,
                    "audits": {
                        k: {"id": k, "numericValue": v, "displayValue": d, "score": 0.8}
                        for k, (v, d) in audits.items()
                    },
                },
            }
        )

    def _site_semrush(self, base: str, path: str, query: Any, handler: Any) -> Reply:
        text = "text/plain; charset=utf-8"
        if query.get("key", [""])[0] != SEMRUSH_KEY:
            return Reply(body=b"ERROR 120 :: WRONG KEY - ID PAIR", content_type=text)
        if query.get("type", [""])[0] != "domain_ranks":
            return Reply(body=b"ERROR 10 :: UNKNOWN REPORT TYPE", content_type=text)
        domain = query.get("domain", [""])[0]
        if domain.startswith("unknown"):
            return Reply(body=b"ERROR 50 :: NOTHING FOUND", content_type=text)
        names = {
            "Db": ("Database", query.get("database", ["us"])[0]),
            "Dn": ("Domain", domain),
            "Rk": ("Rank", "48213"),
            "Or": ("Organic Keywords", "1520"),
            "Ot": ("Organic Traffic", "8760"),
            "Oc": ("Organic Cost", "12034"),
            "Ad": ("Adwords Keywords", "12"),
            "At": ("Adwords Traffic", "340"),
            "Ac": ("Adwords Cost", "560"),
        }
        cols = query.get("export_columns", ["Db,Dn,Rk,Or,Ot,Oc,Ad,At,Ac"])[0].split(",")
        header = ";".join(names[c][0] for c in cols if c in names)
        row = ";".join(names[c][1] for c in cols if c in names)
        return Reply(body=f"{header}\r\n{row}\r\n".encode(), content_type=text)


SITES: dict[str, str] = {
    "rich": "127.0.0.1",
    "plain": "127.0.0.1",
    "slow": "127.0.0.1",
    "notfound": "127.0.0.1",
    "loop": "127.0.0.1",
    "huge": "127.0.0.1",
    "nonhtml": "127.0.0.1",
    "blocked": "127.0.0.2",
    "redirect": "127.0.0.3",
    "biz": "127.0.0.1",
    "screenshotone": "127.0.0.1",
    "pagespeed": "127.0.0.1",
    "semrush": "127.0.0.1",
}


@contextmanager
def serve_sites(
    *,
    slow_delay_s: float = 3.0,
    huge_bytes: int = 3_000_000,
    flaky_failures: int = 2,
) -> Iterator[SiteServer]:
    """Start every fixture site and API emulator on loopback ephemeral ports; stop on exit."""
    state = SiteServer(slow_delay_s=slow_delay_s, huge_bytes=huge_bytes)
    state.flaky_failures = flaky_failures
    with ExitStack() as stack:
        for site, host in SITES.items():
            server = _Server((host, 0), site, state)
            server.base = f"http://{host}:{server.server_address[1]}"
            state.bases[site] = server.base
            stack.enter_context(_running(server))
        tls = _Server(("127.0.0.1", 0), "tls", state)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        state.ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
        tls.socket = ctx.wrap_socket(tls.socket, server_side=True, do_handshake_on_connect=False)
        tls.base = f"https://127.0.0.1:{tls.server_address[1]}"
        state.bases["tls"] = tls.base
        stack.enter_context(_running(tls))
        yield state


@contextmanager
def _running(server: _Server) -> Iterator[_Server]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
