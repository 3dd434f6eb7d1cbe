"""Typed inputs and outputs of the generation steps.

The Pydantic models are what each step's LLM call must return (the gateway validates the
answer against them); the dataclasses are what the pipeline hands between stages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

AppMode = Literal["workflow", "advanced-chat"]
Mode = Literal["simple", "full", "multi-agent", "retrieval"]
MODES: tuple[str, ...] = ("simple", "full", "multi-agent", "retrieval")
LLM_MODES: tuple[str, ...] = ("simple", "full", "multi-agent")
STAGES: tuple[str, ...] = (
    "requirements", "architecture", "configuration", "quality", "review", "validating", "done",
)

# (stage, status, message, data): status is started | finished | info | failed.
Emit = Callable[[str, str, str, dict[str, Any]], None]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore")


# Requirements step ------------------------------------------------------------------------
class Requirement(_Strict):
    """One atomic, checkable thing the workflow must do."""

    id: str = Field(description="short id such as R1")
    text: str


class IOField(_Strict):
    """A workflow input or output."""

    name: str = Field(description="snake_case variable name")
    type: str = Field(default="text", description="text, paragraph, number, select, file, url")
    description: str = ""


class RequirementsSpec(_Strict):
    """What the requirements step makes of the user's text."""

    title: str = Field(max_length=120, description="short app name")
    summary: str = Field(description="one paragraph: what the workflow does")
    app_mode: AppMode = Field(description="advanced-chat for a chatbot, else workflow")
    trigger: Literal["form", "chat", "schedule", "webhook"] = "form"
    inputs: list[IOField] = Field(default_factory=list)
    outputs: list[IOField] = Field(default_factory=list)
    requirements: list[Requirement] = Field(min_length=1)
    capabilities: list[str] = Field(
        default_factory=list,
        description="Dify node types needed, e.g. knowledge-retrieval, http-request, if-else",
    )
    slot_values: dict[str, str] = Field(
        default_factory=dict,
        description="concrete values stated by the user: company, URLs, thresholds, schedule",
    )
    search_query: str = Field(default="", description="text to search the pattern library with")


# Architecture step ------------------------------------------------------------------------
class PlannedNode(_Strict):
    """A node of the planned graph."""

    id: str = Field(description="letters, digits and _ only")
    type: str = Field(description="Dify node type")
    title: str
    purpose: str = ""
    template: str | None = Field(default=None, description="node template id to reuse")


class PlannedEdge(_Strict):
    """An edge of the planned graph."""

    source: str
    target: str
    handle: str = Field(default="source", description="if-else case id/false, class id")


class ArchitecturePlan(_Strict):
    """The architecture step's plan: which pattern to start from and the node graph."""

    pattern_id: str | None = Field(default=None, description="id of the pattern used as base")
    rationale: str = ""
    nodes: list[PlannedNode] = Field(min_length=2)
    edges: list[PlannedEdge] = Field(default_factory=list)
    coverage: dict[str, list[str]] = Field(
        default_factory=dict, description="requirement id -> node ids that satisfy it"
    )


# Configuration step -----------------------------------------------------------------------
class DraftNode(_Strict):
    """A node in short form; `template` expands a node template (its data is the base)."""

    id: str
    data: dict[str, Any] = Field(default_factory=dict)
    template: str | None = None
    parentId: str | None = None  # Dify's own key


class DraftEdge(_Strict):
    """An edge in short form."""

    source: str
    target: str
    sourceHandle: str | None = None  # Dify's own key


class DraftGraph(_Strict):
    """`workflow.graph` in short form; the builder fills canvas details."""

    nodes: list[DraftNode] = Field(min_length=1)
    edges: list[DraftEdge] = Field(default_factory=list)


class EnvVarSpec(_Strict):
    """An environment variable; secrets are declared here, never written into nodes."""

    name: str
    value_type: Literal["string", "number", "secret"] = "string"
    value: str = ""
    description: str = ""


class WorkflowDraft(_Strict):
    """A complete candidate workflow (the configuration step's answer)."""

    name: str = Field(max_length=120)
    description: str = ""
    app_mode: AppMode
    graph: DraftGraph
    environment_variables: list[EnvVarSpec] = Field(default_factory=list)
    templates_used: list[str] = Field(default_factory=list)


# Quality step and critic -------------------------------------------------------------------
class Coverage(_Strict):
    """Whether one requirement is met, and by which nodes."""

    requirement_id: str
    covered: bool
    node_ids: list[str] = Field(default_factory=list)


class QualityReview(_Strict):
    """The quality step's judgement, and the corrected workflow when there was anything to fix."""

    assessment: float = Field(ge=0, le=1, description="0..1: how well the workflow fits")
    coverage: list[Coverage] = Field(default_factory=list)
    issues: list[str] = Field(default_factory=list)
    fixed: WorkflowDraft | None = Field(
        default=None, description="the whole corrected workflow; required when errors were given"
    )


