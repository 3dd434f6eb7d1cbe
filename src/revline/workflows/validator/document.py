"""Top-level DSL rules: mapping, version, kind, app and mode, workflow block, variables.

Facts from Dify's `api/services/app_dsl_service.py` and `services/dsl_version.py`: a missing
version means 0.1.0, any kind is coerced to `app`, a version newer than the current one needs
confirmation (we refuse it), `app.mode` must be an `AppMode`, graph modes need `workflow`,
the other modes need `model_config`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from revline.workflows.validator.report import Collector

CURRENT_VERSION = "0.6.0"
OLDEST_VERSION = "0.1.0"
GRAPH_MODES = ("workflow", "advanced-chat")
MODEL_CONFIG_MODES = ("chat", "agent-chat", "completion")
APP_MODES = GRAPH_MODES + MODEL_CONFIG_MODES
ENV_VALUE_TYPES = ("string", "number", "secret")
CONVERSATION_VALUE_TYPES = (
    "string", "number", "object", "boolean",
    "array[string]", "array[number]", "array[object]", "array[boolean]", "array[any]",
)
DEPENDENCY_TYPES = ("github", "marketplace", "package")
_VERSION_RE = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?$")
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_version(text: str) -> tuple[int, int, int] | None:
    """`"0.6.0"` -> (0, 6, 0); None when it is not a MAJOR.MINOR[.PATCH] version."""
    match = _VERSION_RE.match(text.strip())
    if not match:
        return None
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


CURRENT = parse_version(CURRENT_VERSION) or (0, 6, 0)


@dataclass(slots=True)
class DocumentInfo:
    """What the graph rules need from the top level of the document."""

    version: str
    version_tuple: tuple[int, int, int]
    mode: str  # workflow | advanced-chat | rag-pipeline
    graph: dict[str, Any] | None
    env_names: set[str] = field(default_factory=set)
    conversation_names: set[str] = field(default_factory=set)

    @property
    def legacy(self) -> bool:
        """Older minor version than ours: Dify imports it "with warnings"."""
        return self.version_tuple[:2] < CURRENT[:2]


def check_document(data: Any, col: Collector) -> DocumentInfo | None:
    """Run the top-level rules; return what graph rules need, or None when they cannot run."""
    if not isinstance(data, dict):
        got = "an empty document" if data is None else f"a {_kind_of(data)}"
        col.error(
            "document", "document.not_mapping",
            f"the DSL must be a YAML mapping with version, kind, app and workflow keys; got {got}",
        )
        return None
    version = _check_version(data, col)
    if version is None:
        return None
    kind = data.get("kind")
    is_rag = kind == "rag_pipeline"
    if kind is None:
        col.warn("kind", "document.kind_missing",
                 "kind is missing; Dify assumes 'app', add kind: app")
    elif kind not in ("app", "rag_pipeline"):
        col.warn(
            "kind", "document.kind_unknown",
            f"kind {kind!r} is not 'app'; Dify imports it as an app, set kind: app",
        )
    mode = _check_app(data, col, is_rag)
    if mode is None:
        return None
    if mode in MODEL_CONFIG_MODES:
        if not isinstance(data.get("model_config"), dict):
            col.error(
                "model_config", "document.model_config_missing",
                f"a {mode} app needs a model_config mapping; export the app again from Dify",
            )
        return None
    graph = _check_workflow_block(data, col)
    info = DocumentInfo(
        version=version[0], version_tuple=version[1],
        mode="rag-pipeline" if is_rag else mode, graph=graph,
    )
    workflow = data.get("workflow")
    if isinstance(workflow, dict):
        info.env_names = _check_env_vars(workflow.get("environment_variables"), col)
        info.conversation_names = _check_conversation_vars(
            workflow.get("conversation_variables"), col, mode
        )
    _check_dependencies(data.get("dependencies"), col)
    return info


def _kind_of(value: Any) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}.get(
        type(value), type(value).__name__
    )


def _check_version(data: dict[str, Any], col: Collector) -> tuple[str, tuple[int, int, int]] | None:
    raw = data.get("version")
    if raw is None or raw == "":
        col.warn(
            "version", "version.missing",
            f"version is missing; Dify treats it as {OLDEST_VERSION}, "
            f"add version: '{CURRENT_VERSION}' after checking the file against that version",
        )
        return OLDEST_VERSION, parse_version(OLDEST_VERSION) or (0, 1, 0)
    if not isinstance(raw, str):
        col.error(
            "version", "version.not_string",
            f"version must be a quoted string such as '{CURRENT_VERSION}', not a {_kind_of(raw)} "
            f"({raw!r}); quote it",
        )
        return None
    parsed = parse_version(raw)
    if parsed is None:
        col.error(
            "version", "version.invalid",
            f"version {raw!r} is not a DSL version like '{CURRENT_VERSION}'; fix the version",
        )
        return None
    if parsed > CURRENT:
        col.error(
            "version", "version.unsupported",
            f"DSL version {raw} is newer than the newest supported version {CURRENT_VERSION}; "
            f"its node shapes are unknown here, export the app from a Dify that writes "
            f"{CURRENT_VERSION} or upgrade Revline",
        )
        return None
    if parsed[:2] < CURRENT[:2]:
        col.warn(
            "version", "version.legacy",
            f"DSL version {raw} is older than {CURRENT_VERSION}; Dify imports it with warnings, "
            "re-export it from current Dify to upgrade",
        )
    return raw, parsed


def _check_app(data: dict[str, Any], col: Collector, is_rag: bool) -> str | None:
    app = data.get("app")
    if not isinstance(app, dict) or not app:
        col.error(
            "app", "app.missing",
            "app is missing; add an app mapping with name and mode (workflow or advanced-chat)",
        )
        return None
    mode = app.get("mode")
    if not mode:
        col.error("app.mode", "app.mode_missing",
                  "app.mode is missing; set workflow or advanced-chat")
        return None
    if mode not in APP_MODES:
        col.error(
            "app.mode", "app.mode_unknown",
            f"app.mode {mode!r} is not a Dify app mode; use one of {', '.join(APP_MODES)}",
        )
        return None
    if is_rag and mode != "workflow":
        col.error(
            "app.mode", "app.mode_rag",
            "a rag_pipeline DSL is a workflow graph; set app.mode: workflow",
        )
        return None
    if not isinstance(app.get("name", ""), str):
        col.warn("app.name", "app.name_type", "app.name should be a string; quote it")
    return str(mode)


def _check_workflow_block(data: dict[str, Any], col: Collector) -> dict[str, Any] | None:
    workflow = data.get("workflow")
    if not isinstance(workflow, dict) or not workflow:
        col.error(
            "workflow", "workflow.missing",
            "workflow is missing; workflow and advanced-chat apps need workflow.graph with nodes "
            "and edges",
        )
        return None
    features = workflow.get("features")
    if features is not None and not isinstance(features, dict):
        col.error("workflow.features", "workflow.features_type",
                  "workflow.features must be a mapping")
    graph = workflow.get("graph")
    if not isinstance(graph, dict):
        col.error(
            "workflow.graph", "workflow.graph_missing",
            "workflow.graph is missing; add a mapping with nodes and edges lists",
        )
        return None
    return graph


def _named_items(
    value: Any, col: Collector, path: str, what: str
) -> list[tuple[str, dict[str, Any]]]:
    if value is None:
        return []
    if not isinstance(value, list):
        col.error(path, f"{what}.type", f"{path} must be a list of variables")
        return []
    items: list[tuple[str, dict[str, Any]]] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        ipath = f"{path}[{i}]"
        if not isinstance(item, dict):
            col.error(ipath, f"{what}.item_type",
                      f"{ipath} must be a mapping with name and value_type")
            continue
        name = item.get("name")
        if not isinstance(name, str) or not _NAME_RE.match(name):
            col.error(
                f"{ipath}.name", f"{what}.name",
                f"variable name {name!r} is not an identifier; use letters, digits and _",
            )
            continue
        if name in seen:
            col.error(f"{ipath}.name", f"{what}.duplicate",
                      f"variable {name!r} is declared twice; rename one")
            continue
        seen.add(name)
        items.append((ipath, item))
    return items


def _check_env_vars(value: Any, col: Collector) -> set[str]:
    names: set[str] = set()
    for ipath, item in _named_items(value, col, "workflow.environment_variables", "env"):
        names.add(item["name"])
        vtype = item.get("value_type")
        if vtype not in ENV_VALUE_TYPES:
            col.error(
                f"{ipath}.value_type", "env.value_type",
                f"environment variable value_type {vtype!r} is not one of "
                f"{', '.join(ENV_VALUE_TYPES)}",
            )
        elif vtype == "number" and item.get("value") not in (None, "") and not isinstance(
            item.get("value"), int | float
        ):
            col.error(
                f"{ipath}.value", "env.value_type_mismatch",
                f"environment variable {item['name']!r} is a number but its value "
                f"{item.get('value')!r} is not; fix the value or the type",
            )
    return names


def _check_conversation_vars(value: Any, col: Collector, mode: str) -> set[str]:
    names: set[str] = set()
    items = _named_items(value, col, "workflow.conversation_variables", "conversation")
    if items and mode != "advanced-chat":
        col.warn(
            "workflow.conversation_variables", "conversation.not_chatflow",
            "conversation variables only exist in chatflows (advanced-chat); remove them or "
            "switch the app mode",
        )
    for ipath, item in items:
        names.add(item["name"])
        vtype = item.get("value_type")
        if vtype not in CONVERSATION_VALUE_TYPES:
            col.error(
                f"{ipath}.value_type", "conversation.value_type",
                f"conversation variable value_type {vtype!r} is not one of "
                f"{', '.join(CONVERSATION_VALUE_TYPES)}",
            )
    return names


def _check_dependencies(value: Any, col: Collector) -> None:
    if value is None:
        return
    if not isinstance(value, list):
        col.error("dependencies", "dependencies.type",
                  "dependencies must be a list (it may be empty)")
        return
    for i, dep in enumerate(value):
        path = f"dependencies[{i}]"
        if not isinstance(dep, dict):
            col.error(path, "dependencies.item", f"{path} must be a mapping with type and value")
            continue
        if dep.get("type") not in DEPENDENCY_TYPES:
            col.error(
                f"{path}.type", "dependencies.item_type",
                f"plugin dependency type {dep.get('type')!r} is not one of "
                f"{', '.join(DEPENDENCY_TYPES)}",
            )
        if not isinstance(dep.get("value"), dict):
            col.error(
                f"{path}.value", "dependencies.value",
                "plugin dependency value must be a mapping (e.g. "
                "marketplace_plugin_unique_identifier)",
            )
