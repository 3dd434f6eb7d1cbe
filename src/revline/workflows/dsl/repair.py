"""Deterministic repair of edges and handles, before validation.

Drops edges that cannot be right (missing nodes, self-loops, exact duplicates), maps common
handle mistakes to Dify's handles (if-else `else` -> `false`, a classifier's class name -> its
id, an unknown handle on a plain node -> `source`), and fills edge ids and edge data the way
Dify's editor writes them. Every change is reported.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

_ELSE = {"else", "false", "no", "default", "otherwise"}
_IF = {"if", "true", "yes", "then"}
_FAIL_HANDLES = {"fail-branch", "success-branch"}
_CONTAINERS = {"iteration": ("isInIteration", "iteration_id"), "loop": ("isInLoop", "loop_id")}
CHILD_Z_INDEX = 1002


@dataclass(slots=True)
class RepairResult:
    """The repaired graph and a line per change made."""

    graph: dict[str, Any]
    changes: list[str] = field(default_factory=list)


def _data(node: Any) -> dict[str, Any]:
    data = node.get("data") if isinstance(node, dict) else None
    return data if isinstance(data, dict) else {}


def _items(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def valid_handles(node: dict[str, Any]) -> list[str]:
    """Source handles Dify accepts on an edge leaving this node."""
    data = _data(node)
    node_type = data.get("type")
    handles: list[str]
    if node_type == "if-else":
        cases = _items(data.get("cases"))
        if not cases and isinstance(data.get("conditions"), list):
            handles = ["true", "false"]
        else:
            handles = [str(c["case_id"]) for c in cases if c.get("case_id")] + ["false"]
    elif node_type == "question-classifier":
        handles = [str(c.get("id")) for c in _items(data.get("classes"))]
    elif node_type == "human-input":
        handles = [str(a.get("id")) for a in _items(data.get("user_actions"))] + ["__timeout"]
    else:
        handles = ["source"]
    if data.get("error_strategy") == "fail-branch":
        handles += sorted(_FAIL_HANDLES | {"source"} - set(handles))
    return handles


def _fix_handle(node: dict[str, Any], handle: str) -> str | None:
    """The handle an author most likely meant, or None when it cannot be told."""
    data = _data(node)
    node_type = data.get("type")
    allowed = valid_handles(node)
    low = handle.strip().lower()
    if node_type == "if-else":
        if low in _ELSE:
            return "false"
        if low in _IF and allowed[:-1]:
            return allowed[0]
        return None
    if node_type == "question-classifier":
        classes = _items(data.get("classes"))
        for c in classes:
            if str(c.get("name", "")).strip().lower() == low:
                return str(c.get("id"))
        if low.isdigit() and 1 <= int(low) <= len(classes):
            return str(classes[int(low) - 1].get("id"))
        return None
    if node_type == "human-input":
        for action in _items(data.get("user_actions")):
            if str(action.get("title", "")).strip().lower() == low:
                return str(action.get("id"))
        return None
    return "source"


def repair_graph(graph: dict[str, Any]) -> RepairResult:
    """Return a repaired copy of `{nodes, edges}`; the input is not modified."""
    out = copy.deepcopy(graph)
    result = RepairResult(graph=out)
    by_id = {n["id"]: n for n in _items(out.get("nodes")) if isinstance(n.get("id"), str)}
    repaired: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str, str]] = set()
    used_ids: set[str] = set()
    edges = out.get("edges")
    for i, edge in enumerate(edges if isinstance(edges, list) else []):
        fixed = _repair_edge(i, edge, by_id, result.changes)
        if fixed is None:
            continue
        key = (fixed["source"], fixed["sourceHandle"], fixed["target"], fixed["targetHandle"])
        if key in seen:
            result.changes.append(f"edges[{i}]: dropped duplicate of {key[0]} -> {key[2]}")
            continue
        seen.add(key)
        edge_id = fixed.get("id")
        if not isinstance(edge_id, str) or not edge_id or edge_id in used_ids:
            fixed["id"] = "-".join(key)
            if edge_id:
                result.changes.append(f"edges[{i}]: renamed duplicate id {edge_id!r}")
        used_ids.add(fixed["id"])
        repaired.append(fixed)
    out["edges"] = repaired
    return result


def _repair_edge(i: int, edge: Any, by_id: dict[Any, dict[str, Any]],
                 changes: list[str]) -> dict[str, Any] | None:
    if not isinstance(edge, dict):
        changes.append(f"edges[{i}]: dropped, not a mapping")
        return None
    source, target = edge.get("source"), edge.get("target")
    for end, node_id in (("source", source), ("target", target)):
        if not isinstance(node_id, str) or node_id not in by_id:
            changes.append(f"edges[{i}]: dropped, {end} {node_id!r} is not a node")
            return None
    if source == target:
        changes.append(f"edges[{i}]: dropped self-loop on {source!r}")
        return None
    src, dst = by_id[source], by_id[target]
    handle = edge.get("sourceHandle")
    handle = "source" if handle in (None, "") else str(handle)
    if handle not in valid_handles(src):
        fixed = _fix_handle(src, handle)
        if fixed is not None and fixed != handle:
            changes.append(f"edges[{i}]: sourceHandle {handle!r} -> {fixed!r}")
            handle = fixed
    if edge.get("targetHandle") not in (None, "target"):
        changes.append(f"edges[{i}]: targetHandle {edge.get('targetHandle')!r} -> 'target'")
    edge["sourceHandle"], edge["targetHandle"] = handle, "target"
    edge["type"] = "custom"
    data = dict(edge["data"]) if isinstance(edge.get("data"), dict) else {}
    data["sourceType"] = _data(src).get("type")
    data["targetType"] = _data(dst).get("type")
    parent = src.get("parentId") if src.get("parentId") == dst.get("parentId") else None
    container = _data(by_id.get(parent)).get("type") if isinstance(parent, str) else None
    for kind, (flag, key) in _CONTAINERS.items():
        data[flag] = container == kind
        if container == kind:
            data[key] = parent
        else:
            data.pop(key, None)
    edge["data"] = data
    edge["zIndex"] = CHILD_Z_INDEX if parent else 0
    return edge
