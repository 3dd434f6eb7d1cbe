"""Graph rules: node ids and types, edges and handles, modes, entry, containers, reachability."""

from __future__ import annotations

import copy
from typing import Any

from tests.workflows.samples import (
    assert_clean,
    check,
    document,
    edge,
    end,
    errors,
    find,
    llm,
    node,
    simple_chatflow,
    simple_workflow,
    start,
    the_error,
)

N = "workflow.graph.nodes"
E = "workflow.graph.edges"


def _graph(doc: dict[str, Any]) -> dict[str, Any]:
    graph: dict[str, Any] = doc["workflow"]["graph"]
    return graph


def test_duplicate_node_id() -> None:
    doc = simple_workflow()
    _graph(doc)["nodes"].append(copy.deepcopy(_graph(doc)["nodes"][1]))
    error = the_error(doc)
    assert (error.code, error.path) == ("node.id_duplicate", f"{N}[3].id")
    assert "already used by workflow.graph.nodes[1]" in error.message


def test_unknown_type_suggests_the_closest() -> None:
    doc = simple_workflow()
    _graph(doc)["nodes"][1]["data"]["type"] = "lmm"
    error = next(i for i in check(doc).errors if i.code == "node.type_unknown")
    assert error.path == f"{N}[1].data.type"
    assert "did you mean 'llm'?" in error.message


def test_custom_note_nodes_are_ignored() -> None:
    doc = simple_workflow()
    _graph(doc)["nodes"].append({"id": "note", "type": "custom-note",
                                 "data": {"type": "", "text": "remember"}})
    assert check(doc).valid


def test_edge_to_missing_node() -> None:
    doc = simple_workflow()
    _graph(doc)["edges"].append(edge("llm", "ghost"))
    error = the_error(doc)
    assert (error.code, error.path) == ("edge.unknown_node", f"{E}[2].target")


def test_edge_naming_a_title_says_so() -> None:
    doc = simple_workflow()
    _graph(doc)["nodes"][1]["data"]["title"] = "Writer"
    _graph(doc)["edges"].append(edge("Writer", "end"))
    assert "it is the title of node 'llm'" in the_error(doc).message


def test_self_loop() -> None:
    doc = simple_workflow()
    _graph(doc)["edges"].append(edge("llm", "llm"))
    assert the_error(doc).code == "edge.self_loop"


def test_source_handle_must_exist_on_the_node() -> None:
    doc = simple_workflow()
    _graph(doc)["edges"][1]["sourceHandle"] = "true"
    error = the_error(doc)
    assert (error.code, error.path) == ("edge.bad_handle", f"{E}[1].sourceHandle")
    assert "use one of 'source'" in error.message


def test_fail_branch_handle_needs_the_fail_branch_strategy() -> None:
    doc = simple_workflow()
    _graph(doc)["nodes"].insert(2, node("fallback", "template-transform", template="sorry",
                                        variables=[]))
    _graph(doc)["edges"] += [edge("llm", "fallback", "fail-branch"), edge("fallback", "end")]
    assert the_error(doc).code == "edge.bad_handle"
    _graph(doc)["nodes"][1]["data"]["error_strategy"] = "fail-branch"
    assert check(doc).valid


def test_if_else_handles_are_case_ids_and_false() -> None:
    doc = document(
        [start("q"), node("if", "if-else", cases=[{
            "case_id": "yes", "logical_operator": "and",
            "conditions": [{"variable_selector": ["start", "q"], "comparison_operator": "is",
                            "value": "hi", "varType": "string"}]}]),
         end(("a", ["start", "q"]), node_id="end_a"), end(("b", ["start", "q"]), node_id="end_b")],
        [edge("start", "if"), edge("if", "end_a", "yes"), edge("if", "end_b", "false")],
    )
    assert check(doc).valid
    _graph(doc)["edges"][1]["sourceHandle"] = "true"
    error = next(i for i in check(doc).errors if i.code == "edge.bad_handle")
    assert "use one of 'false', 'yes'" in error.message


