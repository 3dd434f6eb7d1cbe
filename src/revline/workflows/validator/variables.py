"""Variable references: every `{{#node.var#}}` and value selector must resolve.

A reference resolves when its first part is `sys`, a declared `env` / `conversation` variable,
`rag`, or a node that runs before the referencing node (upstream along edges, or an enclosing
iteration/loop and what runs before it) and the variable is one that node type outputs.
"""

from __future__ import annotations

import difflib
import re
from collections import deque
from collections.abc import Iterator
from typing import Any

from revline.workflows.validator.model import GraphModel, NodeView
from revline.workflows.validator.nodes import RULES
from revline.workflows.validator.report import Collector

_TEMPLATE = re.compile(r"\{\{#([^#{}\s]+?)#\}\}")
# What Dify's VariableTemplateParser substitutes: other `{{#...#}}` stay literal text.
_DIFY_TEMPLATE_HEAD = re.compile(r"^[a-zA-Z0-9_]{1,50}$")
_DIFY_TEMPLATE_PART = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]{0,29}$")
SELECTOR_KEYS = frozenset({
    "variable_selector", "value_selector", "query_variable_selector", "iterator_selector",
    "input_variable_selector", "assigned_variable_selector", "query_attachment_selector",
    "index_chunk_variable_selector",
})
# Keys that hold a selector only for some node types.
_TYPED_SELECTOR_KEYS = {"parameter-extractor": {"query"}, "list-operator": {"variable"}}
# Jinja2 and code bodies are not Dify templates: `{{#...#}}` there is literal text.
_NOT_TEMPLATES = {"code": {"code"}, "template-transform": {"template"}}
CHAT_ONLY_SYS = frozenset({"query", "conversation_id", "dialogue_count"})
# Dify's SystemVariableKey over its versions (workflow/enums.py, graphon): any other sys.*
# name resolves to nothing at run time.
SYS_VARIABLES = CHAT_ONLY_SYS | frozenset({
    "files", "user_id", "user_email", "app_id", "workflow_id", "workflow_run_id", "timestamp",
    "document_id", "original_document_id", "batch", "dataset_id", "datasource_type",
    "datasource_info", "invoke_from",
})


def iter_references(node: NodeView) -> Iterator[tuple[str, list[str], str]]:
    """(dotted path under data, selector parts, display form) for every reference in a node."""
    skip = set(_NOT_TEMPLATES.get(node.type, set())) | {"output_selector"}
    for key in ("context", "vision"):
        value = node.data.get(key)
        if isinstance(value, dict) and value.get("enabled") is not True:
            skip.add(key)
    selector_keys = SELECTOR_KEYS | _TYPED_SELECTOR_KEYS.get(node.type, set())
    for key, value in node.data.items():
        if key in skip:
            continue
        yield from _walk(value, str(key), key in selector_keys, selector_keys)


def _walk(value: Any, path: str, is_selector: bool,
          keys: frozenset[str]) -> Iterator[tuple[str, list[str], str]]:
    if isinstance(value, str):
        for match in _TEMPLATE.finditer(value):
            parts = match.group(1).split(".")
            if len(parts) >= 2 and not parts[0].startswith("$"):
                yield path, parts, match.group(0)
        return
    if isinstance(value, list):
        if is_selector:
            if len(value) >= 2 and all(isinstance(v, str) for v in value):
                yield path, list(value), str(list(value))
            return
        if path.endswith("variables") and value and all(isinstance(v, list) for v in value):
            for i, item in enumerate(value):  # variable aggregator: a list of selectors
                yield from _walk(item, f"{path}[{i}]", True, keys)
            return
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}[{i}]", False, keys)
        return
    if isinstance(value, dict):
        variable_value = (
            value.get("type") == "variable" or value.get("input_type") == "variable"
            or value.get("value_type") == "variable"
        )
        for key, item in value.items():
            sub = f"{path}.{key}"
            if key in ("value", "selector") and variable_value and isinstance(item, list):
                yield from _walk(item, sub, True, keys)
            else:
                yield from _walk(item, sub, key in keys, keys)


