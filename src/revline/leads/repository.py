"""All SQL for lead runs, always scoped to one tenant."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from revline.kernel.db.repository import TenantRepository
from revline.leads.models import Lead, LeadRun, LearnedRule


class LeadRunRepository(TenantRepository[LeadRun]):
    """Runs of this tenant."""

    model = LeadRun


class LeadRepository(TenantRepository[Lead]):
    """Leads of this tenant."""

    model = Lead

    def for_run(self, run_id: uuid.UUID, limit: int = 100, offset: int = 0) -> list[Lead]:
        """A page of a run's leads in input order."""
        stmt = (
            self.query()
            .where(Lead.run_id == run_id)
            .order_by(Lead.row_index)
            .limit(limit)
            .offset(offset)
        )
        return list(self.session.scalars(stmt))

    def stage_counts(self, run_id: uuid.UUID) -> dict[int, int]:
        """How many leads sit at each stage: the run's progress."""
        from sqlalchemy import func

        rows: Any = self.session.execute(
            select(Lead.stage, func.count())
            .where(Lead.tenant_id == self.tenant_id, Lead.run_id == run_id)
            .group_by(Lead.stage)
        ).all()
        return {int(stage): int(count) for stage, count in rows}


class LearnedRuleRepository(TenantRepository[LearnedRule]):
    """Classification rules this tenant learned (mostly from LLM answers)."""

    model = LearnedRule

    def list_all(self) -> list[LearnedRule]:
        """Every rule, to seed a cascade."""
        return list(self.session.scalars(self.query()))

    def upsert(self, field: str, value: str, vertical: str, source: str) -> LearnedRule:
        """Insert the rule, or point the existing one at the new answer and count the hit."""
        value = value[:300]
        row = self.session.scalars(
            self.query().where(LearnedRule.field == field, LearnedRule.value == value)
        ).first()
        if row is None:
            return self.add(field=field, value=value, vertical=vertical, source=source)
        row.vertical = vertical
        row.hits += 1
        return row
