"""Per-node-type rules: required fields, enums and shapes, one broken case per rule."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.workflows.samples import (
    MODEL,
    assert_clean,
    check,
    document,
    edge,
    end,
    find,
    llm,
    node,
    simple_chatflow,
    simple_workflow,
    start,
    with_node,
)

Doc = dict[str, Any]
P = "workflow.graph.nodes[2].data"  # the node inserted between llm and end


def code_node() -> Doc:
    return node("code", "code", code_language="python3",
                code="def main(text):\n    return {'n': len(text)}",
                variables=[{"variable": "text", "value_selector": ["llm", "text"]}],
                outputs={"n": {"type": "number", "children": None}})


def classifier() -> Doc:
    return node("qc", "question-classifier", query_variable_selector=["llm", "text"],
                model=dict(MODEL), classes=[{"id": "a", "name": "about A"},
                                            {"id": "b", "name": "about B"}])


def extractor() -> Doc:
    return node("pe", "parameter-extractor", model=dict(MODEL), query=["llm", "text"],
                reasoning_mode="function_call",
                parameters=[{"name": "city", "type": "string", "description": "City",
                             "required": True}])


def retrieval() -> Doc:
    return node("kr", "knowledge-retrieval", query_variable_selector=["llm", "text"],
                dataset_ids=["docs"], retrieval_mode="multiple",
                multiple_retrieval_config={"top_k": 4, "reranking_enable": False})


def http() -> Doc:
    return node("http", "http-request", method="post", url="https://api.example.com/items",
                authorization={"type": "no-auth", "config": None}, headers="", params="",
                body={"type": "json", "data": [{"type": "text", "value": "{}"}]})


def tool() -> Doc:
    return node("search", "tool", provider_id="langgenius/tavily/tavily", provider_type="builtin",
                provider_name="tavily", tool_name="tavily_search", tool_label="Tavily",
                tool_configurations={"max_results": 5},
                tool_parameters={"query": {"type": "mixed", "value": "{{#llm.text#}}"}})


def template() -> Doc:
    return node("tpl", "template-transform", template="{{ t }}",
                variables=[{"variable": "t", "value_selector": ["llm", "text"]}])


def aggregator() -> Doc:
    return node("agg", "variable-aggregator", output_type="string", variables=[["llm", "text"]])


def list_operator() -> Doc:
    return node("lo", "list-operator", variable=["code", "items"],
                filter_by={"enabled": False, "conditions": []},
                order_by={"enabled": True, "key": "", "value": "asc"},
                limit={"enabled": True, "size": 3})


def agent() -> Doc:
    return node("agent", "agent", agent_strategy_provider_name="langgenius/agent/agent",
                agent_strategy_name="function_calling", agent_strategy_label="FunctionCalling",
                agent_parameters={"query": {"type": "constant", "value": "{{#llm.text#}}"}})


def human() -> Doc:
    return node("review", "human-input", form_content="Check {{#llm.text#}}",
                inputs=[{"type": "paragraph", "output_variable_name": "comment"}],
                user_actions=[{"id": "ok", "title": "OK"}], timeout=2, timeout_unit="day")


def doc_with(new: Doc) -> Doc:
    return with_node(simple_workflow(), new)


def list_doc() -> Doc:
    doc = with_node(simple_workflow(), code_node())
    doc["workflow"]["graph"]["nodes"][2]["data"]["outputs"] = {"items": {"type": "array[string]"}}
    doc["workflow"]["graph"]["nodes"][-1]["data"]["outputs"][0]["value_selector"] = ["code",
                                                                                     "items"]
    return with_node(doc, list_operator(), before="end", after="code")


VALID_NODES: dict[str, Callable[[], Doc]] = {
    "code": lambda: doc_with(code_node()),
    "template": lambda: doc_with(template()),
    "extractor": lambda: doc_with(extractor()),
    "retrieval": lambda: doc_with(retrieval()),
    "http": lambda: doc_with(http()),
    "tool": lambda: doc_with(tool()),
    "aggregator": lambda: doc_with(aggregator()),
    "agent": lambda: doc_with(agent()),
    "list": list_doc,
}


@pytest.mark.parametrize("name", sorted(VALID_NODES))
def test_valid_nodes_pass(name: str) -> None:
    report = check(VALID_NODES[name]())
    assert_clean(report)


def _set(doc: Doc, index: int, dotted: str, value: Any) -> Doc:
    """Set (or delete, with value=...) a field of node `index`'s data."""
    out = copy.deepcopy(doc)
    target = out["workflow"]["graph"]["nodes"][index]["data"]
    *parents, last = dotted.split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is ...:
        del target[int(last) if last.isdigit() else last]
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return out


