"""HTTP API of the experiments domain: a thin router over its service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from revline.experiments import service
from revline.experiments.registry.endpoints import router as models_router
from revline.experiments.schemas import (
    BatchDecideIn,
    BatchDecisionOut,
    DecisionOut,
    ExperimentCreate,
    ExperimentOut,
    ObservationBatchIn,
    ObservationIn,
    ObserveOut,
    PosteriorsOut,
    SRMReport,
)
from revline.kernel.deps import PrincipalDep, SessionDep, SettingsDep

router = APIRouter()
experiments = APIRouter(prefix="/api/v1/experiments", tags=["experiments"])

READ = "experiments:read"
WRITE = "experiments:write"


@experiments.post("", status_code=201, response_model=ExperimentOut)
def create_experiment(
    body: ExperimentCreate, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> ExperimentOut:
    """Create an experiment with its arms and bandit policy."""
    principal.require(WRITE)
    experiment = service.create_experiment(session, principal.tenant_id, body, settings)
    return service.experiment_out(session, principal.tenant_id, experiment)


@experiments.get("", response_model=list[ExperimentOut])
def list_experiments(
    session: SessionDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[ExperimentOut]:
    """This tenant's experiments, newest first."""
    principal.require(READ)
    rows = service.list_experiments(session, principal.tenant_id, limit, offset)
    return [service.experiment_out(session, principal.tenant_id, e) for e in rows]


@experiments.get("/{ref}", response_model=ExperimentOut)
def get_experiment(ref: str, session: SessionDep, principal: PrincipalDep) -> ExperimentOut:
    """One experiment (by id or name) with its arms and posterior summaries."""
    principal.require(READ)
    experiment = service.get_experiment(session, principal.tenant_id, ref)
    return service.experiment_out(session, principal.tenant_id, experiment)


@experiments.post("/{ref}/decide", response_model=DecisionOut)
def decide(
    ref: str, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> DecisionOut:
    """Choose an arm for one request."""
    principal.require(WRITE)
    return service.decide_one(session, principal.tenant_id, ref, settings)


@experiments.post("/{ref}/decide/batch", response_model=BatchDecisionOut)
def decide_batch(
    ref: str,
    body: BatchDecideIn,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> BatchDecisionOut:
    """Choose arms for n requests in one vectorised call."""
    principal.require(WRITE)
    return service.decide(session, principal.tenant_id, ref, body.n, settings)


@experiments.post("/{ref}/observations", status_code=201, response_model=ObserveOut)
def observe(
    ref: str, body: ObservationIn, session: SessionDep, principal: PrincipalDep
) -> ObserveOut:
    """Record one reward; a repeated event_id is a 409 and changes nothing."""
    principal.require(WRITE)
    return service.observe(session, principal.tenant_id, ref, [body])


@experiments.post("/{ref}/observations/batch", status_code=201, response_model=ObserveOut)
def observe_batch(
    ref: str, body: ObservationBatchIn, session: SessionDep, principal: PrincipalDep
) -> ObserveOut:
    """Record many rewards, all or none."""
    principal.require(WRITE)
    return service.observe(session, principal.tenant_id, ref, body.observations)


@experiments.get("/{ref}/posteriors", response_model=PosteriorsOut)
def posteriors(
    ref: str,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    draws: Annotated[int | None, Query(ge=100, le=1_000_000)] = None,
) -> PosteriorsOut:
    """Posterior of each arm and its probability to be best."""
    principal.require(READ)
    return service.posteriors(
        session, principal.tenant_id, ref, draws or settings.experiments_prob_best_draws
    )


@experiments.post("/{ref}/posteriors/refresh", status_code=202, response_model=ExperimentOut)
def refresh_posteriors(ref: str, session: SessionDep, principal: PrincipalDep) -> ExperimentOut:
    """Queue a posterior update now (each observation already queues one)."""
    principal.require(WRITE)
    experiment = service.request_update(session, principal.tenant_id, ref)
    return service.experiment_out(session, principal.tenant_id, experiment)


@experiments.get("/{ref}/srm", response_model=SRMReport)
def srm(
    ref: str,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    periods: Annotated[int, Query(ge=1, le=1000)] = 24,
    alpha: Annotated[float | None, Query(gt=0, lt=1)] = None,
) -> SRMReport:
    """Sample-ratio-mismatch test per period: observations vs the intended allocation."""
    principal.require(READ)
    return service.srm_report(
        session, principal.tenant_id, ref, periods, alpha or settings.experiments_srm_alpha
    )


router.include_router(experiments)
router.include_router(models_router)
