"""All SQL of the workflows domain; every query is filtered by tenant."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from revline.kernel.db.base import utcnow
from revline.kernel.db.repository import TenantRepository
from revline.kernel.errors import InvalidInput, NotFound
from revline.workflows.models import (
    NodeTemplate,
    PatternUsage,
    WorkflowBatch,
    WorkflowEvent,
    WorkflowGeneration,
    WorkflowVersion,
)

FINISHED = ("done", "failed")


class GenerationRepository(TenantRepository[WorkflowGeneration]):
    """Generations of one tenant."""

    model = WorkflowGeneration

    def find(self, ref: str) -> WorkflowGeneration:
        """By full id or a unique id prefix (as the CLI prints them), else NotFound."""
        text = ref.strip().lower()
        try:
            return self.get(uuid.UUID(text))
        except ValueError:
            pass
        except NotFound:
            raise NotFound(f"generation {ref} not found; `revline workflows history` lists "
                           "them") from None
        if len(text) < 4 or any(c not in "0123456789abcdef-" for c in text):
            raise InvalidInput(f"{ref!r} is not a generation id (a UUID or at least 4 of its "
                               "first hex digits)")
        rows = [r for r in self.session.scalars(self.query().order_by(
            WorkflowGeneration.created_at.desc())) if str(r.id).startswith(text)]
        if not rows:
            raise NotFound(f"generation {ref} not found; `revline workflows history` lists "
                           "them")
        if len(rows) > 1:
            raise InvalidInput(f"{ref!r} matches {len(rows)} generations; give more digits")
        return rows[0]

    def page(self, limit: int, offset: int, status: str | None = None,
             mode: str | None = None, batch_id: uuid.UUID | None = None
             ) -> list[WorkflowGeneration]:
        """Newest first, optionally by status, mode or batch."""
        stmt = self.query()
        if status:
            stmt = stmt.where(WorkflowGeneration.status == status)
        if mode:
            stmt = stmt.where(WorkflowGeneration.mode == mode)
        if batch_id is not None:
            stmt = stmt.where(WorkflowGeneration.batch_id == batch_id).order_by(
                WorkflowGeneration.batch_index)
        else:
            stmt = stmt.order_by(WorkflowGeneration.created_at.desc())
        return list(self.session.scalars(stmt.limit(limit).offset(offset)))

    def claim(self, generation_id: uuid.UUID, stale_after_s: float) -> bool:
        """Take a queued run, or one whose process went silent; False when someone has it."""
        now = utcnow()
        stale = now - timedelta(seconds=stale_after_s)
        result = self.session.execute(
            update(WorkflowGeneration)
            .where(WorkflowGeneration.id == generation_id,
                   WorkflowGeneration.tenant_id == self.tenant_id,
                   or_(WorkflowGeneration.status == "queued",
                       (WorkflowGeneration.status == "running")
                       & (WorkflowGeneration.updated_at < stale)))
            .values(status="running", attempts=WorkflowGeneration.attempts + 1,
                    updated_at=now, error=None, error_status=None, finished_at=None)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))


def stalled(session: Session, stale_after_s: float, limit: int = 500
            ) -> list[tuple[uuid.UUID, uuid.UUID, uuid.UUID | None]]:
    """(tenant, generation, batch) of queued or running runs silent for too long (any tenant)."""
    cutoff = utcnow() - timedelta(seconds=stale_after_s)
    rows = session.execute(
        select(WorkflowGeneration.tenant_id, WorkflowGeneration.id, WorkflowGeneration.batch_id)
        .where(WorkflowGeneration.status.in_(("queued", "running")),
               WorkflowGeneration.updated_at < cutoff)
        .order_by(WorkflowGeneration.updated_at).limit(limit)
    ).all()
    return [(r[0], r[1], r[2]) for r in rows]


class VersionRepository(TenantRepository[WorkflowVersion]):
    """Versions of a tenant's generations."""

    model = WorkflowVersion

    def of(self, generation_id: uuid.UUID) -> list[WorkflowVersion]:
        """Every version of a generation, oldest first."""
        return list(self.session.scalars(self.query().where(
            WorkflowVersion.generation_id == generation_id).order_by(WorkflowVersion.number)))

    def number(self, generation_id: uuid.UUID, number: int) -> WorkflowVersion:
        """One version by number, else NotFound."""
        row = self.session.scalars(self.query().where(
            WorkflowVersion.generation_id == generation_id,
            WorkflowVersion.number == number)).first()
        if row is None:
            raise NotFound(f"generation {generation_id} has no version {number}")
        return row

    def count_of(self, generation_id: uuid.UUID) -> int:
        """How many versions a generation has."""
        return int(self.session.scalar(select(func.count()).select_from(WorkflowVersion).where(
            WorkflowVersion.tenant_id == self.tenant_id,
            WorkflowVersion.generation_id == generation_id)) or 0)


class EventRepository(TenantRepository[WorkflowEvent]):
    """Progress events of a tenant's generations."""

    model = WorkflowEvent

    def last_seq(self, generation_id: uuid.UUID) -> int:
        """Highest event number so far (0 when none)."""
        return int(self.session.scalar(select(func.max(WorkflowEvent.seq)).where(
            WorkflowEvent.tenant_id == self.tenant_id,
            WorkflowEvent.generation_id == generation_id)) or 0)

    def since(self, generation_id: uuid.UUID, seq: int, limit: int = 500
              ) -> list[WorkflowEvent]:
        """Events after `seq`, in order."""
        return list(self.session.scalars(self.query().where(
            WorkflowEvent.generation_id == generation_id, WorkflowEvent.seq > seq)
            .order_by(WorkflowEvent.seq).limit(limit)))

    def append(self, generation_id: uuid.UUID, stage: str, status: str, message: str,
               data: dict[str, Any], at: datetime) -> WorkflowEvent:
        """Add the next event of a generation."""
        return self.add(generation_id=generation_id, seq=self.last_seq(generation_id) + 1,
                        stage=stage, status=status, message=message[:2000], data=data,
                        created_at=at)


class BatchRepository(TenantRepository[WorkflowBatch]):
    """Batches of a tenant."""

    model = WorkflowBatch

    def counts(self, batch_id: uuid.UUID) -> dict[str, int]:
        """Items per status."""
        rows = self.session.execute(
            select(WorkflowGeneration.status, func.count())
            .where(WorkflowGeneration.tenant_id == self.tenant_id,
                   WorkflowGeneration.batch_id == batch_id)
            .group_by(WorkflowGeneration.status)).all()
        return {str(status): int(n) for status, n in rows}


class UsageRepository(TenantRepository[PatternUsage]):
    """Which patterns were retrieved and used, per version."""

    model = PatternUsage


class TemplateRepository(TenantRepository[NodeTemplate]):
    """A tenant's node templates."""

    model = NodeTemplate

    def by_template_id(self, template_id: str) -> NodeTemplate | None:
        """One template by its id."""
        return self.session.scalars(self.query().where(
            NodeTemplate.template_id == template_id)).first()

    def all(self) -> list[NodeTemplate]:
        """Every template, by id."""
        return list(self.session.scalars(self.query().order_by(NodeTemplate.template_id)))

    def count_uses(self, template_ids: list[str]) -> None:
        """Count one more use of each template."""
        if template_ids:
            self.session.execute(
                update(NodeTemplate)
                .where(NodeTemplate.tenant_id == self.tenant_id,
                       NodeTemplate.template_id.in_(template_ids))
                .values(uses=NodeTemplate.uses + 1)
                .execution_options(synchronize_session=False))