# (case id, document, expected code, expected path, fragment of the message)
BROKEN: list[tuple[str, Doc, str, str, str]] = [
    ("start var name", _set(simple_workflow(), 0, "variables.0.variable", "my var"),
     "start.variable_name", "workflow.graph.nodes[0].data.variables[0].variable", "identifier"),
    ("start var label", _set(simple_workflow(), 0, "variables.0.label", ...),
     "node.field_required", "workflow.graph.nodes[0].data.variables[0].label", "display label"),
    ("start var type", _set(simple_workflow(), 0, "variables.0.type", "textbox"),
     "node.field_enum", "workflow.graph.nodes[0].data.variables[0].type", "text-input"),
    ("start select options", _set(simple_workflow(), 0, "variables.0.type", "select"),
     "start.select_options", "workflow.graph.nodes[0].data.variables[0].options", "choices"),
    ("end output name", _set(simple_workflow(), 2, "outputs.0.variable", ""),
     "node.field_required", "workflow.graph.nodes[2].data.outputs[0].variable", "name the output"),
    ("end selector shape", _set(simple_workflow(), 2, "outputs.0.value_selector", "llm.text"),
     "node.selector_shape", "workflow.graph.nodes[2].data.outputs[0].value_selector",
     "[node_id, variable]"),
    ("answer text", _set(simple_chatflow(), 2, "answer", ""),
     "node.field_required", "workflow.graph.nodes[2].data.answer", "write the reply"),
    ("llm provider", _set(simple_workflow(), 1, "model.provider", ""),
     "node.field_required", "workflow.graph.nodes[1].data.model.provider", "provider"),
    ("llm mode", _set(simple_workflow(), 1, "model.mode", "vision"),
     "node.field_enum", "workflow.graph.nodes[1].data.model.mode", "chat, completion"),
    ("llm role", _set(simple_workflow(), 1, "prompt_template.0.role", "bot"),
     "node.field_enum", "workflow.graph.nodes[1].data.prompt_template[0].role", "system"),
    ("llm empty prompt", _set(_set(simple_workflow(), 1, "prompt_template.0.text", ""), 1,
                              "prompt_template.1.text", " "),
     "llm.prompt_empty", "workflow.graph.nodes[1].data.prompt_template", "prompt is empty"),
    ("llm context selector", _set(simple_workflow(), 1, "context.enabled", True),
     "llm.context_selector", "workflow.graph.nodes[1].data.context.variable_selector",
     "knowledge-retrieval"),
    ("llm memory query", _set(simple_workflow(), 1, "memory",
                              {"window": {"enabled": True}, "query_prompt_template": "Q"}),
     "llm.memory_query", "workflow.graph.nodes[1].data.memory.query_prompt_template",
     "{{#sys.query#}}"),
    ("llm structured output", _set(simple_workflow(), 1, "structured_output_enabled", True),
     "llm.structured_output", "workflow.graph.nodes[1].data.structured_output", "JSON schema"),
    ("llm vision selector", _set(simple_workflow(), 1, "vision",
                                 {"enabled": True, "configs": {"variable_selector": []}}),
     "node.vision_selector", "workflow.graph.nodes[1].data.vision.configs.variable_selector",
     "image"),
    ("code language", _set(doc_with(code_node()), 2, "code_language", "ruby"),
     "node.field_enum", f"{P}.code_language", "python3"),
    ("code body", _set(doc_with(code_node()), 2, "code", ""),
     "node.field_required", f"{P}.code", "main()"),
    ("code output type", _set(doc_with(code_node()), 2, "outputs.n.type", "integer"),
     "node.field_enum", f"{P}.outputs.n.type", "number"),
    ("code duplicate input", _set(doc_with(code_node()), 2, "variables",
                                  [{"variable": "t", "value_selector": ["llm", "text"]}] * 2),
     "node.variable_duplicate", f"{P}.variables[1].variable", "twice"),
    ("template body", _set(doc_with(template()), 2, "template", ""),
     "node.field_required", f"{P}.template", "Jinja2"),
    ("classifier no classes", _set(doc_with(classifier()), 2, "classes", []),
     "node.field_empty", f"{P}.classes", "two classes"),
    ("classifier class name", _set(doc_with(classifier()), 2, "classes.1.name", ""),
     "node.field_required", f"{P}.classes[1].name", "describe the class"),
    ("classifier duplicate", _set(doc_with(classifier()), 2, "classes.1.id", "a"),
     "classifier.class_duplicate", f"{P}.classes[1].id", "'a' is used twice"),
    ("extractor reserved", _set(doc_with(extractor()), 2, "parameters.0.name", "__reason"),
     "extractor.reserved_name", f"{P}.parameters[0].name", "reserved"),
    ("extractor type", _set(doc_with(extractor()), 2, "parameters.0.type", "date"),
     "node.field_enum", f"{P}.parameters[0].type", "array[string]"),
    ("extractor query", _set(doc_with(extractor()), 2, "query", []),
     "node.field_required", f"{P}.query", "text to extract"),
    ("extractor reasoning", _set(doc_with(extractor()), 2, "reasoning_mode", "magic"),
     "node.field_enum", f"{P}.reasoning_mode", "function_call"),
    ("retrieval datasets", _set(doc_with(retrieval()), 2, "dataset_ids", []),
     "node.field_empty", f"{P}.dataset_ids", "knowledge bases"),
    ("retrieval top_k", _set(doc_with(retrieval()), 2, "multiple_retrieval_config.top_k", 0),
     "node.field_range", f"{P}.multiple_retrieval_config.top_k", "at least 1"),
    ("retrieval mode", _set(doc_with(retrieval()), 2, "retrieval_mode", "hybrid"),
     "node.field_enum", f"{P}.retrieval_mode", "single, multiple"),
    ("retrieval single model", _set(doc_with(retrieval()), 2, "retrieval_mode", "single"),
     "node.field_required", f"{P}.single_retrieval_config.model.provider", "route the query"),
    ("retrieval rerank", _set(doc_with(retrieval()), 2, "multiple_retrieval_config",
                              {"top_k": 3, "reranking_enable": True,
                               "reranking_mode": "reranking_model"}),
     "retrieval.rerank", f"{P}.multiple_retrieval_config.reranking_model", "reranking_model"),
    ("http method", _set(doc_with(http()), 2, "method", "fetch"),
     "node.field_enum", f"{P}.method", "get, post"),
    ("http url", _set(doc_with(http()), 2, "url", ""),
     "node.field_required", f"{P}.url", "URL"),
    ("http auth", _set(doc_with(http()), 2, "authorization", {"type": "oauth"}),
     "node.field_enum", f"{P}.authorization.type", "no-auth, api-key"),
    ("http api key", _set(doc_with(http()), 2, "authorization",
                          {"type": "api-key", "config": {"type": "bearer", "api_key": ""}}),
     "node.field_required", f"{P}.authorization.config.api_key", "{{#env.API_KEY#}}"),
    ("http headers", _set(doc_with(http()), 2, "headers", {"Accept": "json"}),
     "node.field_type", f"{P}.headers", "Name:value"),
    ("http body type", _set(doc_with(http()), 2, "body", {"type": "xml", "data": []}),
     "node.field_enum", f"{P}.body.type", "raw-text"),
    ("tool provider type", _set(doc_with(tool()), 2, "provider_type", "local"),
     "node.field_enum", f"{P}.provider_type", "builtin"),
    ("tool input type", _set(doc_with(tool()), 2, "tool_parameters.query.type", "text"),
     "node.field_enum", f"{P}.tool_parameters.query.type", "mixed"),
    ("tool variable value", _set(doc_with(tool()), 2, "tool_parameters.query",
                                 {"type": "variable", "value": "llm.text"}),
     "node.input_value", f"{P}.tool_parameters.query.value", "selector"),
    ("aggregator selector", _set(doc_with(aggregator()), 2, "variables", [["llm"]]),
     "node.selector_shape", f"{P}.variables[0]", "selector"),
    ("aggregator type", _set(doc_with(aggregator()), 2, "output_type", "text"),
     "node.field_enum", f"{P}.output_type", "variable type"),
    ("agent strategy", _set(doc_with(agent()), 2, "agent_strategy_name", ""),
     "node.field_required", f"{P}.agent_strategy_name", "strategy"),
    ("agent parameters", _set(doc_with(agent()), 2, "agent_parameters", []),
     "node.field_type", f"{P}.agent_parameters", "mapping"),
    ("list limit", _set(list_doc(), 3, "limit.size", 0),
     "node.field_range", "workflow.graph.nodes[3].data.limit.size", "at least 1"),
    ("list order", _set(list_doc(), 3, "order_by.value", "up"),
     "node.field_enum", "workflow.graph.nodes[3].data.order_by.value", "asc, desc"),
    ("list filter", _set(list_doc(), 3, "filter_by", {"enabled": True, "conditions": []}),
     "node.field_empty", "workflow.graph.nodes[3].data.filter_by.conditions", "filter condition"),
    ("default value strategy", _set(simple_workflow(), 1, "error_strategy", "default-value"),
     "node.default_value_missing", "workflow.graph.nodes[1].data.default_value", "default_value"),
    ("error strategy", _set(simple_workflow(), 1, "error_strategy", "retry"),
     "node.field_enum", "workflow.graph.nodes[1].data.error_strategy", "fail-branch"),
]


