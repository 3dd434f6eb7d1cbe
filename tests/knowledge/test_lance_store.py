"""LanceDB store details: index upkeep after ingest, fetch after compaction, quoting."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from revline.knowledge.store import Collection, parse_filters
from revline.knowledge.store.lance import LanceStore
from tests.knowledge.test_concurrency import DIM, _rows


def test_after_ingest_folds_new_rows_into_the_indexes(tmp_path: Path) -> None:
    store = LanceStore(tmp_path / "lance")
    col = Collection("kb_upkeep", "t1", DIM)
    store.replace_documents(col, ["seed"], _rows("seed", 5, 0))
    for batch in range(3):
        docs = [f"d{batch}-{i}" for i in range(100)]
        rows = [row for doc in docs for row in _rows(doc, 4, batch)]
        store.replace_documents(col, docs, rows)
    table = store._open(col)
    assert table is not None
    name = next(i.name for i in table.list_indices())
    assert table.index_stats(name).num_unindexed_rows == 1200
    store.after_ingest(col)
    assert table.index_stats(name).num_unindexed_rows == 0
    assert store.count(col) == 1205


def test_fetch_survives_compaction_between_rank_and_fetch(tmp_path: Path) -> None:
    store = LanceStore(tmp_path / "lance")
    col = Collection("kb_compact", "t1", DIM)
    for i in range(6):  # many small fragments, so compaction rewrites row ids
        store.replace_documents(col, [f"doc{i}"], _rows(f"doc{i}", 3, i))
    store.replace_documents(col, ["doc0"], [])
    ranked = store.rank_text(col, "writer chunk", 10, parse_filters(None))
    store.optimize(col)
    hits = store.fetch(col, ranked)
    assert [h.chunk_id for h in hits] == [r.chunk_id for r in ranked]
    assert all(h.text.startswith("writer") for h in hits)


def test_filters_quote_values(tmp_path: Path) -> None:
    store = LanceStore(tmp_path / "lance")
    col = Collection("kb_quote", "t1", DIM)
    rows = _rows("o'brien", 2, 1)
    for row in rows:
        row.meta = ["owner=O'Brien"]
    store.replace_documents(col, ["o'brien"], rows)
    vector = np.ones(DIM, dtype=np.float32)
    found = store.vector_search(col, vector, 5, parse_filters({"owner": "O'Brien"}))
    assert {h.document_id for h in found} == {"o'brien"}
    assert store.vector_search(col, vector, 5, parse_filters({"source": "x' OR 1=1 --"})) == []
