"""TTLCache: SQLite-backed, namespaced, expiring key/value store."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from revline.kernel.cache import TTLCache, namespace_of


class FakeClock:
    """Manually advanced time source."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def cache(tmp_path: Path, clock: FakeClock) -> Iterator[TTLCache]:
    c = TTLCache(tmp_path / "sub" / "cache.db", default_ttl_s=60, clock=clock)
    yield c
    c.close()


def test_bytes_and_json_round_trip(cache: TTLCache) -> None:
    cache.set("page:http://a/", b"\x00<html>\xff")
    cache.set("dns:a.test", {"a": ["1.2.3.4"], "ok": True})
    cache.set("robots:x", None)
    assert cache.get("page:http://a/") == b"\x00<html>\xff"
    assert isinstance(cache.get("page:http://a/"), bytes)
    assert cache.get("dns:a.test") == {"a": ["1.2.3.4"], "ok": True}
    assert cache.get("robots:x", "sentinel") is None  # a stored null is a hit, not the default
    assert cache.get("missing:x", "dflt") == "dflt"


def test_expiry_default_and_explicit_ttl(cache: TTLCache, clock: FakeClock) -> None:
    cache.set("page:a", b"a")  # default 60 s
    cache.set("page:b", b"b", ttl_s=5)
    clock.now += 10
    assert cache.get("page:a") == b"a"
    assert cache.get("page:b") is None
    clock.now += 60
    assert cache.get("page:a") is None
    stats = cache.stats()
    assert stats["entries"] == 2
    assert stats["expired"] == 2
    assert cache.purge_expired() == 2
    assert cache.stats()["entries"] == 0


def test_overwrite_and_delete(cache: TTLCache) -> None:
    cache.set("dns:a", [1])
    cache.set("dns:a", [2])
    assert cache.get("dns:a") == [2]
    assert cache.delete("dns:a") is True
    assert cache.delete("dns:a") is False
    assert cache.get("dns:a") is None


def test_stats_by_namespace_counts_hits_misses_and_bytes(cache: TTLCache) -> None:
    cache.set("page:1", b"x" * 100)
    cache.set("page:2", b"y" * 50)
    cache.set("dns:a", "1.2.3.4")
    cache.get("page:1")
    cache.get("page:1")
    cache.get("page:nope")
    cache.get("dns:b")
    stats = cache.stats()
    assert stats["entries"] == 3
    assert stats["hits"] == 2
    assert stats["misses"] == 2
    page = stats["namespaces"]["page"]
    assert page == {"entries": 2, "expired": 0, "bytes": 150, "hits": 2, "misses": 1}
    assert stats["namespaces"]["dns"]["misses"] == 1
    assert stats["namespaces"]["dns"]["bytes"] == len('"1.2.3.4"')
    assert stats["bytes"] == 150 + len('"1.2.3.4"')


def test_clear_one_namespace_or_all(cache: TTLCache) -> None:
    for i in range(3):
        cache.set(f"page:{i}", b"p")
    cache.set("robots:h", "User-agent: *")
    assert cache.clear("page") == 3
    assert cache.get("robots:h") == "User-agent: *"
    cache.set("page:9", b"p")
    assert cache.clear("page:") == 1  # trailing colon accepted
    assert cache.clear() == 1
    assert cache.stats()["entries"] == 0


def test_namespace_of() -> None:
    assert namespace_of("page:http://x/") == "page"
    assert namespace_of("plain") == ""


def test_persists_across_instances_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    with TTLCache(path, default_ttl_s=3600) as first:
        first.set("page:u", b"body")
    with TTLCache(path, default_ttl_s=3600) as second:
        assert second.get("page:u") == b"body"
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_closed_cache_raises(tmp_path: Path) -> None:
    c = TTLCache(tmp_path / "c.db", default_ttl_s=10)
    c.close()
    c.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        c.get("page:x")


def test_threads_share_one_cache(cache: TTLCache) -> None:
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(50):
                cache.set(f"page:{n}:{i}", {"n": n, "i": i})
                assert cache.get(f"page:{n}:{i}") == {"n": n, "i": i}
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert cache.stats()["namespaces"]["page"]["entries"] == 400
