"""The workflows domain's public interface: generate, history, patterns, templates, usage.

Functions taking a `Session` never commit (the request, task or CLI wrapper does). A run
(`generate`, `run_queued`, `regenerate`) takes the `Database` instead: it commits its own
progress as it goes, so it must be called outside any open transaction.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from revline.kernel.config import Settings
from revline.kernel.db import Database
from revline.kernel.errors import Conflict, InvalidInput
from revline.knowledge import service as kb
from revline.workflows import analytics, batch, history, library, runner
from revline.workflows.generator.graph import redact_text
from revline.workflows.generator.types import MODES, Emit
from revline.workflows.models import NodeTemplate, WorkflowBatch, WorkflowGeneration
from revline.workflows.repository import GenerationRepository, TemplateRepository

__all__ = [
    "MODES", "check_mode", "check_requirement", "create_batch", "create_generation",
    "delete_pattern", "delete_template", "detail", "diff", "edit", "generate", "get_pattern",
    "get_template", "list_generations", "list_patterns", "list_templates", "queue_generation",
    "recommend", "regenerate", "resume_batch", "run_queued", "save_pattern", "save_template",
    "search_patterns", "usage", "versions",
]

detail = history.detail
diff = history.diff
edit = history.edit
create_batch = batch.create_batch
resume_batch = batch.resume_batch
save_pattern = library.save_pattern
save_template = library.save_template
get_template = library.get_template


def check_mode(mode: str) -> str:
    """A known generation mode, else InvalidInput listing them."""
    if mode not in MODES:
        raise InvalidInput(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    return mode


def check_requirement(settings: Settings, text: str) -> tuple[str, list[str]]:
    """The requirement to store (credentials removed) and notes; InvalidInput when unusable."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput("the requirement is empty; describe what the workflow should do, "
                           "e.g. 'answer customer questions from our product docs'")
    limit = settings.workflows_max_requirement_chars
    if len(text) > limit:
        raise InvalidInput(f"the requirement is {len(text)} characters, over the limit of "
                           f"{limit} (workflows_max_requirement_chars); shorten it or split "
                           "it into several workflows")
    clean, removed = redact_text(text)
    notes = [f"{removed} credential(s) removed from the requirement; set them as secret "
             "environment variables in Dify"] if removed else []
    return clean, notes


def create_generation(
    session: Session, settings: Settings, tenant_id: uuid.UUID, requirement: str, mode: str,
    *, name: str | None = None, max_rounds: int | None = None,
    generation_id: uuid.UUID | None = None,
) -> WorkflowGeneration:
    """A queued generation for a requirement (checked and stripped of credentials)."""
    check_mode(mode)
    text, notes = check_requirement(settings, requirement)
    options: dict[str, Any] = {"notes": notes}
    if name:
        options["name"] = name.strip()[:120]
    if max_rounds is not None:
        if not 0 <= max_rounds <= 10:
            raise InvalidInput(f"max_rounds must be between 0 and 10, got {max_rounds}")
        options["max_rounds"] = max_rounds
    values: dict[str, Any] = {"requirement": text, "title": (name or "")[:200],
                              "requested_mode": mode, "status": "queued", "options": options}
    if generation_id is not None:
        if session.get(WorkflowGeneration, generation_id) is not None:
            raise Conflict(f"generation id {generation_id} is already in use")
        values["id"] = generation_id
    return GenerationRepository(session, tenant_id).add(**values)


def queue_generation(session: Session, gen: WorkflowGeneration) -> None:
    """Run the generation in a worker (`workflows.generate`), enqueued after commit."""
    batch.enqueue(session, gen)


def run_queued(db: Database, settings: Settings, tenant_id: uuid.UUID,
               generation_id: uuid.UUID, listener: Emit | None = None) -> runner.RunOutcome:
    """Run a queued generation in this process (what the worker's job does)."""
    return runner.run_generation(db, settings, tenant_id, generation_id, listener)


def generate(
    db: Database, settings: Settings, tenant_id: uuid.UUID, requirement: str, mode: str,
    *, name: str | None = None, max_rounds: int | None = None, listener: Emit | None = None,
) -> runner.RunOutcome:
    """Create and run a generation in this process; raises the run's error after saving it."""
    with db.session() as session:
        gen = create_generation(session, settings, tenant_id, requirement, mode, name=name,
                                max_rounds=max_rounds)
        generation_id = gen.id
    return runner.run_generation(db, settings, tenant_id, generation_id, listener)


