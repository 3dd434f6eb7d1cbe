"""DSL builder: complete documents Dify imports, deterministic layout, edge repair, no secrets."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from revline.workflows.dsl import (
    AppSpec,
    ConversationVar,
    EnvVar,
    SecretInDSL,
    build_dsl,
    dump_dsl,
    repair_graph,
)
from revline.workflows.validator import validate_text
from tests.workflows.samples import assert_clean, edge, end, llm, node, start

Graph = dict[str, Any]


def _graph() -> Graph:
    """start -> classify -> (a: llm_a | b: llm_b) -> end, in short form without handles fixed."""
    return {
        "nodes": [
            start("q"),
            node("classify", "question-classifier", query_variable_selector=["start", "q"],
                 model={"provider": "p", "name": "m", "mode": "chat"},
                 classes=[{"id": "a", "name": "Billing"}, {"id": "b", "name": "Other"}]),
            llm("llm_a", "Billing: {{#start.q#}}"),
            llm("llm_b", "Other: {{#start.q#}}"),
            node("pick", "variable-aggregator", output_type="string",
                 variables=[["llm_a", "text"], ["llm_b", "text"]]),
            end(("answer", ["pick", "output"])),
        ],
        "edges": [
            {"source": "start", "target": "classify"},
            {"source": "classify", "sourceHandle": "Billing", "target": "llm_a"},
            {"source": "classify", "sourceHandle": "2", "target": "llm_b"},
            {"source": "llm_a", "target": "pick"}, {"source": "llm_b", "target": "pick"},
            {"source": "pick", "target": "end"},
        ],
    }


def test_built_document_is_complete_and_valid() -> None:
    built = build_dsl(AppSpec(name="Router", mode="workflow", description="d"), _graph(),
                      environment_variables=[EnvVar("TONE", "friendly")])
    doc = yaml.safe_load(built.to_yaml())
    assert (doc["version"], doc["kind"]) == ("0.6.0", "app")
    assert doc["app"] == {"name": "Router", "mode": "workflow", "icon": "🤖",
                          "icon_type": "emoji", "icon_background": "#FFEAD5",
                          "description": "d", "use_icon_as_answer_icon": False}
    assert set(doc["workflow"]) == {"conversation_variables", "environment_variables",
                                    "features", "graph"}
    assert doc["dependencies"] == []
    assert doc["workflow"]["environment_variables"][0]["selector"] == ["env", "TONE"]
    report = validate_text(built.to_yaml())
    assert_clean(report)
    first = doc["workflow"]["graph"]["nodes"][0]
    assert {"id", "type", "data", "position", "positionAbsolute", "width", "height",
            "sourcePosition", "targetPosition"} <= set(first)
    assert first["type"] == "custom"


def test_repairs_are_reported() -> None:
    built = build_dsl(AppSpec(name="Router"), _graph())
    assert built.repairs == ["edges[1]: sourceHandle 'Billing' -> 'a'",
                             "edges[2]: sourceHandle '2' -> 'b'"]


def test_layout_is_deterministic_and_left_to_right() -> None:
    first = build_dsl(AppSpec(name="x"), _graph()).to_yaml()
    second = build_dsl(AppSpec(name="x"), copy.deepcopy(_graph())).to_yaml()
    assert first == second
    nodes = {n["id"]: n for n in yaml.safe_load(first)["workflow"]["graph"]["nodes"]}
    xs = {k: n["position"]["x"] for k, n in nodes.items()}
    assert xs["start"] < xs["classify"] < xs["llm_a"] == xs["llm_b"] < xs["pick"] < xs["end"]
    assert nodes["llm_a"]["position"]["y"] < nodes["llm_b"]["position"]["y"]
    spots = {(n["position"]["x"], n["position"]["y"]) for n in nodes.values()}
    assert len(spots) == len(nodes)  # no two nodes on top of each other


def test_container_children_are_placed_inside() -> None:
    graph = {
        "nodes": [
            start("items"),
            node("each", "iteration", iterator_selector=["start", "items"],
                 output_selector=["child", "text"], start_node_id="each_start"),
            node("each_start", "iteration-start", parent="each"),
            llm("child", "{{#each.item#}}", parent="each"),
            end(("all", ["each", "output"])),
        ],
        "edges": [edge("start", "each"), edge("each_start", "child"), edge("each", "end")],
    }
    doc = yaml.safe_load(build_dsl(AppSpec(name="it"), graph).to_yaml())
    nodes = {n["id"]: n for n in doc["workflow"]["graph"]["nodes"]}
    container, child = nodes["each"], nodes["child"]
    assert nodes["each_start"]["type"] == "custom-iteration-start"
    assert child["parentId"] == "each"
    assert child["data"]["isInIteration"] is True
    assert child["data"]["iteration_id"] == "each"
    assert 0 < child["position"]["x"] < container["width"]
    assert child["positionAbsolute"]["x"] == container["position"]["x"] + child["position"]["x"]
    assert container["position"]["x"] + container["width"] < nodes["end"]["position"]["x"]
    inner = next(e for e in doc["workflow"]["graph"]["edges"] if e["source"] == "each_start")
    assert inner["data"]["isInIteration"] is True
    assert inner["zIndex"] == 1002
    assert validate_text(yaml.safe_dump(doc)).valid


def test_repair_edges() -> None:
    graph = {
        "nodes": [
            start("q"),
            node("if", "if-else", cases=[{"case_id": "true", "logical_operator": "and",
                                          "conditions": []}]),
            llm("yes", "y"), llm("no", "n"),
        ],
        "edges": [
            {"source": "start", "target": "if", "targetHandle": "in"},
            {"source": "if", "sourceHandle": "if", "target": "yes"},
            {"source": "if", "sourceHandle": "else", "target": "no"},
            {"source": "if", "sourceHandle": "else", "target": "no"},
            {"source": "yes", "target": "ghost"},
            {"source": "no", "target": "no"},
            {"source": "yes", "sourceHandle": "output", "target": "no", "id": "dup"},
            "not an edge",
        ],
    }
    result = repair_graph(graph)
    edges = result.graph["edges"]
    assert [(e["source"], e["sourceHandle"], e["target"]) for e in edges] == [
        ("start", "source", "if"), ("if", "true", "yes"), ("if", "false", "no"),
        ("yes", "source", "no"),
    ]
    assert all(e["targetHandle"] == "target" and e["type"] == "custom" for e in edges)
    assert edges[1]["id"] == "if-true-yes-target"
    assert edges[3]["id"] == "dup"
    assert edges[1]["data"] == {"sourceType": "if-else", "targetType": "llm",
                                "isInIteration": False, "isInLoop": False}
    assert result.changes == [
        "edges[0]: targetHandle 'in' -> 'target'",
        "edges[1]: sourceHandle 'if' -> 'true'",
        "edges[2]: sourceHandle 'else' -> 'false'",
        "edges[3]: sourceHandle 'else' -> 'false'",
        "edges[3]: dropped duplicate of if -> no",
        "edges[4]: dropped, target 'ghost' is not a node",
        "edges[5]: dropped self-loop on 'no'",
        "edges[6]: sourceHandle 'output' -> 'source'",
        "edges[7]: dropped, not a mapping",
    ]
    assert graph["edges"][1]["sourceHandle"] == "if"  # the input is untouched


def test_secret_env_values_are_never_exported() -> None:
    built = build_dsl(AppSpec(name="x"), _graph(),
                      environment_variables=[EnvVar("API_KEY", "sk-live-123", "secret"),
                                             EnvVar("REGION", "eu")])
    text = built.to_yaml()
    assert "sk-live-123" not in text
    env = yaml.safe_load(text)["workflow"]["environment_variables"]
    assert [(v["name"], v["value"]) for v in env] == [("API_KEY", ""), ("REGION", "eu")]
    leaked = copy.deepcopy(built.document)
    leaked["workflow"]["environment_variables"][0]["value"] = "oops"
    assert "oops" not in dump_dsl(leaked)  # blanked again on export


@pytest.mark.parametrize(("where", "value", "reason"), [
    ("authorization", {"type": "api-key", "config": {"type": "bearer", "api_key": "abc123"}},
     "'api_key' holds a literal credential"),
    ("url", "https://user:hunter2@api.example.com/v1", "credentials in a URL"),
    ("headers", "Authorization:Bearer abcdefghijklmnopqrstuvwxyz0123", "a bearer token"),
])
def test_literal_secrets_refuse_to_export(where: str, value: Any, reason: str) -> None:
    graph = _graph()
    graph["nodes"].insert(5, node("call", "http-request", method="get",
                                  url="https://api.example.com", headers="", params="",
                                  authorization={"type": "no-auth"}))
    graph["nodes"][5]["data"][where] = value
    built = build_dsl(AppSpec(name="x"), graph)
    with pytest.raises(SecretInDSL) as caught:
        built.to_yaml()
    assert reason in caught.value.message
    assert "workflow.graph.nodes[5].data" in caught.value.message
    assert "{{#env.NAME#}}" in caught.value.message


def test_env_reference_is_not_a_secret() -> None:
    graph = _graph()
    graph["nodes"].insert(5, node("call", "http-request", method="get", headers="", params="",
                                  url="https://api.example.com", authorization={
                                      "type": "api-key",
                                      "config": {"type": "bearer", "api_key": "{{#env.KEY#}}"}}))
    graph["edges"] += [{"source": "pick", "target": "call"}]
    built = build_dsl(AppSpec(name="x"), graph,
                      environment_variables=[EnvVar("KEY", "real-value", "secret")])
    assert "real-value" not in built.to_yaml()


def test_credential_ids_are_stripped_like_difys_export() -> None:
    graph = _graph()
    graph["nodes"].insert(5, node("search", "tool", provider_id="t", provider_type="builtin",
                                  provider_name="t", tool_name="s", tool_label="S",
                                  tool_configurations={}, tool_parameters={},
                                  credential_id="cred-123"))
    assert "cred-123" not in build_dsl(AppSpec(name="x"), graph).to_yaml()


def test_chatflow_document_with_conversation_variables() -> None:
    graph = {"nodes": [start(), llm("llm", "{{#sys.query#}} {{#conversation.topic#}}"),
                       node("reply", "answer", answer="{{#llm.text#}}")],
             "edges": [edge("start", "llm"), edge("llm", "reply")]}
    built = build_dsl(AppSpec(name="chat", mode="advanced-chat"), graph,
                      conversation_variables=[ConversationVar("topic")])
    doc = yaml.safe_load(built.to_yaml())
    assert doc["workflow"]["features"]["retriever_resource"] == {"enabled": True}
    assert doc["workflow"]["conversation_variables"][0]["selector"] == ["conversation", "topic"]
    report = validate_text(built.to_yaml())
    assert_clean(report)
