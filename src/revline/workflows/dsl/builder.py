"""Build a complete Dify DSL document (version 0.6.0) from a graph, and dump it as YAML.

`build_dsl` takes a graph in short form (nodes with id, data and optional parentId; edges with
source, target and optional sourceHandle), normalizes nodes to the shape Dify's editor writes,
repairs edges, lays the canvas out deterministically and wraps it in the app envelope.
`dump_dsl` scrubs secrets first and refuses to write a literal credential.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from revline.kernel.errors import InvalidInput
from revline.workflows.dsl.layout import apply_layout
from revline.workflows.dsl.repair import CHILD_Z_INDEX, repair_graph
from revline.workflows.validator.document import CURRENT_VERSION
from revline.workflows.validator.secrets import find_secrets

AppMode = Literal["workflow", "advanced-chat"]
_ID_NAMESPACE = uuid.UUID("5b1f8d2e-6a0c-4c55-9d36-2f0f3c9a7e11")
DEFAULT_TITLES = {
    "start": "Start", "end": "End", "answer": "Answer", "llm": "LLM",
    "knowledge-retrieval": "Knowledge Retrieval", "if-else": "IF/ELSE", "code": "Code",
    "template-transform": "Template", "question-classifier": "Question Classifier",
    "http-request": "HTTP Request", "tool": "Tool", "variable-aggregator": "Variable Aggregator",
    "assigner": "Variable Assigner", "iteration": "Iteration", "iteration-start": "",
    "loop": "Loop", "loop-start": "", "loop-end": "Exit Loop",
    "parameter-extractor": "Parameter Extractor", "document-extractor": "Doc Extractor",
    "list-operator": "List Operator", "agent": "Agent", "human-input": "Human Input",
    "trigger-schedule": "Schedule Trigger", "trigger-webhook": "Webhook Trigger",
    "trigger-plugin": "Plugin Trigger",
}
_CANVAS_TYPES = {
    "iteration-start": "custom-iteration-start", "loop-start": "custom-loop-start",
    "loop-end": "custom-loop-end",
}
_CONTAINER_FLAGS = {"iteration": ("isInIteration", "iteration_id"), "loop": ("isInLoop", "loop_id")}


class SecretInDSL(InvalidInput):
    """An export would contain a literal credential."""


class InvalidGraph(InvalidInput):
    """The graph handed to the builder has a node it cannot place (no id, no data)."""


@dataclass(frozen=True, slots=True)
class AppSpec:
    """The `app` block: what the imported app is called and which mode it runs in."""

    name: str
    mode: AppMode = "workflow"
    description: str = ""
    icon: str = "🤖"
    icon_background: str = "#FFEAD5"
    icon_type: str = "emoji"
    use_icon_as_answer_icon: bool = False

    def to_dsl(self) -> dict[str, Any]:
        """The `app` mapping."""
        return {
            "name": self.name, "mode": self.mode, "icon": self.icon, "icon_type": self.icon_type,
            "icon_background": self.icon_background, "description": self.description,
            "use_icon_as_answer_icon": self.use_icon_as_answer_icon,
        }


@dataclass(frozen=True, slots=True)
class EnvVar:
    """A workflow environment variable; `secret` values are never exported."""

    name: str
    value: str | int | float = ""
    value_type: Literal["string", "number", "secret"] = "string"
    description: str = ""

    def to_dsl(self) -> dict[str, Any]:
        """The exported mapping (secret values blanked, as Dify exports them)."""
        return {
            "id": str(uuid.uuid5(_ID_NAMESPACE, f"env:{self.name}")), "name": self.name,
            "value_type": self.value_type, "description": self.description,
            "value": "" if self.value_type == "secret" else self.value,
            "selector": ["env", self.name],
        }


@dataclass(frozen=True, slots=True)
class ConversationVar:
    """A chatflow conversation variable (state kept across turns)."""

    name: str
    value_type: str = "string"
    value: Any = ""
    description: str = ""

    def to_dsl(self) -> dict[str, Any]:
        """The exported mapping."""
        return {
            "id": str(uuid.uuid5(_ID_NAMESPACE, f"conversation:{self.name}")),
            "name": self.name, "value_type": self.value_type, "value": self.value,
            "description": self.description, "selector": ["conversation", self.name],
        }


@dataclass(slots=True)
class BuiltDSL:
    """The document plus the repairs that were applied to its edges."""

    document: dict[str, Any]
    repairs: list[str] = field(default_factory=list)

    def to_yaml(self) -> str:
        """YAML that Dify imports; raises SecretInDSL instead of leaking a credential."""
        return dump_dsl(self.document)


def default_features(mode: AppMode) -> dict[str, Any]:
    """The `features` block Dify writes for a new app (everything off, citations on)."""
    return {
        "file_upload": {
            "enabled": False, "allowed_file_types": ["image"],
            "allowed_file_extensions": [".JPG", ".JPEG", ".PNG", ".GIF", ".WEBP", ".SVG"],
            "allowed_file_upload_methods": ["local_file", "remote_url"], "number_limits": 3,
            "image": {"enabled": False, "number_limits": 3,
                      "transfer_methods": ["local_file", "remote_url"]},
        },
        "opening_statement": "",
        "retriever_resource": {"enabled": mode == "advanced-chat"},
        "sensitive_word_avoidance": {"enabled": False},
        "speech_to_text": {"enabled": False},
        "suggested_questions": [],
        "suggested_questions_after_answer": {"enabled": False},
        "text_to_speech": {"enabled": False, "language": "", "voice": ""},
    }


def normalize_node(
    raw: Mapping[str, Any], by_id: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """One node in the shape Dify's editor writes (canvas type, title, container markers)."""
    node = copy.deepcopy(dict(raw))
    data = dict(node["data"]) if isinstance(node.get("data"), Mapping) else {}
    node_type = str(data.get("type", ""))
    data.setdefault("title", DEFAULT_TITLES.get(node_type, node_type))
    data.setdefault("desc", "")
    data["selected"] = False
    node["type"] = _CANVAS_TYPES.get(node_type, "custom")
    parent = node.get("parentId")
    if isinstance(parent, str) and parent in by_id:
        container = (by_id[parent].get("data") or {}).get("type")
        flags = _CONTAINER_FLAGS.get(str(container))
        if flags:
            data[flags[0]] = True
            data[flags[1]] = parent
        node["extent"] = "parent"
        node["zIndex"] = CHILD_Z_INDEX
        if node_type in ("iteration-start", "loop-start"):
            node["draggable"] = False
            node["selectable"] = False
    for key in ("position", "positionAbsolute", "width", "height"):
        node.pop(key, None)
    node["data"] = data
    node["sourcePosition"] = "right"
    node["targetPosition"] = "left"
    node["selected"] = False
    return node


