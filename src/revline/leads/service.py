"""Lead-run rules used by the API and tasks. Never commits; the caller owns the transaction."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy.orm import Session

from revline.kernel.auth.principal import Principal
from revline.kernel.config import Settings
from revline.kernel.errors import Conflict, InvalidInput, PayloadTooLarge
from revline.kernel.jobs import enqueue_after_commit
from revline.leads.models import STAGE_SCORED, LeadRun
from revline.leads.pipeline import RunOptions, file_sha256
from revline.leads.repository import LeadRepository, LeadRunRepository
from revline.leads.schemas import RunOut

ALLOWED_SUFFIXES = (".csv", ".xlsx", ".tsv", ".txt")


def save_upload(settings: Settings, name: str, stream: BinaryIO) -> Path:
    """Copy an upload under REVLINE_HOME/uploads, enforcing the size limit while streaming."""
    safe = Path(name or "upload.csv").name
    if Path(safe).suffix.lower() not in ALLOWED_SUFFIXES:
        raise InvalidInput(f"{safe}: unsupported file type; upload a .csv or .xlsx file")
    limit = settings.max_upload_mb * 1024 * 1024
    folder = settings.ensure_home() / "uploads" / uuid.uuid4().hex
    folder.mkdir(parents=True)
    target = folder / safe
    written = 0
    with target.open("wb") as out:
        while chunk := stream.read(1 << 20):
            written += len(chunk)
            if written > limit:
                out.close()
                target.unlink()
                folder.rmdir()
                raise PayloadTooLarge(
                    f"{safe} is over the {settings.max_upload_mb} MB upload limit "
                    "(raise REVLINE_MAX_UPLOAD_MB or use `revline run` locally)"
                )
            out.write(chunk)
    if written == 0:
        target.unlink()
        folder.rmdir()
        raise InvalidInput(f"{safe} is empty")
    return target


def queue_run(session: Session, principal: Principal, options: RunOptions) -> LeadRun:
    """Create a queued run and enqueue `leads.run` for after commit."""
    if options.tier not in (1, 2, 3):
        raise InvalidInput(f"tier must be 1, 2 or 3, got {options.tier}")
    digest = file_sha256(options.input_path)
    run = LeadRunRepository(session, principal.tenant_id).add(
        input_path=str(options.input_path),
        input_name=options.input_path.name,
        input_sha256=digest,
        options_key=options.key(),
        tier=options.tier,
        options={
            "mapping": options.mapping,
            "sheet": options.sheet,
            "output_xlsx": str(options.resolved_output()),
        },
        status="queued",
        stage="import",
    )
    enqueue_after_commit(session, "leads.run", str(principal.tenant_id), str(run.id))
    return run


def run_out(session: Session, principal: Principal, run: LeadRun) -> RunOut:
    """API view with per-stage progress."""
    counts = LeadRepository(session, principal.tenant_id).stage_counts(run.id)
    processed = {
        "imported": sum(counts.values()),
        "scored": counts.get(STAGE_SCORED, 0),
    }
    return RunOut(
        id=str(run.id),
        status=run.status,
        input_name=run.input_name,
        tier=run.tier,
        total=run.total_rows or 0,
        processed=processed,
        summary=run.summary,
    )


def get_run(session: Session, principal: Principal, run_id: uuid.UUID) -> LeadRun:
    """A run of this tenant, else NotFound."""
    return LeadRunRepository(session, principal.tenant_id).get(run_id)


def output_path(run: LeadRun, kind: str) -> Path:
    """Path of a finished run's XLSX or HTML; Conflict while it is still running."""
    if run.status != "completed":
        raise Conflict(f"run {run.id} is {run.status}; outputs exist once it completes")
    value = run.output_xlsx if kind == "xlsx" else run.output_html
    if not value or not Path(value).exists():
        raise Conflict(f"run {run.id} output {kind} is missing on disk; re-run to rebuild it")
    return Path(value)


def leads_page(
    session: Session, principal: Principal, run_id: uuid.UUID, limit: int, offset: int
) -> list[dict[str, Any]]:
    """Compact lead rows for the API."""
    get_run(session, principal, run_id)
    return [
        {
            "row_index": lead.row_index,
            "company": lead.company,
            "email": lead.email,
            "domain": lead.domain,
            "vertical": lead.vertical,
            "score": lead.score_value,
            "tier": lead.tier,
            "reasons": lead.score.get("reasons", []),
            "cluster_id": lead.cluster.get("cluster_id"),
            "errors": lead.row_errors,
        }
        for lead in LeadRepository(session, principal.tenant_id).for_run(run_id, limit, offset)
    ]