class Resolver:
    """Answers "is this reference valid from this node?" with cached upstream sets."""

    def __init__(self, model: GraphModel, col: Collector) -> None:
        self.model = model
        self.col = col
        self._ancestors: dict[str, set[str]] = {}

    def ancestors(self, node_id: str) -> set[str]:
        """Nodes with a path of edges into `node_id`."""
        cached = self._ancestors.get(node_id)
        if cached is not None:
            return cached
        found: set[str] = set()
        queue = deque([node_id])
        while queue:
            for edge in self.model.in_edges.get(queue.popleft(), []):
                if edge.source not in found:
                    found.add(edge.source)
                    queue.append(edge.source)
        self._ancestors[node_id] = found
        return found

    def descendants_in(self, container: NodeView) -> set[str]:
        """Every node nested (at any depth) inside a container."""
        found: set[str] = set()
        queue = deque([container.id])
        while queue:
            for child in self.model.children.get(queue.popleft(), []):
                if child.id not in found:
                    found.add(child.id)
                    queue.append(child.id)
        return found

    def check_node(self, node: NodeView) -> None:
        """Resolve every reference of one node."""
        for dotted, parts, shown in iter_references(node):
            self._resolve(node, dotted, parts, shown)
        if node.type == "iteration":
            self._check_output_selector(node)

    def _resolve(self, node: NodeView, dotted: str, parts: list[str], shown: str) -> None:
        head, var = parts[0], parts[1]
        path = node.at(dotted)
        where = f"{node.label()}: {shown}"
        if head == "sys":
            if var not in SYS_VARIABLES:
                near = difflib.get_close_matches(var, sorted(SYS_VARIABLES), n=1)
                hint = f"did you mean {near[0]!r}?" if near else \
                    f"use one of {', '.join(sorted(SYS_VARIABLES))}"
                self.col.error(path, "var.sys_unknown",
                               f"{where} uses sys.{var}, which is not a Dify system variable; "
                               f"{hint}")
            elif var in CHAT_ONLY_SYS and self.model.mode != "advanced-chat":
                self.col.error(path, "var.sys_chat_only",
                               f"{where} uses sys.{var}, which only exists in chatflows; add a "
                               "start input for it instead")
            return
        if head in ("env", "conversation"):
            declared = self.model.info.env_names if head == "env" else \
                self.model.info.conversation_names
            if var not in declared:
                block = "environment_variables" if head == "env" else "conversation_variables"
                self.col.error(path, f"var.{head}_unknown",
                               f"{where} uses {head} variable {var!r}, which is not declared; add "
                               f"it to workflow.{block}")
            return
        if head == "rag":
            if self.model.mode != "rag-pipeline":
                self.col.error(path, "var.rag_outside",
                               f"{where} uses a rag variable, but those only exist in RAG "
                               "pipelines; use a start input or an upstream node's output")
            return
        target = self.model.by_id.get(head)
        if target is None:
            self._unknown_node(path, where, head)
            return
        if shown.startswith("{{#") and not (
            _DIFY_TEMPLATE_HEAD.match(head) and all(_DIFY_TEMPLATE_PART.match(p) for p in parts[1:])
        ):
            self.col.error(path, "var.template_syntax",
                           f"{where} will not be substituted: Dify only replaces "
                           "{{#node.var#}} when the node id is letters, digits and _ (up to 50) "
                           "and variable names are identifiers; rename the node id or use a "
                           "value selector")
            return
        if target.id == node.id or target.id in self.descendants_in(node):
            self._check_inside_self(node, target, path, where, var)
            return
        scope_owner = self._visible_via(node, target.id)
        if scope_owner is None:
            self.col.error(path, "var.not_upstream",
                           f"{where} uses {target.label()}, which does not run before this node; "
                           f"connect {target.id!r} upstream of it or pick another variable")
            return
        if scope_owner == "container":
            container = RULES.get(target.type)
            allowed: frozenset[str] | None = (
                container.scope_variables(target) if container is not None else None
            )
        else:
            rule = RULES.get(target.type)
            allowed = rule.published(target) if rule is not None else None
        if allowed is not None and var not in allowed:
            self._unknown_var(path, where, target, var, allowed)

    def _visible_via(self, node: NodeView, target: str) -> str | None:
        """'upstream' or 'container' when `target` is visible from `node`, else None."""
        current: NodeView | None = node
        while current is not None:
            if target in self.ancestors(current.id):
                return "upstream"
            parent = self.model.by_id.get(current.parent or "")
            if parent is not None and parent.id == target:
                return "container"
            current = parent
        return None

    def _check_inside_self(self, node: NodeView, target: NodeView, path: str, where: str,
                           var: str) -> None:
        rule = RULES.get(target.type)
        if rule is None:
            return
        if target.id == node.id:
            allowed = rule.scope_variables(node) if rule.container else frozenset()
            if var not in allowed:
                self.col.error(path, "var.self_reference",
                               f"{where} refers to the node's own output {var!r}, which does not "
                               "exist yet; point it at an upstream node")
            return
        outputs = rule.published(target)
        if outputs is not None and var not in outputs:
            self._unknown_var(path, where, target, var, outputs)

    def _check_output_selector(self, node: NodeView) -> None:
        selector = node.data.get("output_selector")
        if not (isinstance(selector, list) and len(selector) >= 2
                and all(isinstance(s, str) for s in selector)):
            return
        path = node.at("output_selector")
        target = self.model.by_id.get(selector[0])
        if target is None:
            self._unknown_node(path, f"{node.label()}: {selector}", selector[0])
        elif target.id not in self.descendants_in(node):
            self.col.error(path, "var.output_outside",
                           f"{node.label()}: output_selector {selector} must point at a node "
                           "inside the iteration; pick the child whose output is collected")
        else:
            self._check_inside_self(node, target, path, f"{node.label()}: {selector}", selector[1])

    def _unknown_node(self, path: str, where: str, head: str) -> None:
        titled = self.model.titles.get(head)
        if titled:
            self.col.warn(path, "var.node_title",
                          f"{where} names node {head!r} by its title; Dify resolves node ids, use "
                          f"{titled[0]!r}")
            return
        near = difflib.get_close_matches(head, list(self.model.by_id), n=1)
        hint = f"did you mean {near[0]!r}?" if near else "use an existing node id"
        self.col.error(path, "var.unknown_node",
                       f"{where} refers to node {head!r}, which does not exist; {hint}")

    def _unknown_var(self, path: str, where: str, target: NodeView, var: str,
                     allowed: frozenset[str]) -> None:
        shown = ", ".join(sorted(v for v in allowed if not v.startswith("sys.")))
        self.col.error(path, "var.unknown_output",
                       f"{where}: {target.label()} has no output {var!r}; it offers "
                       f"{shown or 'no variables'}")


def check_references(model: GraphModel, col: Collector) -> None:
    """Resolve the references of every node of a known type."""
    resolver = Resolver(model, col)
    for node in model.nodes:
        if node.type in RULES:
            resolver.check_node(node)
