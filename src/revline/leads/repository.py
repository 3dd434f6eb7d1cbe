"""All SQL for lead runs, learned rules and dedupe state/labels, always scoped to one tenant."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select, tuple_

from revline.kernel.db.repository import TenantRepository
from revline.leads.dedupe.review import PairLabel
from revline.leads.models import DedupeLabel, DedupeState, Lead, LeadRun, LearnedRule


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


class DedupeStateRepository(TenantRepository[DedupeState]):
    """Saved dedupe states (model + clustered records) by name."""

    model = DedupeState

    def by_name(self, name: str) -> DedupeState | None:
        """The state called `name`, if any."""
        return self.session.scalars(self.query().where(DedupeState.name == name)).first()

    def names(self) -> list[str]:
        """All state names, for error messages."""
        return list(self.session.scalars(
            select(DedupeState.name).where(DedupeState.tenant_id == self.tenant_id)
            .order_by(DedupeState.name)
        ))


class DedupeLabelRepository(TenantRepository[DedupeLabel]):
    """Answers about pairs of identities (LLM or human), reused on every later run."""

    model = DedupeLabel

    def all_labels(self) -> list[PairLabel]:
        """Every stored answer, as the dedupe engine consumes them."""
        return [
            PairLabel(r.fp_a, r.fp_b, r.match, r.source, r.confidence, r.reason, r.record_a,
                      r.record_b)
            for r in self.session.scalars(self.query())
        ]

    def upsert_many(self, labels: Iterable[PairLabel]) -> int:
        """Store answers; a newer answer about the same pair replaces the older one. A person's
        answer is never overwritten by the LLM's."""
        latest: dict[tuple[str, str], PairLabel] = {}
        for label in labels:
            latest[(label.fp_a, label.fp_b)] = label
        if not latest:
            return 0
        keys: Sequence[tuple[str, str]] = list(latest)
        existing: dict[tuple[str, str], DedupeLabel] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            rows = self.session.scalars(
                self.query().where(tuple_(DedupeLabel.fp_a, DedupeLabel.fp_b).in_(chunk))
            )
            existing.update({(r.fp_a, r.fp_b): r for r in rows})
        written = 0
        for key, label in latest.items():
            row = existing.get(key)
            if row is None:
                self.session.add(DedupeLabel(
                    tenant_id=self.tenant_id, fp_a=label.fp_a, fp_b=label.fp_b,
                    match=label.match, source=label.source, confidence=label.confidence,
                    reason=label.reason[:2000], record_a=label.record_a[:200],
                    record_b=label.record_b[:200],
                ))
            elif row.source == "human" and label.source != "human":
                continue
            else:
                row.match, row.source = label.match, label.source
                row.confidence, row.reason = label.confidence, label.reason[:2000]
                row.record_a, row.record_b = label.record_a[:200], label.record_b[:200]
            written += 1
        self.session.flush()
        return written
