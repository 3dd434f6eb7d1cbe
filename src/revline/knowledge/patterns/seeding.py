"""Per-tenant seeding of the bundled patterns: idempotent, differential, concurrency-safe.

The tenant's `kb_pattern_seeds` row holds the manifest (pattern id -> content hash) that
was applied. An upgrade compares the library with that manifest, not with the rows, so it
adds new patterns, updates changed ones and deletes removed ones, while the tenant's own
edits (origin "user") and deletions of bundled patterns are respected.

The seed row is also the lock: `INSERT ... ON CONFLICT DO UPDATE` on it takes a row lock
on PostgreSQL and the database write lock on SQLite (what `BEGIN IMMEDIATE` would take),
held until the caller commits. A second process blocks there, then sees the manifest is
current and does nothing.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from revline.kernel.config import Settings
from revline.kernel.db.base import utcnow
from revline.knowledge.models import Pattern, PatternSeed
from revline.knowledge.patterns.library import Library, load_library
from revline.knowledge.repository import PatternRepository, PatternSeedRepository


@dataclass
class SeedReport:
    """What one seeding pass changed."""

    library_sha256: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    kept_user: list[str] = field(default_factory=list)
    up_to_date: bool = False
    deleted_rows: list[uuid.UUID] = field(default_factory=list)  # to drop from the index

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {k: v for k, v in self.__dict__.items() if k != "deleted_rows"}


# (tenant, library hash) pairs this process has already seen seeded: skips even the SELECT.
_seeded: set[tuple[uuid.UUID, str]] = set()
_seeded_lock = threading.Lock()


def _lock_seed_row(session: Session, tenant_id: uuid.UUID) -> None:
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    now = utcnow()
    stmt = insert(PatternSeed).values(
        id=uuid.uuid4(), tenant_id=tenant_id, library_sha256="", manifest={}, lock_version=0,
        created_at=now, updated_at=now,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["tenant_id"],
        set_={"lock_version": PatternSeed.lock_version + 1, "updated_at": now},
    )
    session.execute(stmt)


def _fields(pattern: dict[str, Any], sha: str) -> dict[str, Any]:
    return {
        "name": str(pattern["name"])[:300],
        "mode": str(pattern["mode"]),
        "category": str(pattern["category"])[:50],
        "description": str(pattern.get("description", "")),
        "tags": [str(t) for t in pattern.get("tags") or []],
        "body": pattern,
        "content_sha256": sha,
    }


def apply_library(session: Session, tenant_id: uuid.UUID, library: Library) -> SeedReport:
    """Bring the tenant to `library` (caller holds the lock); returns what changed."""
    report = SeedReport(library.sha256)
    seed = session.execute(
        select(PatternSeed).where(PatternSeed.tenant_id == tenant_id)
        .execution_options(populate_existing=True)
    ).scalar_one()
    if seed.library_sha256 == library.sha256:
        report.up_to_date = True
        return report
    old: dict[str, str] = dict(seed.manifest or {})
    rows = {
        row.pattern_id: row
        for row in session.scalars(
            select(Pattern).where(Pattern.tenant_id == tenant_id)
            .execution_options(populate_existing=True)
        )
    }
    for pid, sha in sorted(library.hashes.items()):
        row = rows.get(pid)
        if row is None:
            if pid in old:
                continue  # the tenant deleted this bundled pattern; keep it deleted
            session.add(Pattern(tenant_id=tenant_id, pattern_id=pid, origin="bundled",
                                **_fields(library.patterns[pid], sha)))
            report.added.append(pid)
        elif row.origin != "bundled":
            report.kept_user.append(pid)
        elif row.content_sha256 != sha:
            for name, value in _fields(library.patterns[pid], sha).items():
                setattr(row, name, value)
            report.updated.append(pid)
    for pid in sorted(set(old) - set(library.hashes)):
        row = rows.get(pid)
        if row is not None and row.origin == "bundled":
            session.delete(row)
            report.deleted.append(pid)
            report.deleted_rows.append(row.id)
    seed.manifest = dict(library.hashes)
    seed.library_sha256 = library.sha256
    session.flush()
    return report


def seed_patterns(
    session: Session, settings: Settings, tenant_id: uuid.UUID, force: bool = False
) -> SeedReport:
    """Seed or upgrade one tenant; cheap when already current (one SELECT, no lock)."""
    library = load_library(settings)
    if not force:
        current = PatternSeedRepository(session, tenant_id).current()
        if current is not None and current.library_sha256 == library.sha256:
            return SeedReport(library.sha256, up_to_date=True)
    _lock_seed_row(session, tenant_id)
    return apply_library(session, tenant_id, library)


def ensure_seeded(session: Session, settings: Settings, tenant_id: uuid.UUID) -> SeedReport | None:
    """First-use hook: seed once per process and tenant (None when already done here)."""
    library = load_library(settings)
    key = (tenant_id, library.sha256)
    with _seeded_lock:
        if key in _seeded:
            return None
    report = seed_patterns(session, settings, tenant_id)
    # Only remember it once committed: a rolled-back seed must be retried.
    from sqlalchemy import event

    def remember(_session: Session) -> None:
        with _seeded_lock:
            _seeded.add(key)

    if report.up_to_date:
        remember(session)
    else:
        event.listen(session, "after_commit", remember, once=True)
    return report


def forget_seeded() -> None:
    """Tests: make the next first use check the database again."""
    with _seeded_lock:
        _seeded.clear()


def pattern_count(session: Session, tenant_id: uuid.UUID) -> int:
    """How many patterns the tenant has."""
    return PatternRepository(session, tenant_id).count()
