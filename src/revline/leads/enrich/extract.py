"""Facts from one HTML page: one selectolax parse plus at most one extruct call.

Everything the enricher, the audit and the SEO crawl need is collected in a single pass over
the tree, because parsing dominates enrichment cost at thousands of leads per minute.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import extruct
from selectolax.lexbor import LexborHTMLParser

EXCERPT_CHARS = 1500
MAX_EMAILS = 10
MAX_PHONES = 10
MAX_LINKS = 500

SOCIAL_HOSTS: dict[str, str] = {
    "facebook.com": "facebook",
    "fb.com": "facebook",
    "linkedin.com": "linkedin",
    "instagram.com": "instagram",
    "x.com": "x",
    "twitter.com": "x",
    "youtube.com": "youtube",
    "tiktok.com": "tiktok",
    "pinterest.com": "pinterest",
}

# Types that say nothing about what a business does, so they are not category hints.
GENERIC_TYPES = frozenset(
    {
        "Organization",
        "WebSite",
        "WebPage",
        "PostalAddress",
        "ImageObject",
        "BreadcrumbList",
        "ListItem",
        "SearchAction",
        "EntryPoint",
        "Person",
        "ContactPoint",
        "GeoCoordinates",
        "OpeningHoursSpecification",
        "Place",
        "Thing",
        "SiteNavigationElement",
        "ItemList",
        "Offer",
        "AggregateRating",
        "Rating",
        "Review",
    }
)

_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,24}")
_WS_RE = re.compile(r"\s+")
_NOT_EMAIL_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".css", ".js")
_INVISIBLE = ["script", "style", "noscript", "template", "svg", "iframe", "head"]


@dataclass
class PageFacts:
    """What one page says about the business and how it is built."""

    title: str = ""
    meta_description: str = ""
    meta_keywords: list[str] = field(default_factory=list)
    og: dict[str, str] = field(default_factory=dict)
    structured_types: list[str] = field(default_factory=list)
    category_hints: list[str] = field(default_factory=list)
    social: dict[str, str] = field(default_factory=dict)
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    text_excerpt: str = ""
    word_count: int = 0
    links: list[str] = field(default_factory=list)  # absolute http(s) URLs, no fragment, deduped
    scripts: int = 0
    stylesheets: int = 0
    images: int = 0
    images_missing_alt: int = 0
    has_viewport: bool = False
    h1_count: int = 0
    mixed_content: int = 0


def _clean(text: str | None) -> str:
    return _WS_RE.sub(" ", text or "").strip()


def _add_unique(items: list[str], value: str, cap: int) -> None:
    if value and value not in items and len(items) < cap:
        items.append(value)


def _social_network(url: str) -> str | None:
    host = (urlsplit(url).hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    for suffix, network in SOCIAL_HOSTS.items():
        if host == suffix or host.endswith("." + suffix):
            return network
    return None


def _clean_email(raw: str) -> str:
    email = unquote(raw).split("?", 1)[0].strip().strip(".,;:").lower()
    if "@" not in email or email.endswith(_NOT_EMAIL_SUFFIXES) or not _EMAIL_RE.fullmatch(email):
        return ""
    return email


def parse_page(html: str, base_url: str) -> PageFacts:
    """Parse one page into PageFacts; tolerant of broken markup, never raises on content."""
    facts = PageFacts()
    tree = LexborHTMLParser(html)
    https = base_url.lower().startswith("https://")

    title = tree.css_first("title")
    facts.title = _clean(title.text()) if title is not None else ""
    for meta in tree.css("meta"):
        attrs = meta.attributes
        content = _clean(attrs.get("content"))
        name = (attrs.get("name") or attrs.get("property") or "").strip().lower()
        if name == "description" and not facts.meta_description:
            facts.meta_description = content
        elif name == "keywords" and content:
            facts.meta_keywords = [k.strip() for k in content.split(",") if k.strip()][:20]
        elif name == "viewport":
            facts.has_viewport = True
        elif name.startswith("og:") and content:
            facts.og.setdefault(name[3:], content)

    seen_links: set[str] = set()
    for a in tree.css("a[href]"):
        href = (a.attributes.get("href") or "").strip()
        low = href.lower()
        if low.startswith("mailto:"):
            _add_unique(facts.emails, _clean_email(href[7:]), MAX_EMAILS)
            continue
        if low.startswith("tel:"):
            _add_unique(facts.phones, unquote(href[4:]).strip(), MAX_PHONES)
            continue
        if low.startswith(("javascript:", "#", "data:")) or not href:
            continue
        url = urljoin(base_url, href).split("#", 1)[0]
        if not url.lower().startswith(("http://", "https://")):
            continue
        network = _social_network(url)
        if network is not None:
            facts.social.setdefault(network, url)
        elif url not in seen_links and len(facts.links) < MAX_LINKS:
            seen_links.add(url)
            facts.links.append(url)

    for script in tree.css("script"):
        kind = (script.attributes.get("type") or "").lower()
        if "json" not in kind:
            facts.scripts += 1
            if https and (script.attributes.get("src") or "").lower().startswith("http://"):
                facts.mixed_content += 1
    for link in tree.css("link[href]"):
        rel = (link.attributes.get("rel") or "").lower()
        if "stylesheet" in rel:
            facts.stylesheets += 1
            if https and (link.attributes.get("href") or "").lower().startswith("http://"):
                facts.mixed_content += 1
    for img in tree.css("img"):
        facts.images += 1
        if "alt" not in img.attributes:
            facts.images_missing_alt += 1
        if https and (img.attributes.get("src") or "").lower().startswith("http://"):
            facts.mixed_content += 1
    if https:
        for node in tree.css("iframe[src], source[src], video[src], audio[src]"):
            if (node.attributes.get("src") or "").lower().startswith("http://"):
                facts.mixed_content += 1
    facts.h1_count = len(tree.css("h1"))

    tree.strip_tags(_INVISIBLE)
    root = tree.body or tree.root
    text = _clean(root.text(separator=" ")) if root is not None else ""
    facts.word_count = len(text.split())
    facts.text_excerpt = text[:EXCERPT_CHARS]
    for match in _EMAIL_RE.findall(text):
        _add_unique(facts.emails, _clean_email(match), MAX_EMAILS)

    _structured(html, base_url, facts)
    facts.category_hints = _category_hints(facts)
    return facts


def _structured(html: str, base_url: str, facts: PageFacts) -> None:
    """Schema.org types, phones, emails and sameAs links via one extruct call."""
    low = html.lower()
    syntaxes = []
    if "application/ld+json" in low:
        syntaxes.append("json-ld")
    if "itemscope" in low:
        syntaxes.append("microdata")
    types: list[str] = []
    if syntaxes:
        try:
            data = extruct.extract(
                html, base_url=base_url, syntaxes=syntaxes, uniform=True, errors="ignore"
            )
        except Exception:  # extruct raises on odd markup; structured data is optional
            data = {}
        for syntax in syntaxes:
            for item in data.get(syntax) or []:
                _walk_item(item, types, facts, depth=0)
    if facts.og.get("type"):
        _add_unique(types, f"og:{facts.og['type']}", 30)
    facts.structured_types = types


def _walk_item(item: Any, types: list[str], facts: PageFacts, depth: int) -> None:
    if not isinstance(item, dict) or depth > 3:
        return
    for graph_item in item.get("@graph") or []:
        _walk_item(graph_item, types, facts, depth + 1)
    raw_type = item.get("@type")
    for t in raw_type if isinstance(raw_type, list) else [raw_type]:
        if isinstance(t, str) and t:
            _add_unique(types, t.rsplit("/", 1)[-1], 30)
    for key in ("telephone", "phone"):
        value = item.get(key)
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, str):
                _add_unique(facts.phones, v.strip(), MAX_PHONES)
    email = item.get("email")
    if isinstance(email, str):
        _add_unique(facts.emails, _clean_email(email.removeprefix("mailto:")), MAX_EMAILS)
    same_as = item.get("sameAs")
    for url in same_as if isinstance(same_as, list) else [same_as]:
        if isinstance(url, str):
            network = _social_network(url)
            if network is not None:
                facts.social.setdefault(network, url)
    if depth == 0:
        for value in item.values():
            if isinstance(value, dict) and value.get("@type") and not value.get("@graph"):
                _walk_nested_contacts(value, facts)


def _walk_nested_contacts(item: dict[str, Any], facts: PageFacts) -> None:
    phone = item.get("telephone")
    if isinstance(phone, str):
        _add_unique(facts.phones, phone.strip(), MAX_PHONES)


def _category_hints(facts: PageFacts) -> list[str]:
    hints: list[str] = []
    for t in facts.structured_types:
        if not t.startswith("og:") and t not in GENERIC_TYPES:
            _add_unique(hints, t, 20)
    for keyword in facts.meta_keywords:
        _add_unique(hints, keyword, 20)
    return hints


def looks_like_html(content_type: str, body: bytes) -> bool:
    """HTML by declared type, or by sniffing when the server sent no usable type."""
    if content_type in ("text/html", "application/xhtml+xml"):
        return True
    if content_type and content_type not in ("text/plain", "application/octet-stream"):
        return False
    head = body[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<head" in head
