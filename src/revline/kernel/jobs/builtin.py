"""Kernel housekeeping jobs."""

from __future__ import annotations

from datetime import timedelta

from revline.kernel.jobs.app import periodic, task


@task("kernel.ping")
def ping(value: str) -> str:
    """Round-trip check used by readiness probes and worker tests."""
    return f"pong:{value}"


@task("kernel.purge_cache")
def purge_cache() -> int:
    """Drop expired entries from the fetch/lookup cache."""
    from revline.kernel.cache import TTLCache
    from revline.kernel.config import get_settings

    settings = get_settings()
    cache = TTLCache(settings.effective_cache_path, settings.cache_ttl_s)
    try:
        return int(cache.purge_expired())
    finally:
        cache.close()


periodic("purge-cache-hourly", "kernel.purge_cache", timedelta(hours=1))
