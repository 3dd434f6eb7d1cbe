"""The parsed graph: nodes and edges with their DSL paths, adjacency and container nesting."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from revline.workflows.validator.document import DocumentInfo

GRAPH = "workflow.graph"
NOTE_NODE_TYPE = "custom-note"


@dataclass(slots=True)
class NodeView:
    """One node as the rules see it: id, data.type, data, its DSL path and container."""

    index: int
    id: str
    type: str
    data: dict[str, Any]
    parent: str | None
    raw: dict[str, Any]

    @property
    def path(self) -> str:
        """`workflow.graph.nodes[3]`."""
        return f"{GRAPH}.nodes[{self.index}]"

    def at(self, dotted: str) -> str:
        """Path of a field under data: `workflow.graph.nodes[3].data.model.provider`."""
        return f"{self.path}.data.{dotted}" if dotted else f"{self.path}.data"

    @property
    def title(self) -> str:
        """The node's title, for messages."""
        title = self.data.get("title")
        return title if isinstance(title, str) and title else self.type

    def label(self) -> str:
        """`node 'llm_1' (llm)` for messages."""
        return f"{self.type} node {self.id!r}"


@dataclass(slots=True)
class EdgeView:
    """One edge with the handles Dify would use (missing handles default to source/target)."""

    index: int
    id: str
    source: str
    target: str
    source_handle: str
    target_handle: str
    raw: dict[str, Any]

    @property
    def path(self) -> str:
        """`workflow.graph.edges[5]`."""
        return f"{GRAPH}.edges[{self.index}]"


@dataclass(slots=True)
class GraphModel:
    """Nodes, edges and indexes built once, shared by every rule."""

    info: DocumentInfo
    nodes: list[NodeView] = field(default_factory=list)
    edges: list[EdgeView] = field(default_factory=list)
    by_id: dict[str, NodeView] = field(default_factory=dict)
    out_edges: dict[str, list[EdgeView]] = field(default_factory=lambda: defaultdict(list))
    in_edges: dict[str, list[EdgeView]] = field(default_factory=lambda: defaultdict(list))
    children: dict[str, list[NodeView]] = field(default_factory=lambda: defaultdict(list))
    titles: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    @property
    def mode(self) -> str:
        """workflow | advanced-chat | rag-pipeline."""
        return self.info.mode

    def index(self) -> None:
        """Build adjacency over edges whose ends exist, and container membership."""
        for node in self.nodes:
            self.titles[node.title].append(node.id)
        for node in self.nodes:
            if node.parent is not None and node.parent in self.by_id:
                self.children[node.parent].append(node)
        for edge in self.edges:
            if edge.source in self.by_id and edge.target in self.by_id:
                self.out_edges[edge.source].append(edge)
                self.in_edges[edge.target].append(edge)

    def containers_of(self, node: NodeView) -> list[NodeView]:
        """Enclosing containers, innermost first (guards against parentId cycles)."""
        chain: list[NodeView] = []
        seen = {node.id}
        parent = node.parent
        while parent is not None and parent in self.by_id and parent not in seen:
            seen.add(parent)
            container = self.by_id[parent]
            chain.append(container)
            parent = container.parent
        return chain


def node_parent(raw: dict[str, Any], data: dict[str, Any]) -> str | None:
    """Container id: `parentId`, or the older `data.iteration_id` / `data.loop_id` markers."""
    for value in (raw.get("parentId"), data.get("iteration_id"), data.get("loop_id")):
        if isinstance(value, str) and value:
            return value
    return None