def build_dsl(
    app: AppSpec,
    graph: Mapping[str, Any],
    *,
    features: Mapping[str, Any] | None = None,
    environment_variables: Iterable[EnvVar] = (),
    conversation_variables: Iterable[ConversationVar] = (),
    dependencies: Iterable[Mapping[str, Any]] = (),
) -> BuiltDSL:
    """A full DSL document for `graph`, with normalized nodes, repaired edges and a layout.

    Raises InvalidGraph when a node has no string id or no data mapping: there is no safe
    repair for those, the caller (or the LLM) has to fix them.
    """
    raw_nodes = _checked_nodes(graph)
    by_id = {str(n["id"]): n for n in raw_nodes}
    nodes = [normalize_node(n, by_id) for n in raw_nodes]
    raw_edges = graph.get("edges")
    repaired = repair_graph({"nodes": nodes,
                             "edges": list(raw_edges) if isinstance(raw_edges, list) else []})
    edges = repaired.graph["edges"]
    apply_layout(nodes, edges)
    document: dict[str, Any] = {
        "app": app.to_dsl(),
        "dependencies": [dict(d) for d in dependencies],
        "kind": "app",
        "version": CURRENT_VERSION,
        "workflow": {
            "conversation_variables": [v.to_dsl() for v in conversation_variables],
            "environment_variables": [v.to_dsl() for v in environment_variables],
            "features": dict(features) if features is not None else default_features(app.mode),
            "graph": {"edges": edges, "nodes": nodes,
                      "viewport": {"x": 0, "y": 0, "zoom": 0.7}},
        },
    }
    return BuiltDSL(document=document, repairs=repaired.changes)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _seq(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _checked_nodes(graph: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    nodes = graph.get("nodes")
    if not isinstance(nodes, list) or not nodes:
        raise InvalidGraph("graph.nodes must be a non-empty list of nodes {id, data}")
    seen: set[str] = set()
    for i, raw in enumerate(nodes):
        if not isinstance(raw, Mapping):
            raise InvalidGraph(f"graph.nodes[{i}] is not a mapping; write {{id, data: {{type}}}}")
        node_id, data = raw.get("id"), raw.get("data")
        if not isinstance(node_id, str) or not node_id:
            raise InvalidGraph(f"graph.nodes[{i}].id must be a non-empty string")
        if node_id in seen:
            raise InvalidGraph(f"graph.nodes[{i}].id {node_id!r} is used twice; make ids unique")
        seen.add(node_id)
        if not isinstance(data, Mapping) or not isinstance(data.get("type"), str):
            raise InvalidGraph(f"graph.nodes[{i}].data must be a mapping with a type, e.g. "
                               "{type: llm, ...}")
    return nodes


def scrub_secrets(document: Mapping[str, Any]) -> dict[str, Any]:
    """A copy safe to export: secret env values blanked, tool credential ids dropped; raises
    SecretInDSL when a literal credential remains anywhere else."""
    doc = copy.deepcopy(dict(document))
    workflow = _mapping(doc.get("workflow"))
    for var in _seq(workflow.get("environment_variables")):
        if isinstance(var, dict) and var.get("value_type") == "secret":
            var["value"] = ""
    for node in _seq(_mapping(workflow.get("graph")).get("nodes")):
        data = _mapping(_mapping(node).get("data"))
        # Dify's own export drops these workspace credential references.
        data.pop("credential_id", None)
        tools = _mapping(_mapping(data.get("agent_parameters")).get("tools"))
        for tool in _seq(tools.get("value")):
            if isinstance(tool, dict):
                tool.pop("credential_id", None)
    findings = list(find_secrets(doc))
    if findings:
        first = findings[0]
        more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
        raise SecretInDSL(
            f"exported DSL would contain a secret at {first.path}: {first.reason}{more}; move it "
            "to a secret environment variable and reference it as {{#env.NAME#}}"
        )
    return doc


def dump_dsl(document: Mapping[str, Any]) -> str:
    """YAML text of a DSL document (secrets scrubbed, unicode kept as is)."""
    # Sorted keys, like Dify's own export (yaml.dump defaults), so diffs stay small.
    return yaml.safe_dump(scrub_secrets(document), allow_unicode=True, sort_keys=True,
                          width=100)
