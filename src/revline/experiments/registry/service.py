"""Model registry rules: versions, champion/challenger aliases, sticky traffic split, promotion.

Never commits; the caller owns the transaction. Every registration, alias change and promotion
appends a row to the audit trail (`model_events`) in the same transaction, so the trail and the
state cannot disagree.
"""

from __future__ import annotations

import hashlib
import math
import re
import uuid
from collections import Counter

import numpy as np
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from revline.experiments.bandit import prob_best_beta, prob_best_gaussian
from revline.experiments.models import ModelAlias, ModelOutcome, ModelVersion
from revline.experiments.registry.schemas import (
    ALIAS_PATTERN,
    AliasOut,
    ArmResult,
    Assignment,
    Evaluation,
    EventOut,
    MetricKind,
    ModelOut,
    ModelSummary,
    OutcomeIn,
    VersionIn,
    VersionOut,
)
from revline.experiments.repository import (
    ModelAliasRepository,
    ModelEventRepository,
    ModelOutcomeRepository,
    ModelVersionRepository,
)
from revline.experiments.schemas import NAME_PATTERN
from revline.kernel.config import Settings
from revline.kernel.errors import Conflict, InvalidInput, NotFound

CHAMPION = "champion"
CHALLENGER = "challenger"
# Fixed seed: the same logged outcomes always give the same verdict.
_EVAL_SEED = 20_260_101


def _check_name(name: str) -> str:
    if not re.match(NAME_PATTERN, name):
        raise InvalidInput(
            f"model name {name!r} is invalid: use letters, digits, '_', '.', ':' or '-' (max 100)"
        )
    return name


def _version_out(row: ModelVersion, aliases: list[ModelAlias]) -> VersionOut:
    return VersionOut(
        name=row.name,
        version=row.version,
        artifact_uri=row.artifact_uri,
        params=row.params,
        metrics=row.metrics,
        description=row.description,
        created_at=row.created_at,
        aliases=sorted(a.alias for a in aliases if a.version_id == row.id),
    )


def register_version(
    session: Session, tenant_id: uuid.UUID, name: str, data: VersionIn, actor: str
) -> VersionOut:
    """Register a version of a model; 409 if that version exists (versions are immutable)."""
    versions = ModelVersionRepository(session, tenant_id)
    if versions.find(_check_name(name), data.version) is not None:
        raise Conflict(f"model {name!r} version {data.version!r} is already registered")
    try:
        with session.begin_nested():
            row = versions.add(
                name=name,
                version=data.version,
                artifact_uri=data.artifact_uri,
                params=data.params,
                metrics=data.metrics,
                description=data.description,
            )
    except IntegrityError as exc:
        raise Conflict(f"model {name!r} version {data.version!r} is already registered") from exc
    ModelEventRepository(session, tenant_id).record(
        name,
        "register",
        to_version=data.version,
        actor=actor,
        details={"artifact_uri": data.artifact_uri, "metrics": data.metrics},
    )
    return _version_out(row, [])


def _versions(session: Session, tenant_id: uuid.UUID, name: str) -> list[ModelVersion]:
    rows = ModelVersionRepository(session, tenant_id).for_name(_check_name(name))
    if not rows:
        raise NotFound(f"model {name!r} not found; register a version first")
    return rows


def _version(session: Session, tenant_id: uuid.UUID, name: str, version: str) -> ModelVersion:
    rows = _versions(session, tenant_id, name)
    for row in rows:
        if row.version == version:
            return row
    known = ", ".join(r.version for r in rows[-10:])
    raise InvalidInput(f"model {name!r} has no version {version!r}; versions: {known}")


def list_models(session: Session, tenant_id: uuid.UUID) -> list[ModelSummary]:
    """Every model name with its version count and aliases."""
    versions = ModelVersionRepository(session, tenant_id)
    aliases = ModelAliasRepository(session, tenant_id)
    out = []
    for name, count, latest in versions.names():
        by_id = {v.id: v.version for v in versions.for_name(name)}
        out.append(
            ModelSummary(
                name=name,
                versions=count,
                latest_at=latest,
                aliases={a.alias: by_id[a.version_id] for a in aliases.for_name(name)},
            )
        )
    return out