def test_target_handle_other_than_target_warns() -> None:
    doc = simple_workflow()
    _graph(doc)["edges"][0]["targetHandle"] = "input"
    assert find(check(doc), "edge.target_handle").severity == "warning"


def test_duplicate_edge_warns() -> None:
    doc = simple_workflow()
    _graph(doc)["edges"].append(copy.deepcopy(_graph(doc)["edges"][0]) | {"id": "other"})
    report = check(doc)
    assert report.valid
    assert find(report, "edge.duplicate").path == f"{E}[2]"


def test_edge_across_a_container_boundary() -> None:
    doc = _iteration_doc()
    _graph(doc)["edges"].append(edge("each_llm", "end"))
    assert "edge.crosses_container" in {c for c, _ in errors(check(doc))}


def test_chatflow_has_no_end_node() -> None:
    doc = simple_chatflow()
    _graph(doc)["nodes"].append(end(("x", ["llm", "text"])))
    _graph(doc)["edges"].append(edge("llm", "end"))
    error = the_error(doc)
    assert (error.code, error.path) == ("mode.node_not_allowed", f"{N}[3].data.type")
    assert "use answer instead of end" in error.message


def test_workflow_has_no_answer_node() -> None:
    doc = simple_workflow()
    _graph(doc)["nodes"].append(node("reply", "answer", answer="{{#llm.text#}}"))
    _graph(doc)["edges"].append(edge("llm", "reply"))
    assert the_error(doc).code == "mode.node_not_allowed"


def _schedule(node_id: str = "cron") -> dict[str, Any]:
    return node(node_id, "trigger-schedule", mode="cron", cron_expression="0 9 * * 1-5",
                timezone="UTC")


def test_chatflow_has_no_triggers() -> None:
    doc = simple_chatflow()
    _graph(doc)["nodes"][0] = _schedule("start")
    codes = {c for c, _ in errors(check(doc))}
    assert "mode.node_not_allowed" in codes


def test_start_does_not_coexist_with_triggers() -> None:
    doc = simple_workflow()
    _graph(doc)["nodes"].append(_schedule())
    _graph(doc)["edges"].append(edge("cron", "llm"))
    error = the_error(doc)
    assert (error.code, error.path) == ("mode.start_with_trigger", f"{N}[3].data.type")


def test_exactly_one_entry_node() -> None:
    doc = simple_workflow()
    _graph(doc)["nodes"].append(start("x", node_id="start2"))
    _graph(doc)["edges"].append(edge("start2", "llm"))
    error = the_error(doc)
    assert (error.code, error.path) == ("entry.multiple", f"{N}[3].data.type")
    empty = document([end(("a", ["sys", "user_id"]))], [])
    assert {"entry.missing"} <= {c for c, _ in errors(check(empty))}


def test_trigger_is_a_valid_entry() -> None:
    doc = simple_workflow()
    _graph(doc)["nodes"][0] = _schedule("start")
    _graph(doc)["nodes"][1]["data"]["prompt_template"][1]["text"] = "Daily digest"
    assert check(doc).valid


def test_entry_node_has_no_incoming_edge() -> None:
    doc = simple_workflow()
    _graph(doc)["edges"].append(edge("llm", "start"))
    assert "entry.incoming_edge" in {c for c, _ in errors(check(doc))}


def test_every_node_is_reachable() -> None:
    doc = simple_workflow()
    _graph(doc)["nodes"].insert(2, llm("orphan", "hello"))
    error = the_error(doc)
    assert (error.code, error.path) == ("graph.unreachable", f"{N}[2]")
    assert "not connected to the entry node" in error.message


