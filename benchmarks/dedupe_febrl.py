"""Dedupe quality on FEBRL: precision, recall and F1 on FEBRL1-3 (dedupe) and FEBRL4 (linkage,
4a vs 4b), for Revline's Splink engine and for plain `recordlinkage` ECM (the peer).

Data are read in place from ../shared/data/febrl (REVLINE_FEBRL_DIR overrides); rows
`rec-N-org` and `rec-N-dup-K` are entity N. Revline runs the same engine as `revline leads
dedupe` with benchmarks/febrl.yml (FEBRL's columns instead of lead keys): unsupervised EM, then
clusters; its figures are pairwise over the final clusters. The peer blocks on the same keys,
compares the same fields and classifies pairs with ECM; its figures are over its predicted pairs.

Usage: python benchmarks/dedupe_febrl.py [--data DIR]
Goal: F1 >= 0.995 on FEBRL3. Last line: JSON figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Iterable
from itertools import combinations
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "benchmarks" / "febrl.yml"
DEFAULT_DATA = REPO.parent.parent / "shared" / "data" / "febrl"
COLUMNS = ("given_name", "surname", "street_number", "address_1", "address_2", "suburb",
           "postcode", "state", "date_of_birth", "soc_sec_id")
COMPARED = ("given_name", "surname", "street_number", "address_1", "suburb", "postcode", "state",
            "date_of_birth", "soc_sec_id")


def data_dir(explicit: Path | None = None) -> Path:
    """Where the FEBRL CSVs are: --data, REVLINE_FEBRL_DIR, /work/shared/data/febrl or ../."""
    for candidate in (explicit, os.environ.get("REVLINE_FEBRL_DIR"), "/work/shared/data/febrl",
                      DEFAULT_DATA):
        if candidate and (Path(candidate) / "dataset1.csv").is_file():
            return Path(candidate)
    raise SystemExit("FEBRL data not found: pass --data DIR (dataset1.csv ... dataset4b.csv)")


def read(path: Path) -> list[dict[str, str]]:
    """Rows of one FEBRL CSV ("rec_id, given_name, ..." with spaces after commas)."""
    import csv

    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh, skipinitialspace=True)
        header = [h.strip() for h in next(reader)]
        return [dict(zip(header, (c.strip() for c in row), strict=True)) for row in reader if row]


def entity(rec_id: str) -> str:
    """rec-12-org / rec-12-dup-3 -> "12"."""
    return rec_id.split("-")[1]


def scores(found: set[frozenset[str]], truth: set[frozenset[str]]) -> dict[str, float]:
    """Pairwise precision, recall, F1."""
    tp = len(found & truth)
    precision = tp / len(found) if found else 1.0
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "pairs_found": len(found), "true_pairs": len(truth)}


def true_pairs(ids: Iterable[str], cross: dict[str, str] | None = None) -> set[frozenset[str]]:
    """All pairs of the same entity (only across sources when `cross` maps id -> source)."""
    by: dict[str, list[str]] = {}
    for rid in ids:
        by.setdefault(entity(rid.split(":", 1)[-1]), []).append(rid)
    out = set()
    for members in by.values():
        for a, b in combinations(members, 2):
            if cross is None or cross[a] != cross[b]:
                out.add(frozenset((a, b)))
    return out


def revline(rows: list[dict[str, str]], sources: list[str] | None) -> tuple[set[frozenset[str]],
                                                                             dict[str, Any]]:
    """Cluster with Revline's engine; returns the pairs inside clusters and run stats."""
    from revline.kernel.config import Settings
    from revline.leads.dedupe import Deduper, load_config
    from revline.leads.dedupe.duck import create_table

    home = Path(tempfile.mkdtemp(prefix="revline-febrl-"))
    settings = Settings(home=home)
    cfg = load_config(CONFIG)
    with Deduper(settings, cfg) as d:
        cols: dict[str, tuple[str, list[Any]]] = {
            "unique_id": ("varchar", [r["rec_id"] for r in rows]),
            **{c: ("varchar", [r[c] or None for r in rows]) for c in COMPARED},
        }
        if sources is not None:
            cols["source_dataset"] = ("varchar", sources)
        create_table(d.con, "_febrl", cols)
        d.load_keyed("select * from _febrl")
        stats = d.run(link_type="link_only" if sources else "dedupe_only")
        members = d.con.execute(
            "select cluster_id, list(record_id) from (" + d.cluster_sql() + ") "
            "where cluster_size > 1 group by cluster_id"
        ).fetchall()
    found = {frozenset(p) for _, ids in members for p in combinations(ids, 2)}
    if sources is not None:
        side = {r["rec_id"]: s for r, s in zip(rows, sources, strict=True)}
        found = {p for p in found if len({side[x] for x in p}) == 2}
    return found, stats.as_dict()


