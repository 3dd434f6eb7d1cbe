"""The bundled pattern library on disk and its manifest of content hashes."""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from revline.kernel.config import Settings
from revline.knowledge.patterns.schema import content_sha256, validate_pattern

log = logging.getLogger(__name__)
BUNDLED_DIR = Path(__file__).resolve().parents[1] / "data" / "patterns"


@dataclass(frozen=True)
class Library:
    """Valid patterns by id, their hashes, the files that failed, and the library hash."""

    directory: Path
    patterns: dict[str, dict[str, Any]] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def sha256(self) -> str:
        """One hash for the whole manifest: equal means nothing to apply."""
        manifest = "\n".join(f"{pid}:{sha}" for pid, sha in sorted(self.hashes.items()))
        return hashlib.sha256(manifest.encode()).hexdigest()


def library_dir(settings: Settings) -> Path:
    """kb_patterns_dir, else the patterns shipped in the package."""
    return settings.kb_patterns_dir or BUNDLED_DIR


def _signature(directory: Path) -> tuple[tuple[str, int, int], ...]:
    if not directory.is_dir():
        return ()
    files = sorted(p for p in directory.iterdir() if p.suffix in (".yml", ".yaml"))
    return tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files)


def read_library(directory: Path) -> Library:
    """Parse and validate every *.yml/*.yaml file; invalid files are listed, not fatal."""
    library = Library(directory)
    for name, _, _ in _signature(directory):
        path = directory / name
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            library.errors.append(f"{name}: unreadable ({str(exc).splitlines()[0]})")
            continue
        problems = validate_pattern(data, stem=path.stem)
        if problems:
            library.errors.extend(f"{name}: {p}" for p in problems)
            continue
        assert isinstance(data, dict)
        if data["id"] in library.patterns:
            library.errors.append(f"{name}: duplicate id {data['id']!r}")
            continue
        library.patterns[data["id"]] = data
        library.hashes[data["id"]] = content_sha256(data)
    return library


_cache: dict[Path, tuple[tuple[tuple[str, int, int], ...], Library]] = {}
_lock = threading.Lock()


def load_library(settings: Settings) -> Library:
    """The library, re-read only when a file was added, removed or changed."""
    directory = library_dir(settings)
    signature = _signature(directory)
    with _lock:
        cached = _cache.get(directory)
        if cached is not None and cached[0] == signature:
            return cached[1]
    library = read_library(directory)
    for error in library.errors:
        log.warning("pattern library: %s", error)
    with _lock:
        _cache[directory] = (signature, library)
    return library
