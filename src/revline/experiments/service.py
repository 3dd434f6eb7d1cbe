"""Experiment rules used by the API, CLI and tasks. Never commits; the caller owns the transaction.

Decisions read the stored posteriors; observations are stored (idempotently, by the client's
event id) and folded into the posteriors by the `experiments.update_posteriors` job, enqueued
after the request commits.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from revline.experiments import bandit
from revline.experiments.models import Arm, Experiment, Observation
from revline.experiments.repository import (
    AllocationRepository,
    ArmRepository,
    ExperimentRepository,
    ObservationRepository,
)
from revline.experiments.schemas import (
    ArmIn,
    ArmOut,
    BatchDecisionOut,
    DecisionOut,
    ExperimentCreate,
    ExperimentOut,
    ObservationIn,
    ObserveOut,
    PolicyIn,
    PosteriorsOut,
    SRMPeriod,
    SRMReport,
    UpdateOut,
)
from revline.experiments.srm import srm_check
from revline.kernel.config import Settings
from revline.kernel.db.base import utcnow
from revline.kernel.errors import Conflict, InvalidInput, NotFound
from revline.kernel.jobs import enqueue_after_commit

# Shared with the ads optimizer, which ranks ads by the same posterior maths.
prob_best_beta = bandit.prob_best_beta
prob_best_gaussian = bandit.prob_best_gaussian

UPDATE_TASK = "experiments.update_posteriors"
# Observations folded per query while updating posteriors (all chunks share one transaction).
_UPDATE_CHUNK = 5000


def policy_of(experiment: Experiment) -> bandit.Policy:
    """The bandit policy stored on an experiment."""
    return bandit.Policy(reward=experiment.reward, **experiment.config)  # type: ignore[arg-type]


def stats_of(arms: list[Arm]) -> bandit.ArmStats:
    """Arm rows (in position order) as the engine's arrays."""
    return bandit.ArmStats(
        n=np.array([a.stat_n for a in arms], dtype=np.float64),
        w=np.array([a.stat_w for a in arms], dtype=np.float64),
        s=np.array([a.stat_s for a in arms], dtype=np.float64),
        q=np.array([a.stat_q for a in arms], dtype=np.float64),
    )


def as_utc(value: datetime | None, default: datetime) -> datetime:
    """Aware UTC datetime; naive input is taken to be UTC already."""
    if value is None:
        return default
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def period_start(when: datetime, period_s: int) -> datetime:
    """Start of the SRM period containing `when` (periods are aligned to the Unix epoch)."""
    ts = int(when.timestamp())
    return datetime.fromtimestamp(ts - ts % period_s, tz=UTC)


def create_experiment(
    session: Session, tenant_id: uuid.UUID, data: ExperimentCreate, settings: Settings
) -> Experiment:
    """Create an experiment and its arms; 409 if the name is taken, 422 if the policy is bad."""
    repo = ExperimentRepository(session, tenant_id)
    if repo.by_name(data.name) is not None:
        raise Conflict(f"experiment {data.name!r} already exists; pick another name")
    config = data.policy.model_dump(exclude_defaults=True)
    try:
        bandit.Policy(reward=data.reward, **config).validate(len(data.arms))
    except bandit.BanditError as exc:
        raise InvalidInput(f"policy: {exc}") from exc
    experiment = repo.add(
        name=data.name,
        description=data.description,
        reward=data.reward,
        config=config,
        srm_period_s=data.srm_period_s or settings.experiments_srm_period_s,
    )
    arms = ArmRepository(session, tenant_id)
    for position, item in enumerate(data.arms):
        arm = item if isinstance(item, ArmIn) else ArmIn(name=item)
        arms.add(experiment_id=experiment.id, name=arm.name, position=position, payload=arm.payload)
    return experiment


def get_experiment(session: Session, tenant_id: uuid.UUID, ref: str) -> Experiment:
    """An experiment of this tenant by id or name, else 404."""
    repo = ExperimentRepository(session, tenant_id)
    try:
        found: Experiment | None = repo.get(uuid.UUID(ref))
    except (ValueError, NotFound):
        found = repo.by_name(ref)
    if found is None:
        raise NotFound(f"experiment {ref!r} not found; `revline experiments list` shows them")
    return found


def list_experiments(
    session: Session, tenant_id: uuid.UUID, limit: int = 100, offset: int = 0
) -> list[Experiment]:
    """This tenant's experiments, newest first."""
    return ExperimentRepository(session, tenant_id).list(limit=limit, offset=offset)


