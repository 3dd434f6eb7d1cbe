"""Control flow: if-else, iteration and loop (with their start/end nodes), aggregators,
variable assigners, list operator and human input."""

from __future__ import annotations

import re
from typing import Any

from typing_extensions import override

from revline.workflows.validator.model import NodeView
from revline.workflows.validator.nodes.base import SEGMENT_TYPES, Fields, NodeRule, names_in

COMPARISON_OPERATORS = (
    "contains", "not contains", "start with", "end with", "is", "is not", "empty", "not empty",
    "in", "not in", "all of", "=", "≠", ">", "<", "≥", "≤", "null", "not null", "exists",
    "not exists", "before", "after",
)
VALUELESS_OPERATORS = ("empty", "not empty", "null", "not null", "exists", "not exists")
LIST_FILTER_OPERATORS = (
    "contains", "start with", "end with", "is", "in", "empty", "not contains", "is not",
    "not in", "not empty", "=", "≠", "<", ">", "≥", "≤",
)
ITERATION_ERROR_MODES = ("terminated", "continue-on-error", "remove-abnormal-output")
LOOP_VARIABLE_TYPES = (
    "string", "number", "object", "boolean", "array[string]", "array[number]",
    "array[object]", "array[boolean]",
)
ASSIGNER_OPERATIONS = (
    "over-write", "clear", "append", "extend", "set", "+=", "-=", "*=", "/=",
    "remove-first", "remove-last",
)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_conditions(fields: Fields, key: str, hint: str, *, nonempty: bool = False) -> None:
    """Each condition needs a variable, a known operator and (mostly) a value to compare."""
    records = fields.records(key, hint, shape="variable_selector and comparison_operator",
                             nonempty=nonempty)
    for cat, cond in records:
        fields.selector(f"{cat}.variable_selector", "pick the variable to test")
        op = fields.choice(f"{cat}.comparison_operator", COMPARISON_OPERATORS)
        if op is None or op in VALUELESS_OPERATORS or cond.get("sub_variable_condition"):
            continue
        value = cond.get("value")
        if value is None or value == "" or value == []:
            fields.error(f"{cat}.value", "condition.value_required",
                         f"operator {op!r} needs a value to compare with; set value")


class IfElseRule(NodeRule):
    """IF/ELSE: one branch per case (handle = case_id) plus the ELSE branch (handle `false`)."""

    type = "if-else"

    @override
    def check(self, fields: Fields) -> None:
        cases = fields.get("cases")
        if not cases and isinstance(fields.get("conditions"), list):
            # DSL before cases existed: one condition list, branches `true` and `false`.
            fields.choice("logical_operator", ("and", "or"), required=False)
            check_conditions(fields, "conditions", "list the conditions")
            return
        cases = fields.records("cases", "add at least one case {case_id, logical_operator, "
                               "conditions}", shape="case_id and conditions", nonempty=True)
        for path, case_id in fields.names(cases, "case_id", "give the case an id; edges use it "
                                          "as sourceHandle ('true' for the first case)",
                                          code="ifelse.case_duplicate", what="case_id"):
            if case_id == "false":
                fields.error(path, "ifelse.case_id_false",
                             "case_id 'false' is reserved for the ELSE branch; rename the case")
        for at, _ in cases:
            fields.choice(f"{at}.logical_operator", ("and", "or"))
            check_conditions(fields, f"{at}.conditions", "add the conditions of this case",
                             nonempty=True)

    @override
    def branch_handles(self, node: NodeView) -> list[str]:
        cases = node.data.get("cases")
        if not cases and isinstance(node.data.get("conditions"), list):
            return ["true", "false"]
        ids = [c.get("case_id") for c in cases or [] if isinstance(c, dict)] \
            if isinstance(cases, list) else []
        return [str(i) for i in ids if isinstance(i, str) and i] + ["false"]


class IterationRule(NodeRule):
    """Iteration: runs its child subgraph once per item of an array."""

    type = "iteration"
    container = True

    @override
    def check(self, fields: Fields) -> None:
        fields.selector("iterator_selector", "point it at the array to iterate over")
        fields.selector("output_selector", "point it at the child node output to collect, "
                        "e.g. [child_llm, text]")
        fields.choice("error_handle_mode", ITERATION_ERROR_MODES, required=False)
        if fields.get("is_parallel") is True:
            fields.integer("parallel_nums", minimum=1, hint="run at least one item at a time")

    @override
    def outputs(self, node: NodeView) -> frozenset[str] | None:
        return frozenset({"output"})

    @override
    def scope_variables(self, node: NodeView) -> frozenset[str]:
        return frozenset({"item", "index"})


