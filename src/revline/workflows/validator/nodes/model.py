"""Model-driven nodes: LLM, question classifier, parameter extractor, knowledge retrieval, agent."""

from __future__ import annotations

from typing import Any

from typing_extensions import override

from revline.workflows.validator.model import NodeView
from revline.workflows.validator.nodes.base import Fields, NodeRule, dig, is_missing, names_in

PROMPT_ROLES = ("system", "user", "assistant")
EDITION_TYPES = ("basic", "jinja2")
# graphon.nodes.parameter_extractor: allowed types, incl. the legacy bool and select.
PARAMETER_TYPES = (
    "string", "number", "boolean", "array[string]", "array[number]", "array[object]",
    "array[boolean]", "bool", "select",
)
RESERVED_PARAMETERS = ("__reason", "__is_success")


class LLMRule(NodeRule):
    """LLM: model, prompt (chat messages or completion text), context, memory, vision."""

    type = "llm"

    @override
    def check(self, fields: Fields) -> None:
        node = fields.node
        fields.model()
        self._prompt(fields)
        context = fields.get("context")
        if context is None:
            fields.warn("context", "llm.context_missing",
                        "context is missing; Dify's LLM node expects context: {enabled: false}")
        elif not isinstance(context, dict):
            fields.error("context", "node.field_type", "context must be a mapping with enabled")
        elif context.get("enabled") is True and not context.get("variable_selector"):
            fields.error("context.variable_selector", "llm.context_selector",
                         "context is enabled but has no variable_selector; point it at a "
                         "knowledge-retrieval result or disable context")
        memory = fields.get("memory")
        if memory is not None:
            self._memory(fields, memory)
        _vision(fields)
        fields.choice("reasoning_format", ("tagged", "separated"), required=False)
        if fields.get("structured_output_enabled") is True and not isinstance(
            dig(node.data, "structured_output.schema"), dict
        ):
            fields.error("structured_output", "llm.structured_output",
                         "structured output is enabled but structured_output.schema is missing; "
                         "add a JSON schema or disable it")

    def _prompt(self, fields: Fields) -> None:
        template = fields.get("prompt_template")
        if template is None:
            fields.error("prompt_template", "node.field_required",
                         "prompt_template is required; add a system and a user message")
            return
        texts: list[str] = []
        if isinstance(template, dict):  # completion model
            texts.append(str(template.get("text") or template.get("jinja2_text") or ""))
        elif isinstance(template, list):
            for i, message in enumerate(template):
                at = f"prompt_template[{i}]"
                if not isinstance(message, dict):
                    fields.error(at, "llm.message", f"{at} must be a mapping with role and text")
                    continue
                fields.choice(f"{at}.role", PROMPT_ROLES)
                fields.choice(f"{at}.edition_type", EDITION_TYPES, required=False)
                text = message.get("jinja2_text") if message.get("edition_type") == "jinja2" \
                    else message.get("text")
                if text is not None and not isinstance(text, str):
                    fields.error(f"{at}.text", "node.field_type", "prompt text must be a string")
                texts.append(text if isinstance(text, str) else "")
        else:
            fields.error("prompt_template", "node.field_type",
                         "prompt_template must be a list of messages (chat) or a mapping "
                         "(completion)")
            return
        if not any(t.strip() for t in texts) and fields.get("memory") is None:
            fields.error("prompt_template", "llm.prompt_empty",
                         "the prompt is empty; write the instructions the model should follow")

    def _memory(self, fields: Fields, memory: Any) -> None:
        if not isinstance(memory, dict):
            fields.error("memory", "node.field_type", "memory must be a mapping with window")
            return
        window = memory.get("window")
        if window is not None and not isinstance(window, dict):
            fields.error("memory.window", "node.field_type",
                         "memory.window must be a mapping {enabled, size}")
        query = memory.get("query_prompt_template")
        if fields.get("model.mode") == "chat" and isinstance(query, str) and query \
                and "{{#sys.query#}}" not in query:
            fields.error("memory.query_prompt_template", "llm.memory_query",
                         "the memory user prompt must contain {{#sys.query#}}; add it")

    @override
    def outputs(self, node: NodeView) -> frozenset[str] | None:
        return frozenset({"text", "reasoning_content", "usage", "files", "structured_output"})


class QuestionClassifierRule(NodeRule):
    """Question classifier: one branch (source handle) per class id."""

    type = "question-classifier"

    @override
    def check(self, fields: Fields) -> None:
        fields.selector("query_variable_selector",
                        "point it at the text to classify, e.g. [sys, query]")
        fields.model()
        classes = fields.records("classes", "add at least two classes {id, name}",
                                 shape="id and name", nonempty=True)
        fields.names(classes, "id", "edges use the class id as their sourceHandle",
                     code="classifier.class_duplicate", what="class id")
        for at, _ in classes:
            fields.text(f"{at}.name", "describe the class, e.g. 'billing question'")
        _vision(fields)

    @override
    def branch_handles(self, node: NodeView) -> list[str]:
        classes = node.data.get("classes")
        return [str(c["id"]) for c in classes or [] if isinstance(c, dict) and c.get("id")
                not in (None, "")] if isinstance(classes, list) else []

    @override
    def outputs(self, node: NodeView) -> frozenset[str] | None:
        return frozenset({"class_name", "class_id", "usage"})


