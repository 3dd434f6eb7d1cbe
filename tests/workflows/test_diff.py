"""Layout-insensitive diff between DSL versions."""

from __future__ import annotations

import copy
from typing import Any

from revline.workflows.diff import diff_documents, render
from revline.workflows.dsl import AppSpec, build_dsl
from tests.workflows.script import pattern


def built(graph: dict[str, Any], name: str = "Support") -> dict[str, Any]:
    return build_dsl(AppSpec(name=name, mode="advanced-chat"), graph).document


def base() -> dict[str, Any]:
    return copy.deepcopy(pattern("support-rag-chatbot")["graph"])


def test_layout_sizes_and_edge_ids_are_not_changes() -> None:
    before = built(base())
    after = copy.deepcopy(before)
    for i, node in enumerate(after["workflow"]["graph"]["nodes"]):
        node["position"] = {"x": 1000 + i, "y": -5}
        node["positionAbsolute"] = {"x": 1, "y": 2}
        node["width"], node["height"] = 999, 111
        node["selected"] = True
    for edge in after["workflow"]["graph"]["edges"]:
        edge["id"] = "renamed-" + edge["id"]
        edge["data"] = {}
    after["workflow"]["graph"]["nodes"].reverse()
    after["workflow"]["graph"]["viewport"] = {"x": 5, "y": 5, "zoom": 2}
    result = diff_documents(before, after)
    assert result["identical"]
    assert result["summary"] == "no changes"
    assert render(result) == []


def test_renamed_ids_are_renames_not_a_new_graph() -> None:
    before = built(base())
    graph = base()
    graph["nodes"][1]["id"] = "search"  # retrieve_docs -> search, references follow
    graph["nodes"][2]["data"]["context"]["variable_selector"] = ["search", "result"]
    graph["edges"] = [{"source": "start", "target": "search"},
                      {"source": "search", "target": "answer_llm"},
                      {"source": "answer_llm", "target": "reply"}]
    result = diff_documents(before, built(graph))
    assert result["nodes"]["renamed"] == [{"from": "retrieve_docs", "to": "search"}]
    assert result["nodes"]["added"] == result["nodes"]["removed"] == []
    assert result["nodes"]["changed"] == []
    assert result["edges"] == {"added": [], "removed": []}
    assert result["summary"] == "1 node(s) renamed"


def test_added_removed_and_changed_nodes_edges_and_fields() -> None:
    before = built(base())
    graph = base()
    llm = graph["nodes"][2]["data"]
    llm["model"]["name"] = "gpt-4o"
    llm["memory"]["window"]["size"] = 4
    graph["nodes"].insert(3, {"id": "polish", "data": {
        "type": "template-transform", "title": "Polish",
        "variables": [{"variable": "text", "value_selector": ["answer_llm", "text"]}],
        "template": "{{ text }}"}})
    graph["nodes"][-1]["data"]["answer"] = "{{#polish.output#}}"
    graph["edges"][-1] = {"source": "answer_llm", "target": "polish"}
    graph["edges"].append({"source": "polish", "target": "reply"})
    result = diff_documents(before, built(graph, name="Support v2"))
    assert result["nodes"]["added"] == [{"id": "polish", "type": "template-transform",
                                         "title": "Polish"}]
    assert result["nodes"]["removed"] == []
    changed = {c["id"]: {f["path"]: (f["before"], f["after"]) for f in c["fields"]}
               for c in result["nodes"]["changed"]}
    assert changed == {
        "answer_llm": {"data.model.name": ("gpt-4o-mini", "gpt-4o"),
                       "data.memory.window.size": (10, 4)},
        "reply": {"data.answer": ("{{#answer_llm.text#}}", "{{#polish.output#}}")},
    }
    assert result["edges"]["added"] == [
        {"source": "answer_llm", "sourceHandle": "source", "target": "polish"},
        {"source": "polish", "sourceHandle": "source", "target": "reply"}]
    assert result["edges"]["removed"] == [
        {"source": "answer_llm", "sourceHandle": "source", "target": "reply"}]
    assert result["app"] == [{"path": "app.name", "before": "Support", "after": "Support v2"}]
    lines = render(result)
    assert "+ node polish (template-transform) Polish" in lines
    assert '    data.model.name: "gpt-4o-mini" -> "gpt-4o"' in lines
    assert result["summary"] == ("1 node(s) added, 2 node(s) changed, 2 edge(s) added, "
                                 "1 edge(s) removed, 1 app field(s) changed")
