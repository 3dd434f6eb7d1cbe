"""Generation endpoints: generate (4 modes and batch), history, versions, diff, DSL, edits.

    POST /api/v1/generate/{simple|full|multi-agent|retrieval}
      {"requirement": "...", "name"?: "...", "wait"?: true, "max_rounds"?: 3, "id"?: uuid}
      -> 201 {generation, "current": {version, "dsl": "..."}}   (wait: run in this request)
      -> 202 {generation}                                      (wait=false: a worker runs it)
    POST /api/v1/generate/batch {"requirements": [...], "mode": "full"} -> 202 {batch, items}
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from revline.kernel.db import get_database
from revline.kernel.deps import PrincipalDep, SessionDep, SettingsDep
from revline.kernel.errors import InvalidInput, PayloadTooLarge, RevlineError
from revline.workflows import service
from revline.workflows.history import generation_dict, version_dict, version_of
from revline.workflows.schemas import BatchIn, GenerateIn, RegenerateIn, ResumeIn
from revline.workflows.validator.loader import DSL_MAX_BYTES

router = APIRouter(prefix="/api/v1/generate", tags=["workflows"])
RunMode = Literal["simple", "full", "multi-agent", "retrieval"]


def _failed(exc: RevlineError, generation_id: uuid.UUID) -> JSONResponse:
    """The run's error, naming the generation where it is recorded (status failed)."""
    return JSONResponse(status_code=exc.status_code, content={
        "error": type(exc).__name__, "detail": exc.message,
        "generation_id": str(generation_id)})


# Batches (literal paths first) ----------------------------------------------------------------
@router.post("/batch", status_code=202)
def generate_batch(body: BatchIn, session: SessionDep, principal: PrincipalDep,
                   settings: SettingsDep) -> dict[str, Any]:
    """Queue one `workflows.generate` job per requirement; follow with GET /batches/{id}."""
    principal.require("workflows:write")
    options = {"max_rounds": body.max_rounds} if body.max_rounds is not None else {}
    batch = service.create_batch(session, settings, principal.tenant_id, body.all_items(),
                                 body.mode, body.name, options)
    session.flush()
    return service.get_batch(session, principal.tenant_id, batch.id)


@router.get("/batches/{batch_id}")
def get_batch(batch_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
              ) -> dict[str, Any]:
    """A batch's progress (counts per status) and its items with their results."""
    principal.require("workflows:read")
    return service.get_batch(session, principal.tenant_id, batch_id)


@router.post("/batches/{batch_id}/resume", status_code=202)
def resume_batch(batch_id: uuid.UUID, session: SessionDep, principal: PrincipalDep,
                 settings: SettingsDep, body: ResumeIn | None = None) -> dict[str, Any]:
    """Re-queue the unfinished items (silent runs included); done items are never redone."""
    principal.require("workflows:write")
    queued = service.resume_batch(session, settings, principal.tenant_id, batch_id,
                                  retry_failed=bool(body and body.retry_failed))
    return {"batch_id": str(batch_id), "requeued": queued}


# Generate ------------------------------------------------------------------------------------
@router.post("/{mode}", status_code=201, response_model=None)
def generate(mode: RunMode, body: GenerateIn, response: Response, session: SessionDep,
             principal: PrincipalDep, settings: SettingsDep) -> dict[str, Any] | JSONResponse:
    """Generate a Dify workflow for a requirement (see the module docstring for modes)."""
    principal.require("workflows:write")
    gen = service.create_generation(session, settings, principal.tenant_id, body.requirement,
                                    mode, name=body.name, max_rounds=body.max_rounds,
                                    generation_id=body.id)
    if not body.wait:
        service.queue_generation(session, gen)
        response.status_code = 202
        return generation_dict(gen)
    # The run commits its own progress; nothing of this request may hold the database.
    session.commit()
    try:
        service.run_queued(get_database(settings), settings, principal.tenant_id, gen.id)
    except RevlineError as exc:
        return _failed(exc, gen.id)
    session.expire_all()  # the run wrote through other sessions
    return service.detail(session, principal.tenant_id, str(gen.id))


# History -------------------------------------------------------------------------------------
@router.get("")
def history(session: SessionDep, principal: PrincipalDep,
            limit: Annotated[int, Query(ge=1, le=500)] = 50,
            offset: Annotated[int, Query(ge=0)] = 0, status: str | None = None,
            mode: str | None = None, batch_id: uuid.UUID | None = None
            ) -> list[dict[str, Any]]:
    """Generations, newest first."""
    principal.require("workflows:read")
    return service.list_generations(session, principal.tenant_id, limit, offset, status, mode,
                                    batch_id)


