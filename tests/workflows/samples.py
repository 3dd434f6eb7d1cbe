"""Small, hand-written Dify DSL documents for validator tests: valid baselines to break."""

from __future__ import annotations

import copy
from typing import Any

from revline.workflows.validator import ValidationReport, validate_document

MODEL = {"provider": "langgenius/openai/openai", "name": "gpt-4o-mini", "mode": "chat",
         "completion_params": {"temperature": 0.2}}


def node(node_id: str, node_type: str, parent: str | None = None, **data: Any) -> dict[str, Any]:
    """A node in short form."""
    out: dict[str, Any] = {"id": node_id, "type": "custom",
                           "data": {"type": node_type, "title": node_id, **data}}
    if parent is not None:
        out["parentId"] = parent
    return out


def edge(source: str, target: str, handle: str = "source") -> dict[str, Any]:
    """An edge with explicit handles."""
    return {"id": f"{source}-{handle}-{target}", "source": source, "sourceHandle": handle,
            "target": target, "targetHandle": "target"}


def llm(node_id: str, prompt: str, parent: str | None = None, **extra: Any) -> dict[str, Any]:
    """An LLM node with a system and a user message."""
    data: dict[str, Any] = {
        "model": dict(MODEL),
        "prompt_template": [{"role": "system", "text": "You are concise."},
                            {"role": "user", "text": prompt}],
        "context": {"enabled": False, "variable_selector": []},
        "vision": {"enabled": False},
    }
    data.update(extra)
    return node(node_id, "llm", parent, **data)


def start(*names: str, node_id: str = "start") -> dict[str, Any]:
    """A start node with text inputs."""
    return node(node_id, "start", variables=[
        {"variable": n, "label": n, "type": "text-input", "required": True} for n in names
    ])


def end(*outputs: tuple[str, list[str]], node_id: str = "end") -> dict[str, Any]:
    """An end node with (name, selector) outputs."""
    return node(node_id, "end", outputs=[
        {"variable": name, "value_type": "string", "value_selector": sel} for name, sel in outputs
    ])


def document(nodes: list[dict[str, Any]], edges: list[dict[str, Any]], *,
             mode: str = "workflow", version: str = "0.6.0", **workflow: Any) -> dict[str, Any]:
    """A full DSL document around a graph."""
    return {
        "version": version, "kind": "app",
        "app": {"name": "test app", "mode": mode, "icon": "🤖", "description": ""},
        "dependencies": [],
        "workflow": {"features": {}, "environment_variables": [], "conversation_variables": [],
                     **workflow, "graph": {"nodes": nodes, "edges": edges}},
    }


def simple_workflow() -> dict[str, Any]:
    """start(question) -> llm -> end: the smallest useful valid workflow."""
    return document(
        [start("question"), llm("llm", "Answer: {{#start.question#}}"),
         end(("answer", ["llm", "text"]))],
        [edge("start", "llm"), edge("llm", "end")],
    )


def simple_chatflow() -> dict[str, Any]:
    """start -> llm(sys.query) -> answer."""
    return document(
        [node("start", "start", variables=[]), llm("llm", "{{#sys.query#}}"),
         node("answer", "answer", answer="{{#llm.text#}}")],
        [edge("start", "llm"), edge("llm", "answer")],
        mode="advanced-chat",
    )


def with_node(doc: dict[str, Any], new: dict[str, Any], before: str = "end",
              after: str = "llm") -> dict[str, Any]:
    """Insert `new` between `after` and `before` (rewiring the edge between them)."""
    out = copy.deepcopy(doc)
    graph = out["workflow"]["graph"]
    graph["nodes"].insert(len(graph["nodes"]) - 1, new)
    graph["edges"] = [e for e in graph["edges"]
                      if not (e["source"] == after and e["target"] == before)]
    graph["edges"] += [edge(after, new["id"]), edge(new["id"], before)]
    return out


def errors(report: ValidationReport) -> list[tuple[str, str]]:
    """(code, path) of every error."""
    return [(i.code, i.path) for i in report.errors]


def check(doc: dict[str, Any]) -> ValidationReport:
    """Validate a document."""
    return validate_document(doc)


def the_error(doc: dict[str, Any]) -> Any:
    """The single error of a document broken in exactly one way."""
    report = validate_document(doc)
    assert len(report.errors) == 1, [i.line() for i in report.errors]
    return report.errors[0]


def find(report: ValidationReport, code: str) -> Any:
    """The first issue with `code` (error or warning)."""
    for issue in report.issues:
        if issue.code == code:
            return issue
    raise AssertionError(f"no {code} in {[i.line() for i in report.issues]}")


def assert_clean(report: ValidationReport) -> None:
    """Valid and without warnings; the failure lists every issue."""
    assert report.valid, [i.line() for i in report.errors]
    assert not report.warnings, [i.line() for i in report.warnings]
