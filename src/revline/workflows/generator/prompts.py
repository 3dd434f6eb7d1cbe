"""Prompts of the generation steps: one system prompt per step (or per role in multi-agent
mode), and the JSON user message that carries the step's typed input."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from revline.workflows.generator.types import (
    ArchitectureInput,
    ArchitecturePlan,
    ConfigurationInput,
    CriticInput,
    PatternCandidate,
    QualityInput,
    Requirement,
    RequirementsInput,
    RequirementsSpec,
    TemplateCandidate,
    WorkflowDraft,
)

Message = dict[str, Any]

DSL_RULES = """\
Dify workflow graph rules (Dify DSL 0.6.0):
- A graph is {"nodes": [...], "edges": [...]}. A node is {"id", "data": {"type", "title", ...}};
  ids use only letters, digits and _ (so {{#id.var#}} references work). Children of an
  iteration/loop carry "parentId".
- app_mode "workflow": exactly one "start" node (data.variables: [{variable, label, type:
  text-input|paragraph|number|select|file, required}]) and at least one "end" node
  (data.outputs: [{variable, value_type, value_selector: [node_id, var]}]).
  app_mode "advanced-chat" (a chatbot): a "start" node with variables [] and "answer" nodes
  (data.answer: "{{#node.text#}}"); the user's message is {{#sys.query#}}; no end node.
- Reference a value in text as {{#node_id.var#}} and in selectors as [node_id, var]. Outputs:
  start -> its variables; llm -> text; knowledge-retrieval -> result; code -> its declared
  outputs; http-request -> body, status_code, headers; template-transform -> output;
  parameter-extractor -> its parameter names; question-classifier -> class_name;
  iteration -> output (inside: item, index). Only reference nodes that run before.
- llm: model {provider: langgenius/openai/openai, name, mode: chat, completion_params},
  prompt_template [{role: system|user, text}], context {enabled, variable_selector},
  vision {enabled: false}. knowledge-retrieval: query_variable_selector, dataset_ids,
  retrieval_mode: multiple, multiple_retrieval_config {top_k}. if-else: cases [{case_id,
  logical_operator: and|or, conditions: [{variable_selector, comparison_operator, value}]}];
  its edges use sourceHandle = a case_id or "false". question-classifier: classes [{id, name}],
  query_variable_selector, model; its edges use sourceHandle = a class id. code:
  code_language python3, code with def main(...) -> dict, variables [{variable,
  value_selector}], outputs {name: {type: string|number|object|array[string], children: null}}.
  http-request: method, url, headers, params, body {type: none|json|raw-text, data},
  authorization {type: no-auth}, timeout. Every other edge uses sourceHandle "source".
- Every node is reachable from the entry node; no cycles outside loop nodes.
- Never write API keys, tokens or passwords into nodes: declare a secret environment variable
  (value_type secret, empty value) and reference it as {{#env.NAME#}}.
- To reuse one of the offered node templates, write {"id": ..., "template": "<template id>",
  "data": {only the fields to override}}; the template's data is filled in for you.
"""

ROLES = {
    "requirements": "You are the requirements analyst of a team that builds Dify workflows.",
    "architecture": "You are the workflow architect of a team that builds Dify workflows.",
    "configuration": "You are the Dify workflow engineer of a team that builds Dify workflows.",
    "quality": "You are the quality engineer of a team that builds Dify workflows.",
    "critic": "You are the reviewer of a team that builds Dify workflows; you have the last "
              "word before the workflow ships.",
}
SOLO = "You design Dify workflows (Dify DSL) from a user's requirement."

TASKS = {
    "requirements": (
        "Turn the user's requirement into a precise specification: app mode (advanced-chat "
        "only for a conversational assistant), trigger, inputs, outputs, atomic checkable "
        "requirements with ids R1, R2, ..., the Dify node types needed, every concrete value "
        "the user stated (company, URLs, thresholds, schedules, languages) as slot_values, "
        "and a short search_query for the pattern library."
    ),
    "architecture": (
        "Plan the node graph that meets every requirement. Prefer adapting the closest "
        "pattern (give its id as pattern_id) over inventing; reuse node templates where they "
        "fit. Map each requirement id to the node ids that satisfy it."
    ),
    "configuration": (
        "Write the complete workflow: every node with full Dify data, every edge, and the "
        "environment variables. Start from the base pattern's graph when one is given and "
        "replace its slot examples with the user's values."
    ),
    "quality": (
        "Check the workflow against the requirements. Judge coverage of each requirement "
        "(naming the covering node ids) and give an assessment from 0 to 1. If validator "
        "errors are listed, return the whole corrected workflow in `fixed`, fixing every "
        "error and changing nothing else; if there are none, `fixed` may stay null."
    ),
    "critic": (
        "Review the specification, plan and workflow as a whole. Approve when the workflow "
        "meets the requirement; otherwise send it back to the earliest step that must change "
        "(requirements, architecture or configuration) with concrete feedback."
    ),
}


def system_prompt(step: str, multi_agent: bool) -> str:
    """The step's system prompt; multi-agent mode speaks to a distinct role per step."""
    who = ROLES[step] if multi_agent else SOLO
    rules = "" if step == "requirements" else "\n\n" + DSL_RULES
    return f"{who}\nStep: {step}. {TASKS[step]}{rules}"


def _user(step_input: BaseModel) -> Message:
    return {"role": "user", "content": step_input.model_dump_json(exclude_none=True, indent=1)}


def _feedback(feedback: list[str]) -> list[str] | None:
    return list(feedback) or None


def requirements_messages(requirement: str, multi_agent: bool,
                          feedback: list[str]) -> list[Message]:
    """Messages of the requirements step."""
    step = RequirementsInput(requirement=requirement, reviewer_feedback=_feedback(feedback))
    return [{"role": "system", "content": system_prompt("requirements", multi_agent)},
            _user(step)]


def architecture_messages(
    requirement: str, spec: RequirementsSpec, patterns: list[PatternCandidate],
    templates: list[TemplateCandidate], multi_agent: bool, feedback: list[str],
) -> list[Message]:
    """Messages of the architecture step: the spec, pattern summaries and node templates."""
    step = ArchitectureInput(
        requirement=requirement, specification=spec, patterns=[p.view() for p in patterns],
        node_templates=[t.view() for t in templates], reviewer_feedback=_feedback(feedback))
    return [{"role": "system", "content": system_prompt("architecture", multi_agent)},
            _user(step)]


def configuration_messages(
    requirement: str, spec: RequirementsSpec | None, plan: ArchitecturePlan | None,
    base: PatternCandidate | None, slot_values: dict[str, str],
    templates: list[TemplateCandidate], multi_agent: bool, feedback: list[str],
) -> list[Message]:
    """Messages of the configuration step (and of simple mode, with no spec or plan)."""
    step = ConfigurationInput(
        requirement=requirement, specification=spec, plan=plan,
        base_pattern=base.view(with_graph=True) if base is not None else None,
        slot_values=slot_values or None, node_templates=[t.view() for t in templates],
        reviewer_feedback=_feedback(feedback))
    return [{"role": "system", "content": system_prompt("configuration", multi_agent)},
            _user(step)]


def quality_messages(
    requirement: str, requirements: dict[str, str], draft: WorkflowDraft,
    errors: list[str], warnings: list[str], multi_agent: bool,
) -> list[Message]:
    """Messages of the quality step: the workflow, the requirements, the validator's findings."""
    step = QualityInput(
        requirement=requirement,
        requirements=[Requirement(id=k, text=v) for k, v in requirements.items()],
        workflow=draft, validator_errors=errors, validator_warnings=warnings)
    return [{"role": "system", "content": system_prompt("quality", multi_agent)}, _user(step)]


def critic_messages(
    requirement: str, spec: RequirementsSpec | None, plan: ArchitecturePlan | None,
    draft: WorkflowDraft, errors: list[str], coverage: dict[str, bool],
) -> list[Message]:
    """Messages of the multi-agent reviewer."""
    step = CriticInput(requirement=requirement, specification=spec, plan=plan, workflow=draft,
                       remaining_validator_errors=errors, coverage=coverage)
    return [{"role": "system", "content": system_prompt("critic", True)}, _user(step)]
