"""Dedupe labels and saved state in the database: SQLite and PostgreSQL, tenant-scoped."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from revline.kernel.auth import ensure_tenant
from revline.kernel.config import Settings
from revline.kernel.db import Database
from revline.kernel.errors import Conflict, InvalidInput
from revline.leads.dedupe import Deduper, PairLabel, effective_config
from revline.leads.dedupe.store import check_state_name, load_existing, save_state
from revline.leads.repository import DedupeLabelRepository, DedupeStateRepository
from tests.leads.dedupe_helpers import background

FP = [c * 32 for c in "abcdef"]


def _exercise(db: Database, settings: Settings) -> None:
    with db.session() as session:
        t1 = ensure_tenant(session, "one").id
        t2 = ensure_tenant(session, "two").id
    with db.session() as session:
        repo = DedupeLabelRepository(session, t1)
        n = repo.upsert_many([
            PairLabel.of(FP[1], FP[0], True, "llm", confidence=0.7, reason="r", record_a="9",
                         record_b="3"),
            PairLabel.of(FP[2], FP[3], False, "human"),
        ])
        assert n == 2
    with db.session() as session:
        repo = DedupeLabelRepository(session, t1)
        # A person's answer replaces the LLM's; the LLM never overwrites a person's.
        repo.upsert_many([PairLabel.of(FP[0], FP[1], False, "human"),
                          PairLabel.of(FP[3], FP[2], True, "llm")])
        labels = {(lb.fp_a, lb.fp_b): lb for lb in repo.all_labels()}
        assert labels[(FP[0], FP[1])].match is False
        assert labels[(FP[0], FP[1])].source == "human"
        assert labels[(FP[2], FP[3])].match is False
        assert DedupeLabelRepository(session, t2).all_labels() == []  # tenant-scoped
    assert PairLabel.of(FP[1], FP[0], True, "llm", record_a="9", record_b="3").record_a == "3"

    cfg = effective_config(settings)
    with Deduper(settings, cfg) as deduper:
        deduper.load_records(background(40))
        deduper.run()
        with db.session() as session:
            row, old = save_state(session, settings, t1, "crm-2025", deduper)
            assert (row.record_count, row.version, old) == (40, 1, None)
        with db.session() as session:
            _, old = save_state(session, settings, t1, "crm-2025", deduper)
        assert old is not None
        assert old.name == "records-v1.parquet"
    with db.session() as session:
        existing, warnings = load_existing(session, t1, "crm-2025", cfg)
        assert existing.records_path.name == "records-v2.parquet"
        assert warnings == []
        assert existing.params.matches(cfg.profiles[existing.profile])
        with pytest.raises(Exception, match="no saved dedupe state 'crm-2025'"):
            load_existing(session, t2, "crm-2025", cfg)
    with pytest.raises(InvalidInput, match="--state '../x'"):
        check_state_name("../x")
    _concurrent_saves(db, settings, t1)


def _concurrent_saves(db: Database, settings: Settings, tenant: uuid.UUID) -> None:
    """Two incremental runs load version 2; the first to save wins, the second saves nothing."""
    cfg = effective_config(settings)
    with db.session() as session:
        first, _ = load_existing(session, tenant, "crm-2025", cfg)
        second, _ = load_existing(session, tenant, "crm-2025", cfg)
    assert first.version == second.version == 2
    with Deduper(settings, cfg) as deduper:
        deduper.load_records(background(30))
        deduper.run()
        with db.session() as session:
            row, _ = save_state(session, settings, tenant, "crm-2025", deduper,
                                expected_version=first.version)
            assert row.version == 3
        with db.session() as session, pytest.raises(Conflict, match="version 2 -> 3"):
            save_state(session, settings, tenant, "crm-2025", deduper,
                       expected_version=second.version)
    with db.session() as session:
        row = DedupeStateRepository(session, tenant).by_name("crm-2025")
        assert row is not None
        assert (row.version, row.record_count) == (3, 30)
        assert Path(row.records_path).name == "records-v3.parquet"
    folder = Path(row.records_path).parent
    assert sorted(p.name for p in folder.iterdir() if p.suffix == ".tmp") == []


def test_labels_and_state_sqlite(db: Database, settings: Settings) -> None:
    _exercise(db, settings)


@pytest.mark.postgres
def test_labels_and_state_postgres(pg_url: str, tmp_path: Path) -> None:
    db = Database(pg_url)
    db.migrate()
    try:
        _exercise(db, Settings(home=tmp_path / "home", database_url=pg_url))
    finally:
        db.dispose()