def test_a_terminal_node_must_be_reachable() -> None:
    doc = simple_workflow()
    _graph(doc)["edges"].pop()
    report_codes = {c for c, _ in errors(check(doc))}
    assert {"graph.no_terminal", "graph.unreachable"} <= report_codes
    chat = simple_chatflow()
    _graph(chat)["edges"].pop()
    assert "no answer node is reachable" in find(check(chat), "graph.no_terminal").message


def test_dead_branch_is_an_error_on_current_versions() -> None:
    doc = document(
        [start("q"), node("classify", "question-classifier", query_variable_selector=["start", "q"],
                          model=dict(llm("x", "y")["data"]["model"]),
                          classes=[{"id": "a", "name": "A"}, {"id": "b", "name": "B"}]),
         end(("x", ["classify", "class_name"]))],
        [edge("start", "classify"), edge("classify", "end", "a")],
    )
    error = the_error(doc)
    assert (error.code, error.path) == ("graph.dead_branch", f"{N}[1]")
    assert "branch 'b'" in error.message
    doc["version"] = "0.5.0"
    assert find(check(doc), "graph.dead_branch").severity == "warning"


def test_cycles_are_rejected() -> None:
    doc = simple_workflow()
    _graph(doc)["nodes"].insert(2, llm("again", "{{#llm.text#}}"))
    _graph(doc)["edges"] += [edge("llm", "again"), edge("again", "llm")]
    error = next(i for i in check(doc).errors if i.code == "graph.cycle")
    assert "llm -> again -> llm" in error.message


def _iteration_doc() -> dict[str, Any]:
    return document(
        [start("topics"),
         node("split", "code", code_language="python3", code="def main(t):\n    return {}",
              variables=[{"variable": "t", "value_selector": ["start", "topics"]}],
              outputs={"items": {"type": "array[string]"}}),
         node("each", "iteration", iterator_selector=["split", "items"],
              output_selector=["each_llm", "text"], start_node_id="each_start"),
         node("each_start", "iteration-start", parent="each"),
         llm("each_llm", "Write about {{#each.item#}} ({{#each.index#}})", parent="each"),
         end(("all", ["each", "output"]))],
        [edge("start", "split"), edge("split", "each"), edge("each_start", "each_llm"),
         edge("each", "end")],
    )


def test_iteration_baseline_is_valid() -> None:
    report = check(_iteration_doc())
    assert_clean(report)


def test_container_start_node_must_exist_inside() -> None:
    doc = _iteration_doc()
    _graph(doc)["nodes"][2]["data"]["start_node_id"] = "nowhere"
    error = next(i for i in check(doc).errors if i.code == "container.start_unknown")
    assert error.path == f"{N}[2].data.start_node_id"
    doc = _iteration_doc()
    _graph(doc)["nodes"][2]["data"]["start_node_id"] = "split"
    assert "container.start_not_child" in {c for c, _ in errors(check(doc))}
    doc = _iteration_doc()
    del _graph(doc)["nodes"][2]["data"]["start_node_id"]
    assert "container.start_missing" in {c for c, _ in errors(check(doc))}


def test_iteration_start_must_sit_in_an_iteration() -> None:
    doc = _iteration_doc()
    del _graph(doc)["nodes"][3]["parentId"]
    assert "container.start_outside" in {c for c, _ in errors(check(doc))}


def test_parent_must_be_a_container() -> None:
    doc = _iteration_doc()
    _graph(doc)["nodes"][4]["parentId"] = "split"
    assert "container.not_container" in {c for c, _ in errors(check(doc))}
    _graph(doc)["nodes"][4]["parentId"] = "ghost"
    assert "container.unknown_parent" in {c for c, _ in errors(check(doc))}


def test_children_are_reached_through_their_container() -> None:
    doc = _iteration_doc()
    _graph(doc)["nodes"].insert(5, llm("stray", "{{#each.item#}}", parent="each"))
    error = the_error(doc)
    assert (error.code, error.path) == ("graph.unreachable", f"{N}[5]")
    assert "inside 'each'" in error.message
