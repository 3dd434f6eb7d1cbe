"""Clusters from scored pairs: threshold, anti-chaining, a size cap and stable ids.

Pure Python over *edges* only (records without a link above the threshold are singletons and
never reach this module), so a million records with a hundred thousand links cluster in well
under a second.

- Anti-chaining: in a cluster of three or more, every member must be held by a strong link
  (>= strong_link) or by two independent paths. A bridge (an edge whose removal disconnects
  the cluster) below strong_link is cut, weakest first, so A~B~C chained through one doubtful
  pair becomes {A, B} + {C}.
- Size cap: a component larger than max_size is rebuilt from its strongest edges up to the
  cap, and the caller warns about it.
- Stable ids: a cluster is named after its first member in natural id order, so re-running on
  the same data gives the same ids; incremental runs never rename an existing cluster.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from revline.leads.dedupe.keys import natural_key

NaturalKey = tuple[tuple[int, int | str], ...]


@dataclass(frozen=True)
class Edge:
    """A scored pair that may link two records."""

    a: str
    b: str
    probability: float
    weight: float = 0.0
    reason: str = ""

    def key(self) -> tuple[float, NaturalKey, NaturalKey]:
        """Strongest first, then by ids, so every tie is broken the same way on every run."""
        lo, hi = sorted((self.a, self.b), key=natural_key)
        return (-self.probability, natural_key(lo), natural_key(hi))


@dataclass
class Membership:
    """Where one record ended up and the link that put it there."""

    cluster_id: str
    size: int
    is_primary: bool
    linked_to: str = ""
    probability: float | None = None
    weight: float | None = None
    reason: str = ""


@dataclass
class ClusterStats:
    """What clustering did, for the run summary and warnings."""

    clusters: int = 0  # clusters with 2+ members
    largest: int = 1
    weak_links_cut: int = 0
    capped_clusters: int = 0
    attached_to_existing: int = 0
    conflicts_kept_apart: int = 0
    notes: list[str] = field(default_factory=list)


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.size: dict[str, int] = {}

    def add(self, x: str) -> None:
        if x not in self.parent:
            self.parent[x] = x
            self.size[x] = 1

    def find(self, x: str) -> str:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: str, b: str) -> str:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ra
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]
        return ra


def _components(nodes: Iterable[str], edges: Iterable[Edge]) -> list[list[str]]:
    uf = _UnionFind()
    for n in nodes:
        uf.add(n)
    for e in edges:
        uf.union(e.a, e.b)
    groups: dict[str, list[str]] = defaultdict(list)
    for n in uf.parent:
        groups[uf.find(n)].append(n)
    return list(groups.values())


def bridges(nodes: Sequence[str], edges: Sequence[Edge]) -> list[Edge]:
    """Edges whose removal disconnects their component (iterative Tarjan, no recursion limit)."""
    adj: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for i, e in enumerate(edges):
        adj[e.a].append((e.b, i))
        adj[e.b].append((e.a, i))
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    found: list[Edge] = []
    counter = 0
    for root in nodes:
        if root in order:
            continue
        order[root] = low[root] = counter
        counter += 1
        stack: list[tuple[str, int, int]] = [(root, -1, 0)]  # node, edge used to enter, next idx
        while stack:
            node, via, idx = stack[-1]
            neighbours = adj[node]
            if idx < len(neighbours):
                stack[-1] = (node, via, idx + 1)
                nxt, eid = neighbours[idx]
                if eid == via:
                    continue
                if nxt in order:
                    low[node] = min(low[node], order[nxt])
                else:
                    order[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append((nxt, eid, 0))
            else:
                stack.pop()
                if stack:
                    parent = stack[-1][0]
                    low[parent] = min(low[parent], low[node])
                    if low[node] > order[parent]:
                        found.append(edges[via])
    return found


def _split_weak_bridges(
    members: list[str], edges: list[Edge], strong_link: float, stats: ClusterStats
) -> list[tuple[list[str], list[Edge]]]:
    """Cut weak bridges, weakest first, until every piece of 3+ is held together honestly."""
    done: list[tuple[list[str], list[Edge]]] = []
    todo = [(members, edges)]
    while todo:
        nodes, es = todo.pop()
        if len(nodes) < 3:
            done.append((nodes, es))
            continue
        weak = [e for e in bridges(nodes, es) if e.probability < strong_link]
        if not weak:
            done.append((nodes, es))
            continue
        cut = min(weak, key=lambda e: (e.probability, *e.key()[1:]))
        stats.weak_links_cut += 1
        rest = [e for e in es if e is not cut]
        for part in _components(nodes, rest):
            inside = set(part)
            todo.append((part, [e for e in rest if e.a in inside]))
    return done


def _cap(
    nodes: list[str], edges: list[Edge], max_size: int, stats: ClusterStats
) -> list[tuple[list[str], list[Edge]]]:
    """Rebuild an oversized component from its strongest links, never past max_size."""
    if len(nodes) <= max_size:
        return [(nodes, edges)]
    stats.capped_clusters += 1
    uf = _UnionFind()
    for n in nodes:
        uf.add(n)
    kept: list[Edge] = []
    for e in sorted(edges, key=Edge.key):
        ra, rb = uf.find(e.a), uf.find(e.b)
        if ra == rb:
            kept.append(e)
        elif uf.size[ra] + uf.size[rb] <= max_size:
            uf.union(ra, rb)
            kept.append(e)
    out = []
    for part in _components(nodes, kept):
        inside = set(part)
        out.append((part, [e for e in kept if e.a in inside and e.b in inside]))
    return out


def _best_links(members: list[str], edges: list[Edge]) -> dict[str, Edge]:
    best: dict[str, Edge] = {}
    for e in sorted(edges, key=Edge.key):
        best.setdefault(e.a, e)
        best.setdefault(e.b, e)
    del members
    return best


def _memberships(
    groups: list[tuple[list[str], list[Edge]]], out: dict[str, Membership], stats: ClusterStats,
    names: Mapping[str, str] | None = None, sizes: Mapping[str, int] | None = None,
) -> None:
    for nodes, es in groups:
        ordered = sorted(nodes, key=natural_key)
        cluster_id = (names or {}).get(ordered[0], ordered[0])
        size = len(ordered) + (sizes or {}).get(cluster_id, 0)
        best = _best_links(ordered, es)
        if size > 1:
            stats.clusters += 1
            stats.largest = max(stats.largest, size)
        for node in ordered:
            link = best.get(node)
            other = "" if link is None else (link.b if link.a == node else link.a)
            out[node] = Membership(
                cluster_id=cluster_id,
                size=size,
                is_primary=node == ordered[0] and not sizes,
                linked_to=other,
                probability=None if link is None else link.probability,
                weight=None if link is None else link.weight,
                reason="" if link is None else link.reason,
            )


def cluster_edges(
    edges: Iterable[Edge], *, threshold: float, strong_link: float, max_size: int
) -> tuple[dict[str, Membership], ClusterStats]:
    """Memberships for every record that has a link at or above `threshold`."""
    stats = ClusterStats()
    kept = [e for e in edges if e.probability >= threshold and e.a != e.b]
    nodes = list(dict.fromkeys(n for e in kept for n in (e.a, e.b)))
    by_node: dict[str, list[Edge]] = defaultdict(list)
    for e in kept:
        by_node[e.a].append(e)
    groups: list[tuple[list[str], list[Edge]]] = []
    for part in _components(nodes, kept):
        inside = set(part)
        es = [e for n in part for e in by_node.get(n, ()) if e.b in inside]
        for piece, piece_edges in _split_weak_bridges(part, es, strong_link, stats):
            groups.extend(_cap(piece, piece_edges, max_size, stats))
    out: dict[str, Membership] = {}
    _memberships(groups, out, stats)
    if stats.capped_clusters:
        stats.notes.append(
            f"{stats.capped_clusters} cluster(s) grew past the cap of {max_size} records and "
            "were split at their weakest links; check the blocking keys and threshold"
        )
    return out, stats


def attach_incremental(
    edges: Iterable[Edge],
    existing: Mapping[str, str],
    sizes: Mapping[str, int],
    *,
    threshold: float,
    strong_link: float,
    max_size: int,
) -> tuple[dict[str, Membership], ClusterStats]:
    """Place new records: among themselves as in a full run, then into at most one existing
    cluster each, never merging or renaming existing clusters.

    `existing` maps known record ids to their cluster ids and `sizes` gives those clusters'
    sizes. A group of new records joins the existing cluster it links to most strongly, when
    the link is strong (or doubled, or the cluster is a lone record) and the cap allows.
    """
    all_edges = [e for e in edges if e.probability >= threshold and e.a != e.b]
    new_new = [e for e in all_edges if e.a not in existing and e.b not in existing]
    to_old = [e for e in all_edges if (e.a in existing) != (e.b in existing)]
    new_nodes = {n for e in new_new for n in (e.a, e.b)} | {
        (e.a if e.b in existing else e.b) for e in to_old
    }
    inner, stats = cluster_edges(
        new_new, threshold=threshold, strong_link=strong_link, max_size=max_size
    )
    stats = ClusterStats(weak_links_cut=stats.weak_links_cut, capped_clusters=stats.capped_clusters)
    groups: dict[str, list[str]] = defaultdict(list)
    for node in sorted(new_nodes, key=natural_key):
        groups[inner[node].cluster_id if node in inner else node].append(node)
    links: dict[str, list[Edge]] = defaultdict(list)
    for e in to_old:
        links[e.a if e.b in existing else e.b].append(e)
    out: dict[str, Membership] = {}
    # Existing clusters' sizes as new groups join them in this run: several groups may join
    # the same cluster, and the cap and the reported size must count all of them.
    grown = dict(sizes)
    joined: dict[str, list[str]] = defaultdict(list)
    for members in groups.values():
        candidates: dict[str, list[Edge]] = defaultdict(list)
        for node in members:
            for e in links.get(node, ()):
                candidates[existing[e.b if e.a == node else e.a]].append(e)
        accepted = []
        for cid, es in candidates.items():
            size = grown.get(cid, 1)
            best = max(e.probability for e in es)
            honest = best >= strong_link or len(es) >= 2 or (size == 1 and len(members) == 1)
            if honest and size + len(members) <= max_size:
                accepted.append((-best, -len(es), natural_key(cid), cid))
        if len(accepted) > 1:
            stats.conflicts_kept_apart += 1
        inside = set(members)
        group_edges = [e for e in new_new if e.a in inside and e.b in inside]
        if accepted:
            cid = sorted(accepted)[0][3]
            stats.attached_to_existing += len(members)
            group_edges += candidates[cid]
            nodes = members + sorted({e.a if e.b in inside else e.b for e in candidates[cid]})
            names = dict.fromkeys(nodes, cid)
            part: dict[str, Membership] = {}
            _memberships([(nodes, group_edges)], part, stats, names=names,
                         sizes={cid: grown.get(cid, 1) - (len(nodes) - len(members))})
            grown[cid] = grown.get(cid, 1) + len(members)
            for node in members:
                out[node] = part[node]
                joined[cid].append(node)
        else:
            _memberships([(members, group_edges)], out, stats)
    for cid, nodes in joined.items():
        for node in nodes:
            out[node].size = grown[cid]
        stats.largest = max(stats.largest, grown[cid])
    if stats.conflicts_kept_apart:
        stats.notes.append(
            f"{stats.conflicts_kept_apart} group(s) of new records matched more than one existing "
            "cluster; each joined its strongest match and existing clusters were not merged"
        )
    return out, stats