@pytest.mark.parametrize(("doc", "code", "path", "fragment"),
                         [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN])
def test_broken_node_is_reported(doc: Doc, code: str, path: str, fragment: str) -> None:
    report = check(doc)
    matches = [i for i in report.errors if i.path == path]
    assert matches, [i.line() for i in report.issues]
    assert matches[0].code == code
    assert fragment in matches[0].message
    assert "node '" in matches[0].message  # names the node


def _if_else(**case: Any) -> Doc:
    base = {"case_id": "true", "logical_operator": "and", "conditions": [
        {"variable_selector": ["start", "question"], "comparison_operator": "contains",
         "value": "price", "varType": "string"}]}
    base.update(case)
    return document(
        [start("question"), node("if", "if-else", cases=[base]),
         end(("a", ["start", "question"]), node_id="yes"),
         end(("a", ["start", "question"]), node_id="no")],
        [edge("start", "if"), edge("if", "yes", str(base.get("case_id"))),
         edge("if", "no", "false")],
    )


def test_if_else_rules() -> None:
    assert check(_if_else()).valid
    report = check(_if_else(logical_operator="xor"))
    assert find(report, "node.field_enum").path.endswith("cases[0].logical_operator")
    report = check(_if_else(conditions=[]))
    assert find(report, "node.field_empty").path.endswith("cases[0].conditions")
    report = check(_if_else(conditions=[{"variable_selector": ["start", "question"],
                                         "comparison_operator": "like", "value": "x"}]))
    assert "comparison_operator 'like'" in find(report, "node.field_enum").message
    report = check(_if_else(conditions=[{"variable_selector": ["start", "question"],
                                         "comparison_operator": "contains"}]))
    assert find(report, "condition.value_required").path.endswith("conditions[0].value")
    valueless = check(_if_else(conditions=[{"variable_selector": ["start", "question"],
                                            "comparison_operator": "empty"}]))
    assert valueless.valid
    assert find(check(_if_else(case_id="false")), "ifelse.case_id_false").severity == "error"


