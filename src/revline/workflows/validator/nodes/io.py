"""Entry and exit nodes: start, end, answer, the three triggers, RAG datasource and index."""

from __future__ import annotations

import re
from typing import Any

from typing_extensions import override

from revline.workflows.validator.cron import cron_problem
from revline.workflows.validator.model import NodeView
from revline.workflows.validator.nodes.base import SEGMENT_TYPES, Fields, NodeRule, names_in

# graphon.variables.input_entities.VariableEntityType
START_VARIABLE_TYPES = (
    "text-input", "select", "paragraph", "number", "external_data_tool", "file", "file-list",
    "checkbox", "json_object",
)
_IDENT = re.compile(r"^[^\W\d]\w*$")
WEBHOOK_METHODS = ("get", "post", "head", "patch", "put", "delete")
WEBHOOK_CONTENT_TYPES = (
    "application/json", "multipart/form-data", "application/x-www-form-urlencoded",
    "text/plain", "application/octet-stream",
)
WEBHOOK_PARAM_TYPES = (
    "string", "number", "boolean", "object", "array[string]", "array[number]",
    "array[boolean]", "array[object]", "file",
)
SCHEDULE_FREQUENCIES = ("hourly", "daily", "weekly", "monthly")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_TIME_12H = re.compile(r"^(0?[1-9]|1[0-2]):[0-5]\d (AM|PM)$")
# Trigger nodes re-publish the system variables as `sys.<name>` outputs.
SYS_OUTPUTS = frozenset(
    f"sys.{n}"
    for n in ("user_id", "app_id", "workflow_id", "workflow_run_id", "files", "timestamp")
)


class StartRule(NodeRule):
    """Start: the user inputs of a workflow or chatflow."""

    type = "start"
    entry = True

    @override
    def check(self, fields: Fields) -> None:
        records = fields.records("variables", "list the inputs, or use [] for none",
                                 shape="variable, label and type", required=False)
        for path, name in fields.names(records, "variable", "name the input, e.g. query",
                                       code="start.variable_duplicate", what="input name"):
            if not _IDENT.match(name):
                fields.error(path, "start.variable_name",
                             f"input name {name!r} must be an identifier (letters, digits, _)")
        for at, var in records:
            if not isinstance(var.get("label"), str):
                fields.error(f"{at}.label", "node.field_required",
                             f"{at}.label is required; give the input a display label")
            vtype = var.get("type")
            if vtype == "string":
                fields.warn(f"{at}.type", "start.variable_type_legacy",
                            "input type 'string' is not a Dify input type; use text-input")
            else:
                fields.choice(f"{at}.type", START_VARIABLE_TYPES)
            if vtype == "select" and not var.get("options"):
                fields.error(f"{at}.options", "start.select_options",
                             "a select input needs options; list the choices")

    @override
    def outputs(self, node: NodeView) -> frozenset[str] | None:
        return names_in(node.data.get("variables"), "variable") | SYS_OUTPUTS | {"sys.query"}


class EndRule(NodeRule):
    """End: the outputs a workflow returns."""

    type = "end"

    @override
    def check(self, fields: Fields) -> None:
        records = fields.records("outputs", "list the outputs as {variable, value_selector}",
                                 shape="variable and value_selector")
        fields.names(records, "variable", "name the output, e.g. result",
                     code="end.output_duplicate", what="output name")
        for at, out in records:
            fields.selector(f"{at}.value_selector",
                            "point it at an upstream variable, e.g. [llm, text]")
            vtype = out.get("value_type")
            if isinstance(vtype, str) and vtype.lower() not in SEGMENT_TYPES:
                fields.error(f"{at}.value_type", "node.field_enum",
                             f"output value_type {vtype!r} is not a Dify variable type")


class AnswerRule(NodeRule):
    """Answer: the chatflow's streamed reply."""

    type = "answer"

    @override
    def check(self, fields: Fields) -> None:
        fields.text("answer", "write the reply, e.g. '{{#llm.text#}}'")

    @override
    def outputs(self, node: NodeView) -> frozenset[str] | None:
        return frozenset({"answer", "files"})


class WebhookTriggerRule(NodeRule):
    """Webhook trigger: an HTTP call starts the workflow; its fields become outputs."""

    type = "trigger-webhook"
    entry = True

    @override
    def check(self, fields: Fields) -> None:
        method = fields.get("method")
        if method is not None and (not isinstance(method, str)
                                   or method.lower() not in WEBHOOK_METHODS):
            fields.error("method", "node.field_enum",
                         f"method {method!r} is not valid; use one of {', '.join(WEBHOOK_METHODS)}")
        fields.choice("content_type", WEBHOOK_CONTENT_TYPES, required=False)
        for key in ("headers", "params", "body"):
            records = fields.records(key, f"declare {key} as a list of {{name, type, required}}",
                                     shape="name and type", required=False)
            for at, _ in records:
                fields.text(f"{at}.name", "name the parameter")
                if key != "headers":
                    fields.choice(f"{at}.type", WEBHOOK_PARAM_TYPES, required=False)

    @override
    def outputs(self, node: NodeView) -> frozenset[str] | None:
        # Header names are published with - replaced by _ (Dify's webhook node does that).
        headers = {h.replace("-", "_") for h in names_in(node.data.get("headers"), "name")}
        return (SYS_OUTPUTS | {"_webhook_raw"} | headers | names_in(node.data.get("params"), "name")
                | names_in(node.data.get("body"), "name"))