class CriticVerdict(_Strict):
    """The multi-agent reviewer: approve, or send the work back to a step with feedback."""

    approve: bool
    send_back_to: Literal["requirements", "architecture", "configuration"] | None = None
    feedback: str = ""


# Step inputs (what each step's user message carries, as JSON) -------------------------------
class PatternView(_Strict):
    """A retrieved pattern as a prompt shows it (the graph only for the base pattern)."""

    id: str
    name: str
    mode: str
    description: str
    use_when: list[str] = Field(default_factory=list)
    node_types: list[str] = Field(default_factory=list)
    slots: list[dict[str, Any]] = Field(default_factory=list)
    graph: dict[str, Any] | None = None


class TemplateView(_Strict):
    """A node template as a prompt shows it."""

    template: str
    name: str
    description: str
    type: str
    data: dict[str, Any]


class RequirementsInput(_Strict):
    """Input of the requirements step."""

    requirement: str
    reviewer_feedback: list[str] | None = None


class ArchitectureInput(_Strict):
    """Input of the architecture step."""

    requirement: str
    specification: RequirementsSpec
    patterns: list[PatternView]
    node_templates: list[TemplateView]
    reviewer_feedback: list[str] | None = None


class ConfigurationInput(_Strict):
    """Input of the configuration step (simple mode has no specification or plan)."""

    requirement: str
    specification: RequirementsSpec | None = None
    plan: ArchitecturePlan | None = None
    base_pattern: PatternView | None = None
    slot_values: dict[str, str] | None = None
    node_templates: list[TemplateView] = Field(default_factory=list)
    reviewer_feedback: list[str] | None = None


class QualityInput(_Strict):
    """Input of the quality step: the workflow, the requirements, the validator's findings."""

    requirement: str
    requirements: list[Requirement]
    workflow: WorkflowDraft
    validator_errors: list[str]
    validator_warnings: list[str]


class CriticInput(_Strict):
    """Input of the multi-agent reviewer: everything the team produced."""

    requirement: str
    specification: RequirementsSpec | None
    plan: ArchitecturePlan | None
    workflow: WorkflowDraft
    remaining_validator_errors: list[str]
    coverage: dict[str, bool]


# Pipeline values ---------------------------------------------------------------------------
@dataclass
class PatternCandidate:
    """A pattern retrieved for a requirement, with its rank and search score."""

    id: str
    name: str
    mode: str
    category: str
    description: str
    score: float
    rank: int
    origin: str = "bundled"
    tags: list[str] = field(default_factory=list)
    use_when: list[str] = field(default_factory=list)
    slots: list[dict[str, Any]] = field(default_factory=list)
    graph: dict[str, Any] = field(default_factory=dict)

    def view(self, with_graph: bool = False) -> PatternView:
        """The pattern as a prompt shows it; the graph only when it is the base."""
        nodes = self.graph.get("nodes") if isinstance(self.graph, dict) else None
        kinds = [str((n.get("data") or {}).get("type")) for n in nodes or []
                 if isinstance(n, dict)]
        return PatternView(id=self.id, name=self.name, mode=self.mode,
                           description=self.description, use_when=self.use_when,
                           node_types=kinds, slots=self.slots,
                           graph=self.graph if with_graph else None)

    def summary(self) -> dict[str, Any]:
        """JSON of the pattern without its graph (API and CLI listings)."""
        return self.view().model_dump(exclude_none=True)


@dataclass
class TemplateCandidate:
    """A tenant node template offered to the configuration step."""

    template_id: str
    name: str
    description: str
    node_type: str
    tags: list[str]
    data: dict[str, Any]
    score: float = 0.0

    def view(self) -> TemplateView:
        """The template as the architecture and configuration steps see it."""
        return TemplateView(template=self.template_id, name=self.name,
                            description=self.description, type=self.node_type, data=self.data)


@dataclass
class Quality:
    """The quality score and how it was made (see scoring.py)."""

    score: float
    validity: float
    coverage: float
    assessment: float | None
    errors: int
    warnings: int
    covered: list[str] = field(default_factory=list)
    uncovered: list[str] = field(default_factory=list)
    coverage_method: str = "lexical"
    issues: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form stored with a version."""
        return dict(self.__dict__)


@dataclass
class GenerationResult:
    """Everything a run produced: the DSL, its validation, score, patterns, cost, timings."""

    mode: str
    app_mode: str
    name: str
    document: dict[str, Any]
    dsl: str
    valid: bool
    errors: list[dict[str, str]]
    warnings: list[dict[str, str]]
    quality: Quality
    repairs: list[str]
    rounds: int
    patterns: list[dict[str, Any]]
    templates: list[str]
    timings: dict[str, float]
    notes: list[str]
    cost_usd_micros: int
    llm_calls: int