def experiment_out(session: Session, tenant_id: uuid.UUID, experiment: Experiment) -> ExperimentOut:
    """API view of an experiment with each arm's counters and posterior summary."""
    arms = ArmRepository(session, tenant_id).for_experiment(experiment.id)
    return ExperimentOut(
        id=str(experiment.id),
        name=experiment.name,
        description=experiment.description,
        reward=experiment.reward,
        policy=PolicyIn(**experiment.config).model_dump(),
        srm_period_s=experiment.srm_period_s,
        evidence_total=experiment.evidence_total,
        posterior_version=experiment.posterior_version,
        posteriors_updated_at=experiment.posteriors_updated_at,
        pending_observations=ObservationRepository(session, tenant_id).pending_count(experiment.id),
        created_at=experiment.created_at,
        arms=arm_views(experiment, arms),
    )


def arm_views(
    experiment: Experiment, arms: list[Arm], prob_best: bandit.FloatArray | None = None
) -> list[ArmOut]:
    """Counters and posterior summary (alpha/beta for Bernoulli) of each arm."""
    policy = policy_of(experiment)
    stats = stats_of(arms)
    mean, std = bandit.posterior_mean_std(stats, policy)
    is_beta = policy.reward == "bernoulli"
    alpha, beta = bandit.beta_params(stats, policy)
    return [
        ArmOut(
            id=str(arm.id),
            name=arm.name,
            payload=arm.payload,
            decisions=arm.decisions,
            observations=arm.observations,
            mean=float(mean[i]),
            std=_finite(float(std[i])),
            alpha=float(alpha[i]) if is_beta else None,
            beta=float(beta[i]) if is_beta else None,
            observed_mean=arm.reward_sum / arm.weight_sum if arm.weight_sum else None,
            prob_best=None if prob_best is None else float(prob_best[i]),
        )
        for i, arm in enumerate(arms)
    ]


def _finite(value: float) -> float | None:
    # JSON has no infinity: a posterior sd that does not exist yet (no data) is null.
    return value if np.isfinite(value) else None


def decide(
    session: Session,
    tenant_id: uuid.UUID,
    ref: str,
    n: int,
    settings: Settings,
    rng: np.random.Generator | None = None,
    now: datetime | None = None,
) -> BatchDecisionOut:
    """Arms for n requests in one vectorised draw; records what was assigned and intended."""
    return _decide(session, tenant_id, ref, n, settings, rng, now)[0]


def decide_one(
    session: Session,
    tenant_id: uuid.UUID,
    ref: str,
    settings: Settings,
    rng: np.random.Generator | None = None,
) -> DecisionOut:
    """One decision, with the chosen arm's payload."""
    batch, arms = _decide(session, tenant_id, ref, 1, settings, rng, None)
    chosen = next(a for a in arms if a.name == batch.arms[0])
    return DecisionOut(
        experiment_id=batch.experiment_id,
        arm=chosen.name,
        payload=chosen.payload,
        decided_at=batch.decided_at,
    )


def _decide(
    session: Session,
    tenant_id: uuid.UUID,
    ref: str,
    n: int,
    settings: Settings,
    rng: np.random.Generator | None,
    now: datetime | None,
) -> tuple[BatchDecisionOut, list[Arm]]:
    if not 1 <= n <= settings.experiments_max_batch:
        raise InvalidInput(
            f"n must be between 1 and {settings.experiments_max_batch} "
            "(REVLINE_EXPERIMENTS_MAX_BATCH)"
        )
    experiment = get_experiment(session, tenant_id, ref)
    arm_repo = ArmRepository(session, tenant_id)
    arms = arm_repo.for_experiment(experiment.id)
    counts = np.array([a.decisions for a in arms], dtype=np.int64)
    result = bandit.decide(
        stats_of(arms),
        policy_of(experiment),
        n,
        rng if rng is not None else np.random.default_rng(),
        counts=counts,
        draws=settings.experiments_prob_best_draws,
    )
    per_arm = np.bincount(result.arms, minlength=len(arms))
    arm_repo.add_decisions({arm.id: int(per_arm[i]) for i, arm in enumerate(arms)})
    decided_at = now or utcnow()
    AllocationRepository(session, tenant_id).bump(
        experiment.id,
        period_start(decided_at, experiment.srm_period_s),
        [
            (arm.id, int(per_arm[i]), float(result.intended[i]), 0)
            for i, arm in enumerate(arms)
            if per_arm[i] or result.intended[i]
        ],
    )
    out = BatchDecisionOut(
        experiment_id=str(experiment.id),
        arms=[arms[int(i)].name for i in result.arms],
        counts={arm.name: int(per_arm[i]) for i, arm in enumerate(arms)},
        burn_in=result.burn_in,
        decided_at=decided_at,
    )
    return out, arms


