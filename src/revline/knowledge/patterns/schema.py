"""Pattern library schema v1: validation, content hash and the text that gets embedded."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

SCHEMA_VERSION = 1
ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MODES = ("workflow", "advanced-chat")
REQUIRED = ("schema", "id", "name", "mode", "category", "description", "graph")


def looks_like_pattern(data: object) -> bool:
    """A YAML document that claims to be a pattern (so it is validated as one)."""
    return isinstance(data, dict) and "schema" in data and "graph" in data and "id" in data


def validate_pattern(data: object, stem: str | None = None) -> list[str]:
    """Every problem as `field: message`; empty means the pattern is valid."""
    if not isinstance(data, dict):
        return ["(root): a pattern must be a mapping"]
    errors = [f"{key}: required" for key in REQUIRED if key not in data]
    if data.get("schema", SCHEMA_VERSION) != SCHEMA_VERSION:
        errors.append(f"schema: unsupported version {data.get('schema')!r}; expected 1")
    pid = data.get("id")
    if "id" in data and (not isinstance(pid, str) or not ID_RE.match(pid)):
        errors.append(f"id: {pid!r} must match [a-z0-9-]+")
    elif stem is not None and pid != stem:
        errors.append(f"id: {pid!r} must equal the file name {stem!r}")
    for key in ("name", "category", "description"):
        if key in data and (not isinstance(data[key], str) or not data[key].strip()):
            errors.append(f"{key}: must be a non-empty string")
    if "mode" in data and data["mode"] not in MODES:
        errors.append(f"mode: {data['mode']!r} must be one of {', '.join(MODES)}")
    for key in ("use_when", "tags"):
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            errors.append(f"{key}: must be a list of strings")
    slots = data.get("slots", [])
    if not isinstance(slots, list):
        errors.append("slots: must be a list")
    else:
        for index, slot in enumerate(slots):
            if not isinstance(slot, dict) or not isinstance(slot.get("name"), str):
                errors.append(f"slots[{index}]: needs a name")
    graph = data.get("graph")
    if "graph" in data:
        if not isinstance(graph, dict):
            errors.append("graph: must be a mapping with nodes and edges")
        else:
            nodes, edges = graph.get("nodes"), graph.get("edges")
            if not isinstance(nodes, list) or not nodes:
                errors.append("graph.nodes: must be a non-empty list")
            if not isinstance(edges, list):
                errors.append("graph.edges: must be a list")
    return errors


def content_sha256(pattern: dict[str, Any]) -> str:
    """Hash of the parsed pattern; key order and YAML formatting do not change it."""
    canonical = json.dumps(pattern, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                           default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def node_types(pattern: dict[str, Any]) -> list[str]:
    """Distinct Dify node types in graph order (start, llm, knowledge-retrieval, ...)."""
    graph = pattern.get("graph")
    nodes = graph.get("nodes", []) if isinstance(graph, dict) else []
    seen: list[str] = []
    for node in nodes if isinstance(nodes, list) else []:
        data = node.get("data") if isinstance(node, dict) else None
        kind = data.get("type") if isinstance(data, dict) else None
        if isinstance(kind, str) and kind not in seen:
            seen.append(kind)
    return seen


def search_text(pattern: dict[str, Any]) -> str:
    """What is embedded and indexed for pattern search: name, description, uses, tags, nodes."""
    parts = [str(pattern.get("name", "")), str(pattern.get("description", ""))]
    use_when = [str(u) for u in pattern.get("use_when") or []]
    if use_when:
        parts.append("Use when: " + "; ".join(use_when))
    tags = [str(t) for t in pattern.get("tags") or []]
    if tags:
        parts.append("Tags: " + ", ".join(tags))
    kinds = node_types(pattern)
    if kinds:
        parts.append("Nodes: " + ", ".join(kinds))
    return "\n".join(p for p in parts if p.strip())
