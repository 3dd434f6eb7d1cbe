"""HTTP API of the model registry under /api/v1/models (scopes experiments:read|write)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from revline.experiments.registry import service
from revline.experiments.registry.schemas import (
    AliasIn,
    AliasOut,
    AssignIn,
    Assignment,
    Evaluation,
    EventOut,
    MetricKind,
    ModelOut,
    ModelSummary,
    OutcomeBatchIn,
    OutcomesOut,
    PromoteIn,
    VersionIn,
    VersionOut,
)
from revline.kernel.auth.principal import Principal
from revline.kernel.deps import PrincipalDep, SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1/models", tags=["model registry"])

READ = "experiments:read"
WRITE = "experiments:write"


def actor(principal: Principal) -> str:
    """Who made a change, for the audit trail."""
    return f"api-key:{principal.key_id}" if principal.key_id else f"tenant:{principal.tenant_slug}"


@router.get("", response_model=list[ModelSummary])
def list_models(session: SessionDep, principal: PrincipalDep) -> list[ModelSummary]:
    """Every model with its version count and aliases."""
    principal.require(READ)
    return service.list_models(session, principal.tenant_id)


@router.post("/{name}/versions", status_code=201, response_model=VersionOut)
def register_version(
    name: str, body: VersionIn, session: SessionDep, principal: PrincipalDep
) -> VersionOut:
    """Register a model or policy version (immutable; a repeat is 409)."""
    principal.require(WRITE)
    return service.register_version(session, principal.tenant_id, name, body, actor(principal))


@router.get("/{name}", response_model=ModelOut)
def get_model(name: str, session: SessionDep, principal: PrincipalDep) -> ModelOut:
    """A model's versions and aliases."""
    principal.require(READ)
    return service.get_model(session, principal.tenant_id, name)


@router.put("/{name}/aliases/{alias}", response_model=AliasOut)
def set_alias(
    name: str,
    alias: str,
    body: AliasIn,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> AliasOut:
    """Point champion, challenger (with traffic) or any alias at a version."""
    principal.require(WRITE)
    return service.set_alias(
        session,
        principal.tenant_id,
        name,
        alias,
        body.version,
        body.traffic,
        actor(principal),
        settings,
    )


@router.delete("/{name}/aliases/{alias}", status_code=204)
def remove_alias(name: str, alias: str, session: SessionDep, principal: PrincipalDep) -> Response:
    """Remove an alias (audited)."""
    principal.require(WRITE)
    service.remove_alias(session, principal.tenant_id, name, alias, actor(principal))
    return Response(status_code=204)


@router.get("/{name}/assign", response_model=Assignment)
def assign_one(
    name: str,
    session: SessionDep,
    principal: PrincipalDep,
    unit_id: Annotated[str, Query(min_length=1, max_length=200)],
) -> Assignment:
    """The version that serves this unit (sticky)."""
    principal.require(READ)
    return service.assign(session, principal.tenant_id, name, [unit_id])[0]


@router.post("/{name}/assign", response_model=list[Assignment])
def assign_batch(
    name: str, body: AssignIn, session: SessionDep, principal: PrincipalDep
) -> list[Assignment]:
    """The version that serves each unit (sticky)."""
    principal.require(READ)
    return service.assign(session, principal.tenant_id, name, body.unit_ids)


@router.post("/{name}/outcomes", status_code=201, response_model=OutcomesOut)
def log_outcomes(
    name: str, body: OutcomeBatchIn, session: SessionDep, principal: PrincipalDep
) -> OutcomesOut:
    """Log online outcomes per version; a repeated event_id is a 409 and changes nothing."""
    principal.require(WRITE)
    return OutcomesOut(
        accepted=service.log_outcomes(session, principal.tenant_id, name, body.outcomes)
    )


@router.get("/{name}/evaluation", response_model=Evaluation)
def evaluation(
    name: str,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    confidence: Annotated[float | None, Query(gt=0.5, lt=1)] = None,
    min_samples: Annotated[int | None, Query(ge=1)] = None,
    kind: MetricKind = "auto",
) -> Evaluation:
    """Challenger vs champion on the logged outcomes, and whether it may be promoted."""
    principal.require(READ)
    return service.evaluate(
        session, principal.tenant_id, name, settings, confidence, min_samples, kind
    )


@router.post("/{name}/promote", response_model=Evaluation)
def promote(
    name: str,
    body: PromoteIn,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> Evaluation:
    """Promote the challenger if it wins with the set confidence; 409 and no change otherwise."""
    principal.require(WRITE)
    return service.promote(
        session,
        principal.tenant_id,
        name,
        actor(principal),
        settings,
        body.confidence,
        body.min_samples,
        body.kind,
    )


@router.get("/{name}/history", response_model=list[EventOut])
def history(name: str, session: SessionDep, principal: PrincipalDep) -> list[EventOut]:
    """Audit trail: registrations, alias changes and promotions, oldest first."""
    principal.require(READ)
    return service.history(session, principal.tenant_id, name)
