"""Running one generation against the database: claim, progress, pipeline, save or fail.

The runner owns its transactions, like a job: the claim, each event and the result are
committed on their own, and no transaction is open while an LLM call runs (the gateway
writes its ledger on its own connection, which an open SQLite write would block). The same
function serves a request, the CLI and the `workflows.generate` Celery task.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from functools import partial

from sqlalchemy.orm import Session

from revline.kernel.config import Settings
from revline.kernel.db import Database
from revline.kernel.db.base import utcnow
from revline.kernel.errors import Conflict, LLMNotConfigured, RevlineError
from revline.kernel.llm import get_gateway
from revline.kernel.llm.ledger import cost_summary
from revline.workflows import library
from revline.workflows.events import EventWriter
from revline.workflows.generator.llm import StepLLM
from revline.workflows.generator.pipeline import Pipeline, RunContext
from revline.workflows.generator.types import LLM_MODES, Emit, GenerationResult
from revline.workflows.models import WorkflowGeneration, WorkflowVersion
from revline.workflows.repository import (
    EventRepository,
    GenerationRepository,
    TemplateRepository,
    UsageRepository,
    VersionRepository,
)

log = logging.getLogger(__name__)


@dataclass
class RunOutcome:
    """What a call to `run_generation` did."""

    generation_id: uuid.UUID
    ran: bool  # False: already finished, or another process holds the run
    version: int | None = None
    result: GenerationResult | None = None


def resolve_llm(settings: Settings, requested: str, tenant_id: uuid.UUID,
                generation_id: uuid.UUID, job_id: str | None, cache: bool | None
                ) -> tuple[str, StepLLM | None, str | None]:
    """The mode that will run: the requested one, or retrieval when no LLM is configured."""
    if requested not in LLM_MODES:
        return "retrieval", None, None
    try:
        gateway = get_gateway(settings)
    except LLMNotConfigured as exc:
        return "retrieval", None, f"{exc.message}. Generated in retrieval mode (no LLM)."
    step = StepLLM(gateway, tenant_id, generation_id, job_id=job_id,
                   model=settings.workflows_model, max_tokens=settings.workflows_max_tokens,
                   cache=cache)
    return requested, step, None


def run_generation(
    db: Database, settings: Settings, tenant_id: uuid.UUID, generation_id: uuid.UUID,
    listener: Emit | None = None,
) -> RunOutcome:
    """Run a queued generation (or resume a silent one) to a new version or a failure.

    Raises the run's RevlineError (BudgetExceeded, LLM errors, ...) after recording it.
    """
    with db.session() as session:
        repo = GenerationRepository(session, tenant_id)
        gen = repo.get(generation_id)
        if gen.status not in ("queued", "running"):
            return RunOutcome(generation_id, ran=False, version=gen.current_version or None)
        # Claiming a "running" row means its process went silent; a queued one with earlier
        # attempts is a regeneration or a retry, not an interruption.
        resumed = gen.status == "running"
        if not repo.claim(generation_id, settings.workflows_stale_after_s):
            return RunOutcome(generation_id, ran=False)
        session.refresh(gen)
        requirement, requested, options = gen.requirement, gen.requested_mode, dict(gen.options)
        attempt, job_id = gen.attempts, str(gen.batch_id) if gen.batch_id else None
        if gen.started_at is None:
            gen.started_at = utcnow()
    emit = EventWriter(db, tenant_id, generation_id, listener)
    if resumed:
        emit("requirements", "info", f"resuming an interrupted run (attempt {attempt})",
             {"attempt": attempt})
    regenerate = bool(options.get("regenerate"))
    mode, llm, note = resolve_llm(settings, requested, tenant_id, generation_id, job_id,
                                  cache=False if regenerate else None)
    notes = [note] if note else []
    if note:
        emit("requirements", "info", note, {"mode": mode})
    ctx = RunContext(
        requirement=requirement,
        search_patterns=partial(library.search_patterns, db, settings, tenant_id, notes=notes),
        search_templates=partial(library.search_templates, db, tenant_id),
        emit=emit, llm=llm, notes=notes,
        patterns_k=int(options.get("patterns_k") or settings.workflows_patterns_k),
        templates_k=settings.workflows_templates_k,
        max_rounds=int(options.get("max_rounds", settings.workflows_max_rounds)),
        max_revisions=settings.workflows_max_revisions,
        name=options.get("name") or None, feedback=options.get("feedback") or None,
    )
    notes += [str(n) for n in options.get("notes") or []]
    try:
        result = Pipeline(ctx).run(mode)
    except Exception as exc:
        _fail(db, tenant_id, generation_id, attempt, exc, llm, emit, mode)
        raise
    version = _save(db, tenant_id, generation_id, attempt, result, listener)
    return RunOutcome(generation_id, ran=version is not None, version=version, result=result)


def _fail(db: Database, tenant_id: uuid.UUID, generation_id: uuid.UUID, attempt: int,
          exc: Exception, llm: StepLLM | None, emit: Emit, mode: str) -> None:
    """Record a failed run: no version, the error, the cost already spent."""
    if isinstance(exc, RevlineError):
        message, status = exc.message, exc.status_code
    else:
        log.exception("workflow generation %s failed", generation_id)
        message, status = f"internal error: {type(exc).__name__}: {exc}", 500
    try:
        emit("error", "failed", message, {"error": type(exc).__name__, "status": status})
        with db.session() as session:
            gen = session.get(WorkflowGeneration, generation_id)
            if gen is None or gen.tenant_id != tenant_id or gen.attempts != attempt:
                return  # someone else took the run over; theirs is the record
            gen.status, gen.error, gen.error_status = "failed", message[:4000], status
            gen.mode, gen.finished_at, gen.stage = mode, utcnow(), "error"
            _add_spend(session, gen, attempt, llm)
            gen.options = {k: v for k, v in gen.options.items() if k not in ("regenerate",)}
    except Exception:  # the original error matters more than the record of it
        log.exception("could not record the failure of generation %s", generation_id)


def _save(db: Database, tenant_id: uuid.UUID, generation_id: uuid.UUID, attempt: int,
          result: GenerationResult, listener: Emit | None) -> int | None:
    """Store the result as the next version, its pattern usage, the `done` event and the
    final status in one transaction: a run is either finished with its version or not."""
    now = utcnow()
    with db.session() as session:
        gen = GenerationRepository(session, tenant_id).get(generation_id)
        if gen.attempts != attempt or gen.status != "running":
            log.warning("generation %s was taken over; dropping this run's result", gen.id)
            return None
        number = VersionRepository(session, tenant_id).count_of(generation_id) + 1
        version = VersionRepository(session, tenant_id).add(
            generation_id=generation_id, number=number,
            source="generate" if number == 1 else "regenerate", mode=result.mode,
            app_mode=result.app_mode, name=result.name[:200], dsl=result.dsl,
            valid=result.valid, errors=result.errors, warnings=result.warnings,
            quality_score=result.quality.score, quality=result.quality.to_dict(),
            repairs=result.repairs, rounds=result.rounds, patterns=result.patterns,
            templates=result.templates, timings=result.timings, notes=result.notes,
            cost_usd_micros=result.cost_usd_micros, llm_calls=result.llm_calls,
            created_at=now,
        )
        usage = UsageRepository(session, tenant_id)
        for pattern in result.patterns:
            usage.add(generation_id=generation_id, version_id=version.id,
                      pattern_id=str(pattern["id"]), rank=int(pattern["rank"]),
                      score=float(pattern["score"]), used=bool(pattern["used"]),
                      created_at=now)
        TemplateRepository(session, tenant_id).count_uses(result.templates)
        _apply(gen, version, result)
        _add_spend(session, gen, attempt, result)
        gen.status, gen.stage, gen.finished_at, gen.updated_at = "done", "done", now, now
        gen.options = {k: v for k, v in gen.options.items()
                       if k not in ("regenerate", "feedback")}
        message = (f"version {number}: {'valid' if result.valid else 'invalid'}, quality "
                   f"{result.quality.score}")
        data = {"version": number, "valid": result.valid, "quality_score": result.quality.score,
                "mode": result.mode, "cost_usd_micros": result.cost_usd_micros}
        EventRepository(session, tenant_id).append(generation_id, "done", "finished", message,
                                                   data, now)
    if listener is not None:
        listener("done", "finished", message, data)
    return number


def _add_spend(session: Session, gen: WorkflowGeneration, attempt: int,
               run: StepLLM | GenerationResult | None) -> None:
    """Add this run's LLM cost and calls to the generation's totals.

    A first attempt's own sums are the whole story. After that, the gateway's ledger is:
    a run whose worker was killed paid for calls it never saved, and the run resuming it
    may get the same answers from the cache at no cost.
    """
    if attempt > 1:
        total = cost_summary(session, gen.tenant_id, by="workflow",
                             filters={"workflow": str(gen.id)})["total"]
        gen.cost_usd_micros, gen.llm_calls = int(total["cost_usd_micros"]), int(total["calls"])
    elif isinstance(run, GenerationResult):
        gen.cost_usd_micros += run.cost_usd_micros
        gen.llm_calls += run.llm_calls
    elif run is not None:
        gen.cost_usd_micros += run.cost_usd_micros
        gen.llm_calls += run.calls


def _apply(gen: WorkflowGeneration, version: WorkflowVersion,
           result: GenerationResult) -> None:
    """The generation shows its latest version (its cost: `_add_spend`)."""
    gen.current_version = version.number
    gen.mode = result.mode
    gen.title = result.name[:200] or gen.title
    gen.valid = result.valid
    gen.quality_score = result.quality.score
    gen.error = None
    gen.error_status = None


def requeue(db: Database, tenant_id: uuid.UUID, generation_id: uuid.UUID,
            stale_after_s: float, options: dict[str, object] | None = None) -> None:
    """Put a generation back in the queue for another run; Conflict while it is running."""
    with db.session() as session:
        gen = GenerationRepository(session, tenant_id).get(generation_id)
        fresh = (utcnow() - gen.updated_at).total_seconds() < stale_after_s
        if gen.status == "running" and fresh:
            raise Conflict(f"generation {generation_id} is running; wait for it to finish")
        gen.status = "queued"
        gen.updated_at = utcnow()
        if options:
            gen.options = {**gen.options, **options}
