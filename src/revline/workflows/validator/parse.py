"""Build the GraphModel from `workflow.graph` and run each node type's field rules.

Node and edge shapes follow Dify's graph parsing: `custom-note` nodes are canvas notes and are
ignored; a missing `sourceHandle` / `targetHandle` means `source` / `target`.
"""

from __future__ import annotations

import difflib
from typing import Any

from revline.workflows.validator.document import DocumentInfo
from revline.workflows.validator.model import (
    GRAPH,
    NOTE_NODE_TYPE,
    EdgeView,
    GraphModel,
    NodeView,
    node_parent,
)
from revline.workflows.validator.nodes import ERROR_STRATEGIES, KNOWN_TYPES, RULES, Fields
from revline.workflows.validator.report import Collector

DEFAULT_VALUE_TYPES = (
    "string", "number", "object", "array[number]", "array[string]", "array[object]", "array[file]",
)


def build_graph(info: DocumentInfo, graph: dict[str, Any], col: Collector) -> GraphModel:
    """Parse nodes and edges, reporting malformed ones; the model holds the usable rest."""
    model = GraphModel(info=info)
    raw_nodes = graph.get("nodes")
    if not isinstance(raw_nodes, list):
        col.error(f"{GRAPH}.nodes", "graph.nodes_missing",
                  "workflow.graph.nodes must be a list of nodes; add at least an entry node")
        raw_nodes = []
    first_index: dict[str, int] = {}
    for i, raw in enumerate(raw_nodes):
        node = _parse_node(i, raw, col, first_index)
        if node is not None:
            model.nodes.append(node)
            model.by_id[node.id] = node
    raw_edges = graph.get("edges", [])
    if raw_edges is None:
        raw_edges = []
    if not isinstance(raw_edges, list):
        col.error(f"{GRAPH}.edges", "graph.edges_type", "workflow.graph.edges must be a list")
        raw_edges = []
    for j, raw in enumerate(raw_edges):
        edge = _parse_edge(j, raw, col)
        if edge is not None:
            model.edges.append(edge)
    model.index()
    return model


def _parse_node(i: int, raw: Any, col: Collector, first_index: dict[str, int]) -> NodeView | None:
    path = f"{GRAPH}.nodes[{i}]"
    if not isinstance(raw, dict):
        col.error(path, "node.shape", "each node must be a mapping with id, type and data")
        return None
    if raw.get("type") == NOTE_NODE_TYPE:
        return None
    data = raw.get("data")
    if not isinstance(data, dict):
        col.error(f"{path}.data", "node.data_missing",
                  "node data is missing; add data with at least type and title")
        return None
    node_id = raw.get("id")
    if not isinstance(node_id, str) or not node_id:
        hint = "quote it so it is a string" if isinstance(node_id, int | float) else \
            "give the node a unique id"
        col.error(f"{path}.id", "node.id_missing", f"node id {node_id!r} is not a string; {hint}")
        return None
    if node_id in first_index:
        col.error(f"{path}.id", "node.id_duplicate",
                  f"node id {node_id!r} is already used by {GRAPH}.nodes[{first_index[node_id]}]; "
                  "give each node a unique id")
        return None
    first_index[node_id] = i
    node_type = data.get("type")
    if not isinstance(node_type, str) or node_type not in RULES:
        near = difflib.get_close_matches(str(node_type), KNOWN_TYPES, n=1)
        hint = f"did you mean {near[0]!r}?" if near else f"use one of {', '.join(KNOWN_TYPES)}"
        col.error(f"{path}.data.type", "node.type_unknown",
                  f"node {node_id!r} has unknown type {node_type!r}; {hint}")
    return NodeView(
        index=i, id=node_id, type=str(node_type), data=data, parent=node_parent(raw, data), raw=raw
    )


def _parse_edge(j: int, raw: Any, col: Collector) -> EdgeView | None:
    path = f"{GRAPH}.edges[{j}]"
    if not isinstance(raw, dict):
        col.error(path, "edge.shape", "each edge must be a mapping with source and target")
        return None
    ends: dict[str, str] = {}
    for key in ("source", "target"):
        value = raw.get(key)
        if not isinstance(value, str) or not value:
            col.error(f"{path}.{key}", "edge.endpoint_missing",
                      f"edge {key} is missing; set it to a node id")
            return None
        ends[key] = value
    handles: dict[str, str] = {}
    for key, default in (("sourceHandle", "source"), ("targetHandle", "target")):
        value = raw.get(key)
        if value is None or value == "":
            handles[key] = default
        elif isinstance(value, str | int):
            handles[key] = str(value)
        else:
            col.error(f"{path}.{key}", "edge.handle_type", f"{key} must be a string")
            handles[key] = default
    edge_id = raw.get("id")
    return EdgeView(
        index=j, id=str(edge_id) if edge_id not in (None, "") else "",
        source=ends["source"], target=ends["target"], source_handle=handles["sourceHandle"],
        target_handle=handles["targetHandle"], raw=raw,
    )


def check_nodes(model: GraphModel, col: Collector) -> None:
    """Common node fields (error strategy, default values, retry) and per-type rules."""
    for node in model.nodes:
        rule = RULES.get(node.type)
        if rule is None:
            continue
        fields = Fields(node, col, model)
        _common(fields)
        rule.check(fields)


def _common(fields: Fields) -> None:
    strategy = fields.choice("error_strategy", ERROR_STRATEGIES, required=False)
    defaults = fields.items("default_value", "", required=False)
    if strategy == "default-value" and not defaults:
        fields.error("default_value", "node.default_value_missing",
                     "error_strategy is default-value but no default_value is set; add "
                     "[{key, type, value}] for each output")
    for i, item in enumerate(defaults or []):
        at = f"default_value[{i}]"
        if not isinstance(item, dict):
            fields.error(at, "node.default_value", f"{at} must be a mapping {{key, type, value}}")
            continue
        fields.text(f"{at}.key", "name the output the default replaces")
        fields.choice(f"{at}.type", DEFAULT_VALUE_TYPES)
    retry = fields.get("retry_config")
    if retry is not None and not isinstance(retry, dict):
        fields.error("retry_config", "node.field_type",
                     "retry_config must be a mapping {retry_enabled, max_retries, retry_interval}")
    title = fields.get("title")
    if title is not None and not isinstance(title, str):
        fields.warn("title", "node.title_type", "title should be a string; quote it")
