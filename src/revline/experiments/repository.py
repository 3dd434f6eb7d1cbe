"""All SQL of the experiments domain, scoped to one tenant (one sweep query excepted)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from revline.experiments.models import (
    Allocation,
    Arm,
    Experiment,
    ModelAlias,
    ModelEvent,
    ModelOutcome,
    ModelVersion,
    Observation,
)
from revline.kernel.db.base import utcnow
from revline.kernel.db.repository import TenantRepository


class ExperimentRepository(TenantRepository[Experiment]):
    """Experiments of this tenant."""

    model = Experiment

    def by_name(self, name: str) -> Experiment | None:
        """The experiment with this name, if any."""
        return self.session.scalars(self.query().where(Experiment.name == name)).first()

    def lock(self, experiment_id: uuid.UUID) -> int:
        """Take the experiment's write lock by bumping its posterior version; returns it.

        An UPDATE is the one statement that locks a row on PostgreSQL and takes the database
        write lock up front on SQLite, so concurrent posterior updates serialize on both.
        """
        self.session.execute(
            update(Experiment)
            .where(Experiment.id == experiment_id, Experiment.tenant_id == self.tenant_id)
            .values(posterior_version=Experiment.posterior_version + 1)
        )
        version = self.session.scalar(
            select(Experiment.posterior_version).where(Experiment.id == experiment_id)
        )
        return int(version or 0)


class ArmRepository(TenantRepository[Arm]):
    """Arms of this tenant's experiments."""

    model = Arm

    def for_experiment(self, experiment_id: uuid.UUID, fresh: bool = False) -> list[Arm]:
        """Arms in creation order (their index in the bandit's arrays); `fresh` re-reads rows."""
        stmt = self.query().where(Arm.experiment_id == experiment_id).order_by(Arm.position)
        if fresh:
            stmt = stmt.execution_options(populate_existing=True)
        return list(self.session.scalars(stmt))

    def add_decisions(self, counts: dict[uuid.UUID, int]) -> None:
        """Atomically add decision counts (safe under concurrent decide calls)."""
        for arm_id, n in counts.items():
            if n:
                self.session.execute(
                    update(Arm)
                    .where(Arm.id == arm_id, Arm.tenant_id == self.tenant_id)
                    .values(decisions=Arm.decisions + n)
                )