def peer(rows: list[dict[str, str]], sources: list[str] | None) -> set[frozenset[str]]:
    """recordlinkage: union of blocks on the same keys, the same fields, ECM on binary features."""
    import pandas as pd
    import recordlinkage as rl

    warnings.simplefilter("ignore")  # pandas/numpy deprecation noise inside recordlinkage
    frame = pd.DataFrame(rows).set_index("rec_id")
    if sources is None:
        left = right = frame
    else:
        side = pd.Series(sources, index=frame.index)
        left, right = frame[side == "a"], frame[side == "b"]
    index = rl.Index()
    for key in ("given_name", "surname", "date_of_birth", "soc_sec_id", "postcode"):
        index.block(key)
    index.block(left_on=["street_number", "suburb"], right_on=["street_number", "suburb"])
    pairs = index.index(left) if sources is None else index.index(left, right)
    compare = rl.Compare()
    compare.string("given_name", "given_name", method="jarowinkler", threshold=0.85)
    compare.string("surname", "surname", method="jarowinkler", threshold=0.85)
    compare.exact("date_of_birth", "date_of_birth")
    compare.exact("soc_sec_id", "soc_sec_id")
    compare.exact("street_number", "street_number")
    compare.string("address_1", "address_1", method="levenshtein", threshold=0.85)
    compare.exact("suburb", "suburb")
    compare.exact("postcode", "postcode")
    compare.exact("state", "state")
    features = compare.compute(pairs, left) if sources is None else compare.compute(
        pairs, left, right)
    matches = rl.ECMClassifier(binarize=0.5).fit_predict(features)
    return {frozenset(p) for p in matches}


def main() -> None:
    """Run both systems on every dataset and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args()
    folder = data_dir(args.data)
    out: dict[str, Any] = {}
    for name in ("dataset1", "dataset2", "dataset3", "dataset4"):
        if name == "dataset4":
            a = [{**r, "rec_id": "a:" + r["rec_id"]} for r in read(folder / "dataset4a.csv")]
            b = [{**r, "rec_id": "b:" + r["rec_id"]} for r in read(folder / "dataset4b.csv")]
            rows, sources = a + b, ["a"] * len(a) + ["b"] * len(b)
            truth = true_pairs((r["rec_id"] for r in rows),
                               {r["rec_id"]: s for r, s in zip(rows, sources, strict=True)})
        else:
            rows, sources = read(folder / f"{name}.csv"), None
            truth = true_pairs(r["rec_id"] for r in rows)
        key = "febrl" + name[-1]
        started = time.perf_counter()
        found, stats = revline(rows, sources)
        ours = scores(found, truth) | {"seconds": round(time.perf_counter() - started, 2)}
        started = time.perf_counter()
        theirs = scores(peer(rows, sources), truth) | {
            "seconds": round(time.perf_counter() - started, 2)
        }
        print(f"{key}: rows={len(rows)} revline={ours} model={stats['model']!r} "
              f"weak_links_cut={stats['weak_links_cut']} peer_ecm={theirs}", flush=True)
        out[f"{key}_f1"] = ours["f1"]
        out[f"peer_{key}_f1"] = theirs["f1"]
        out[f"{key}_precision"], out[f"{key}_recall"] = ours["precision"], ours["recall"]
    print(json.dumps({
        "febrl3_f1": out["febrl3_f1"], "febrl4_f1": out["febrl4_f1"],
        "peer_febrl3_f1": out["peer_febrl3_f1"], **out,
    }))


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "src"))
    main()
