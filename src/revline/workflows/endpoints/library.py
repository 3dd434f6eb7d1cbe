"""Patterns (through the knowledge base), node templates and usage analytics.

    GET|POST /api/v1/workflows/patterns            list (category, mode, origin) | create
    GET|PUT|DELETE /api/v1/workflows/patterns/{id}
    POST /api/v1/workflows/patterns/search         {"text", "k"}
    POST /api/v1/workflows/patterns/recommend      {"requirement", "k"} -> ranked, with reasons
    GET|POST /api/v1/workflows/node-templates      list | create
    GET|PUT|DELETE /api/v1/workflows/node-templates/{id}
    GET /api/v1/workflows/usage                    pattern usage and success, per-mode figures
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from revline.kernel.db import get_database
from revline.kernel.deps import PrincipalDep, SessionDep, SettingsDep
from revline.kernel.errors import InvalidInput
from revline.workflows import service
from revline.workflows.library import template_dict
from revline.workflows.schemas import RecommendIn, SearchIn, TemplateIn

router = APIRouter(prefix="/api/v1/workflows", tags=["workflows"])


# Patterns ------------------------------------------------------------------------------------
@router.get("/patterns")
def list_patterns(session: SessionDep, principal: PrincipalDep, settings: SettingsDep,
                  category: str | None = None, mode: str | None = None,
                  origin: str | None = None) -> list[dict[str, Any]]:
    """The tenant's patterns (bundled and own), without graphs."""
    principal.require("workflows:read")
    return [p for p in service.list_patterns(session, settings, principal.tenant_id)
            if category in (None, p["category"]) and mode in (None, p["mode"])
            and origin in (None, p["origin"])]


@router.post("/patterns", status_code=201)
def create_pattern(body: dict[str, Any], session: SessionDep, principal: PrincipalDep,
                   settings: SettingsDep) -> dict[str, Any]:
    """Add a pattern (schema v1; its graph must validate); 409 if the id exists."""
    principal.require("workflows:write")
    return service.save_pattern(session, settings, principal.tenant_id, body,
                                create=True).to_dict()


@router.post("/patterns/search")
def search_patterns(body: SearchIn, session: SessionDep, principal: PrincipalDep,
                    settings: SettingsDep) -> list[dict[str, Any]]:
    """Patterns closest to a text (hybrid search)."""
    principal.require("workflows:read")
    session.commit()  # search seeds and indexes through its own transactions
    return service.search_patterns(get_database(settings), settings, principal.tenant_id,
                                   body.text, body.k)


@router.post("/patterns/recommend")
def recommend(body: RecommendIn, session: SessionDep, principal: PrincipalDep,
              settings: SettingsDep) -> list[dict[str, Any]]:
    """Patterns ranked for a requirement, each with the reasons it fits."""
    principal.require("workflows:read")
    session.commit()
    return service.recommend(get_database(settings), settings, principal.tenant_id,
                             body.requirement, body.k)


@router.get("/patterns/{pattern_id}")
def get_pattern(pattern_id: str, session: SessionDep, principal: PrincipalDep,
                settings: SettingsDep) -> dict[str, Any]:
    """One pattern with its graph and slots."""
    principal.require("workflows:read")
    return service.get_pattern(session, settings, principal.tenant_id, pattern_id)


@router.put("/patterns/{pattern_id}")
def put_pattern(pattern_id: str, body: dict[str, Any], session: SessionDep,
                principal: PrincipalDep, settings: SettingsDep) -> dict[str, Any]:
    """Create or replace a pattern; the body's id, if any, must match the URL."""
    principal.require("workflows:write")
    if body.get("id", pattern_id) != pattern_id:
        raise InvalidInput(f"body id {body.get('id')!r} does not match the URL ({pattern_id})")
    return service.save_pattern(session, settings, principal.tenant_id,
                                {**body, "id": pattern_id}).to_dict()


@router.delete("/patterns/{pattern_id}", status_code=204)
def delete_pattern(pattern_id: str, session: SessionDep, principal: PrincipalDep,
                   settings: SettingsDep) -> Response:
    """Delete a pattern (a deleted bundled pattern is not seeded again)."""
    principal.require("workflows:write")
    service.delete_pattern(session, settings, principal.tenant_id, pattern_id)
    return Response(status_code=204)


# Node templates ------------------------------------------------------------------------------
@router.get("/node-templates")
def list_templates(session: SessionDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    """The tenant's node templates."""
    principal.require("workflows:read")
    return service.list_templates(session, principal.tenant_id)


@router.post("/node-templates", status_code=201)
def create_template(body: TemplateIn, session: SessionDep, principal: PrincipalDep
                    ) -> dict[str, Any]:
    """Add a node template (a Dify node's data, checked by the validator's node rules)."""
    principal.require("workflows:write")
    if not body.id:
        raise InvalidInput("id is required, e.g. 'crm-lookup'")
    row = service.save_template(session, principal.tenant_id, body.id,
                                body.model_dump(exclude={"id"}), create=True)
    return template_dict(row)


@router.get("/node-templates/{template_id}")
def get_template(template_id: str, session: SessionDep, principal: PrincipalDep
                 ) -> dict[str, Any]:
    """One node template."""
    principal.require("workflows:read")
    return template_dict(service.get_template(session, principal.tenant_id, template_id))


@router.put("/node-templates/{template_id}")
def put_template(template_id: str, body: TemplateIn, session: SessionDep,
                 principal: PrincipalDep) -> dict[str, Any]:
    """Create or replace a node template."""
    principal.require("workflows:write")
    if body.id not in (None, template_id):
        raise InvalidInput(f"body id {body.id!r} does not match the URL ({template_id})")
    row = service.save_template(session, principal.tenant_id, template_id,
                                body.model_dump(exclude={"id"}))
    return template_dict(row)


@router.delete("/node-templates/{template_id}", status_code=204)
def delete_template(template_id: str, session: SessionDep, principal: PrincipalDep
                    ) -> Response:
    """Delete a node template."""
    principal.require("workflows:write")
    service.delete_template(session, principal.tenant_id, template_id)
    return Response(status_code=204)


# Analytics -----------------------------------------------------------------------------------
@router.get("/usage")
def usage(session: SessionDep, principal: PrincipalDep, settings: SettingsDep
          ) -> dict[str, Any]:
    """Per pattern: retrieved, used, validity rate, mean quality and cost; per mode; totals."""
    principal.require("workflows:read")
    return service.usage(session, settings, principal.tenant_id)
