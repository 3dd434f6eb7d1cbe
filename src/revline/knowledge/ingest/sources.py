"""What can be ingested: local files, directories (walked), URLs and uploaded files."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from revline.kernel.config import Settings
from revline.kernel.errors import InvalidInput, PayloadTooLarge, UnreadableInput
from revline.knowledge.ingest.readers import SUPPORTED, kind_for

Loader = Callable[[], tuple[bytes, str | None]]


@dataclass
class Source:
    """One thing to ingest; `source` is its identity inside a KB (path, URL, upload name)."""

    source: str
    name: str
    load: Loader
    size: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def source_key(source: str) -> str:
    """Fixed-size key for the unique (kb, source) index."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def is_url(value: str) -> bool:
    """http(s) URLs are fetched; everything else is a path."""
    return value.startswith(("http://", "https://"))


def limit_bytes(settings: Settings) -> int:
    """The per-document size limit."""
    return settings.kb_max_upload_mb * 1024 * 1024


def too_large(name: str, size: int, settings: Settings) -> PayloadTooLarge:
    """The one error for every oversize document, API and CLI alike."""
    return PayloadTooLarge(
        f"{name} is {size / 1048576:.1f} MB, over the {settings.kb_max_upload_mb} MB limit "
        "(raise REVLINE_KB_MAX_UPLOAD_MB)"
    )


def _file_source(path: Path, meta: dict[str, Any]) -> Source:
    def load() -> tuple[bytes, str | None]:
        try:
            return path.read_bytes(), None
        except OSError as exc:
            raise UnreadableInput(f"{path}: cannot read ({exc.strerror or exc})") from exc

    return Source(str(path), path.name, load, path.stat().st_size, dict(meta))


def expand_paths(
    paths: list[str], meta: dict[str, Any] | None = None
) -> tuple[list[Source], list[Path], int]:
    """Sources for files, directories (recursive, sorted, hidden entries skipped) and URLs.

    Returns (sources, directories walked, unsupported files skipped inside directories).
    A missing path or an explicitly named unsupported file fails up front.
    """
    meta = meta or {}
    sources: list[Source] = []
    walked: list[Path] = []
    skipped = 0
    seen: set[str] = set()
    for raw in paths:
        if is_url(raw):
            if raw not in seen:
                seen.add(raw)
                sources.append(url_source(raw, meta))
            continue
        path = Path(raw).expanduser().resolve()
        if path.is_dir():
            walked.append(path)
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path).parts
                if any(part.startswith(".") for part in rel) or not child.is_file():
                    continue
                if kind_for(child.name) is None:
                    skipped += 1
                    continue
                if str(child) not in seen:
                    seen.add(str(child))
                    sources.append(_file_source(child, meta))
        elif path.is_file():
            if kind_for(path.name) is None:
                raise InvalidInput(f"{raw}: unsupported file type; supported: {SUPPORTED}")
            if str(path) not in seen:
                seen.add(str(path))
                sources.append(_file_source(path, meta))
        else:
            raise UnreadableInput(f"{raw}: no such file or directory")
    return sources, walked, skipped


def upload_source(name: str, path: Path, meta: dict[str, Any] | None = None) -> Source:
    """An uploaded file saved at `path`; its identity in the KB is its file name."""
    safe = Path(name).name or "upload"
    if kind_for(safe) is None:
        raise InvalidInput(f"{safe}: unsupported file type; supported: {SUPPORTED}")
    source = _file_source(path, meta or {})
    source.source, source.name = safe, safe
    return source


def url_source(url: str, meta: dict[str, Any], settings: Settings | None = None) -> Source:
    """A web page (or a PDF/DOCX behind a URL), fetched with the kernel's polite fetcher."""
    name = Path(urlsplit(url).path).name or "index.html"

    def load() -> tuple[bytes, str | None]:
        from revline.kernel.config import get_settings

        return fetch_url(settings or get_settings(), url)

    return Source(url, name, load, None, dict(meta))


def fetch_url(settings: Settings, url: str) -> tuple[bytes, str | None]:
    """GET the URL (robots.txt, retries, size cap); the kind comes from the content type."""
    if settings.offline == "true":
        raise UnreadableInput(f"{url}: REVLINE_OFFLINE=true, not fetching web pages")
    from revline.kernel.http import PoliteFetcher, make_client

    async def run() -> Any:
        async with make_client(settings) as client:
            fetcher = PoliteFetcher(client, settings)
            try:
                return await fetcher.fetch(url, use_cache=False, max_bytes=limit_bytes(settings))
            finally:
                fetcher.close()

    result = asyncio.run(run())
    if result.error == "too_large":
        raise too_large(url, limit_bytes(settings) + 1, settings)
    if result.error is not None:
        raise UnreadableInput(f"{url}: {result.error} ({result.error_detail})")
    if not result.ok:
        raise UnreadableInput(f"{url}: HTTP {result.status_code}")
    ctype = result.content_type
    if ctype == "application/pdf":
        return result.body, "pdf"
    if "wordprocessingml" in ctype:
        return result.body, "docx"
    if ctype in ("text/plain",):
        return result.body, "text"
    if ctype in ("text/markdown", "text/x-markdown"):
        return result.body, "markdown"
    if ctype and "html" not in ctype and "xml" not in ctype:
        raise UnreadableInput(f"{url}: unsupported content type {ctype}")
    return result.text().encode("utf-8"), "html"
