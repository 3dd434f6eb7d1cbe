"""Generation history: views of generations and versions, edits as new versions, diffs."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from revline.kernel.db.base import utcnow
from revline.kernel.errors import Conflict, InvalidInput
from revline.workflows.diff import diff_documents
from revline.workflows.dsl import dump_dsl, scrub_secrets
from revline.workflows.generator import scoring
from revline.workflows.models import WorkflowGeneration, WorkflowVersion
from revline.workflows.repository import GenerationRepository, VersionRepository
from revline.workflows.validator import validate_document
from revline.workflows.validator.loader import parse_yaml


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def generation_dict(gen: WorkflowGeneration) -> dict[str, Any]:
    """API/CLI view of a generation (without its DSL)."""
    return {
        "id": str(gen.id), "title": gen.title, "requirement": gen.requirement,
        "requested_mode": gen.requested_mode, "mode": gen.mode, "status": gen.status,
        "stage": gen.stage, "version": gen.current_version or None, "valid": gen.valid,
        "quality_score": gen.quality_score, "cost_usd_micros": gen.cost_usd_micros,
        "cost_usd": gen.cost_usd_micros / 1_000_000, "llm_calls": gen.llm_calls,
        "attempts": gen.attempts, "error": gen.error, "error_status": gen.error_status,
        "batch_id": str(gen.batch_id) if gen.batch_id else None,
        "batch_index": gen.batch_index, "created_at": _iso(gen.created_at),
        "started_at": _iso(gen.started_at), "finished_at": _iso(gen.finished_at),
        "events_url": f"/api/v1/generate/{gen.id}/events",
        "ws_url": f"/api/v1/generate/{gen.id}/ws",
    }


def version_dict(version: WorkflowVersion, dsl: bool = False) -> dict[str, Any]:
    """API/CLI view of a version; `dsl` adds the YAML."""
    out: dict[str, Any] = {
        "number": version.number, "source": version.source, "mode": version.mode,
        "app_mode": version.app_mode, "name": version.name, "valid": version.valid,
        "errors": version.errors, "warnings": version.warnings,
        "quality_score": version.quality_score, "quality": version.quality,
        "repairs": version.repairs, "rounds": version.rounds, "patterns": version.patterns,
        "templates": version.templates, "timings_ms": version.timings, "notes": version.notes,
        "cost_usd_micros": version.cost_usd_micros,
        "cost_usd": version.cost_usd_micros / 1_000_000, "llm_calls": version.llm_calls,
        "created_at": _iso(version.created_at),
    }
    if dsl:
        out["dsl"] = version.dsl
    return out


def detail(session: Session, tenant_id: uuid.UUID, ref: str, dsl: bool = True
           ) -> dict[str, Any]:
    """A generation with its current version (and its DSL)."""
    gen = GenerationRepository(session, tenant_id).find(ref)
    out = generation_dict(gen)
    out["current"] = None
    if gen.current_version:
        version = VersionRepository(session, tenant_id).number(gen.id, gen.current_version)
        out["current"] = version_dict(version, dsl=dsl)
    return out


def version_of(session: Session, tenant_id: uuid.UUID, ref: str,
               number: int | None = None) -> WorkflowVersion:
    """A version of a generation: `number`, else the current one."""
    gen = GenerationRepository(session, tenant_id).find(ref)
    if number is None:
        if not gen.current_version:
            raise Conflict(f"generation {gen.id} has no version yet (status {gen.status}"
                           + (f": {gen.error}" if gen.error else "") + ")")
        number = gen.current_version
    return VersionRepository(session, tenant_id).number(gen.id, number)


def parse_ref(ref: str) -> tuple[str, int | None]:
    """`GEN`, `GEN:3` or `GEN@3` -> (generation ref, version or None)."""
    for sep in (":", "@"):
        if sep in ref:
            head, _, tail = ref.rpartition(sep)
            if not tail.isdigit():
                raise InvalidInput(f"{ref!r}: the version after {sep!r} must be a number")
            return head, int(tail)
    return ref, None


def diff(session: Session, tenant_id: uuid.UUID, ref_a: str, ref_b: str) -> dict[str, Any]:
    """Layout-insensitive diff between two versions (`GEN:N`; a bare GEN is its latest)."""
    a, b = version_of(session, tenant_id, *parse_ref(ref_a)), \
        version_of(session, tenant_id, *parse_ref(ref_b))
    out = diff_documents(parse_yaml(a.dsl), parse_yaml(b.dsl))
    out["from"] = {"generation": str(a.generation_id), "version": a.number}
    out["to"] = {"generation": str(b.generation_id), "version": b.number}
    return out


def edit(session: Session, tenant_id: uuid.UUID, ref: str, text: str,
         note: str = "") -> WorkflowVersion:
    """Save an edited DSL as the generation's next version, validated and scored.

    Refuses unreadable YAML and literal credentials; an invalid DSL is kept, flagged.
    """
    gen = GenerationRepository(session, tenant_id).find(ref)
    if gen.status in ("queued", "running"):
        raise Conflict(f"generation {gen.id} is {gen.status}; edit it once it has finished")
    document = parse_yaml(text, "edited DSL")
    if not isinstance(document, dict):
        raise InvalidInput("edited DSL must be a YAML mapping (a Dify DSL document)")
    scrubbed = scrub_secrets(document)
    report = validate_document(scrubbed)
    clauses = scoring.split_requirements(gen.requirement)
    covered, uncovered = scoring.lexical_coverage(clauses, scoring.graph_text(scrubbed))
    quality = scoring.score(errors=len(report.errors), warnings=len(report.warnings),
                            covered=covered, uncovered=uncovered, assessment=None,
                            coverage_method="lexical")
    versions = VersionRepository(session, tenant_id)
    app = scrubbed.get("app")
    app = app if isinstance(app, dict) else {}
    version = versions.add(
        generation_id=gen.id, number=versions.count_of(gen.id) + 1, source="edit",
        mode="edit", app_mode=str(app.get("mode") or ""), name=str(app.get("name") or "")[:200],
        dsl=dump_dsl(scrubbed), valid=report.valid,
        errors=[i.as_dict() for i in report.errors],
        warnings=[i.as_dict() for i in report.warnings], quality_score=quality.score,
        quality=quality.to_dict(), repairs=[], rounds=0, patterns=[], templates=[],
        timings={}, notes=[note] if note else [], cost_usd_micros=0, llm_calls=0,
        created_at=utcnow(),
    )
    gen.current_version = version.number
    gen.valid, gen.quality_score = version.valid, version.quality_score
    gen.status = "done"
    session.flush()
    return version
