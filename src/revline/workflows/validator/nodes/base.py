"""Base of the per-node-type rules: a rule class per `data.type`, plus field checkers."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from revline.workflows.validator.model import GraphModel, NodeView
from revline.workflows.validator.report import Collector

# Dify's error strategies (graphon.enums.ErrorStrategy) and the handles of a fail branch.
ERROR_STRATEGIES = ("fail-branch", "default-value")
FAIL_BRANCH_HANDLES = frozenset({"fail-branch", "success-branch"})
MODEL_MODES = ("chat", "completion")
INPUT_TYPES = ("mixed", "variable", "constant")
SEGMENT_TYPES = (
    "string", "number", "integer", "secret", "boolean", "object", "file", "array",
    "array[string]", "array[number]", "array[object]", "array[boolean]", "array[file]",
    "array[any]", "any", "none", "group",
)
_MISSING = object()


_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def dig(data: Any, dotted: str) -> Any:
    """Value at a path like `cases[0].conditions` inside nested data, or a sentinel."""
    current = data
    for name, index in _PART.findall(dotted):
        if name:
            if not isinstance(current, dict) or name not in current:
                return _MISSING
            current = current[name]
        else:
            if not isinstance(current, list) or int(index) >= len(current):
                return _MISSING
            current = current[int(index)]
    return current


def is_missing(value: Any) -> bool:
    """True for the sentinel `dig` returns when a key is absent."""
    return value is _MISSING


def names_in(items: Any, key: str) -> frozenset[str]:
    """The string `key` values of the mappings in a list (anything else is skipped)."""
    if not isinstance(items, list):
        return frozenset()
    return frozenset(i[key] for i in items if isinstance(i, dict) and isinstance(i.get(key), str))


def is_selector(value: Any) -> bool:
    """A value selector: a list of at least two strings (node id or sys/env/..., variable)."""
    return (
        isinstance(value, list | tuple)
        and len(value) >= 2
        and all(isinstance(v, str) and v for v in value)
    )


class Fields:
    """Checks on one node's data that report `path: message` issues with a fix."""

    def __init__(self, node: NodeView, col: Collector, graph: GraphModel) -> None:
        self.node = node
        self.col = col
        self.graph = graph

    def _where(self) -> str:
        return self.node.label()

    def get(self, dotted: str) -> Any:
        """The value at `data.<dotted>` (None when absent)."""
        value = dig(self.node.data, dotted)
        return None if is_missing(value) else value

    def has(self, dotted: str) -> bool:
        """True when `data.<dotted>` is present."""
        return not is_missing(dig(self.node.data, dotted))

    def error(self, dotted: str, code: str, message: str) -> None:
        """Error at `data.<dotted>` prefixed with the node label."""
        self.col.error(self.node.at(dotted), code, f"{self._where()}: {message}")

    def warn(self, dotted: str, code: str, message: str) -> None:
        """Warning at `data.<dotted>` prefixed with the node label."""
        self.col.warn(self.node.at(dotted), code, f"{self._where()}: {message}")

    def text(self, dotted: str, hint: str, *, soft: bool = False) -> str | None:
        """A required non-empty string; `hint` says what to put there."""
        value = dig(self.node.data, dotted)
        if isinstance(value, str) and value.strip():
            return value
        report = self.warn if soft else self.error
        if is_missing(value) or value in (None, ""):
            report(dotted, "node.field_required", f"{dotted} is required; {hint}")
        else:
            report(dotted, "node.field_type", f"{dotted} must be a string; {hint}")
        return None

    def mapping(self, dotted: str, hint: str, *, required: bool = True) -> dict[str, Any] | None:
        """A mapping (required unless told otherwise)."""
        value = dig(self.node.data, dotted)
        if isinstance(value, dict):
            return value
        if is_missing(value) or value is None:
            if required:
                self.error(dotted, "node.field_required", f"{dotted} is required; {hint}")
        else:
            self.error(dotted, "node.field_type", f"{dotted} must be a mapping, not a list or "
                       f"scalar; {hint}")
        return None

    def items(self, dotted: str, hint: str, *, required: bool = True,
              nonempty: bool = False, soft: bool = False) -> list[Any] | None:
        """A list (required / non-empty as told)."""
        value = dig(self.node.data, dotted)
        report = self.warn if soft else self.error
        if isinstance(value, list):
            if nonempty and not value:
                report(dotted, "node.field_empty", f"{dotted} is empty; {hint}")
            return value
        if is_missing(value) or value is None:
            if required:
                report(dotted, "node.field_required", f"{dotted} is required; {hint}")
            return None
        report(dotted, "node.field_type", f"{dotted} must be a list; {hint}")
        return None

    def records(self, key: str, hint: str, *, shape: str, required: bool = True,
                nonempty: bool = False, soft: bool = False) -> list[tuple[str, dict[str, Any]]]:
        """The mapping items of a list field as (path, item); other items are reported."""
        found: list[tuple[str, dict[str, Any]]] = []
        values = self.items(key, hint, required=required, nonempty=nonempty, soft=soft)
        for i, item in enumerate(values or []):
            at = f"{key}[{i}]"
            if isinstance(item, dict):
                found.append((at, item))
            else:
                self.error(at, "node.item_shape", f"{at} must be a mapping with {shape}")
        return found

    def names(self, records: list[tuple[str, dict[str, Any]]], key: str, hint: str, *,
              code: str, what: str) -> list[tuple[str, str]]:
        """Require the `key` name in every record and report repeated names."""
        found: list[tuple[str, str]] = []
        for at, _ in records:
            name = self.text(f"{at}.{key}", hint)
            if name is not None:
                found.append((f"{at}.{key}", name))
        self.unique(found, code, what)
        return found

    def typed_inputs(self, key: str, hint: str) -> None:
        """Tool and agent inputs: name -> {type: mixed|variable|constant, value}."""
        params = self.mapping(key, hint)
        for name, param in (params or {}).items():
            at = f"{key}.{name}"
            if not isinstance(param, dict):
                self.error(at, "node.input_shape", f"{at} must be a mapping {{type, value}}")
                continue
            kind = self.choice(f"{at}.type", INPUT_TYPES)
            value = param.get("value")
            if kind == "variable" and value is not None and not (
                isinstance(value, list) and all(isinstance(v, str) for v in value)
            ):
                self.error(f"{at}.value", "node.input_value",
                           "a variable input's value must be a selector [node_id, variable]")
            if kind == "mixed" and value is not None and not isinstance(value, str):
                self.error(f"{at}.value", "node.input_value",
                           "a mixed input's value must be text (it may contain {{#node.var#}})")

    def choice(self, dotted: str, allowed: Sequence[str], *, required: bool = True,
               soft: bool = False) -> str | None:
        """An enum value; absent is fine unless required."""
        value = dig(self.node.data, dotted)
        report = self.warn if soft else self.error
        if is_missing(value) or value is None:
            if required:
                report(dotted, "node.field_required",
                       f"{dotted} is required; use one of {', '.join(map(str, allowed))}")
            return None
        if value not in allowed:
            report(dotted, "node.field_enum",
                   f"{dotted} {value!r} is not valid; use one of {', '.join(map(str, allowed))}")
            return None
        return str(value)

    def selector(self, dotted: str, hint: str, *, required: bool = True,
                 soft: bool = False) -> list[str] | None:
        """A value selector ([node_id, variable, ...]); empty counts as missing."""
        value = dig(self.node.data, dotted)
        report = self.warn if soft else self.error
        if is_selector(value):
            return list(value)
        if is_missing(value) or value in (None, [], ""):
            if required:
                report(dotted, "node.field_required", f"{dotted} is required; {hint}")
            return None
        report(dotted, "node.selector_shape",
               f"{dotted} must be a value selector [node_id, variable]; {hint}")
        return None

    def integer(self, dotted: str, *, minimum: int | None = None, required: bool = False,
                hint: str = "") -> int | None:
        """An integer (bools rejected) with an optional lower bound."""
        value = dig(self.node.data, dotted)
        if is_missing(value) or value is None:
            if required:
                self.error(dotted, "node.field_required", f"{dotted} is required; {hint}")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(dotted, "node.field_type", f"{dotted} must be an integer; {hint}")
            return None
        if minimum is not None and value < minimum:
            self.error(dotted, "node.field_range", f"{dotted} is {value}, it must be at least "
                       f"{minimum}; {hint}")
            return None
        return value

    def model(self, dotted: str = "model") -> None:
        """An LLM model config: provider, name and mode (chat or completion)."""
        if self.mapping(dotted, "pick a model: provider, name and mode") is None:
            return
        self.text(f"{dotted}.provider", "set the model provider, e.g. langgenius/openai/openai")
        self.text(f"{dotted}.name", "set the model name, e.g. gpt-4o-mini")
        self.choice(f"{dotted}.mode", MODEL_MODES)

    def unique(self, values: Iterable[tuple[str, Any]], code: str, what: str) -> None:
        """Report every repeated value: `values` is (dotted path, value) pairs."""
        seen: set[Any] = set()
        for dotted, value in values:
            if value in seen:
                self.error(dotted, code, f"{what} {value!r} is used twice; make it unique")
            seen.add(value)