def get_model(session: Session, tenant_id: uuid.UUID, name: str) -> ModelOut:
    """A model's versions and aliases."""
    rows = _versions(session, tenant_id, name)
    aliases = ModelAliasRepository(session, tenant_id).for_name(name)
    by_id = {v.id: v.version for v in rows}
    return ModelOut(
        name=name,
        versions=[_version_out(r, aliases) for r in rows],
        aliases=[
            AliasOut(
                alias=a.alias,
                version=by_id[a.version_id],
                traffic=a.traffic,
                updated_at=a.updated_at,
            )
            for a in aliases
        ],
    )


def set_alias(
    session: Session,
    tenant_id: uuid.UUID,
    name: str,
    alias: str,
    version: str,
    traffic: float | None,
    actor: str,
    settings: Settings,
) -> AliasOut:
    """Point an alias at a version (audited). A challenger needs a champion and a traffic share."""
    if not re.match(ALIAS_PATTERN, alias):
        raise InvalidInput(f"alias {alias!r} is invalid: lowercase letters, digits, '_' or '-'")
    target = _version(session, tenant_id, name, version)
    aliases = ModelAliasRepository(session, tenant_id)
    champion = aliases.find(name, CHAMPION)
    challenger = aliases.find(name, CHALLENGER)
    if traffic is not None and alias != CHALLENGER:
        raise InvalidInput("traffic applies to the challenger alias only")
    if alias == CHALLENGER:
        if champion is None:
            raise Conflict(f"model {name!r} has no champion; set one before a challenger")
        if champion.version_id == target.id:
            raise InvalidInput(f"version {version!r} is already the champion of {name!r}")
        traffic = traffic if traffic is not None else settings.experiments_challenger_traffic
        if not 0.0 < traffic < 1.0:
            raise InvalidInput(
                f"--traffic (the challenger's share of units) must be between 0 and 1, e.g. "
                f"0.1, not {traffic:g}"
            )
    elif alias == CHAMPION and challenger is not None and challenger.version_id == target.id:
        raise Conflict(
            f"version {version!r} is the challenger; promote it (`revline experiments models "
            f"promote {name}`) or remove the challenger alias first"
        )
    row = aliases.find(name, alias)
    previous = None
    by_id = {v.id: v.version for v in _versions(session, tenant_id, name)}
    if row is None:
        row = aliases.add(name=name, alias=alias, version_id=target.id, traffic=traffic or 0.0)
    else:
        previous = by_id.get(row.version_id)
        row.version_id = target.id
        row.traffic = traffic or 0.0
        session.flush()
    ModelEventRepository(session, tenant_id).record(
        name,
        "alias",
        alias=alias,
        from_version=previous,
        to_version=version,
        actor=actor,
        details={"traffic": row.traffic} if alias == CHALLENGER else {},
    )
    return AliasOut(alias=alias, version=version, traffic=row.traffic, updated_at=row.updated_at)


def remove_alias(session: Session, tenant_id: uuid.UUID, name: str, alias: str, actor: str) -> None:
    """Delete an alias (audited); the champion stays while a challenger depends on it."""
    aliases = ModelAliasRepository(session, tenant_id)
    row = aliases.find(_check_name(name), alias)
    if row is None:
        raise NotFound(f"model {name!r} has no alias {alias!r}")
    if alias == CHAMPION and aliases.find(name, CHALLENGER) is not None:
        raise Conflict("remove the challenger before the champion")
    by_id = {v.id: v.version for v in _versions(session, tenant_id, name)}
    ModelEventRepository(session, tenant_id).record(
        name, "unalias", alias=alias, from_version=by_id.get(row.version_id), actor=actor
    )
    session.delete(row)
    session.flush()


