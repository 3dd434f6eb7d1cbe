"""Layout-insensitive diff of two Dify DSL documents.

Canvas state (positions, sizes, z-index, selection, handle positions) and derived edge
details (ids, edge data) are ignored. Nodes are matched by id, then unmatched ones by
content, so a regeneration that only renamed node ids shows as renames, not as a whole new
graph; references to renamed ids are compared through the rename. What remains is reported
as added, removed and changed nodes (with the changed fields), added and removed edges,
and changed app-level fields (name, mode, variables, features).
"""

from __future__ import annotations

import json
import re
from typing import Any

_CANVAS_NODE_KEYS = {"position", "positionAbsolute", "width", "height", "selected", "zIndex",
                     "sourcePosition", "targetPosition", "dragging", "extent", "draggable",
                     "selectable", "type"}
_CANVAS_DATA_KEYS = {"selected", "width", "height", "isInIteration", "isInLoop",
                     "iteration_id", "loop_id"}
MAX_VALUE_CHARS = 300


def _graph(doc: dict[str, Any]) -> dict[str, Any]:
    graph = (doc.get("workflow") or {}).get("graph") if isinstance(doc, dict) else None
    return graph if isinstance(graph, dict) else {}


def _nodes(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for node in _graph(doc).get("nodes") or []:
        if isinstance(node, dict) and isinstance(node.get("id"), str):
            if (node.get("data") or {}).get("type") == "custom-note":
                continue  # canvas notes are not part of the workflow
            out[node["id"]] = node
    return out


def _content(node: dict[str, Any]) -> dict[str, Any]:
    """What a node means: data without canvas keys, plus its container."""
    data = {k: v for k, v in (node.get("data") or {}).items() if k not in _CANVAS_DATA_KEYS}
    extra = {k: v for k, v in node.items()
             if k not in _CANVAS_NODE_KEYS and k not in ("id", "data")}
    return {"data": data, **extra}


def _rename(value: Any, renames: dict[str, str]) -> Any:
    """Rewrite references to renamed node ids (`{{#old.x#}}`, `[old, x]`, parentId)."""
    if not renames:
        return value
    if isinstance(value, dict):
        return {k: _rename(v, renames) for k, v in value.items()}
    if isinstance(value, list):
        if value and isinstance(value[0], str) and value[0] in renames:
            return [renames[value[0]], *(_rename(v, renames) for v in value[1:])]
        return [_rename(v, renames) for v in value]
    if isinstance(value, str):
        if value in renames:
            return renames[value]
        return re.sub(r"\{\{#([^.#]+)\.", lambda m: "{{#" + renames.get(m.group(1),
                                                                        m.group(1)) + ".",
                      value)
    return value


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _short(value: Any) -> Any:
    text = _canon(value)
    if len(text) <= MAX_VALUE_CHARS:
        return value
    return text[:MAX_VALUE_CHARS] + "…"


def field_changes(before: Any, after: Any, path: str = "") -> list[dict[str, Any]]:
    """Leaf-level differences between two JSON values, as {path, before, after}."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[dict[str, Any]] = []
        for key in sorted(set(before) | set(after), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in before:
                out.append({"path": sub, "before": None, "after": _short(after[key])})
            elif key not in after:
                out.append({"path": sub, "before": _short(before[key]), "after": None})
            else:
                out += field_changes(before[key], after[key], sub)
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after) \
            and all(isinstance(v, dict) for v in before + after):
        out = []
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            out += field_changes(b, a, f"{path}[{i}]")
        return out
    if _canon(before) != _canon(after):
        return [{"path": path, "before": _short(before), "after": _short(after)}]
    return []


def _match_renames(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]
                   ) -> dict[str, str]:
    """Old id -> new id for nodes present on one side only whose content is the same."""
    gone = [i for i in old if i not in new]
    came = [i for i in new if i not in old]
    renames: dict[str, str] = {}
    if not gone or not came:
        return renames
    # Two passes: references inside a node may point at another renamed node.
    for _ in range(2):
        for old_id in gone:
            if old_id in renames:
                continue
            want = _canon(_rename(_content(old[old_id]), renames))
            for new_id in came:
                if new_id in renames.values():
                    continue
                if _canon(_content(new[new_id])) == want:
                    renames[old_id] = new_id
                    break
    return renames


def _edges(doc: dict[str, Any], renames: dict[str, str]) -> set[tuple[str, str, str]]:
    out: set[tuple[str, str, str]] = set()
    for edge in _graph(doc).get("edges") or []:
        if not isinstance(edge, dict):
            continue
        source, target = str(edge.get("source")), str(edge.get("target"))
        handle = str(edge.get("sourceHandle") or "source")
        out.add((renames.get(source, source), handle, renames.get(target, target)))
    return out


def _app_fields(doc: dict[str, Any]) -> dict[str, Any]:
    workflow = doc.get("workflow") or {}

    def by_name(items: Any) -> dict[str, Any]:
        return {str(v.get("name")): {k: x for k, x in v.items() if k != "id"}
                for v in items or [] if isinstance(v, dict)}

    return {
        "app": dict((doc.get("app") or {}).items()),
        "version": doc.get("version"),
        "environment_variables": by_name(workflow.get("environment_variables")),
        "conversation_variables": by_name(workflow.get("conversation_variables")),
        "features": workflow.get("features") or {},
    }


def diff_documents(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Added/removed/changed/renamed nodes, added/removed edges and changed app fields."""
    old, new = _nodes(before), _nodes(after)
    renames = _match_renames(old, new)
    added = [n for n in new if n not in old and n not in renames.values()]
    removed = [n for n in old if n not in new and n not in renames]
    changed = []
    for old_id, node in old.items():
        new_id = renames.get(old_id, old_id)
        if new_id not in new:
            continue
        fields = field_changes(_rename(_content(node), renames), _content(new[new_id]))
        if fields:
            changed.append({"id": new_id, "type": (new[new_id].get("data") or {}).get("type"),
                            "fields": fields})
    old_edges, new_edges = _edges(before, renames), _edges(after, {})
    result = {
        "nodes": {
            "added": [{"id": n, "type": (new[n].get("data") or {}).get("type"),
                       "title": (new[n].get("data") or {}).get("title")} for n in added],
            "removed": [{"id": n, "type": (old[n].get("data") or {}).get("type"),
                         "title": (old[n].get("data") or {}).get("title")} for n in removed],
            "changed": changed,
            "renamed": [{"from": o, "to": n} for o, n in renames.items() if o != n],
        },
        "edges": {
            "added": [_edge_dict(e) for e in sorted(new_edges - old_edges)],
            "removed": [_edge_dict(e) for e in sorted(old_edges - new_edges)],
        },
        "app": field_changes(_app_fields(before), _app_fields(after)),
    }
    result["summary"] = summarize(result)
    result["identical"] = result["summary"] == "no changes"
    return result


def _edge_dict(edge: tuple[str, str, str]) -> dict[str, str]:
    return {"source": edge[0], "sourceHandle": edge[1], "target": edge[2]}


def summarize(diff: dict[str, Any]) -> str:
    """One line: what changed, counted."""
    parts = []
    nodes, edges = diff["nodes"], diff["edges"]
    for label, items in (("node(s) added", nodes["added"]), ("node(s) removed", nodes["removed"]),
                         ("node(s) changed", nodes["changed"]),
                         ("node(s) renamed", nodes["renamed"]),
                         ("edge(s) added", edges["added"]), ("edge(s) removed", edges["removed"]),
                         ("app field(s) changed", diff["app"])):
        if items:
            parts.append(f"{len(items)} {label}")
    return ", ".join(parts) if parts else "no changes"


def render(diff: dict[str, Any]) -> list[str]:
    """Text lines for the CLI: + added, - removed, ~ changed (field: before -> after)."""
    lines = []
    for node in diff["nodes"]["added"]:
        lines.append(f"+ node {node['id']} ({node['type']}) {node.get('title') or ''}".rstrip())
    for node in diff["nodes"]["removed"]:
        lines.append(f"- node {node['id']} ({node['type']}) {node.get('title') or ''}".rstrip())
    for pair in diff["nodes"]["renamed"]:
        lines.append(f"~ node {pair['from']} renamed to {pair['to']}")
    for node in diff["nodes"]["changed"]:
        lines.append(f"~ node {node['id']} ({node['type']})")
        for change in node["fields"]:
            lines.append(f"    {change['path']}: {_canon(change['before'])} -> "
                         f"{_canon(change['after'])}")
    for edge in diff["edges"]["added"]:
        lines.append(f"+ edge {edge['source']} -[{edge['sourceHandle']}]-> {edge['target']}")
    for edge in diff["edges"]["removed"]:
        lines.append(f"- edge {edge['source']} -[{edge['sourceHandle']}]-> {edge['target']}")
    for change in diff["app"]:
        lines.append(f"~ {change['path']}: {_canon(change['before'])} -> "
                     f"{_canon(change['after'])}")
    return lines
