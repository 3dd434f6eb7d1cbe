"""Variable references: templates and selectors resolve to upstream outputs or sys/env/...."""

from __future__ import annotations

import copy
from typing import Any

from tests.workflows.samples import (
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
    the_error,
)

Doc = dict[str, Any]


def _prompt(doc: Doc, text: str, index: int = 1) -> Doc:
    out = copy.deepcopy(doc)
    out["workflow"]["graph"]["nodes"][index]["data"]["prompt_template"][1]["text"] = text
    return out


PROMPT = "workflow.graph.nodes[1].data.prompt_template[1].text"


def test_unknown_node_in_template() -> None:
    error = the_error(_prompt(simple_workflow(), "{{#strat.question#}}"))
    assert (error.code, error.path) == ("var.unknown_node", PROMPT)
    assert "refers to node 'strat', which does not exist; did you mean 'start'?" in error.message


def test_node_named_by_title_is_a_warning_with_the_id() -> None:
    doc = _prompt(simple_workflow(), "{{#Start.question#}}")
    doc["workflow"]["graph"]["nodes"][0]["data"]["title"] = "Start"
    report = check(doc)
    assert report.valid
    assert "use 'start'" in find(report, "var.node_title").message


def test_unknown_output_lists_what_exists() -> None:
    error = the_error(_prompt(simple_workflow(), "{{#start.questoin#}}"))
    assert (error.code, error.path) == ("var.unknown_output", PROMPT)
    assert "start node 'start' has no output 'questoin'; it offers question" in error.message


def test_selector_to_unknown_output() -> None:
    doc = simple_workflow()
    doc["workflow"]["graph"]["nodes"][2]["data"]["outputs"][0]["value_selector"] = ["llm", "txt"]
    error = the_error(doc)
    assert error.path == "workflow.graph.nodes[2].data.outputs[0].value_selector"
    assert "has no output 'txt'; it offers files, reasoning_content" in error.message


def test_reference_must_be_upstream() -> None:
    doc = document(
        [start("q"), llm("first", "{{#second.text#}}"), llm("second", "{{#start.q#}}"),
         end(("a", ["first", "text"]))],
        [edge("start", "first"), edge("start", "second"), edge("first", "end"),
         edge("second", "end")],
    )
    error = the_error(doc)
    assert error.code == "var.not_upstream"
    assert "llm node 'second', which does not run before this node" in error.message


def test_env_variables_must_be_declared() -> None:
    doc = _prompt(simple_workflow(), "{{#env.TONE#}}")
    error = the_error(doc)
    assert (error.code, error.path) == ("var.env_unknown", PROMPT)
    assert "add it to workflow.environment_variables" in error.message
    doc["workflow"]["environment_variables"] = [{"name": "TONE", "value_type": "string",
                                                 "value": "friendly"}]
    assert check(doc).valid


def test_conversation_variables_must_be_declared() -> None:
    doc = _prompt(simple_chatflow(), "{{#conversation.topic#}}")
    assert the_error(doc).code == "var.conversation_unknown"
    doc["workflow"]["conversation_variables"] = [{"name": "topic", "value_type": "string"}]
    assert check(doc).valid


def test_sys_query_only_in_chatflows() -> None:
    error = the_error(_prompt(simple_workflow(), "{{#sys.query#}}"))
    assert error.code == "var.sys_chat_only"
    assert check(_prompt(simple_workflow(), "{{#sys.user_id#}}")).valid


def test_rag_variables_only_in_rag_pipelines() -> None:
    error = the_error(_prompt(simple_workflow(), "{{#rag.shared.source_url#}}"))
    assert error.code == "var.rag_outside"
    assert "only exist in RAG pipelines" in error.message


def test_sys_variables_are_difys_own() -> None:
    # sys.* is Dify's fixed set (SystemVariableKey); a misspelt one resolves to nothing.
    error = the_error(_prompt(simple_chatflow(), "{{#sys.querry#}}"))
    assert error.code == "var.sys_unknown"
    assert "did you mean 'query'" in error.message
    for name in ("query", "files", "conversation_id", "dialogue_count", "app_id",
                 "workflow_run_id", "timestamp"):
        assert check(_prompt(simple_chatflow(), "{{#sys." + name + "#}}")).valid, name