def bucket(salt: str, unit_id: str) -> float:
    """A unit's fixed position in [0, 1): sha256 of salt and unit id, so it is sticky."""
    digest = hashlib.sha256(f"{salt}\x00{unit_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def assign(
    session: Session, tenant_id: uuid.UUID, name: str, unit_ids: list[str]
) -> list[Assignment]:
    """Route units to champion or challenger: deterministic and sticky per unit.

    A unit goes to the challenger when its bucket (hashed with the model and the challenger's
    version) is below the challenger's traffic share, so raising the share only adds units, and
    each new challenger is tried on a fresh random slice of units.
    """
    aliases = ModelAliasRepository(session, tenant_id)
    champion = aliases.find(_check_name(name), CHAMPION)
    if champion is None:
        raise Conflict(
            f"model {name!r} has no champion; `revline experiments models alias` sets one"
        )
    challenger = aliases.find(name, CHALLENGER)
    by_id = {v.id: v.version for v in _versions(session, tenant_id, name)}
    out = []
    for unit in unit_ids:
        if challenger is not None:
            salt = f"{name}\x00{by_id[challenger.version_id]}"
            if bucket(salt, unit) < challenger.traffic:
                out.append(
                    Assignment(unit_id=unit, alias=CHALLENGER, version=by_id[challenger.version_id])
                )
                continue
        out.append(Assignment(unit_id=unit, alias=CHAMPION, version=by_id[champion.version_id]))
    return out


def log_outcomes(session: Session, tenant_id: uuid.UUID, name: str, items: list[OutcomeIn]) -> int:
    """Store outcomes all or none: unknown version 422, an event id seen before 409."""
    versions = {v.version: v for v in _versions(session, tenant_id, name)}
    unknown = sorted({o.version for o in items if o.version not in versions})
    if unknown:
        raise InvalidInput(f"model {name!r} has no version(s) {', '.join(map(repr, unknown))}")
    ids = [o.event_id for o in items]
    repeated = sorted(k for k, v in Counter(ids).items() if v > 1)
    if repeated:
        raise Conflict(f"event id(s) repeated in the batch: {', '.join(repeated[:5])}")
    seen = ModelOutcomeRepository(session, tenant_id).existing_event_ids(name, ids)
    if seen:
        raise Conflict(
            f"duplicate outcome: event id {', '.join(map(repr, seen[:5]))} already logged; "
            "nothing was stored"
        )
    try:
        with session.begin_nested():
            session.add_all(
                ModelOutcome(
                    tenant_id=tenant_id,
                    name=name,
                    version_id=versions[o.version].id,
                    event_id=o.event_id,
                    unit_id=o.unit_id,
                    value=o.value,
                )
                for o in items
            )
            session.flush()
    except IntegrityError as exc:
        raise Conflict("duplicate outcome: an event id was logged concurrently") from exc
    return len(items)