class ObservationRepository(TenantRepository[Observation]):
    """Observations of this tenant's experiments."""

    model = Observation

    def existing_event_ids(self, experiment_id: uuid.UUID, event_ids: Sequence[str]) -> list[str]:
        """Which of these event ids are already stored for the experiment."""
        found: list[str] = []
        for start in range(0, len(event_ids), 500):
            chunk = list(event_ids[start : start + 500])
            found.extend(
                self.session.scalars(
                    select(Observation.event_id).where(
                        Observation.tenant_id == self.tenant_id,
                        Observation.experiment_id == experiment_id,
                        Observation.event_id.in_(chunk),
                    )
                )
            )
        return found

    def pending(self, experiment_id: uuid.UUID, limit: int) -> list[Observation]:
        """Observations not yet in the posteriors, in arrival order (the decay clock's order)."""
        stmt = (
            self.query()
            .where(Observation.experiment_id == experiment_id, Observation.applied_at.is_(None))
            .order_by(Observation.created_at, Observation.id)
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    def pending_count(self, experiment_id: uuid.UUID) -> int:
        """How many observations wait for the next posterior update."""
        stmt = select(func.count()).where(
            Observation.tenant_id == self.tenant_id,
            Observation.experiment_id == experiment_id,
            Observation.applied_at.is_(None),
        )
        return int(self.session.scalar(stmt) or 0)

    def mark_applied(self, ids: Sequence[uuid.UUID], when: datetime) -> None:
        """Flag observations as folded into the posteriors."""
        for start in range(0, len(ids), 500):
            self.session.execute(
                update(Observation)
                .where(Observation.id.in_(list(ids[start : start + 500])))
                .values(applied_at=when)
            )


def experiments_with_pending(
    session: Session, limit: int = 1000
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(tenant_id, experiment_id) of every experiment with pending observations, all tenants.

    The one cross-tenant query: the periodic sweep that re-runs lost posterior updates.
    """
    stmt = (
        select(Observation.tenant_id, Observation.experiment_id)
        .where(Observation.applied_at.is_(None))
        .group_by(Observation.tenant_id, Observation.experiment_id)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in session.execute(stmt)]


class AllocationRepository(TenantRepository[Allocation]):
    """Per-period allocation counters used by the SRM report."""

    model = Allocation

    def bump(
        self,
        experiment_id: uuid.UUID,
        period_start: datetime,
        rows: Iterable[tuple[uuid.UUID, int, float, int]],
    ) -> None:
        """Add (arm_id, assigned, intended, observed) to each arm's period row (upsert)."""
        dialect = self.session.get_bind().dialect.name
        insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
        for arm_id, assigned, intended, observed in rows:
            stmt = insert(Allocation).values(
                id=uuid.uuid4(),
                tenant_id=self.tenant_id,
                experiment_id=experiment_id,
                arm_id=arm_id,
                period_start=period_start,
                assigned=assigned,
                intended=intended,
                observed=observed,
            )
            excluded = stmt.excluded
            self.session.execute(
                stmt.on_conflict_do_update(
                    index_elements=[Allocation.arm_id, Allocation.period_start],
                    set_={
                        "assigned": Allocation.assigned + excluded.assigned,
                        "intended": Allocation.intended + excluded.intended,
                        "observed": Allocation.observed + excluded.observed,
                    },
                )
            )

    def recent(self, experiment_id: uuid.UUID, periods: int) -> list[Allocation]:
        """Rows of the latest `periods` periods, newest first."""
        starts = list(
            self.session.scalars(
                select(Allocation.period_start)
                .where(
                    Allocation.tenant_id == self.tenant_id,
                    Allocation.experiment_id == experiment_id,
                )
                .group_by(Allocation.period_start)
                .order_by(Allocation.period_start.desc())
                .limit(periods)
            )
        )
        if not starts:
            return []
        stmt = (
            self.query()
            .where(Allocation.experiment_id == experiment_id, Allocation.period_start.in_(starts))
            .order_by(Allocation.period_start.desc())
        )
        return list(self.session.scalars(stmt))


class ModelVersionRepository(TenantRepository[ModelVersion]):
    """Registered model versions of this tenant."""

    model = ModelVersion

    def find(self, name: str, version: str) -> ModelVersion | None:
        """One version of a model, if registered."""
        stmt = self.query().where(ModelVersion.name == name, ModelVersion.version == version)
        return self.session.scalars(stmt).first()

    def for_name(self, name: str) -> list[ModelVersion]:
        """Every version of a model, oldest first."""
        stmt = self.query().where(ModelVersion.name == name).order_by(ModelVersion.created_at)
        return list(self.session.scalars(stmt))

    def names(self) -> list[tuple[str, int, datetime]]:
        """(name, versions, latest registration) per model."""
        stmt = (
            select(ModelVersion.name, func.count(), func.max(ModelVersion.created_at))
            .where(ModelVersion.tenant_id == self.tenant_id)
            .group_by(ModelVersion.name)
            .order_by(ModelVersion.name)
        )
        return [(str(r[0]), int(r[1]), r[2]) for r in self.session.execute(stmt)]


class ModelAliasRepository(TenantRepository[ModelAlias]):
    """Aliases (champion, challenger, ...) of this tenant's models."""

    model = ModelAlias

    def for_name(self, name: str) -> list[ModelAlias]:
        """Every alias of a model."""
        stmt = self.query().where(ModelAlias.name == name).order_by(ModelAlias.alias)
        return list(self.session.scalars(stmt))

    def find(self, name: str, alias: str) -> ModelAlias | None:
        """One alias, if set."""
        stmt = self.query().where(ModelAlias.name == name, ModelAlias.alias == alias)
        return self.session.scalars(stmt).first()


class ModelOutcomeRepository(TenantRepository[ModelOutcome]):
    """Online outcomes logged per model version."""

    model = ModelOutcome

    def existing_event_ids(self, name: str, event_ids: Sequence[str]) -> list[str]:
        """Which of these event ids are already logged for the model."""
        found: list[str] = []
        for start in range(0, len(event_ids), 500):
            found.extend(
                self.session.scalars(
                    select(ModelOutcome.event_id).where(
                        ModelOutcome.tenant_id == self.tenant_id,
                        ModelOutcome.name == name,
                        ModelOutcome.event_id.in_(list(event_ids[start : start + 500])),
                    )
                )
            )
        return found

    def summary(self, version_id: uuid.UUID) -> tuple[int, float, float, int]:
        """(count, sum, sum of squares, count of values other than 0 and 1) for a version."""
        value = ModelOutcome.value
        stmt = select(
            func.count(),
            func.coalesce(func.sum(value), 0.0),
            func.coalesce(func.sum(value * value), 0.0),
            func.count().filter(value.not_in([0.0, 1.0])),
        ).where(ModelOutcome.tenant_id == self.tenant_id, ModelOutcome.version_id == version_id)
        row = self.session.execute(stmt).one()
        return int(row[0]), float(row[1]), float(row[2]), int(row[3])


class ModelEventRepository(TenantRepository[ModelEvent]):
    """The registry's audit trail."""

    model = ModelEvent

    def record(self, name: str, action: str, **values: Any) -> ModelEvent:
        """Append one audit event."""
        return self.add(name=name, action=action, created_at=utcnow(), **values)

    def for_name(self, name: str, limit: int = 200) -> list[ModelEvent]:
        """A model's events, oldest first."""
        stmt = (
            self.query()
            .where(ModelEvent.name == name)
            .order_by(ModelEvent.created_at, ModelEvent.id)
            .limit(limit)
        )
        return list(self.session.scalars(stmt))