class LoopRule(NodeRule):
    """Loop: runs its child subgraph until a break condition or loop_count."""

    type = "loop"
    container = True

    @override
    def check(self, fields: Fields) -> None:
        fields.integer("loop_count", minimum=1, required=True,
                       hint="set the maximum rounds, e.g. 5")
        check_conditions(fields, "break_conditions", "list the stop conditions ([] for none)")
        fields.choice("logical_operator", ("and", "or"))
        records = fields.records("loop_variables", "", shape="label and var_type",
                                 required=False)
        fields.names(records, "label", "name the loop variable", code="loop.variable_duplicate",
                     what="loop variable")
        for at, _ in records:
            fields.choice(f"{at}.var_type", LOOP_VARIABLE_TYPES)
            fields.choice(f"{at}.value_type", ("variable", "constant"))

    def _labels(self, node: NodeView) -> frozenset[str]:
        return names_in(node.data.get("loop_variables"), "label")

    @override
    def outputs(self, node: NodeView) -> frozenset[str] | None:
        extra = node.data.get("outputs")
        declared = frozenset(str(k) for k in extra) if isinstance(extra, dict) else frozenset()
        return self._labels(node) | declared | {"loop_round"}

    @override
    def scope_variables(self, node: NodeView) -> frozenset[str]:
        return self._labels(node) | {"index"}


class IterationStartRule(NodeRule):
    """The entry of an iteration's subgraph."""

    type = "iteration-start"
    inside = "iteration"


class LoopStartRule(NodeRule):
    """The entry of a loop's subgraph."""

    type = "loop-start"
    inside = "loop"


class LoopEndRule(NodeRule):
    """Breaks out of a loop."""

    type = "loop-end"
    inside = "loop"


class VariableAggregatorRule(NodeRule):
    """Variable aggregator: the first non-empty of several branch outputs (optionally grouped)."""

    type = "variable-aggregator"

    @override
    def check(self, fields: Fields) -> None:
        output_type = fields.get("output_type")
        if not isinstance(output_type, str) or output_type.lower() not in SEGMENT_TYPES:
            fields.error("output_type", "node.field_enum",
                         f"output_type {output_type!r} is not a Dify variable type; e.g. string")
        grouped = fields.get("advanced_settings.group_enabled") is True
        variables = fields.items("variables", "list the selectors to aggregate",
                                 nonempty=not grouped)
        self._selectors(fields, "variables", variables or [])
        if grouped:
            groups = fields.records("advanced_settings.groups", "add the groups",
                                    shape="group_name and variables", nonempty=True)
            fields.names(groups, "group_name", "name the group",
                         code="aggregator.group_duplicate", what="group name")
            for at, group in groups:
                self._selectors(fields, f"{at}.variables", group.get("variables") or [])

    def _selectors(self, fields: Fields, at: str, values: list[Any]) -> None:
        for i, value in enumerate(values):
            if not (isinstance(value, list) and len(value) >= 2
                    and all(isinstance(v, str) for v in value)):
                fields.error(f"{at}[{i}]", "node.selector_shape",
                             "each aggregated variable must be a selector [node_id, variable]")

    @override
    def outputs(self, node: NodeView) -> frozenset[str] | None:
        settings = node.data.get("advanced_settings")
        groups = settings.get("groups") if isinstance(settings, dict) else None
        return frozenset({"output"}) | names_in(groups, "group_name")


class LegacyAggregatorRule(VariableAggregatorRule):
    """`variable-assigner`: the old name of the variable aggregator."""

    type = "variable-assigner"


class AssignerRule(NodeRule):
    """Variable assigner: writes conversation variables (or loop variables inside a loop)."""

    type = "assigner"

    @override
    def check(self, fields: Fields) -> None:
        if not fields.has("items") and fields.has("assigned_variable_selector"):
            fields.selector("assigned_variable_selector", "pick the conversation variable to write")
            mode = fields.choice("write_mode", ("over-write", "append", "clear"))
            if mode != "clear":
                fields.selector("input_variable_selector", "pick the value to write")
            return
        items = fields.records("items", "list the assignments {variable_selector, operation, "
                               "input_type, value}", shape="variable_selector and operation",
                               nonempty=True)
        for at, _ in items:
            fields.selector(f"{at}.variable_selector", "pick the variable to write, e.g. "
                            "[conversation, topic]")
            fields.choice(f"{at}.operation", ASSIGNER_OPERATIONS)
            fields.choice(f"{at}.input_type", ("variable", "constant"))


