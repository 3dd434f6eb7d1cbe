"""Clustering scored pairs: threshold, anti-chaining, size cap, stable ids, incremental attach."""

from __future__ import annotations

import random

from revline.leads.dedupe.cluster import Edge, attach_incremental, bridges, cluster_edges


def E(a: str, b: str, p: float) -> Edge:  # noqa: N802 - short constructor for tables
    return Edge(a, b, p, weight=round(p * 10, 1), reason=f"{a}-{b}")


def groups(out: dict[str, object]) -> set[frozenset[str]]:
    by: dict[str, set[str]] = {}
    for rid, m in out.items():
        by.setdefault(m.cluster_id, set()).add(rid)  # type: ignore[attr-defined]
    return {frozenset(g) for g in by.values()}


def run(edges: list[Edge], **kw: float) -> dict[str, object]:
    opts = {"threshold": 0.9, "strong_link": 0.99, "max_size": 50, **kw}
    out, _ = cluster_edges(edges, threshold=opts["threshold"], strong_link=opts["strong_link"],
                           max_size=int(opts["max_size"]))
    return out  # type: ignore[return-value]


def test_threshold_and_primary_with_best_link() -> None:
    out, stats = cluster_edges(
        [E("10", "2", 0.995), E("2", "3", 0.999), E("7", "8", 0.5)],
        threshold=0.9, strong_link=0.99, max_size=50,
    )
    assert groups(out) == {frozenset({"2", "3", "10"})}  # 7-8 is below the threshold
    assert out["10"].cluster_id == "2"  # named after the first member in natural order
    assert out["2"].is_primary
    assert not out["10"].is_primary
    assert out["10"].linked_to == "2"
    assert out["10"].reason == "10-2"
    assert out["2"].linked_to == "3"  # its strongest link
    assert (stats.clusters, stats.largest, stats.weak_links_cut) == (1, 3, 0)


def test_chain_through_one_weak_link_is_split_at_that_link() -> None:
    # {a, b} and {c, d} are solid pairs; one doubtful pair b~c would chain them together.
    edges = [E("a", "b", 0.999), E("c", "d", 0.999), E("b", "c", 0.93)]
    out, stats = cluster_edges(edges, threshold=0.9, strong_link=0.99, max_size=50)
    assert groups(out) == {frozenset({"a", "b"}), frozenset({"c", "d"})}
    assert stats.weak_links_cut == 1
    # A weak pair on its own is still a match: the threshold already said so.
    assert groups(run([E("x", "y", 0.93)])) == {frozenset({"x", "y"})}
    # Two weak paths hold a member honestly (a triangle has no bridge).
    tri = [E("a", "b", 0.93), E("b", "c", 0.94), E("a", "c", 0.95)]
    assert groups(run(tri)) == {frozenset({"a", "b", "c"})}
    # A strong bridge is kept.
    assert groups(run([E("a", "b", 0.999), E("b", "c", 0.995)])) == {frozenset("abc")}


def test_weakest_bridge_goes_first() -> None:
    out = run([E("a", "b", 0.95), E("b", "c", 0.92)])
    assert groups(out) == {frozenset({"a", "b"}), frozenset({"c"})}


def test_bridges_finds_exactly_the_cut_edges() -> None:
    edges = [E("a", "b", 1), E("b", "c", 1), E("c", "a", 1), E("c", "d", 1), E("d", "e", 1)]
    found = {(e.a, e.b) for e in bridges(list("abcde"), edges)}
    assert found == {("c", "d"), ("d", "e")}


def test_size_cap_keeps_strongest_links_and_warns() -> None:
    edges = [E(str(i), str(i + 1), 0.999 - i / 1000) for i in range(1, 10)]  # a strong chain
    out, stats = cluster_edges(edges, threshold=0.9, strong_link=0.9, max_size=4)
    sizes = sorted(len(g) for g in groups(out))
    assert max(sizes) <= 4
    assert sum(sizes) == 10
    assert stats.capped_clusters == 1
    assert "cap of 4" in stats.notes[0]


def test_ids_stable_under_edge_order() -> None:
    edges = [E("10", "2", 0.999), E("33", "34", 0.95), E("9", "100", 0.999), E("2", "5", 0.999),
             E("34", "35", 0.91), E("33", "35", 0.92)]
    first = run(edges)
    for seed in range(5):
        shuffled = edges[:]
        random.Random(seed).shuffle(shuffled)
        flipped = [Edge(e.b, e.a, e.probability, e.weight, e.reason) for e in shuffled]
        assert run(flipped) == first
    assert {m.cluster_id for m in first.values()} == {"2", "9", "33"}  # type: ignore[attr-defined]


def test_incremental_joins_best_existing_cluster_without_renaming() -> None:
    existing = {"1": "1", "2": "1", "3": "1", "7": "7", "8": "8"}
    sizes = {"1": 3, "7": 1, "8": 1}
    edges = [
        E("n1", "2", 0.999),  # strong link into cluster 1
        E("n2", "n1", 0.999),  # n2 comes along through n1
        E("n3", "7", 0.95),  # weak link to a lone record: a pair, allowed
        E("n4", "3", 0.95),  # single weak link into a cluster of 3: not enough
        E("n5", "7", 0.999), E("n5", "8", 0.995),  # matches two clusters: never merge them
    ]
    out, stats = attach_incremental(edges, existing, sizes, threshold=0.9, strong_link=0.99,
                                    max_size=50)
    assert out["n1"].cluster_id == out["n2"].cluster_id == "1"
    assert out["n1"].size == 5
    assert not out["n1"].is_primary
    assert out["n3"].cluster_id == "7"
    assert out["n4"].cluster_id == "n4"  # stays on its own
    assert out["n5"].cluster_id == "7"  # its strongest match; clusters 7 and 8 stay apart
    assert stats.conflicts_kept_apart == 1
    assert "not merged" in stats.notes[0]
    assert set(out) == {"n1", "n2", "n3", "n4", "n5"}  # existing records are not reassigned


def test_incremental_respects_the_cap() -> None:
    out, _ = attach_incremental([E("n1", "a", 0.999)], {"a": "a"}, {"a": 3}, threshold=0.9,
                                strong_link=0.99, max_size=3)
    assert out["n1"].cluster_id == "n1"


def test_incremental_groups_joining_one_cluster_share_the_cap_and_the_size() -> None:
    """Two unrelated new records both linking strongly into the same existing cluster: the cap
    counts both, and every member reports the cluster's final size."""
    existing = {"a": "a", "b": "a"}
    edges = [E("n1", "a", 0.999), E("n2", "b", 0.999)]
    out, stats = attach_incremental(edges, existing, {"a": 2}, threshold=0.9,
                                    strong_link=0.99, max_size=3)
    joined = [n for n in ("n1", "n2") if out[n].cluster_id == "a"]
    assert joined == ["n1"]  # the second would make 4 > max_size 3
    assert out["n2"].cluster_id == "n2"
    assert out["n1"].size == 3
    out, stats = attach_incremental(edges, existing, {"a": 2}, threshold=0.9,
                                    strong_link=0.99, max_size=50)
    assert out["n1"].cluster_id == out["n2"].cluster_id == "a"
    assert out["n1"].size == out["n2"].size == 4
    assert stats.attached_to_existing == 2
