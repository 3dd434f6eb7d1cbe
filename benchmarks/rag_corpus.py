"""A labelled retrieval corpus from the manual pages that Debian packages install.

Each page's NAME line ("ls - list directory contents") becomes a query: only the words after
the dash, so the command's name is not in it. The page's other sections (SYNOPSIS,
DESCRIPTION, OPTIONS, ...) become the document, with the NAME section cut out, so a query
and its answer come from different fields and share only the words the author repeated.
Pages whose description is shared with another page (aliases such as dir/vdir/ls) are
dropped, since they have no single right answer. Used by rag_retrieval.py and rag_latency.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# Packages present on every Debian machine with these tools; their pages are the corpus.
PACKAGES = (
    "coreutils", "util-linux", "findutils", "diffutils", "procps", "openssh-client", "man-db",
    "tar", "gzip", "bzip2", "xz-utils", "sed", "grep", "bsdutils", "e2fsprogs", "passwd",
    "login", "mount", "dpkg", "apt", "psmisc", "less", "file", "iproute2", "openssl",
)
MAX_CHARS = 12_000  # keep the first sections of very long pages; bounds ingest time
_PAGE = re.compile(r"^/usr/share/man/man[18]/[^/]+\.gz$")
_DASH = re.compile(r"\s+[-\u2010\u2013\u2014]+\s+")


@dataclass(frozen=True)
class Page:
    """One manual page split into a query (its NAME description) and a document body."""

    name: str
    query: str
    body: str


def installed_pages(packages: tuple[str, ...] = PACKAGES) -> list[Path]:
    """Real (non-symlink) section 1 and 8 pages of the packages, sorted."""
    found: set[Path] = set()
    for package in packages:
        listing = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True,
                                 check=False).stdout.split()
        for item in listing:
            path = Path(item)
            if _PAGE.match(item) and path.is_file() and not path.is_symlink():
                found.add(path)
    return sorted(found)


def render(path: Path) -> str:
    """The page as plain text, 100 columns, no hyphenation or justification."""
    env = {**os.environ, "MANWIDTH": "100", "LANG": "C.UTF-8", "MAN_KEEP_FORMATTING": ""}
    result = subprocess.run(["man", "--nh", "--nj", "-l", "-P", "cat", str(path)],
                            capture_output=True, text=True, env=env, check=False, timeout=60)
    return result.stdout


def split_page(path: Path, text: str) -> Page | None:
    """Cut the NAME section out; None when the page has no usable description."""
    lines = text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == "NAME")
    except StopIteration:
        return None
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end][:1] == " "):
        end += 1
    name_text = " ".join(" ".join(lines[start + 1:end]).split())
    parts = _DASH.split(name_text, maxsplit=1)
    if len(parts) != 2:
        return None
    query = parts[1].strip().rstrip(".")
    body = "\n".join(lines[:start] + lines[end:]).strip()
    if len(query.split()) < 3 or len(body) < 400:
        return None
    stem = path.name.removesuffix(".gz")
    return Page(stem, query, body[:MAX_CHARS])


def build_corpus(folder: Path, limit: int | None = None, workers: int = 2) -> list[Page]:
    """Render pages into folder/<page>.txt and return the labelled pages (deterministic)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = installed_pages()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        texts = list(pool.map(render, paths))
    pages = [p for p in (split_page(path, text) for path, text in zip(paths, texts, strict=True))
             if p is not None]
    seen: dict[str, int] = {}
    for page in pages:
        key = page.query.lower()
        seen[key] = seen.get(key, 0) + 1
    pages = [p for p in pages if seen[p.query.lower()] == 1]
    if limit is not None and len(pages) > limit:
        # An even spread over the sorted list, so every package keeps some pages.
        step = len(pages) / limit
        pages = [pages[int(i * step)] for i in range(limit)]
    for page in pages:
        (folder / f"{page.name}.txt").write_text(page.body + "\n", encoding="utf-8")
    return pages


@contextmanager
def bench_home(given: Path | None, prefix: str) -> Iterator[Path]:
    """A REVLINE_HOME with the embedded defaults (SQLite, LanceDB); temporary unless given."""
    home = given or Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["REVLINE_HOME"] = str(home)
    os.environ.pop("REVLINE_DATABASE_URL", None)
    os.environ["REVLINE_KB_VECTOR_BACKEND"] = "lancedb"
    try:
        yield home
    finally:
        if given is None:
            shutil.rmtree(home, ignore_errors=True)
