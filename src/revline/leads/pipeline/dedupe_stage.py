"""The dedupe stage of `revline run`: the leads' identity fields through the dedupe engine, and
cluster facts (with explanations and golden records) back onto each lead.

Stored answers about pairs decide pairs again; with REVLINE_DEDUPE_LLM=true uncertain pairs go
to the LLM gateway and each answer is stored the moment it arrives.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import func, literal, select, update

from revline.kernel.config import Settings
from revline.kernel.db import Database
from revline.kernel.errors import LLMNotConfigured
from revline.leads.dedupe.config import effective_config
from revline.leads.dedupe.keys import record_from_lead
from revline.leads.dedupe.review import Judge, PairLabel, ReviewPair
from revline.leads.dedupe.runs import cluster_records, llm_judge
from revline.leads.importer import normalize_header
from revline.leads.models import Lead, LeadRun
from revline.leads.pipeline.options import STAGE_BATCH
from revline.leads.pipeline.summary import dedupe_summary, lead_cluster
from revline.leads.progress import Progress
from revline.leads.repository import DedupeLabelRepository


def recency_columns(columns: Sequence[str], wanted: Sequence[str]) -> tuple[str, ...]:
    """The input's "last updated" columns that survivorship can use (by normalized name)."""
    keys = {normalize_header(w) for w in wanted}
    return tuple(c for c in columns if normalize_header(c) in keys)


class DedupeStage:
    """One run's dedupe stage; the runner owns the run, this owns its short transactions."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        tenant_id: uuid.UUID,
        progress: Progress,
        note: Callable[[str], None],
        count_llm_call: Callable[[], None],
    ) -> None:
        self.db = db
        self.settings = settings
        self.tenant_id = tenant_id
        self.progress = progress
        self.note = note
        self.count_llm_call = count_llm_call

    def run(self, run_id: uuid.UUID) -> None:
        """Cluster the run's leads and store each lead's cluster facts."""
        cfg = effective_config(self.settings)
        with self.db.session() as session:
            run = session.get(LeadRun, run_id)
            columns = list(run.original_columns) if run is not None else []
            recency = recency_columns(columns, cfg.survivorship.recency_columns)
            total = session.scalar(select(func.count()).where(Lead.run_id == run_id)) or 0
            labels = DedupeLabelRepository(session, self.tenant_id).all_labels()
        self.progress.stage("Dedupe", total)
        # Stream the few fields dedupe reads (raw cells only when a "last updated" column
        # exists): holding every lead's JSON at once costs more memory than dedupe itself.
        by_key: dict[str, uuid.UUID] = {}
        records = []
        raw_col: Any = Lead.raw if recency else literal(None)
        with self.db.session() as session:
            stmt = (
                select(Lead.id, Lead.row_index, Lead.fields, Lead.contact, raw_col)
                .where(Lead.run_id == run_id)
                .order_by(Lead.row_index)
                .execution_options(yield_per=STAGE_BATCH)
            )
            for lead_id, row_index, fields_, contact, raw in session.execute(stmt):
                key = str(row_index)
                by_key[key] = lead_id
                records.append(record_from_lead(key, fields_, contact, raw or {}, recency))
        result = cluster_records(
            self.settings, records, config=cfg, labels=labels, judge=self._judge(run_id),
            on_labels=self._persist_labels,
        )
        updates = [
            {"id": by_key[key], "cluster": lead_cluster(info)}
            for key, info in result.clusters.items()
        ]
        for start in range(0, len(updates), STAGE_BATCH):
            chunk = updates[start : start + STAGE_BATCH]
            with self.db.session() as session:
                session.execute(update(Lead), chunk)
            self.progress.advance(len(chunk))
        for text in result.stats.notes:
            self.note(f"Dedupe: {text}")
        with self.db.session() as session:
            run = session.get(LeadRun, run_id)
            if run is not None:
                run.summary = {**(run.summary or {}), "dedupe": dedupe_summary(result.stats)}

    def _judge(self, run_id: uuid.UUID) -> Judge | None:
        """LLM review of uncertain pairs when REVLINE_DEDUPE_LLM is on and an LLM exists."""
        if not self.settings.dedupe_llm:
            return None
        try:
            judge = llm_judge(self.settings, self.tenant_id, job_id=run_id)
        except LLMNotConfigured as exc:
            self.note(f"Dedupe LLM review off: {exc.message}")
            return None

        def counted(pairs: Sequence[ReviewPair]) -> Sequence[PairLabel | None]:
            self.count_llm_call()
            return judge(pairs)

        return counted

    def _persist_labels(self, labels: Sequence[PairLabel]) -> None:
        """Store LLM answers at once, so a crash right after keeps what was paid for."""
        with self.db.session() as session:
            DedupeLabelRepository(session, self.tenant_id).upsert_many(labels)