class NodeRule:
    """Rules of one node type. Subclasses set `type` and override what differs."""

    type: ClassVar[str] = ""
    #: Entry nodes start the graph (start, triggers, datasource).
    entry: ClassVar[bool] = False
    #: Container nodes own a subgraph of child nodes (iteration, loop).
    container: ClassVar[bool] = False
    #: For container-start nodes: the container type they must sit in.
    inside: ClassVar[str | None] = None

    def check(self, fields: Fields) -> None:
        """Field rules of this node type (required fields, enums, shapes); none by default."""

    def outputs(self, node: NodeView) -> frozenset[str] | None:  # noqa: ARG002 - default
        """Variables the node publishes; None means any name (tool-defined outputs)."""
        return frozenset()

    def published(self, node: NodeView) -> frozenset[str] | None:
        """`outputs` plus error_type/error_message, which nodes with an error strategy add."""
        names = self.outputs(node)
        if names is not None and node.data.get("error_strategy") in ERROR_STRATEGIES:
            return names | {"error_type", "error_message"}
        return names

    def scope_variables(self, node: NodeView) -> frozenset[str]:  # noqa: ARG002 - default
        """Variables a container offers to its children (iteration item/index, loop vars)."""
        return frozenset()

    def branch_handles(self, node: NodeView) -> list[str]:  # noqa: ARG002 - default
        """Source handles of the branches this node chooses between (must all be wired)."""
        return []

    def required_branches(self, node: NodeView) -> list[str]:
        """Branches that must be wired: by default every branch."""
        return self.branch_handles(node)

    def source_handles(self, node: NodeView) -> frozenset[str]:
        """Every source handle an edge may leave this node from."""
        handles = set(self.branch_handles(node)) or {"source"}
        if node.data.get("error_strategy") == "fail-branch":
            handles |= FAIL_BRANCH_HANDLES | {"source"}
        return frozenset(handles)