class ScheduleTriggerRule(NodeRule):
    """Schedule trigger: cron or visual (hourly/daily/weekly/monthly) schedule."""

    type = "trigger-schedule"
    entry = True

    @override
    def check(self, fields: Fields) -> None:
        mode = fields.choice("mode", ("visual", "cron"), required=False) or "visual"
        if mode == "cron":
            expr = fields.text("cron_expression", "set a cron schedule such as '0 9 * * 1-5'")
            if expr is not None and (problem := cron_problem(expr)):
                fields.error("cron_expression", "schedule.cron_invalid",
                             f"cron expression {expr!r} {problem}")
        elif fields.has("frequency") or fields.has("visual_config"):
            self._visual(fields)
        else:
            fields.error("frequency", "node.field_required",
                         "frequency is required in visual mode; use hourly, daily, weekly or "
                         "monthly, or set mode: cron with a cron_expression")
        timezone = fields.get("timezone")
        if timezone is not None and not _known_timezone(timezone):
            fields.error("timezone", "schedule.timezone",
                         f"timezone {timezone!r} is not an IANA zone; use e.g. UTC or Europe/Paris")

    def _visual(self, fields: Fields) -> None:
        frequency = fields.choice("frequency", SCHEDULE_FREQUENCIES)
        config = fields.mapping("visual_config", "set the time of day (and days) to run")
        if frequency is None or config is None:
            return
        if frequency == "hourly":
            minute = config.get("on_minute", 0)
            if not isinstance(minute, int) or not 0 <= minute <= 59:
                fields.error("visual_config.on_minute", "schedule.on_minute",
                             "on_minute must be 0-59")
            return
        time = config.get("time")
        if not isinstance(time, str) or not _TIME_12H.match(time):
            fields.error("visual_config.time", "schedule.time",
                         f"time {time!r} must look like '9:30 AM'")
        if frequency == "weekly":
            days = config.get("weekdays")
            if not isinstance(days, list) or not days or any(d not in _WEEKDAYS for d in days):
                fields.error("visual_config.weekdays", "schedule.weekdays",
                             f"weekdays must be a non-empty list of {', '.join(_WEEKDAYS)}")
        if frequency == "monthly":
            days = config.get("monthly_days")
            if not isinstance(days, list) or not days or any(
                d != "last" and (not isinstance(d, int) or not 1 <= d <= 31) for d in days
            ):
                fields.error("visual_config.monthly_days", "schedule.monthly_days",
                             "monthly_days must list days 1-31 or 'last'")

    @override
    def outputs(self, node: NodeView) -> frozenset[str] | None:
        return SYS_OUTPUTS


class PluginTriggerRule(NodeRule):
    """Plugin trigger: an event of a trigger plugin starts the workflow."""

    type = "trigger-plugin"
    entry = True

    @override
    def check(self, fields: Fields) -> None:
        fields.text("plugin_id", "set the trigger plugin id, e.g. langgenius/github_trigger")
        fields.text("provider_id", "set the trigger provider id")
        fields.text("event_name", "set the plugin event that starts the workflow")

    @override
    def outputs(self, node: NodeView) -> frozenset[str] | None:
        return None  # the plugin event defines its own outputs


class DatasourceRule(NodeRule):
    """RAG pipeline datasource: where documents come from (plugin-defined outputs)."""

    type = "datasource"
    entry = True

    @override
    def check(self, fields: Fields) -> None:
        for key in ("plugin_id", "provider_name", "datasource_name"):
            fields.text(key, "pick the datasource in Dify before running the pipeline", soft=True)

    @override
    def outputs(self, node: NodeView) -> frozenset[str] | None:
        return None


class KnowledgeIndexRule(NodeRule):
    """RAG pipeline knowledge base: where chunks are indexed (the pipeline's end)."""

    type = "knowledge-index"

    @override
    def check(self, fields: Fields) -> None:
        fields.selector("index_chunk_variable_selector",
                        "point it at the chunks to index, e.g. [extractor, text]", soft=True)


def _known_timezone(name: Any) -> bool:
    if not isinstance(name, str) or not name:
        return False
    try:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    except ImportError:  # pragma: no cover - always present on 3.11
        return True
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


IO_RULES: tuple[NodeRule, ...] = (
    StartRule(), EndRule(), AnswerRule(), WebhookTriggerRule(), ScheduleTriggerRule(),
    PluginTriggerRule(), DatasourceRule(), KnowledgeIndexRule(),
)