class ParameterExtractorRule(NodeRule):
    """Parameter extractor: an LLM fills typed parameters from text."""

    type = "parameter-extractor"

    @override
    def check(self, fields: Fields) -> None:
        fields.model()
        fields.selector("query", "point it at the text to extract from, e.g. [start, text]")
        params = fields.records("parameters", "add the parameters to extract {name, type, "
                                "description, required}", shape="name and type", nonempty=True)
        for path, name in fields.names(params, "name", "name the parameter, e.g. company",
                                       code="extractor.parameter_duplicate",
                                       what="parameter name"):
            if name in RESERVED_PARAMETERS:
                fields.error(path, "extractor.reserved_name",
                             f"{name!r} is reserved by Dify; rename the parameter")
        for at, param in params:
            fields.choice(f"{at}.type", PARAMETER_TYPES)
            if not isinstance(param.get("description", ""), str):
                fields.error(f"{at}.description", "node.field_type", "description must be a string")
            if "required" in param and not isinstance(param["required"], bool):
                fields.error(f"{at}.required", "node.field_type", "required must be true or false")
        mode = fields.get("reasoning_mode")
        if mode not in (None, ""):
            fields.choice("reasoning_mode", ("function_call", "prompt"))
        _vision(fields)

    @override
    def outputs(self, node: NodeView) -> frozenset[str] | None:
        return names_in(node.data.get("parameters"), "name") | {
            "__is_success", "__reason", "__usage"
        }


class KnowledgeRetrievalRule(NodeRule):
    """Knowledge retrieval: query, datasets, single or multiple retrieval config."""

    type = "knowledge-retrieval"

    @override
    def check(self, fields: Fields) -> None:
        if not fields.has("query_attachment_selector") or fields.get("query_variable_selector"):
            fields.selector("query_variable_selector",
                            "point it at the search text, e.g. [sys, query] or [start, question]")
        fields.items("dataset_ids", "add the ids of the knowledge bases to search", nonempty=True)
        mode = fields.choice("retrieval_mode", ("single", "multiple"))
        if mode == "multiple":
            config = fields.mapping("multiple_retrieval_config",
                                    "set top_k (and reranking) for multi-way retrieval",
                                    required=False)
            if config is not None:
                fields.integer("multiple_retrieval_config.top_k", minimum=1, required=True,
                               hint="return at least one chunk, e.g. 4")
                provider = dig(config, "reranking_model.provider")
                if config.get("reranking_enable") is True and config.get(
                    "reranking_mode", "reranking_model"
                ) == "reranking_model" and (is_missing(provider) or not provider):
                    fields.error("multiple_retrieval_config.reranking_model", "retrieval.rerank",
                                 "reranking is enabled but no reranking_model is set; pick one or "
                                 "disable reranking")
        elif mode == "single":
            fields.text("single_retrieval_config.model.provider",
                        "single retrieval needs a model to route the query")
        _vision(fields)

    @override
    def outputs(self, node: NodeView) -> frozenset[str] | None:
        return frozenset({"result", "files"})


class AgentRule(NodeRule):
    """Agent: a strategy plugin (ReAct, function calling) with tools; outputs are plugin-defined."""

    type = "agent"

    @override
    def check(self, fields: Fields) -> None:
        fields.text("agent_strategy_provider_name", "pick the agent strategy provider")
        fields.text("agent_strategy_name", "pick a strategy, e.g. function_calling or ReAct")
        fields.text("agent_strategy_label", "set the strategy's display label", soft=True)
        fields.typed_inputs("agent_parameters", "set the strategy inputs as name: {type, value}")

    @override
    def outputs(self, node: NodeView) -> frozenset[str] | None:
        return None  # text, files, json plus the strategy's own output schema


def _vision(fields: Fields) -> None:
    """Vision on with an explicitly empty image selector (absent means Dify's sys.files)."""
    vision = fields.get("vision")
    if not isinstance(vision, dict) or vision.get("enabled") is not True:
        return
    selector = dig(vision, "configs.variable_selector")
    if not is_missing(selector) and not selector:
        fields.error("vision.configs.variable_selector", "node.vision_selector",
                     "vision is enabled but has no variable_selector; point it at the image "
                     "files, e.g. [sys, files]")


MODEL_RULES: tuple[NodeRule, ...] = (
    LLMRule(), QuestionClassifierRule(), ParameterExtractorRule(), KnowledgeRetrievalRule(),
    AgentRule(),
)
