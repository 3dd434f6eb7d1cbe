"""A scripted LLM team for generator tests: answers by the schema each step asks for.

The gateway puts the step's JSON schema in a system message; the emulator's responder
reads its `title` (RequirementsSpec, ArchitecturePlan, WorkflowDraft, QualityReview,
CriticVerdict) and answers from a per-schema script, so the real SDKs, HTTP, gateway and
pipeline all run. Each script entry is an answer (dict) or a function of the request.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

PATTERNS = Path(__file__).resolve().parents[2] / "src" / "revline" / "knowledge" / "data" \
    / "patterns"
Answer = dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]]


def pattern(pattern_id: str) -> dict[str, Any]:
    """A bundled pattern file, parsed."""
    data = yaml.safe_load((PATTERNS / f"{pattern_id}.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def texts(payload: dict[str, Any]) -> list[str]:
    """Every message text of an OpenAI or Anthropic request."""
    out: list[str] = []
    system = payload.get("system")
    if isinstance(system, str):
        out.append(system)
    elif isinstance(system, list):
        out += [str(b.get("text", "")) for b in system]
    for message in payload.get("messages", []):
        content = message.get("content", "")
        if isinstance(content, list):
            out += [str(b.get("text", "")) for b in content]
        else:
            out.append(str(content))
    return out


def schema_title(payload: dict[str, Any]) -> str:
    """The title of the JSON schema the gateway asked for."""
    for text in texts(payload):
        head = "matching this JSON schema:\n"
        if head in text:
            schema = json.loads(text.split(head, 1)[1].split("\n", 1)[0])
            return str(schema.get("title", ""))
    return ""


def user_input(payload: dict[str, Any]) -> dict[str, Any]:
    """The step's JSON input (the first user message that parses as JSON)."""
    for message in payload.get("messages", []):
        if message.get("role") != "user":
            continue
        content = message.get("content", "")
        if isinstance(content, list):
            content = "".join(str(b.get("text", "")) for b in content)
        try:
            value = json.loads(content)
        except (TypeError, json.JSONDecodeError):
            continue
        if isinstance(value, dict):
            return value
    return {}


class Script:
    """Responder with a queue of answers per schema; the last answer of a queue repeats."""

    def __init__(self, **answers: list[Answer]) -> None:
        self.answers = {k: list(v) for k, v in answers.items()}
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, payload: dict[str, Any]) -> str:
        title = schema_title(payload)
        step_input = user_input(payload)
        self.seen.append((title, step_input))
        queue = self.answers.get(title)
        if not queue:
            raise AssertionError(f"no scripted answer for {title!r}")
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        value = answer(step_input) if callable(answer) else answer
        return json.dumps(value)

    def calls(self, title: str) -> list[dict[str, Any]]:
        """The inputs the steps of one schema received, in order."""
        return [inp for t, inp in self.seen if t == title]


# A complete, scripted run on the support chatbot pattern ---------------------------------
REQUIREMENT = ("A support chatbot for Acme Cloud that answers customer questions from the "
               "acme-product-docs knowledge base and hands off to support@acme.example when "
               "the docs do not cover it")


def spec() -> dict[str, Any]:
    """The requirements step's answer."""
    return {
        "title": "Acme support assistant", "summary": "Answers from docs, hands off otherwise.",
        "app_mode": "advanced-chat", "trigger": "chat", "inputs": [], "outputs": [],
        "requirements": [
            {"id": "R1", "text": "answer customer questions from the product docs"},
            {"id": "R2", "text": "hand off to support@acme.example when docs do not cover it"},
        ],
        "capabilities": ["knowledge-retrieval", "llm", "answer"],
        "slot_values": {"company_name": "Acme Cloud"},
        "search_query": "support chatbot over a knowledge base",
    }


def plan() -> dict[str, Any]:
    """The architecture step's answer: build on the support RAG pattern."""
    return {
        "pattern_id": "support-rag-chatbot", "rationale": "closest pattern",
        "nodes": [{"id": "start", "type": "start", "title": "Start"},
                  {"id": "retrieve_docs", "type": "knowledge-retrieval", "title": "Search"},
                  {"id": "answer_llm", "type": "llm", "title": "Answer"},
                  {"id": "reply", "type": "answer", "title": "Reply"}],
        "edges": [{"source": "start", "target": "retrieve_docs"},
                  {"source": "retrieve_docs", "target": "answer_llm"},
                  {"source": "answer_llm", "target": "reply"}],
        "coverage": {"R1": ["retrieve_docs", "answer_llm"], "R2": ["answer_llm"]},
    }


def good_draft() -> dict[str, Any]:
    """A correct workflow: the pattern's graph as is."""
    base = pattern("support-rag-chatbot")
    return {"name": "Acme support assistant", "description": "Answers from the docs.",
            "app_mode": "advanced-chat", "graph": copy.deepcopy(base["graph"]),
            "environment_variables": []}


def broken_draft() -> dict[str, Any]:
    """The configuration step's first answer: two mistakes the repair step can fix (a
    made-up handle, an edge to a missing node) and one only the quality step can (a
    reference to an output the LLM node does not have)."""
    draft = good_draft()
    graph = draft["graph"]
    graph["edges"][0]["sourceHandle"] = "yes"
    graph["edges"].append({"source": "answer_llm", "target": "ghost"})
    for node in graph["nodes"]:
        if node["id"] == "reply":
            node["data"]["answer"] = "{{#answer_llm.txt#}}"
    return draft


def review(step_input: dict[str, Any]) -> dict[str, Any]:
    """The quality step: fixes the graph when errors are listed, else only judges."""
    if step_input.get("validator_errors"):
        assert any("answer_llm" in e and "txt" in e for e in step_input["validator_errors"])
        return {"assessment": 0.6, "coverage": [], "issues": ["wrong output name"],
                "fixed": good_draft()}
    return {"assessment": 0.9, "issues": [],
            "coverage": [{"requirement_id": "R1", "covered": True,
                          "node_ids": ["retrieve_docs", "answer_llm"]},
                         {"requirement_id": "R2", "covered": True, "node_ids": ["answer_llm"]}],
            "fixed": None}


def team(**overrides: list[Answer]) -> Script:
    """The full pipeline's script: spec, plan, a broken draft, then quality fixes it."""
    answers: dict[str, list[Answer]] = {
        "RequirementsSpec": [spec()], "ArchitecturePlan": [plan()],
        "WorkflowDraft": [broken_draft()], "QualityReview": [review],
        "CriticVerdict": [{"approve": True, "send_back_to": None, "feedback": ""}],
    }
    answers.update(overrides)
    return Script(**answers)
