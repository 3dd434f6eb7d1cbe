"""Lead-run HTTP API: upload a file, follow the run, download the outputs."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import FileResponse

from revline.kernel.deps import PrincipalDep, SessionDep, SettingsDep
from revline.leads import service
from revline.leads.importer import parse_map_option
from revline.leads.pipeline import RunOptions
from revline.leads.schemas import RunOut

router = APIRouter(prefix="/api/v1/leads", tags=["leads"])


@router.post("/runs", status_code=202, response_model=RunOut)
def create_run(
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="Leads file (.csv or .xlsx)")],
    tier: Annotated[int, Form(ge=1, le=3)] = 1,
    map: Annotated[list[str] | None, Form(description="FIELD=COLUMN overrides")] = None,  # noqa: A002
) -> RunOut:
    """Upload a leads file and queue the pipeline; poll GET /runs/{id} for progress."""
    principal.require("leads:write")
    mapping = parse_map_option(map or [])
    path = service.save_upload(settings, file.filename or "upload.csv", file.file)
    run = service.queue_run(
        session, principal, RunOptions(input_path=path, tier=tier, mapping=mapping)
    )
    return service.run_out(session, principal, run)


@router.get("/runs", response_model=list[RunOut])
def list_runs(
    session: SessionDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[RunOut]:
    """This tenant's runs, newest first."""
    principal.require("leads:read")
    from revline.leads.repository import LeadRunRepository

    runs = LeadRunRepository(session, principal.tenant_id).list(limit=limit)
    return [service.run_out(session, principal, run) for run in runs]


@router.get("/runs/{run_id}", response_model=RunOut)
def get_run(run_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> RunOut:
    """One run with progress and, when done, its summary."""
    principal.require("leads:read")
    return service.run_out(session, principal, service.get_run(session, principal, run_id))


@router.get("/runs/{run_id}/leads")
def run_leads(
    run_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    """A page of scored leads in input order."""
    principal.require("leads:read")
    return service.leads_page(session, principal, run_id, limit, offset)


@router.get("/runs/{run_id}/export.xlsx", response_class=FileResponse)
def download_xlsx(run_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> FileResponse:
    """The enriched workbook of a completed run."""
    principal.require("leads:read")
    path = service.output_path(service.get_run(session, principal, run_id), "xlsx")
    return FileResponse(
        path,
        filename=path.name,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@router.get("/runs/{run_id}/report.html", response_class=FileResponse)
def download_report(
    run_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> FileResponse:
    """The HTML report of a completed run."""
    principal.require("leads:read")
    path = service.output_path(service.get_run(session, principal, run_id), "html")
    return FileResponse(path, media_type="text/html")
