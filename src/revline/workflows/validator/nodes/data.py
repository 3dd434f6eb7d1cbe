"""Data nodes: code, template transform, HTTP request, tool, document extractor."""

from __future__ import annotations

import re

from typing_extensions import override

from revline.workflows.validator.model import NodeView
from revline.workflows.validator.nodes.base import Fields, NodeRule

CODE_LANGUAGES = ("python3", "javascript")
# graphon.nodes.code.entities: output types a code node may declare.
CODE_OUTPUT_TYPES = (
    "string", "number", "object", "boolean", "array[string]", "array[number]",
    "array[object]", "array[boolean]",
)
HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
HTTP_BODY_TYPES = ("none", "form-data", "x-www-form-urlencoded", "raw-text", "json", "binary")
TOOL_PROVIDER_TYPES = ("plugin", "builtin", "workflow", "api", "app", "dataset-retrieval", "mcp")
_IDENT = re.compile(r"^[^\W\d]\w*$")


def check_bound_variables(fields: Fields, key: str, *, soft_missing: bool) -> None:
    """`variables: [{variable, value_selector}]` of code and template nodes: unique names."""
    records = fields.records(key, "bind inputs as {variable, value_selector} ([] for none)",
                             shape="variable and value_selector", soft=soft_missing)
    for path, name in fields.names(records, "variable", "name the input as used in the "
                                   "code/template", code="node.variable_duplicate",
                                   what="input name"):
        if not _IDENT.match(name):
            fields.error(path, "node.variable_name",
                         f"input name {name!r} must be an identifier (letters, digits, _)")
    for at, _ in records:
        fields.selector(f"{at}.value_selector", "point it at an upstream variable")


class CodeRule(NodeRule):
    """Code: python3 or javascript with declared, typed outputs."""

    type = "code"

    @override
    def check(self, fields: Fields) -> None:
        fields.choice("code_language", CODE_LANGUAGES)
        fields.text("code", "write a main() function returning a dict of the declared outputs")
        check_bound_variables(fields, "variables", soft_missing=True)
        outputs = fields.get("outputs")
        if isinstance(outputs, list):
            fields.warn("outputs", "code.outputs_list",
                        "outputs should be a mapping name: {type: ...}; Dify cannot run this node "
                        "until they are declared that way")
            return
        outputs = fields.mapping("outputs", "declare outputs as name: {type: string}")
        if outputs is not None and not outputs:
            fields.warn("outputs", "code.outputs_empty",
                        "no outputs are declared; downstream nodes cannot use the result")
        for name, spec in (outputs or {}).items():
            at = f"outputs.{name}"
            if not isinstance(spec, dict):
                fields.error(at, "code.output", f"{at} must be a mapping with type")
                continue
            fields.choice(f"{at}.type", CODE_OUTPUT_TYPES)

    @override
    def outputs(self, node: NodeView) -> frozenset[str] | None:
        outputs = node.data.get("outputs")
        if isinstance(outputs, dict):
            return frozenset(str(k) for k in outputs)
        if isinstance(outputs, list):
            return frozenset(o["variable"] for o in outputs
                             if isinstance(o, dict) and isinstance(o.get("variable"), str))
        return frozenset()


class TemplateTransformRule(NodeRule):
    """Template transform: a Jinja2 template over bound variables; output `output`."""

    type = "template-transform"

    @override
    def check(self, fields: Fields) -> None:
        fields.text("template", "write the Jinja2 template, e.g. '{{ arg1 }}'")
        check_bound_variables(fields, "variables", soft_missing=False)

    @override
    def outputs(self, node: NodeView) -> frozenset[str] | None:
        return frozenset({"output"})


class HttpRequestRule(NodeRule):
    """HTTP request: method, url, authorization, headers/params (text) and body."""

    type = "http-request"

    @override
    def check(self, fields: Fields) -> None:
        method = fields.get("method")
        if not isinstance(method, str) or method.lower() not in HTTP_METHODS:
            fields.error("method", "node.field_enum" if method else "node.field_required",
                         f"method {method!r} is not valid; use one of {', '.join(HTTP_METHODS)}")
        fields.text("url", "set the URL to call, e.g. https://api.example.com/items")
        auth = fields.mapping("authorization", "set authorization: {type: no-auth}")
        if auth is not None:
            kind = fields.choice("authorization.type", ("no-auth", "api-key"))
            if kind == "api-key" and fields.mapping(
                "authorization.config", "set config {type: bearer, api_key: '{{#env.API_KEY#}}'}"
            ) is not None:
                config_type = fields.choice("authorization.config.type",
                                            ("basic", "bearer", "custom"))
                fields.text("authorization.config.api_key",
                            "reference a secret environment variable, e.g. {{#env.API_KEY#}}")
                if config_type == "custom":
                    fields.text("authorization.config.header", "name the header, e.g. X-Api-Key")
        for key in ("headers", "params"):
            value = fields.get(key)
            if value is None:
                fields.error(key, "node.field_required",
                             f"{key} is required; use '' or 'Name:value' lines")
            elif not isinstance(value, str):
                fields.error(key, "node.field_type",
                             f"{key} must be text with one 'Name:value' per line")
        body = fields.mapping("body", "set body: {type: none, data: []}", required=False)
        if body is not None:
            fields.choice("body.type", HTTP_BODY_TYPES)

    @override
    def outputs(self, node: NodeView) -> frozenset[str] | None:
        return frozenset({"body", "status_code", "headers", "files"})


class ToolRule(NodeRule):
    """Tool: a builtin/plugin/API/workflow/MCP tool; its outputs are defined by the tool."""

    type = "tool"

    @override
    def check(self, fields: Fields) -> None:
        fields.text("provider_id", "set the tool provider id, e.g. langgenius/tavily/tavily")
        fields.choice("provider_type", TOOL_PROVIDER_TYPES)
        fields.text("provider_name", "set the tool provider name")
        fields.text("tool_name", "set the tool name, e.g. tavily_search")
        fields.text("tool_label", "set the tool's display label", soft=True)
        configs = fields.mapping("tool_configurations", "use {} when the tool has no settings")
        for name, value in (configs or {}).items():
            if value is not None and not isinstance(value, str | int | float | bool | dict):
                fields.error(f"tool_configurations.{name}", "tool.configuration",
                             "tool settings must be strings, numbers or booleans")
        fields.typed_inputs("tool_parameters", "set the inputs as name: {type, value}")

    @override
    def outputs(self, node: NodeView) -> frozenset[str] | None:
        return None  # text, files, json and the tool's own output schema


class DocumentExtractorRule(NodeRule):
    """Document extractor: turns uploaded files into text."""

    type = "document-extractor"

    @override
    def check(self, fields: Fields) -> None:
        fields.selector("variable_selector", "point it at the file input, e.g. [start, file]",
                        soft=True)

    @override
    def outputs(self, node: NodeView) -> frozenset[str] | None:
        return frozenset({"text"})


DATA_RULES: tuple[NodeRule, ...] = (
    CodeRule(), TemplateTransformRule(), HttpRequestRule(), ToolRule(), DocumentExtractorRule(),
)
