"""A small SQLite-file TTL cache for fetched pages and lookups, so re-runs don't refetch.

Keys are namespaced with a prefix ("page:", "dns:", "robots:"); the part before the first ":"
is the namespace used by stats() and clear(). Values are bytes (stored raw) or anything JSON
can encode. One connection guarded by a lock: safe for threads and asyncio tasks in one process.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cache_entries (
    key TEXT PRIMARY KEY,
    ns TEXT NOT NULL,
    value BLOB NOT NULL,
    is_json INTEGER NOT NULL,
    expires_at REAL NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_cache_entries_ns ON cache_entries (ns);
CREATE INDEX IF NOT EXISTS ix_cache_entries_expires ON cache_entries (expires_at);
"""


def namespace_of(key: str) -> str:
    """The namespace of a key: the text before the first ':' ("" when there is none)."""
    ns, sep, _ = key.partition(":")
    return ns if sep else ""


class TTLCache:
    """Key/value cache in its own SQLite file (WAL) with per-entry expiry."""

    def __init__(
        self,
        path: Path,
        default_ttl_s: int,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.default_ttl_s = default_ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._hits: Counter[str] = Counter()
        self._misses: Counter[str] = Counter()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn: sqlite3.Connection | None = sqlite3.connect(
            str(self.path), check_same_thread=False, isolation_level=None, timeout=30.0
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)

    # Lifecycle ------------------------------------------------------------------------
    def close(self) -> None:
        """Close the SQLite connection; further calls raise."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> TTLCache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError(f"TTLCache {self.path} is closed")
        return self._conn

    # Operations -----------------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        """The live value for key (bytes or decoded JSON), else default; counts a hit or miss."""
        ns = namespace_of(key)
        with self._lock:
            row = self._db.execute(
                "SELECT value, is_json, expires_at FROM cache_entries WHERE key = ?", (key,)
            ).fetchone()
            if row is None or row[2] <= self._clock():
                self._misses[ns] += 1
                return default
            self._hits[ns] += 1
        value, is_json, _ = row
        return json.loads(value) if is_json else bytes(value)

    def set(self, key: str, value: Any, ttl_s: float | None = None) -> None:
        """Store value under key for ttl_s seconds (default_ttl_s when None)."""
        if isinstance(value, bytes | bytearray | memoryview):
            blob, is_json = bytes(value), 0
        else:
            blob, is_json = json.dumps(value, separators=(",", ":")).encode(), 1
        now = self._clock()
        expires = now + (self.default_ttl_s if ttl_s is None else ttl_s)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO cache_entries (key, ns, value, is_json, expires_at, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (key, namespace_of(key), blob, is_json, expires, now),
            )

    def delete(self, key: str) -> bool:
        """Remove key; True when something was removed."""
        with self._lock:
            cur = self._db.execute("DELETE FROM cache_entries WHERE key = ?", (key,))
        return cur.rowcount > 0

    def clear(self, namespace: str | None = None) -> int:
        """Remove every entry (or only one namespace's); returns how many were removed."""
        with self._lock:
            if namespace is None:
                cur = self._db.execute("DELETE FROM cache_entries")
            else:
                cur = self._db.execute(
                    "DELETE FROM cache_entries WHERE ns = ?", (namespace.rstrip(":"),)
                )
        return cur.rowcount

    def purge_expired(self) -> int:
        """Drop expired entries so the file does not grow forever; returns how many."""
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM cache_entries WHERE expires_at <= ?", (self._clock(),)
            )
        return cur.rowcount

    def stats(self) -> dict[str, Any]:
        """Entries, expired, bytes and this process's hits/misses, in total and by namespace."""
        now = self._clock()
        with self._lock:
            rows = self._db.execute(
                "SELECT ns, COUNT(*), SUM(CASE WHEN expires_at <= ? THEN 1 ELSE 0 END), "
                "COALESCE(SUM(LENGTH(value)), 0) FROM cache_entries GROUP BY ns",
                (now,),
            ).fetchall()
            hits, misses = Counter(self._hits), Counter(self._misses)
        by_ns: dict[str, dict[str, int]] = {}
        for ns, entries, expired, size in rows:
            by_ns[ns] = {"entries": entries, "expired": expired, "bytes": size}
        for ns in set(hits) | set(misses):
            by_ns.setdefault(ns, {"entries": 0, "expired": 0, "bytes": 0})
        for ns, item in by_ns.items():
            item["hits"] = hits[ns]
            item["misses"] = misses[ns]
        return {
            "path": str(self.path),
            "entries": sum(v["entries"] for v in by_ns.values()),
            "expired": sum(v["expired"] for v in by_ns.values()),
            "bytes": sum(v["bytes"] for v in by_ns.values()),
            "hits": sum(hits.values()),
            "misses": sum(misses.values()),
            "namespaces": by_ns,
        }
