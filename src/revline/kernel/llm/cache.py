"""Exact-match response cache: the key, and the admin side (stats, clear, purge).

Lookups and writes happen on the hot path in `store.py`; entries live in the database, so
every process and worker shares them, and each tenant only ever sees its own.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from revline.kernel.db.base import utcnow
from revline.kernel.llm.models import LLMCacheEntry
from revline.kernel.llm.types import Message


def cache_key(
    model: str,
    messages: list[Message],
    temperature: float,
    max_tokens: int,
    json_mode: bool,
    schema: dict[str, Any] | None = None,
) -> str:
    """sha256 of everything that changes the answer (the tenant is a separate column)."""
    blob = json.dumps(
        [model, messages, temperature, max_tokens, json_mode, schema],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def cache_stats(session: Session, tenant_id: uuid.UUID) -> dict[str, int]:
    """Live and expired entries of one tenant."""
    now = utcnow()
    base = select(func.count()).select_from(LLMCacheEntry).where(
        LLMCacheEntry.tenant_id == tenant_id
    )
    total = session.scalar(base) or 0
    expired = session.scalar(base.where(LLMCacheEntry.expires_at <= now)) or 0
    return {"entries": total, "live": total - expired, "expired": expired}


def cache_clear(session: Session, tenant_id: uuid.UUID, expired_only: bool = False) -> int:
    """Delete a tenant's entries (or only the expired ones); returns how many."""
    stmt = delete(LLMCacheEntry).where(LLMCacheEntry.tenant_id == tenant_id)
    if expired_only:
        stmt = stmt.where(LLMCacheEntry.expires_at <= utcnow())
    return int(session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]