def test_template_ids_dify_cannot_substitute() -> None:
    doc = simple_workflow()
    graph = doc["workflow"]["graph"]
    graph["nodes"][0]["id"] = "user-input"
    graph["edges"][0]["source"] = "user-input"
    graph["nodes"][1]["data"]["prompt_template"][1]["text"] = "{{#user-input.question#}}"
    error = the_error(doc)
    assert error.code == "var.template_syntax"
    assert "will not be substituted" in error.message
    graph["nodes"][1]["data"]["prompt_template"][1]["text"] = "plain"
    graph["nodes"][1]["data"]["context"] = {"enabled": True,
                                            "variable_selector": ["user-input", "question"]}
    assert check(doc).valid  # selectors are not templates: any id works there


def _iteration(child_prompt: str, after: list[str] | None = None,
               output: list[str] | None = None) -> Doc:
    return document(
        [start("topics"),
         node("split", "code", code_language="python3", code="def main(t):\n    return {}",
              variables=[{"variable": "t", "value_selector": ["start", "topics"]}],
              outputs={"items": {"type": "array[string]"}}),
         node("each", "iteration", iterator_selector=["split", "items"],
              output_selector=output or ["child", "text"], start_node_id="each_start"),
         node("each_start", "iteration-start", parent="each"),
         llm("child", child_prompt, parent="each"),
         end(("all", after or ["each", "output"]))],
        [edge("start", "split"), edge("split", "each"), edge("each_start", "child"),
         edge("each", "end")],
    )


def test_iteration_scope() -> None:
    assert check(_iteration("{{#each.item#}} of {{#start.topics#}}")).valid
    error = the_error(_iteration("{{#each.output#}}"))
    assert error.code == "var.unknown_output"  # output exists only after the iteration
    error = the_error(_iteration("ok", after=["child", "text"]))
    assert error.code == "var.not_upstream"  # a child is not visible outside its container
    error = the_error(_iteration("ok", output=["split", "items"]))
    assert (error.code, error.path) == ("var.output_outside",
                                        "workflow.graph.nodes[2].data.output_selector")


def test_code_outputs_are_the_declared_ones() -> None:
    doc = _iteration("{{#each.item#}}")
    doc["workflow"]["graph"]["nodes"][2]["data"]["iterator_selector"] = ["split", "rows"]
    assert "it offers items" in the_error(doc).message


def test_fail_branch_publishes_error_fields() -> None:
    doc = document(
        [start("url"),
         node("fetch", "http-request", method="get", url="{{#start.url#}}", headers="",
              params="", authorization={"type": "no-auth"}, error_strategy="fail-branch"),
         node("explain", "template-transform", template="{{ e }}",
              variables=[{"variable": "e", "value_selector": ["fetch", "error_message"]}]),
         end(("body", ["fetch", "body"]), node_id="ok"),
         end(("why", ["explain", "output"]), node_id="failed")],
        [edge("start", "fetch"), edge("fetch", "ok"), edge("fetch", "explain", "fail-branch"),
         edge("explain", "failed")],
    )
    assert check(doc).valid
    del doc["workflow"]["graph"]["nodes"][1]["data"]["error_strategy"]
    codes = {i.code for i in check(doc).errors}
    assert {"var.unknown_output", "edge.bad_handle"} <= codes


def test_tool_outputs_are_open() -> None:
    doc = document(
        [start("q"),
         node("search", "tool", provider_id="p/t/t", provider_type="builtin", provider_name="t",
              tool_name="search", tool_label="Search", tool_configurations={},
              tool_parameters={"query": {"type": "variable", "value": ["start", "q"]}}),
         end(("r", ["search", "anything_the_tool_returns"]))],
        [edge("start", "search"), edge("search", "end")],
    )
    assert check(doc).valid
    doc["workflow"]["graph"]["nodes"][1]["data"]["tool_parameters"]["query"]["value"] = [
        "start", "missing"]
    error = the_error(doc)
    assert error.path == "workflow.graph.nodes[1].data.tool_parameters.query.value"


def test_disabled_context_is_not_resolved() -> None:
    doc = simple_workflow()
    doc["workflow"]["graph"]["nodes"][1]["data"]["context"] = {
        "enabled": False, "variable_selector": ["gone", "result"]}
    assert check(doc).valid
    doc["workflow"]["graph"]["nodes"][1]["data"]["context"]["enabled"] = True
    assert the_error(doc).code == "var.unknown_node"


def test_end_output_names_are_unique() -> None:
    doc = simple_workflow()
    doc["workflow"]["graph"]["nodes"][2]["data"]["outputs"].append(
        {"variable": "answer", "value_selector": ["start", "question"]})
    error = the_error(doc)
    assert (error.code, error.path) == ("end.output_duplicate",
                                        "workflow.graph.nodes[2].data.outputs[1].variable")