def observe(
    session: Session,
    tenant_id: uuid.UUID,
    ref: str,
    items: list[ObservationIn],
    now: datetime | None = None,
) -> ObserveOut:
    """Store rewards (all or none) and queue the posterior update for after commit.

    Unknown arm or bad reward: 422; an event id seen before (or twice in the batch): 409.
    Nothing is written unless every item is valid.
    """
    experiment = get_experiment(session, tenant_id, ref)
    arms = {a.name: a for a in ArmRepository(session, tenant_id).for_experiment(experiment.id)}
    policy = policy_of(experiment)
    unknown = sorted({o.arm for o in items if o.arm not in arms})
    if unknown:
        raise InvalidInput(
            f"unknown arm(s) {', '.join(map(repr, unknown))} in experiment "
            f"{experiment.name!r}; arms are: {', '.join(arms)}"
        )
    try:
        bandit.check_rewards(policy, [o.reward for o in items], [o.weight for o in items])
    except bandit.BanditError as exc:
        raise InvalidInput(f"{experiment.name}: {exc}") from exc
    ids = [o.event_id for o in items]
    repeated = sorted(k for k, v in Counter(ids).items() if v > 1)
    if repeated:
        raise Conflict(f"event id(s) repeated in the batch: {', '.join(repeated[:5])}")
    obs_repo = ObservationRepository(session, tenant_id)
    seen = obs_repo.existing_event_ids(experiment.id, ids)
    if seen:
        raise Conflict(_duplicate_message(seen))
    stamp = now or utcnow()
    rows = [
        Observation(
            tenant_id=tenant_id,
            experiment_id=experiment.id,
            arm_id=arms[o.arm].id,
            event_id=o.event_id,
            reward=o.reward,
            weight=o.weight,
            occurred_at=as_utc(o.occurred_at, stamp),
            # created_at is the decay clock's order: one microsecond apart keeps the batch's
            # own order (ids are random, so equal stamps would fold in a random order).
            created_at=stamp + timedelta(microseconds=i),
        )
        for i, o in enumerate(items)
    ]
    try:
        with session.begin_nested():
            session.add_all(rows)
            session.flush()
    except IntegrityError as exc:  # a concurrent request stored the same event id first
        raise Conflict(_duplicate_message(ids)) from exc
    observed: dict[datetime, Counter[uuid.UUID]] = defaultdict(Counter)
    for o in items:
        when = as_utc(o.decided_at, as_utc(o.occurred_at, stamp))
        observed[period_start(when, experiment.srm_period_s)][arms[o.arm].id] += 1
    alloc = AllocationRepository(session, tenant_id)
    for start, per_arm in sorted(observed.items()):
        alloc.bump(experiment.id, start, [(arm_id, 0, 0.0, c) for arm_id, c in per_arm.items()])
    enqueue_after_commit(session, UPDATE_TASK, str(tenant_id), str(experiment.id))
    return ObserveOut(
        experiment_id=str(experiment.id),
        accepted=len(rows),
        pending_observations=obs_repo.pending_count(experiment.id),
    )


def _duplicate_message(event_ids: list[str]) -> str:
    shown = ", ".join(repr(e) for e in event_ids[:5])
    more = f" (+{len(event_ids) - 5} more)" if len(event_ids) > 5 else ""
    return f"duplicate observation: event id {shown}{more} already recorded; nothing was stored"


def request_update(session: Session, tenant_id: uuid.UUID, ref: str) -> Experiment:
    """Queue a posterior update for after commit (e.g. after a worker outage)."""
    experiment = get_experiment(session, tenant_id, ref)
    enqueue_after_commit(session, UPDATE_TASK, str(tenant_id), str(experiment.id))
    return experiment


