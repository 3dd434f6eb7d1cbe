"""The dedupe engine on FEBRL person data (read in place; skipped when the folder is absent)."""

from __future__ import annotations

import os
from itertools import combinations
from pathlib import Path

import pytest

from revline.kernel.config import Settings
from revline.leads.dedupe import Deduper, load_config
from revline.leads.dedupe.duck import create_table

REPO = Path(__file__).resolve().parents[2]
COMPARED = ("given_name", "surname", "street_number", "address_1", "suburb", "postcode", "state",
            "date_of_birth", "soc_sec_id")


def _febrl_dir() -> Path:
    for candidate in (os.environ.get("REVLINE_FEBRL_DIR"), REPO.parent / "shared/data/febrl",
                      REPO.parent.parent / "shared/data/febrl"):
        if candidate and (Path(candidate) / "dataset1.csv").is_file():
            return Path(candidate)
    pytest.skip("FEBRL data folder (../shared/data/febrl) not present")


def _read(path: Path) -> list[dict[str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    header = [h.strip() for h in lines[0].split(",")]
    return [dict(zip(header, (c.strip() for c in line.split(",")), strict=True))
            for line in lines[1:] if line.strip()]


def _cluster_pairs(settings: Settings, rows: list[dict[str, str]],
                   sources: list[str] | None) -> set[frozenset[str]]:
    with Deduper(settings, load_config(REPO / "benchmarks" / "febrl.yml")) as d:
        cols = {"unique_id": ("varchar", [r["rec_id"] for r in rows]),
                **{c: ("varchar", [r[c] or None for r in rows]) for c in COMPARED}}
        if sources:
            cols["source_dataset"] = ("varchar", sources)
        create_table(d.con, "febrl", cols)
        d.load_keyed("select * from febrl")
        stats = d.run(link_type="link_only" if sources else "dedupe_only")
        assert stats.model.startswith("trained (EM)")
        groups = d.con.execute(f"select list(record_id) from ({d.cluster_sql()}) "
                               "where cluster_size > 1 group by cluster_id").fetchall()
    return {frozenset(p) for (ids,) in groups for p in combinations(ids, 2)}


def _truth(ids: list[str]) -> set[frozenset[str]]:
    by: dict[str, list[str]] = {}
    for rid in ids:
        by.setdefault(rid.split("-")[1], []).append(rid)
    return {frozenset(p) for m in by.values() for p in combinations(m, 2)}


def _f1(found: set[frozenset[str]], truth: set[frozenset[str]]) -> float:
    tp = len(found & truth)
    precision, recall = tp / max(len(found), 1), tp / max(len(truth), 1)
    return 2 * precision * recall / (precision + recall) if tp else 0.0


def test_febrl1_dedupe(settings: Settings) -> None:
    rows = _read(_febrl_dir() / "dataset1.csv")
    found = _cluster_pairs(settings, rows, None)
    assert _f1(found, _truth([r["rec_id"] for r in rows])) >= 0.99


def test_febrl4_linkage_sample(settings: Settings) -> None:
    folder = _febrl_dir()
    a = _read(folder / "dataset4a.csv")[:1000]
    wanted = {r["rec_id"].split("-")[1] for r in a}
    b = [r for r in _read(folder / "dataset4b.csv") if r["rec_id"].split("-")[1] in wanted]
    rows = a + b
    found = _cluster_pairs(settings, rows, ["a"] * len(a) + ["b"] * len(b))
    side = {r["rec_id"]: s for r, s in zip(rows, ["a"] * len(a) + ["b"] * len(b), strict=True)}
    found = {p for p in found if len({side[x] for x in p}) == 2}
    truth = {p for p in _truth([r["rec_id"] for r in rows]) if len({side[x] for x in p}) == 2}
    assert len(truth) == len(b)
    assert _f1(found, truth) >= 0.99
