"""LanceDB and PostgreSQL + pgvector behind one interface: same fixture, same top-k."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from revline.kernel.config import Settings, get_settings
from revline.kernel.db import Database
from revline.kernel.errors import ConfigError
from revline.knowledge import service
from revline.knowledge.store import get_store, reset_stores
from tests.knowledge.conftest import write_corpus

QUERIES = [
    "how do I reset the widget",
    "where do parcels ship from and who carries them",
    "changing my password",
    "interest on late invoices",
    "vacation days for staff",
    "bank transfer payment due date",
    "wall bracket screws",
    "refund for returned items",
]


@pytest.fixture
def both_backends(
    db: Database, kb_settings: Settings, tenant_id: uuid.UUID, pg_url: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Settings, Settings]:
    """The same corpus ingested into a LanceDB KB and a pgvector KB of one tenant."""
    corpus = write_corpus(tmp_path / "corpus")
    with db.session() as session:
        service.ingest_paths(session, tenant_id, "lance", [corpus], settings=kb_settings)
    monkeypatch.setenv("REVLINE_KB_VECTOR_BACKEND", "pgvector")
    monkeypatch.setenv("REVLINE_KB_PG_URL", pg_url)
    get_settings.cache_clear()
    pg_settings = get_settings()
    try:
        get_store(pg_settings).count(_probe())
    except ConfigError as exc:
        pytest.skip(f"pgvector unavailable: {exc}")
    with db.session() as session:
        service.ingest_paths(session, tenant_id, "pg", [corpus], settings=pg_settings)
    return kb_settings, pg_settings


def _probe() -> object:
    from revline.knowledge.store import Collection

    return Collection("probe", str(uuid.uuid4()), 384)


def _ids(db: Database, tenant: uuid.UUID, kb: str, query: str, mode: str,
         settings: Settings) -> list[tuple[str, int]]:
    with db.session() as session:
        hits = service.search(session, tenant, kb, query, k=5, mode=mode, settings=settings)
    # Chunk ids differ per KB (they include the document id); compare source + ordinal.
    return [(h.source, int(h.metadata["ordinal"])) for h in hits]


@pytest.mark.postgres
def test_pgvector_and_lancedb_return_the_same_top_k(
    db: Database, tenant_id: uuid.UUID, both_backends: tuple[Settings, Settings]
) -> None:
    lance_settings, pg_settings = both_backends
    with db.session() as session:
        assert service.get_kb(session, tenant_id, "pg").backend == "pgvector"
        assert service.get_kb(session, tenant_id, "lance").backend == "lancedb"
    for mode in ("vector", "bm25", "hybrid"):
        for query in QUERIES:
            lance = _ids(db, tenant_id, "lance", query, mode, lance_settings)
            pg = _ids(db, tenant_id, "pg", query, mode, pg_settings)
            assert lance, (mode, query)
            # BM25 too: both tokenizers stem English and drop stop words, with k1=1.2, b=0.75.
            assert lance == pg, (mode, query, lance, pg)
    with db.session() as session:
        vec_lance = service.search(session, tenant_id, "lance", QUERIES[0], k=3, mode="vector",
                                   settings=lance_settings)
        vec_pg = service.search(session, tenant_id, "pg", QUERIES[0], k=3, mode="vector",
                                settings=pg_settings)
    assert [h.score for h in vec_pg] == pytest.approx([h.score for h in vec_lance], abs=1e-4)


@pytest.mark.postgres
def test_pgvector_filters_updates_and_isolation(
    db: Database, tenant_id: uuid.UUID, other_tenant_id: uuid.UUID,
    both_backends: tuple[Settings, Settings], tmp_path: Path,
) -> None:
    _, pg = both_backends
    with db.session() as session:
        pdf = service.search(session, tenant_id, "pg", "payment", k=10, filters={"kind": "pdf"},
                             settings=pg)
        assert {Path(h.source).name for h in pdf} == {"billing.pdf"}
        other = write_corpus(tmp_path / "other")
        (other / "notes.txt").write_text("PASSWORDS\n\nPasswords are reset by the admin.\n")
        service.ingest_paths(session, other_tenant_id, "pg", [other / "notes.txt"], settings=pg)
    with db.session() as session:
        theirs = service.search(session, other_tenant_id, "pg", "widget reset", k=10,
                                settings=pg)
        mine = service.search(session, tenant_id, "pg", "reset by the admin", k=10,
                              mode="bm25", settings=pg)
    assert {Path(h.source).name for h in theirs} == {"notes.txt"}
    assert all("reset by the admin" not in h.chunk for h in mine)
    with db.session() as session:
        stats = service.stats(session, tenant_id, "pg", settings=pg)
        assert stats["store_rows"] == stats["chunks"]
        service.delete_kb(session, tenant_id, "pg", settings=pg)
    reset_stores()
    with db.session() as session:
        assert service.stats(session, other_tenant_id, "pg", settings=pg)["store_rows"] == 1
