"""Tier-3 SEO crawl: breadth-first over internal pages, then on-page checks across them."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

from revline.kernel.http import FetchResult, PoliteFetcher
from revline.leads.enrich.extract import PageFacts
from revline.leads.enrich.network import same_site

THIN_WORDS = 200
MAX_LISTED = 10
_SKIP_EXTENSIONS = (
    ".jpg",
    ".jpeg",
    ".png",
    ".gif",
    ".svg",
    ".webp",
    ".ico",
    ".css",
    ".js",
    ".zip",
    ".mp4",
    ".mp3",
    ".woff",
    ".woff2",
)

ParseFn = Callable[[FetchResult], PageFacts | None]


def _crawlable(url: str) -> bool:
    path = url.split("?", 1)[0].lower()
    return not path.endswith(_SKIP_EXTENSIONS)


async def crawl_site(
    fetcher: PoliteFetcher,
    home: FetchResult,
    home_facts: PageFacts,
    max_pages: int,
    parse: ParseFn,
) -> dict[str, Any]:
    """Crawl up to max_pages pages of the home page's site (home included) and report issues.

    Keys: pages_crawled, broken_links (count of internal URLs answering >=400 or not at all),
    broken_urls (first 10), blocked_by_robots, missing_titles, duplicate_titles (pages sharing
    a title with another page), missing_meta_descriptions, missing_h1, thin_pages
    (< 200 words), avg_words, pages (url/status/title/words of each crawled page).
    """
    root = home.final_url or home.url
    visited: set[str] = {home.url, root}
    queue: list[str] = []
    pages: list[dict[str, Any]] = [
        {
            "url": root,
            "status": home.status_code,
            "title": home_facts.title,
            "words": home_facts.word_count,
        }
    ]
    html_pages: list[PageFacts] = [home_facts]
    broken: list[str] = []
    blocked = 0

    def enqueue(links: list[str]) -> None:
        for link in links:
            if link not in visited and _crawlable(link) and same_site(link, root):
                visited.add(link)
                queue.append(link)

    enqueue(home_facts.links)
    while queue and len(pages) < max_pages:
        take = max_pages - len(pages)
        batch = queue[:take]
        del queue[:take]
        results = await asyncio.gather(*(fetcher.fetch(url) for url in batch))
        for url, res in zip(batch, results, strict=True):
            if res.error == "blocked_by_robots":
                blocked += 1
                continue
            visited.add(res.final_url)
            entry: dict[str, Any] = {"url": url, "status": res.status_code, "title": "", "words": 0}
            pages.append(entry)
            if not res.ok:
                broken.append(url)
                entry["error"] = res.error or f"HTTP {res.status_code}"
                continue
            facts = parse(res)
            if facts is None:
                continue
            entry["title"], entry["words"] = facts.title, facts.word_count
            html_pages.append(facts)
            enqueue(facts.links)

    titles = Counter(p.title for p in html_pages if p.title)
    words = [p.word_count for p in html_pages]
    return {
        "pages_crawled": len(pages),
        "broken_links": len(broken),
        "broken_urls": broken[:MAX_LISTED],
        "blocked_by_robots": blocked,
        "missing_titles": sum(1 for p in html_pages if not p.title),
        "duplicate_titles": sum(1 for p in html_pages if p.title and titles[p.title] > 1),
        "missing_meta_descriptions": sum(1 for p in html_pages if not p.meta_description),
        "missing_h1": sum(1 for p in html_pages if p.h1_count == 0),
        "thin_pages": sum(1 for p in html_pages if p.word_count < THIN_WORDS),
        "avg_words": round(sum(words) / len(words), 1) if words else 0.0,
        "pages": pages,
    }