def _human_doc(**data: Any) -> Doc:
    review = human()
    review["data"].update(data)
    doc = with_node(simple_workflow(), review)
    doc["workflow"]["graph"]["edges"][-1]["sourceHandle"] = "ok"  # the action's branch
    return doc


def test_human_input_rules() -> None:
    assert check(_human_doc()).valid
    twice = [{"id": "ok", "title": "A"}, {"id": "ok", "title": "B"}]
    report = check(_human_doc(user_actions=twice))
    assert find(report, "human.action_duplicate").path == f"{P}.user_actions[1].id"
    report = check(_human_doc(user_actions=[{"id": "ok now", "title": "A"}]))
    assert "identifier" in find(report, "human.action_id").message
    report = check(_human_doc(inputs=[{"output_variable_name": "c"}] * 2))
    assert find(report, "human.input_duplicate").path == f"{P}.inputs[1].output_variable_name"
    report = check(_human_doc(timeout_unit="week"))
    assert find(report, "node.field_enum").path == f"{P}.timeout_unit"


def _trigger_doc(trigger: Doc) -> Doc:
    return document([trigger, llm("llm", "Daily run"), end(("a", ["llm", "text"]))],
                    [edge(trigger["id"], "llm"), edge("llm", "end")])


def test_schedule_trigger_rules() -> None:
    cron = node("t", "trigger-schedule", mode="cron", cron_expression="0 9 * * 1-5",
                timezone="Europe/Paris")
    assert check(_trigger_doc(cron)).valid
    bad = copy.deepcopy(cron)
    bad["data"]["cron_expression"] = "0 25 * * *"
    error = find(check(_trigger_doc(bad)), "schedule.cron_invalid")
    assert "hour field '25'" in error.message
    bad["data"]["cron_expression"] = "every day"
    assert "5" in find(check(_trigger_doc(bad)), "schedule.cron_invalid").message
    bad = copy.deepcopy(cron)
    bad["data"]["timezone"] = "Mars/Olympus"
    assert find(check(_trigger_doc(bad)), "schedule.timezone").path.endswith("timezone")
    visual = node("t", "trigger-schedule", mode="visual", frequency="weekly",
                  visual_config={"time": "9:30 AM", "weekdays": ["mon", "fri"]})
    assert check(_trigger_doc(visual)).valid
    visual["data"]["visual_config"]["weekdays"] = ["funday"]
    assert find(check(_trigger_doc(visual)), "schedule.weekdays").severity == "error"
    visual["data"]["visual_config"] = {"time": "25:00"}
    assert find(check(_trigger_doc(visual)), "schedule.time").severity == "error"