def regenerate(
    db: Database, settings: Settings, tenant_id: uuid.UUID, ref: str, *,
    mode: str | None = None, feedback: str | None = None, wait: bool = True,
    listener: Emit | None = None,
) -> tuple[uuid.UUID, runner.RunOutcome | None]:
    """Run a generation again (a new version); without `wait`, a worker runs it."""
    with db.session() as session:
        gen = GenerationRepository(session, tenant_id).find(ref)
        generation_id = gen.id
        if mode is not None:
            gen.requested_mode = check_mode(mode)
    options: dict[str, Any] = {"regenerate": True, "notes": []}
    if feedback:
        clean, _ = redact_text(feedback.strip()[:2000])
        options["feedback"] = clean
    runner.requeue(db, tenant_id, generation_id, settings.workflows_stale_after_s, options)
    if not wait:
        with db.session() as session:
            queue_generation(session, GenerationRepository(session, tenant_id).get(
                generation_id))
        return generation_id, None
    return generation_id, runner.run_generation(db, settings, tenant_id, generation_id,
                                                listener)


def list_generations(session: Session, tenant_id: uuid.UUID, limit: int = 50, offset: int = 0,
                     status: str | None = None, mode: str | None = None,
                     batch_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
    """History, newest first."""
    if not 1 <= limit <= 500:
        raise InvalidInput(f"limit must be between 1 and 500, got {limit}")
    rows = GenerationRepository(session, tenant_id).page(limit, offset, status, mode, batch_id)
    return [history.generation_dict(g) for g in rows]


def versions(session: Session, tenant_id: uuid.UUID, ref: str) -> list[dict[str, Any]]:
    """Every version of a generation, oldest first (without DSL)."""
    from revline.workflows.repository import VersionRepository

    gen = GenerationRepository(session, tenant_id).find(ref)
    return [history.version_dict(v) for v in VersionRepository(session, tenant_id).of(gen.id)]


def get_batch(session: Session, tenant_id: uuid.UUID, batch_id: uuid.UUID) -> dict[str, Any]:
    """A batch's progress and items."""
    return batch.batch_dict(session, tenant_id, batch_id)


def batch_row(session: Session, tenant_id: uuid.UUID, batch_id: uuid.UUID) -> WorkflowBatch:
    """The batch row (NotFound if it is not this tenant's)."""
    from revline.workflows.repository import BatchRepository

    return BatchRepository(session, tenant_id).get(batch_id)


# Patterns (through the knowledge base) -------------------------------------------------------
def list_patterns(session: Session, settings: Settings, tenant_id: uuid.UUID
                  ) -> list[dict[str, Any]]:
    """The tenant's patterns (bundled and own), without graphs."""
    return [r.to_dict(full=False) for r in kb.list_patterns(session, tenant_id,
                                                            settings=settings)]


def get_pattern(session: Session, settings: Settings, tenant_id: uuid.UUID,
                pattern_id: str) -> dict[str, Any]:
    """One pattern with its graph."""
    return kb.get_pattern(session, tenant_id, pattern_id, settings=settings).to_dict()


def delete_pattern(session: Session, settings: Settings, tenant_id: uuid.UUID,
                   pattern_id: str) -> None:
    """Delete a pattern (a deleted bundled one stays deleted)."""
    kb.delete_pattern(session, tenant_id, pattern_id, settings=settings)


def search_patterns(db: Database, settings: Settings, tenant_id: uuid.UUID, text: str,
                    k: int = 5) -> list[dict[str, Any]]:
    """Patterns closest to a text, with their scores."""
    if not text.strip():
        raise InvalidInput("search text is empty")
    if not 1 <= k <= 50:
        raise InvalidInput(f"k must be between 1 and 50, got {k}")
    found = library.search_patterns(db, settings, tenant_id, text, k)
    return [{**p.summary(), "category": p.category, "origin": p.origin, "rank": p.rank,
             "score": round(p.score, 6)} for p in found]


def recommend(db: Database, settings: Settings, tenant_id: uuid.UUID, requirement: str,
              k: int = 5) -> list[dict[str, Any]]:
    """Patterns ranked for a requirement, with the reasons each fits."""
    text, _ = check_requirement(settings, requirement)
    if not 1 <= k <= 50:
        raise InvalidInput(f"k must be between 1 and 50, got {k}")
    with db.session() as session:
        past = analytics.pattern_stats(session, tenant_id)
    return library.recommend(db, settings, tenant_id, text, k, past)


# Node templates ------------------------------------------------------------------------------
def list_templates(session: Session, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    """The tenant's node templates."""
    return [library.template_dict(r) for r in TemplateRepository(session, tenant_id).all()]


def delete_template(session: Session, tenant_id: uuid.UUID, template_id: str) -> None:
    """Delete a node template."""
    row: NodeTemplate = library.get_template(session, tenant_id, template_id)
    session.delete(row)
    session.flush()


# Analytics -----------------------------------------------------------------------------------
def usage(session: Session, settings: Settings, tenant_id: uuid.UUID) -> dict[str, Any]:
    """Pattern usage and success, per-mode figures and totals."""
    return analytics.usage(session, settings, tenant_id)