class ListOperatorRule(NodeRule):
    """List operator: filter, sort, limit or pick from an array."""

    type = "list-operator"

    @override
    def check(self, fields: Fields) -> None:
        fields.selector("variable", "point it at the array to process")
        filter_by = fields.mapping("filter_by", "set filter_by: {enabled: false, conditions: []}")
        order_by = fields.mapping("order_by", "set order_by: {enabled: false, key: '', value: asc}")
        limit = fields.mapping("limit", "set limit: {enabled: false, size: 10}")
        if filter_by and filter_by.get("enabled") is True:
            conditions = fields.records("filter_by.conditions", "add a filter condition",
                                        shape="comparison_operator and value", nonempty=True)
            for at, cond in conditions:
                op = fields.choice(f"{at}.comparison_operator", LIST_FILTER_OPERATORS)
                if op and op not in VALUELESS_OPERATORS and cond.get("value") in (None, "", []):
                    fields.error(f"{at}.value", "condition.value_required",
                                 f"operator {op!r} needs a value; set value")
        if order_by and order_by.get("enabled") is True:
            fields.choice("order_by.value", ("asc", "desc"))
        if limit and limit.get("enabled") is True:
            fields.integer("limit.size", minimum=1, required=True,
                           hint="keep at least one item, or disable the limit")
        if fields.get("extract_by.enabled") is True:
            fields.text("extract_by.serial", "set which item to extract, e.g. '1'")

    @override
    def outputs(self, node: NodeView) -> frozenset[str] | None:
        return frozenset({"result", "first_record", "last_record"})


class HumanInputRule(NodeRule):
    """Human input: pauses for a form; each user action is a branch."""

    type = "human-input"

    @override
    def check(self, fields: Fields) -> None:
        if not isinstance(fields.get("form_content") or "", str):
            fields.error("form_content", "node.field_type", "form_content must be a string")
        inputs = fields.records("inputs", "", shape="type and output_variable_name",
                                required=False)
        fields.names(inputs, "output_variable_name", "name the form field",
                     code="human.input_duplicate", what="form field")
        actions = fields.records("user_actions", "add the buttons the reviewer can press "
                                 "{id, title}", shape="id and title", nonempty=True)
        for path, action_id in fields.names(actions, "id", "give the action an id; edges use "
                                            "it as sourceHandle", code="human.action_duplicate",
                                            what="action id"):
            if not _IDENTIFIER.match(action_id) or len(action_id) > 20:
                fields.error(path, "human.action_id",
                             f"action id {action_id!r} must be an identifier of at most 20 "
                             "characters")
        for at, _ in actions:
            title = fields.text(f"{at}.title", "label the button")
            if title is not None and len(title) > 20:
                fields.error(f"{at}.title", "human.action_title",
                             "action title must be at most 20 characters")
        fields.integer("timeout", minimum=1, hint="how long to wait for the reviewer")
        fields.choice("timeout_unit", ("hour", "day"), required=False)

    @override
    def branch_handles(self, node: NodeView) -> list[str]:
        actions = node.data.get("user_actions")
        return [a["id"] for a in actions or [] if isinstance(a, dict)
                and isinstance(a.get("id"), str) and a["id"]] if isinstance(actions, list) else []

    @override
    def required_branches(self, node: NodeView) -> list[str]:
        # A reviewer's "reject" may legitimately end the run, so actions need no edge.
        return []

    @override
    def source_handles(self, node: NodeView) -> frozenset[str]:
        return super().source_handles(node) | {"__timeout"}

    @override
    def outputs(self, node: NodeView) -> frozenset[str] | None:
        return names_in(node.data.get("inputs"), "output_variable_name") | {
            "__action_id", "__rendered_content"
        }


FLOW_RULES: tuple[NodeRule, ...] = (
    IfElseRule(), IterationRule(), LoopRule(), IterationStartRule(), LoopStartRule(),
    LoopEndRule(), VariableAggregatorRule(), LegacyAggregatorRule(), AssignerRule(),
    ListOperatorRule(), HumanInputRule(),
)
