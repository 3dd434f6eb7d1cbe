"""The generation pipeline: requirements -> architecture -> configuration -> quality.

Modes:
- `simple`: retrieval picks the best pattern; one configuration call writes the workflow
  from it; the repair + validation loop calls the quality step only to fix errors.
- `full`: the four steps, each a structured call with its own typed output; the quality
  step always judges coverage and fitness and fixes validator errors, up to N rounds.
- `multi-agent`: the four steps as distinct roles, then a reviewer that approves or sends
  the work back to a named step with feedback (up to `workflows_max_revisions` times).
- `retrieval`: no LLM (see retrieval.py).
The pipeline holds no database state: retrieval and progress are callables, so the same
code runs in a request, the CLI and a Celery worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from revline.kernel.errors import RevlineError
from revline.kernel.llm import LLMInvalidOutput
from revline.workflows.generator import prompts, scoring
from revline.workflows.generator.graph import Candidate, build_candidate
from revline.workflows.generator.llm import StepLLM
from revline.workflows.generator.retrieval import (
    assemble,
    choose_base,
    infer_app_mode,
    template_note,
    title_of,
)
from revline.workflows.generator.slots import extract_slots
from revline.workflows.generator.types import (
    ArchitecturePlan,
    CriticVerdict,
    Emit,
    GenerationResult,
    PatternCandidate,
    Quality,
    QualityReview,
    RequirementsSpec,
    TemplateCandidate,
    WorkflowDraft,
)
from revline.workflows.validator.secrets import find_secrets

PatternSearch = Callable[[str, int], list[PatternCandidate]]
TemplateSearch = Callable[[str, int], list[TemplateCandidate]]
_STEP_ORDER = ("requirements", "architecture", "configuration")


class NoPatterns(RevlineError):
    """Retrieval found no pattern to build on (the tenant's library is empty)."""

    status_code = 409


class Unbuildable(LLMInvalidOutput):
    """The model never produced a workflow that can be built into DSL at all."""


@dataclass
class RunContext:
    """What one run needs besides the mode: the text, limits and the outside world."""

    requirement: str
    search_patterns: PatternSearch
    search_templates: TemplateSearch
    emit: Emit
    llm: StepLLM | None = None
    patterns_k: int = 5
    templates_k: int = 3
    max_rounds: int = 3
    max_revisions: int = 2
    name: str | None = None
    feedback: str | None = None  # a regeneration's hint from the user
    notes: list[str] = field(default_factory=list)


@dataclass
class _State:
    """What the steps have produced so far (multi-agent can roll parts of it back)."""

    spec: RequirementsSpec | None = None
    requirements: dict[str, str] = field(default_factory=dict)
    patterns: list[PatternCandidate] = field(default_factory=list)
    templates: list[TemplateCandidate] = field(default_factory=list)
    plan: ArchitecturePlan | None = None
    base: PatternCandidate | None = None
    draft: WorkflowDraft | None = None
    candidate: Candidate | None = None
    review: QualityReview | None = None
    rounds: int = 0
    repairs: list[str] = field(default_factory=list)
    feedback: dict[str, list[str]] = field(default_factory=dict)


class Pipeline:
    """Runs one generation in a given mode and returns its GenerationResult."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.timings: dict[str, float] = {}
        self.state = _State()
        if ctx.feedback:
            for step in ("requirements", "configuration"):
                self.state.feedback.setdefault(step, []).append(ctx.feedback)

    # Plumbing ---------------------------------------------------------------------------
    @contextmanager
    def stage(self, name: str, message: str = "") -> Iterator[dict[str, Any]]:
        """Time a stage and report it started/finished; the body fills the finished data."""
        self.ctx.emit(name, "started", message, {})
        data: dict[str, Any] = {}
        started = time.perf_counter()
        yield data
        elapsed = (time.perf_counter() - started) * 1000
        self.timings[name] = round(self.timings.get(name, 0.0) + elapsed, 1)
        self.ctx.emit(name, "finished", str(data.pop("message", "")), data)

    @property
    def llm(self) -> StepLLM:
        """The step caller (only LLM modes get here)."""
        assert self.ctx.llm is not None
        return self.ctx.llm

    def _retrieve(self, query: str) -> None:
        state = self.state
        state.patterns = self.ctx.search_patterns(query, self.ctx.patterns_k)
        state.templates = (self.ctx.search_templates(query, self.ctx.templates_k)
                           if self.ctx.templates_k else [])

    def _templates(self) -> dict[str, TemplateCandidate]:
        return {t.template_id: t for t in self.state.templates}

    def _build(self, draft: WorkflowDraft, label: str) -> Candidate:
        """Build a candidate; its repairs are kept for the result, labelled by step."""
        candidate = build_candidate(draft, self._templates())
        self.state.repairs += [f"{label}: {change}" for change in candidate.repairs]
        for line in candidate.secrets_moved:
            note = f"credential moved to a blank secret environment variable: {line}"
            if note not in self.ctx.notes:
                self.ctx.notes.append(note)
        return candidate

    # Entry point ------------------------------------------------------------------------
    def run(self, mode: str) -> GenerationResult:
        """Generate in `mode` (simple, full, multi-agent or retrieval)."""
        if mode == "retrieval":
            return self._retrieval()
        if mode == "simple":
            self._simple()
        else:
            self._team(multi_agent=mode == "multi-agent")
        return self._finish(mode)

    # Retrieval mode ---------------------------------------------------------------------
    def _retrieval(self) -> GenerationResult:
        state, text = self.state, self.ctx.requirement
        with self.stage("requirements", "reading the requirement (rules, no LLM)") as out:
            clauses = scoring.split_requirements(text)
            state.requirements = {f"R{i}": c for i, c in enumerate(clauses, 1)}
            wanted = infer_app_mode(text)
            out.update(requirements=len(clauses), app_mode=wanted)
        with self.stage("architecture", "searching the pattern library") as out:
            self._retrieve(text)
            state.base = choose_base(state.patterns, wanted)
            if state.base is None:
                raise NoPatterns("no workflow patterns to build on: the library is empty; "
                                 "add one with `revline workflows patterns add FILE.yml`")
            out.update(patterns=[p.id for p in state.patterns], base=state.base.id,
                       message=f"base pattern {state.base.id}")
        with self.stage("configuration", "filling the pattern's slots") as out:
            name = self.ctx.name or title_of(text, state.base.name)
            candidate, fills, notes = assemble(text, state.base, name)
            self.ctx.notes += notes
            state.repairs += [f"configuration: {change}" for change in candidate.repairs]
            self.ctx.notes += [f"credential moved to a blank secret environment variable: "
                               f"{line}" for line in candidate.secrets_moved]
            self.ctx.notes += [f"slot {f.name} = {f.value!r} ({f.rule})" for f in fills]
            note = template_note(state.templates)
            if note:
                self.ctx.notes.append(note)
            state.candidate = candidate
            out.update(slots={f.name: f.value for f in fills})
        with self.stage("quality", "checking coverage (rules, no LLM)") as out:
            out.update(errors=len(candidate.error_lines()))
        return self._finish("retrieval")

    # LLM modes --------------------------------------------------------------------------
    def _simple(self) -> None:
        state, text = self.state, self.ctx.requirement
        with self.stage("requirements", "reading the requirement") as out:
            clauses = scoring.split_requirements(text)
            state.requirements = {f"R{i}": c for i, c in enumerate(clauses, 1)}
            out.update(requirements=len(clauses))
        with self.stage("architecture", "searching the pattern library") as out:
            self._retrieve(text)
            state.base = choose_base(state.patterns, infer_app_mode(text))
            out.update(patterns=[p.id for p in state.patterns],
                       base=state.base.id if state.base else None)
        with self.stage("configuration", "writing the workflow") as out:
            slots = self._slot_values(None)
            state.draft = self.llm.ask("configuration", prompts.configuration_messages(
                text, None, None, state.base, slots, state.templates, False,
                state.feedback.get("configuration", [])), WorkflowDraft)
            state.candidate = self._build(state.draft, "configuration")
            out.update(nodes=len(state.draft.graph.nodes),
                       errors=len(state.candidate.error_lines()))
        self._quality(assess=False, multi_agent=False)

    def _team(self, multi_agent: bool) -> None:
        start, revisions = 0, 0
        while True:
            for step in _STEP_ORDER[start:]:
                getattr(self, f"_step_{step}")(multi_agent)
            self._quality(assess=True, multi_agent=multi_agent)
            if not multi_agent:
                return
            verdict = self._critic()
            if verdict.approve or verdict.send_back_to is None:
                return
            if revisions >= self.ctx.max_revisions:
                self.ctx.notes.append(f"reviewer still asked for changes after {revisions} "
                                      f"revision(s): {verdict.feedback}")
                return
            revisions += 1
            start = _STEP_ORDER.index(verdict.send_back_to)
            self.state.feedback.setdefault(verdict.send_back_to, []).append(verdict.feedback)

    def _step_requirements(self, multi_agent: bool) -> None:
        state, text = self.state, self.ctx.requirement
        with self.stage("requirements", "analysing the requirement") as out:
            state.spec = self.llm.ask("requirements", prompts.requirements_messages(
                text, multi_agent, state.feedback.get("requirements", [])), RequirementsSpec)
            state.requirements = {r.id: r.text for r in state.spec.requirements}
            out.update(requirements=len(state.requirements), app_mode=state.spec.app_mode,
                       message=state.spec.title)

    def _step_architecture(self, multi_agent: bool) -> None:
        state, text = self.state, self.ctx.requirement
        assert state.spec is not None
        with self.stage("architecture", "planning the graph") as out:
            query = "\n".join(q for q in (state.spec.search_query, text) if q.strip())
            self._retrieve(query)
            state.plan = self.llm.ask("architecture", prompts.architecture_messages(
                text, state.spec, state.patterns, state.templates, multi_agent,
                state.feedback.get("architecture", [])), ArchitecturePlan)
            state.base = None
            if state.plan.pattern_id:
                state.base = choose_base(state.patterns, None, state.plan.pattern_id)
                if state.base is None or state.base.id != state.plan.pattern_id:
                    self.ctx.notes.append(f"the plan named pattern {state.plan.pattern_id!r}, "
                                          "which was not retrieved; built without a base")
                    state.base = None
            out.update(patterns=[p.id for p in state.patterns],
                       base=state.base.id if state.base else None,
                       nodes=len(state.plan.nodes))

    def _step_configuration(self, multi_agent: bool) -> None:
        state, text = self.state, self.ctx.requirement
        with self.stage("configuration", "writing the workflow") as out:
            state.draft = self.llm.ask("configuration", prompts.configuration_messages(
                text, state.spec, state.plan, state.base, self._slot_values(state.spec),
                state.templates, multi_agent, state.feedback.get("configuration", [])),
                WorkflowDraft)
            state.candidate = self._build(state.draft, "configuration")
            state.rounds = 0
            state.review = None
            out.update(nodes=len(state.draft.graph.nodes),
                       errors=len(state.candidate.error_lines()))

    def _slot_values(self, spec: RequirementsSpec | None) -> dict[str, str]:
        """Values the user stated: the spec's, plus rule-based finds for the base's slots."""
        values = dict(spec.slot_values) if spec is not None else {}
        base = self.state.base
        if base is not None:
            for name, fill in extract_slots(self.ctx.requirement, base.slots).items():
                values.setdefault(name, fill.value)
        return values

    def _quality(self, assess: bool, multi_agent: bool) -> None:
        """The repair + validation loop; with `assess`, the quality step always judges too."""
        state, text = self.state, self.ctx.requirement
        assert state.draft is not None
        assert state.candidate is not None
        with self.stage("quality", "checking the workflow") as out:
            review: QualityReview | None = None
            judged = False  # the last review saw the final candidate (no fix applied since)
            while True:
                errors = state.candidate.error_lines()
                if not errors and not assess:
                    break
                if errors and state.rounds >= self.ctx.max_rounds and (
                        review is not None or not assess):
                    break
                self.ctx.emit("quality", "info", f"round {state.rounds + 1}: "
                              f"{len(errors)} error(s) to fix" if errors else "assessing",
                              {"round": state.rounds + 1, "errors": errors[:20]})
                review = self.llm.ask("quality", prompts.quality_messages(
                    text, state.requirements, state.draft, errors,
                    state.candidate.warning_lines(), multi_agent), QualityReview)
                judged = True
                if not errors or review.fixed is None or state.rounds >= self.ctx.max_rounds:
                    break
                state.draft = review.fixed
                state.rounds += 1
                judged = False
                state.candidate = self._build(state.draft, f"quality round {state.rounds}")
            # Only a judgement of the final workflow, asked for as one, counts in the score.
            state.review = review if judged and assess else None
            if review is not None and review.issues:
                self.ctx.notes += [f"quality step: {i}" for i in review.issues[:5]
                                   if f"quality step: {i}" not in self.ctx.notes]
            out.update(rounds=state.rounds, errors=len(state.candidate.error_lines()),
                       assessment=state.review.assessment if state.review else None)

    def _critic(self) -> CriticVerdict:
        state = self.state
        assert state.draft is not None
        assert state.candidate is not None
        with self.stage("review", "reviewing the team's work") as out:
            coverage = {c.requirement_id: c.covered
                        for c in (state.review.coverage if state.review else [])}
            verdict = self.llm.ask("critic", prompts.critic_messages(
                self.ctx.requirement, state.spec, state.plan, state.draft,
                state.candidate.error_lines(), coverage), CriticVerdict)
            out.update(approve=verdict.approve, send_back_to=verdict.send_back_to,
                       message=verdict.feedback[:300])
        return verdict

    # Result -----------------------------------------------------------------------------
    def _finish(self, mode: str) -> GenerationResult:
        state = self.state
        candidate = state.candidate
        assert candidate is not None
        with self.stage("validating", "validating the final DSL") as out:
            if candidate.dsl is None or candidate.document is None:
                raise Unbuildable(
                    "no workflow could be built after "
                    f"{state.rounds} quality round(s): {'; '.join(candidate.problems)[:500]}")
            leaks = list(find_secrets(candidate.document))
            if leaks:  # scrub_secrets refuses these; this guards the guard
                raise Unbuildable(f"the DSL would contain a secret at {leaks[0].path}")
            errors, warnings = candidate.issues()
            quality = self._score(candidate, mode, len(errors), len(warnings))
            out.update(valid=candidate.valid, errors=len(errors), warnings=len(warnings),
                       score=quality.score)
        used = state.base.id if state.base else None
        llm = self.ctx.llm
        app = candidate.document.get("app") or {}
        return GenerationResult(
            mode=mode, app_mode=str(app.get("mode", "workflow")),
            name=str(app.get("name", "")), document=candidate.document, dsl=candidate.dsl,
            valid=candidate.valid, errors=errors, warnings=warnings, quality=quality,
            repairs=state.repairs, rounds=state.rounds,
            patterns=[{"id": p.id, "name": p.name, "rank": p.rank, "score": round(p.score, 6),
                       "used": p.id == used} for p in state.patterns],
            templates=candidate.templates_used, timings=dict(self.timings),
            notes=list(self.ctx.notes), cost_usd_micros=llm.cost_usd_micros if llm else 0,
            llm_calls=llm.calls if llm else 0,
        )

    def _score(self, candidate: Candidate, mode: str, errors: int, warnings: int) -> Quality:
        state = self.state
        review = state.review
        if review is not None and review.coverage:
            graph = ((candidate.document or {}).get("workflow") or {}).get("graph") or {}
            ids = {str(n.get("id")) for n in graph.get("nodes") or [] if isinstance(n, dict)}
            covered, uncovered = scoring.judged_coverage(state.requirements, review.coverage,
                                                         ids)
            method = "quality step"
        else:
            covered, uncovered = scoring.lexical_coverage(
                list(state.requirements.values()), scoring.graph_text(candidate.document))
            method = "lexical"
        assessment = review.assessment if review is not None and mode != "retrieval" else None
        return scoring.score(errors=errors, warnings=warnings, covered=covered,
                             uncovered=uncovered, assessment=assessment,
                             coverage_method=method, issues=review.issues if review else [])
