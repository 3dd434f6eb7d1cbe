"""Deterministic left-to-right layout: same graph in, same node positions out.

Columns are the longest-path rank from the group's roots; within a column nodes keep their
input order. Containers (iteration, loop) are laid out inside-out so their size fits the
children, whose positions are relative to the container as in Dify.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

NODE_WIDTH = 244
GAP_X = 96
GAP_Y = 48
TOP_ORIGIN = (80.0, 282.0)
CHILD_ORIGIN = (24.0, 68.0)
CONTAINER_PADDING = 24.0
MIN_CONTAINER = (388.0, 178.0)
_HEIGHTS = {
    "start": 90, "end": 90, "answer": 106, "llm": 98, "if-else": 150, "question-classifier": 150,
    "iteration-start": 48, "loop-start": 48, "loop-end": 48, "human-input": 130,
}
_WIDTHS = {"iteration-start": 44, "loop-start": 44, "loop-end": 44}


def node_size(node: dict[str, Any]) -> tuple[float, float]:
    """Canvas size of a (non-container) node by its type."""
    node_type = node.get("data", {}).get("type", "")
    return float(_WIDTHS.get(node_type, NODE_WIDTH)), float(_HEIGHTS.get(node_type, 98))


def apply_layout(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> None:
    """Set position, positionAbsolute, width and height on every node, in place."""
    by_id = {n["id"]: n for n in nodes}
    groups: dict[str | None, list[str]] = defaultdict(list)
    for node in nodes:
        groups[_parent(node, by_id)].append(node["id"])
    sizes: dict[str, tuple[float, float]] = {}
    for container in _deepest_first(groups, by_id):
        sizes[container] = _layout_group(groups[container], edges, by_id, sizes, CHILD_ORIGIN)
        width = max(sizes[container][0] + CONTAINER_PADDING, MIN_CONTAINER[0])
        height = max(sizes[container][1] + CONTAINER_PADDING, MIN_CONTAINER[1])
        sizes[container] = (width, height)
        node = by_id[container]
        node["width"], node["height"] = width, height
        node["data"]["width"], node["data"]["height"] = width, height
    _layout_group(groups[None], edges, by_id, sizes, TOP_ORIGIN)
    for node in nodes:  # absolute positions, parents first
        _absolute(node, by_id)


def _parent(node: dict[str, Any], by_id: dict[str, Any]) -> str | None:
    parent = node.get("parentId")
    return parent if isinstance(parent, str) and parent in by_id else None


def _deepest_first(groups: dict[str | None, list[str]], by_id: dict[str, Any]) -> list[str]:
    def depth(node_id: str) -> int:
        level, parent = 0, _parent(by_id[node_id], by_id)
        while parent is not None and level < len(by_id):
            level, parent = level + 1, _parent(by_id[parent], by_id)
        return level

    containers = [c for c in groups if c is not None]
    return sorted(containers, key=lambda c: (-depth(c), list(by_id).index(c)))


def _layout_group(ids: list[str], edges: list[dict[str, Any]], by_id: dict[str, Any],
                  sizes: dict[str, tuple[float, float]],
                  origin: tuple[float, float]) -> tuple[float, float]:
    """Place one group's nodes; return the bounding width and height from the origin."""
    members = set(ids)
    order = {node_id: i for i, node_id in enumerate(ids)}
    succ: dict[str, list[str]] = defaultdict(list)
    indegree = dict.fromkeys(ids, 0)
    for edge in edges:
        src, dst = edge.get("source"), edge.get("target")
        if src in members and dst in members and src != dst:
            succ[src].append(dst)
            indegree[dst] += 1
    rank = dict.fromkeys(ids, 0)
    ready = sorted((n for n in ids if indegree[n] == 0), key=order.__getitem__)
    seen: set[str] = set()
    while ready:
        current = ready.pop(0)
        seen.add(current)
        for nxt in succ[current]:
            rank[nxt] = max(rank[nxt], rank[current] + 1)
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
                ready.sort(key=order.__getitem__)
    top = max(rank.values(), default=0)
    for node_id in ids:  # nodes on a cycle keep a column after the others
        if node_id not in seen:
            rank[node_id] = top + 1
    columns: dict[int, list[str]] = defaultdict(list)
    for node_id in ids:
        columns[rank[node_id]].append(node_id)
    x, max_y = origin[0], origin[1]
    for column in sorted(columns):
        y, col_width = origin[1], 0.0
        for node_id in columns[column]:
            node = by_id[node_id]
            width, height = sizes.get(node_id) or node_size(node)
            node["position"] = {"x": x, "y": y}
            node.setdefault("width", width)
            node.setdefault("height", height)
            y += height + GAP_Y
            col_width = max(col_width, width)
        max_y = max(max_y, y - GAP_Y)
        x += col_width + GAP_X
    return x - GAP_X, max_y


def _absolute(node: dict[str, Any], by_id: dict[str, Any]) -> None:
    x, y = node["position"]["x"], node["position"]["y"]
    parent = _parent(node, by_id)
    guard = 0
    while parent is not None and guard < len(by_id):
        x += by_id[parent]["position"]["x"]
        y += by_id[parent]["position"]["y"]
        parent = _parent(by_id[parent], by_id)
        guard += 1
    node["positionAbsolute"] = {"x": x, "y": y}