def test_webhook_trigger_rules() -> None:
    hook = node("t", "trigger-webhook", method="post", content_type="application/json",
                headers=[], params=[], body=[{"name": "email", "type": "string"}])
    assert check(_trigger_doc(hook)).valid
    hook["data"]["body"] = {"email": {"type": "string"}}
    error = find(check(_trigger_doc(hook)), "node.field_type")
    assert error.path == "workflow.graph.nodes[0].data.body"
    assert "list of {name, type, required}" in error.message
    hook["data"]["body"] = [{"name": "n", "type": "date"}]
    hook["data"]["method"] = "fetch"
    report = check(_trigger_doc(hook))
    assert {i.path for i in report.errors} >= {"workflow.graph.nodes[0].data.method",
                                               "workflow.graph.nodes[0].data.body[0].type"}


def test_plugin_trigger_needs_its_event() -> None:
    plugin = node("t", "trigger-plugin", plugin_id="langgenius/github_trigger",
                  provider_id="langgenius/github_trigger/github", event_name="")
    error = find(check(_trigger_doc(plugin)), "node.field_required")
    assert error.path == "workflow.graph.nodes[0].data.event_name"


def _loop_doc(**data: Any) -> Doc:
    loop = node("loop", "loop", loop_count=3, logical_operator="and", start_node_id="loop_start",
                break_conditions=[{"variable_selector": ["loop", "n"], "comparison_operator": "≥",
                                   "value": "3", "varType": "number"}],
                loop_variables=[{"label": "n", "var_type": "number", "value_type": "constant",
                                 "value": 0}])
    loop["data"].update(data)
    return document(
        [start("q"), loop, node("loop_start", "loop-start", parent="loop"),
         node("inc", "assigner", parent="loop", version="2", items=[
             {"variable_selector": ["loop", "n"], "input_type": "constant", "operation": "+=",
              "value": 1}]),
         end(("n", ["loop", "n"]))],
        [edge("start", "loop"), edge("loop_start", "inc"), edge("loop", "end")],
    )


def test_loop_and_assigner_rules() -> None:
    report = check(_loop_doc())
    assert_clean(report)
    assert find(check(_loop_doc(loop_count=0)), "node.field_range").path.endswith("loop_count")
    bad_var = [{"label": "n", "var_type": "file", "value_type": "constant", "value": 0}]
    assert find(check(_loop_doc(loop_variables=bad_var)),
                "node.field_enum").path.endswith("loop_variables[0].var_type")
    doc = _loop_doc()
    doc["workflow"]["graph"]["nodes"][3]["data"]["items"][0]["operation"] = "multiply"
    assert find(check(doc), "node.field_enum").path.endswith("items[0].operation")


def test_document_extractor_without_selector_is_a_warning() -> None:
    doc = with_node(simple_workflow(), node("read", "document-extractor"))
    report = check(doc)
    assert report.valid
    assert find(report, "node.field_required").severity == "warning"


def test_legacy_llm_without_context_is_a_warning() -> None:
    doc = _set(simple_workflow(), 1, "context", ...)
    report = check(doc)
    assert report.valid
    assert find(report, "llm.context_missing").path == "workflow.graph.nodes[1].data.context"