def update_posteriors(
    session: Session, tenant_id: uuid.UUID, experiment_id: uuid.UUID, now: datetime | None = None
) -> UpdateOut:
    """Fold every pending observation into the arms' posteriors, in arrival order.

    Locks the experiment first, so concurrent updates serialize and none is applied twice.
    """
    exp_repo = ExperimentRepository(session, tenant_id)
    version = exp_repo.lock(experiment_id)
    # Read everything after taking the lock, so a concurrent update's result is not overwritten.
    experiment = exp_repo.get(experiment_id)
    session.refresh(experiment)
    arms = ArmRepository(session, tenant_id).for_experiment(experiment.id, fresh=True)
    index = {arm.id: i for i, arm in enumerate(arms)}
    policy = policy_of(experiment)
    stats = stats_of(arms)
    obs_repo = ObservationRepository(session, tenant_id)
    stamp = now or utcnow()
    applied = 0
    evidence = 0.0
    raw = np.zeros((len(arms), 3))  # observations, sum w*x, sum w (undecayed)
    while batch := obs_repo.pending(experiment.id, _UPDATE_CHUNK):
        idx = np.array([index[o.arm_id] for o in batch], dtype=np.int64)
        rewards = np.array([o.reward for o in batch], dtype=np.float64)
        weights = np.array([o.weight for o in batch], dtype=np.float64)
        stats, added = bandit.update(stats, policy, idx, rewards, weights)
        evidence += added
        np.add.at(raw, idx, np.column_stack([np.ones_like(rewards), weights * rewards, weights]))
        obs_repo.mark_applied([o.id for o in batch], stamp)
        applied += len(batch)
    if applied:
        for i, arm in enumerate(arms):
            arm.stat_n = float(stats.n[i])
            arm.stat_w = float(stats.w[i])
            arm.stat_s = float(stats.s[i])
            arm.stat_q = float(stats.q[i])
            arm.observations += int(raw[i, 0])
            arm.reward_sum += float(raw[i, 1])
            arm.weight_sum += float(raw[i, 2])
        experiment.evidence_total += evidence
    experiment.posteriors_updated_at = stamp
    session.flush()
    return UpdateOut(experiment_id=str(experiment.id), applied=applied, posterior_version=version)


def posteriors(
    session: Session,
    tenant_id: uuid.UUID,
    ref: str,
    draws: int,
    rng: np.random.Generator | None = None,
) -> PosteriorsOut:
    """Each arm's posterior and its probability to be best (Monte Carlo over `draws`)."""
    if draws < 1:
        raise InvalidInput(f"--draws (Monte Carlo draws for P(best)) must be >= 1, not {draws}")
    experiment = get_experiment(session, tenant_id, ref)
    arms = ArmRepository(session, tenant_id).for_experiment(experiment.id)
    best = bandit.prob_best(stats_of(arms), policy_of(experiment), draws, rng)
    return PosteriorsOut(
        experiment_id=str(experiment.id),
        reward=experiment.reward,
        posterior_version=experiment.posterior_version,
        posteriors_updated_at=experiment.posteriors_updated_at,
        evidence_total=experiment.evidence_total,
        pending_observations=ObservationRepository(session, tenant_id).pending_count(experiment.id),
        draws=draws,
        arms=arm_views(experiment, arms, best),
    )


def srm_report(
    session: Session, tenant_id: uuid.UUID, ref: str, periods: int, alpha: float
) -> SRMReport:
    """Chi-square SRM test per period: observations per arm vs the allocation intended."""
    if not 0.0 < alpha < 1.0:
        raise InvalidInput(f"--alpha (significance level) must be between 0 and 1, e.g. 0.001, "
                           f"not {alpha:g}")
    if periods < 1:
        raise InvalidInput(f"--periods must be at least 1, not {periods}")
    experiment = get_experiment(session, tenant_id, ref)
    arms = ArmRepository(session, tenant_id).for_experiment(experiment.id)
    names = {arm.id: arm.name for arm in arms}
    rows = AllocationRepository(session, tenant_id).recent(experiment.id, periods)
    by_period: dict[datetime, dict[uuid.UUID, tuple[int, float, int]]] = defaultdict(dict)
    for row in rows:
        by_period[row.period_start][row.arm_id] = (row.assigned, row.intended, row.observed)
    out: list[SRMPeriod] = []
    for start in sorted(by_period, reverse=True):
        cells = [by_period[start].get(arm.id, (0, 0.0, 0)) for arm in arms]
        result = srm_check([c[2] for c in cells], [c[1] for c in cells], alpha)
        out.append(
            SRMPeriod(
                period_start=start,
                assigned={names[a.id]: c[0] for a, c in zip(arms, cells, strict=True)},
                intended={names[a.id]: round(c[1], 3) for a, c in zip(arms, cells, strict=True)},
                observed={names[a.id]: c[2] for a, c in zip(arms, cells, strict=True)},
                expected={
                    names[a.id]: round(e, 3) for a, e in zip(arms, result.expected, strict=True)
                },
                chi2=result.chi2 if np.isfinite(result.chi2) else None,
                df=result.df,
                p_value=result.p_value,
                sufficient=result.sufficient,
                mismatch=result.mismatch,
            )
        )
    return SRMReport(
        experiment_id=str(experiment.id),
        alpha=alpha,
        period_s=experiment.srm_period_s,
        periods=out,
        mismatched_periods=sum(p.mismatch for p in out),
    )
