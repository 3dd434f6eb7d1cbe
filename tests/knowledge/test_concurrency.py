"""Several processes at once: LanceDB writers and first-start pattern seeding on SQLite."""

from __future__ import annotations

import multiprocessing
import uuid
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from revline.kernel.config import get_settings
from revline.kernel.db import Database
from revline.knowledge.models import Pattern, PatternSeed
from revline.knowledge.store import Collection, StoreRow, parse_filters
from revline.knowledge.store.lance import LanceStore

DIM = 8
PROCESSES = 4


def _rows(doc: str, n: int, writer: int) -> list[StoreRow]:
    rng = np.random.default_rng(writer)
    return [
        StoreRow(chunk_id=f"{doc}-{i}", document_id=doc, source=f"/docs/{doc}.md", title=doc,
                 section="", kind="markdown", ordinal=i, span_start=0, span_end=1,
                 page_start=None, page_end=None, text=f"writer {writer} chunk {i}",
                 search_text=f"writer {writer} chunk {i} of {doc}", meta=[],
                 vector=rng.standard_normal(DIM).astype(np.float32))
        for i in range(n)
    ]


def _write(root: str, writer: int) -> None:
    store = LanceStore(Path(root))
    collection = Collection("kb_shared", "t1", DIM)
    for round_ in range(8):
        # Every writer rewrites the same documents: the worst case for duplicates.
        doc = f"doc{round_ % 4}"
        store.replace_documents(collection, [doc], _rows(doc, 3 + writer % 2, writer))


def _seed(tenant_id: str) -> None:
    from revline.knowledge.patterns import service

    settings = get_settings()
    from revline.kernel.db import get_database

    with get_database(settings).session() as session:
        service.ensure_patterns(session, settings, uuid.UUID(tenant_id))


def _run_all(target: object, args: list[tuple[object, ...]]) -> None:
    ctx = multiprocessing.get_context("spawn")  # LanceDB's runtime does not survive fork
    procs = [ctx.Process(target=target, args=a) for a in args]  # type: ignore[arg-type]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=180)
    assert [p.exitcode for p in procs] == [0] * len(procs)


@pytest.mark.slow
def test_concurrent_lancedb_writers_never_duplicate_rows(tmp_path: Path) -> None:
    root = tmp_path / "lance"
    root.mkdir()
    _run_all(_write, [(str(root), w) for w in range(PROCESSES)])
    store = LanceStore(root)
    collection = Collection("kb_shared", "t1", DIM)
    table = store._open(collection)
    assert table is not None
    ids = table.to_arrow().column("chunk_id").to_pylist()
    assert len(ids) == len(set(ids))
    # Each document holds exactly one writer's rows (3 or 4 chunks), never a mix.
    for doc in range(4):
        rows = [r for r in table.to_arrow().to_pylist() if r["document_id"] == f"doc{doc}"]
        writers = {r["text"].split()[1] for r in rows}
        assert len(writers) == 1
        assert len(rows) == 3 + int(writers.pop()) % 2
    hits = store.text_search(collection, "chunk", 50, parse_filters(None))
    assert len(hits) == len(ids)


@pytest.mark.slow
def test_concurrent_first_starts_in_processes_seed_once(db: Database,
                                                         tenant_id: uuid.UUID) -> None:
    _run_all(_seed, [(str(tenant_id),) for _ in range(PROCESSES)])
    with db.session() as session:
        assert session.scalar(select(func.count(Pattern.id))) == 4
        assert session.scalar(select(func.count(PatternSeed.id))) == 1
        seed = session.scalars(select(PatternSeed)).one()
        assert len(seed.manifest) == 4