def evaluate(
    session: Session,
    tenant_id: uuid.UUID,
    name: str,
    settings: Settings,
    confidence: float | None = None,
    min_samples: int | None = None,
    kind: MetricKind = "auto",
) -> Evaluation:
    """P(challenger's mean outcome > champion's), from the outcomes logged for each version.

    Binary outcomes: Beta(1 + successes, 1 + failures) posteriors. Values: Normal posteriors of
    the means (sample mean, standard error), fine from a few dozen outcomes on.
    """
    if confidence is not None and not 0.5 < confidence < 1.0:
        raise InvalidInput(
            f"--confidence (the P(challenger better) needed) must be between 0.5 and 1, e.g. "
            f"0.95, not {confidence:g}"
        )
    if min_samples is not None and min_samples < 1:
        raise InvalidInput(f"--min-samples must be at least 1, not {min_samples}")
    confidence = confidence if confidence is not None else settings.experiments_promote_confidence
    min_samples = (
        min_samples if min_samples is not None else settings.experiments_promote_min_samples
    )
    aliases = ModelAliasRepository(session, tenant_id)
    champion = aliases.find(_check_name(name), CHAMPION)
    challenger = aliases.find(name, CHALLENGER)
    if champion is None or challenger is None:
        raise Conflict(f"model {name!r} needs both a champion and a challenger to compare")
    by_id = {v.id: v.version for v in _versions(session, tenant_id, name)}
    outcomes = ModelOutcomeRepository(session, tenant_id)
    n0, s0, q0, odd0 = outcomes.summary(champion.version_id)
    n1, s1, q1, odd1 = outcomes.summary(challenger.version_id)
    if kind == "auto":
        kind = "binary" if odd0 == 0 and odd1 == 0 else "continuous"
    if kind == "binary" and (odd0 or odd1):
        raise InvalidInput("binary evaluation needs 0/1 outcomes; use kind=continuous for values")
    mean0 = s0 / n0 if n0 else None
    mean1 = s1 / n1 if n1 else None
    rng = np.random.default_rng(_EVAL_SEED)
    draws = settings.experiments_prob_best_draws
    prob: float | None = None
    if kind == "binary":
        prob = float(prob_best_beta([1 + s0, 1 + s1], [1 + n0 - s0, 1 + n1 - s1], draws, rng)[1])
    elif n0 >= 2 and n1 >= 2:
        se = [_std_error(n0, s0, q0), _std_error(n1, s1, q1)]
        prob = float(prob_best_gaussian([s0 / n0, s1 / n1], se, draws, rng)[1])
    lift = (mean1 - mean0) / abs(mean0) if mean0 and mean1 is not None else None
    if min(n0, n1) < min_samples:
        ready, reason = False, f"needs {min_samples} outcomes per version (have {n0} and {n1})"
    elif prob is None or prob < confidence:
        shown = "n/a" if prob is None else f"{prob:.3f}"
        ready, reason = False, f"P(challenger better) = {shown} < {confidence}"
    else:
        ready, reason = True, f"P(challenger better) = {prob:.3f} >= {confidence}"
    return Evaluation(
        name=name,
        kind=kind,
        champion=ArmResult(version=by_id[champion.version_id], n=n0, mean=mean0),
        challenger=ArmResult(version=by_id[challenger.version_id], n=n1, mean=mean1),
        prob_challenger_better=prob,
        lift=lift,
        confidence=confidence,
        min_samples=min_samples,
        ready=ready,
        reason=reason,
    )


def _std_error(n: int, total: float, squares: float) -> float:
    var = max(squares - total * total / n, 0.0) / (n - 1)
    return math.sqrt(var / n)


def promote(
    session: Session,
    tenant_id: uuid.UUID,
    name: str,
    actor: str,
    settings: Settings,
    confidence: float | None = None,
    min_samples: int | None = None,
    kind: MetricKind = "auto",
) -> Evaluation:
    """Make the challenger champion if it wins with the set confidence; else 409, no change."""
    result = evaluate(session, tenant_id, name, settings, confidence, min_samples, kind)
    if not result.ready:
        raise Conflict(f"not promoted: {result.reason}")
    aliases = ModelAliasRepository(session, tenant_id)
    champion = aliases.find(name, CHAMPION)
    challenger = aliases.find(name, CHALLENGER)
    if champion is None or challenger is None:  # evaluate() checked; keeps the types honest
        raise Conflict(f"model {name!r} needs both a champion and a challenger to compare")
    champion.version_id = challenger.version_id
    session.delete(challenger)
    session.flush()
    ModelEventRepository(session, tenant_id).record(
        name,
        "promote",
        alias=CHAMPION,
        from_version=result.champion.version,
        to_version=result.challenger.version,
        actor=actor,
        details=result.model_dump(mode="json"),
    )
    return result


def history(session: Session, tenant_id: uuid.UUID, name: str, limit: int = 200) -> list[EventOut]:
    """The audit trail of a model, oldest first."""
    rows = ModelEventRepository(session, tenant_id).for_name(_check_name(name), limit)
    if not rows:
        raise NotFound(f"model {name!r} has no history; register a version first")
    return [
        EventOut(
            action=r.action,
            alias=r.alias,
            from_version=r.from_version,
            to_version=r.to_version,
            actor=r.actor,
            details=r.details,
            created_at=r.created_at,
        )
        for r in rows
    ]