@router.get("/{ref}")
def get_generation(ref: str, session: SessionDep, principal: PrincipalDep,
                   dsl: bool = True) -> dict[str, Any]:
    """A generation (by id or unique prefix) with its current version and DSL."""
    principal.require("workflows:read")
    return service.detail(session, principal.tenant_id, ref, dsl=dsl)


@router.get("/{ref}/versions")
def list_versions(ref: str, session: SessionDep, principal: PrincipalDep
                  ) -> list[dict[str, Any]]:
    """Every version: source, mode, validity, quality score, cost, timings."""
    principal.require("workflows:read")
    return service.versions(session, principal.tenant_id, ref)


@router.get("/{ref}/versions/{number}")
def get_version(ref: str, number: int, session: SessionDep, principal: PrincipalDep
                ) -> dict[str, Any]:
    """One version with its DSL."""
    principal.require("workflows:read")
    return version_dict(version_of(session, principal.tenant_id, ref, number), dsl=True)


@router.get("/{ref}/diff")
def diff(ref: str, session: SessionDep, principal: PrincipalDep,
         from_: Annotated[int | None, Query(alias="from", ge=1)] = None,
         to: Annotated[int | None, Query(ge=1)] = None,
         other: Annotated[str | None, Query(description="another generation, GEN[:N]")] = None
         ) -> dict[str, Any]:
    """Layout-insensitive diff: versions `from` -> `to` (default: previous -> current), or
    this generation's version against `other`."""
    principal.require("workflows:read")
    current = version_of(session, principal.tenant_id, ref)
    if other is not None:
        left = f"{current.generation_id}:{from_ or current.number}"
        return service.diff(session, principal.tenant_id, left, other)
    to = to or current.number
    from_ = from_ or max(1, to - 1)
    return service.diff(session, principal.tenant_id, f"{current.generation_id}:{from_}",
                        f"{current.generation_id}:{to}")


def _filename(title: str, number: int) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60] or "workflow"
    return f"{slug}-v{number}.yml"


@router.get("/{ref}/dsl")
def download(ref: str, session: SessionDep, principal: PrincipalDep,
             version: Annotated[int | None, Query(ge=1)] = None) -> Response:
    """The DSL YAML to import into Dify (current version unless `version` is given)."""
    principal.require("workflows:read")
    row = version_of(session, principal.tenant_id, ref, version)
    return Response(row.dsl, media_type="application/x-yaml", headers={
        "Content-Disposition": f'attachment; filename="{_filename(row.name, row.number)}"',
        "X-Revline-Valid": "true" if row.valid else "false"})


@router.put("/{ref}/dsl", status_code=201)
async def edit(ref: str, request: Request, session: SessionDep, principal: PrincipalDep
               ) -> dict[str, Any]:
    """Save an edited DSL (the request body, YAML) as a new version; validated and scored."""
    principal.require("workflows:write")
    body = await request.body()
    if len(body) > DSL_MAX_BYTES:
        raise PayloadTooLarge(f"the DSL is {len(body)} bytes, over Dify's 10 MB import limit")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("the DSL must be UTF-8 YAML") from exc
    note = request.headers.get("x-revline-note", "")[:300]
    row = await run_in_threadpool(service.edit, session, principal.tenant_id, ref, text, note)
    return version_dict(row)


@router.post("/{ref}/regenerate", status_code=201, response_model=None)
def regenerate(ref: str, response: Response, session: SessionDep, principal: PrincipalDep,
               settings: SettingsDep, body: RegenerateIn | None = None
               ) -> dict[str, Any] | JSONResponse:
    """Run the generation again as a new version (fresh answers, optional feedback)."""
    principal.require("workflows:write")
    body = body or RegenerateIn()
    session.commit()  # the run commits its own progress
    try:
        generation_id, _ = service.regenerate(
            get_database(settings), settings, principal.tenant_id, ref, mode=body.mode,
            feedback=body.feedback, wait=body.wait)
    except RevlineError as exc:
        if exc.status_code in (404, 409, 422):
            raise
        gen_id = uuid.UUID(service.detail(session, principal.tenant_id, ref, dsl=False)["id"])
        return _failed(exc, gen_id)
    if not body.wait:
        response.status_code = 202
    session.expire_all()  # the run wrote through other sessions
    return service.detail(session, principal.tenant_id, str(generation_id), dsl=body.wait)
