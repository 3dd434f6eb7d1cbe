"""The lead pipeline runner: import > validate > enrich > classify > dedupe > score > export.

Each stage moves leads forward one `stage` value at a time and commits in small batches, so a
crash or Ctrl-C loses at most the uncommitted batch and a re-run continues where it stopped.
The runner owns transactions (like a task wrapper); the stage logic it calls never commits.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from revline.kernel.cache import TTLCache
from revline.kernel.config import Settings
from revline.kernel.db import Database, utcnow
from revline.kernel.errors import Conflict, InvalidInput
from revline.leads.classify import (
    Cascade,
    ClassifyInput,
    LearnedRule,
    LLMClassifier,
    VerticalDictionary,
)
from revline.leads.enrich import Enricher, network_available
from revline.leads.export import write_xlsx
from revline.leads.importer import open_table
from revline.leads.models import (
    STAGE_CLASSIFIED,
    STAGE_ENRICHED,
    STAGE_SCORED,
    STAGE_VALIDATED,
    Lead,
    LeadRun,
)
from revline.leads.pipeline.dedupe_stage import DedupeStage
from revline.leads.pipeline.options import (
    HEARTBEAT_STALE_S,
    IMPORT_BATCH,
    STAGE_BATCH,
    STAGES,
    MockupWriter,
    RunOptions,
    classify_input,
    file_sha256,
    lead_result,
    pid_alive,
)
from revline.leads.pipeline.summary import histogram, tally
from revline.leads.progress import Progress, SilentProgress
from revline.leads.report import write_report
from revline.leads.repository import LearnedRuleRepository
from revline.leads.schemas import LeadResult, RunSummary
from revline.leads.scoring import ScoringEngine
from revline.leads.validate import ContactValidator


class LeadPipeline:
    """Runs one LeadRun to completion, resuming from whatever the DB says is already done."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        tenant_id: uuid.UUID,
        *,
        progress: Progress | None = None,
        llm_classifier: LLMClassifier | None = None,
        mockup_writer: MockupWriter | None = None,
        llm_unavailable_reason: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: bool | ssl.SSLContext = True,
    ) -> None:
        self.db = db
        self.settings = settings
        self.tenant_id = tenant_id
        self.progress: Progress = progress or SilentProgress()
        self.llm_classifier = llm_classifier
        self.mockup_writer = mockup_writer
        self.llm_unavailable_reason = llm_unavailable_reason
        self.transport = transport
        self.verify = verify
        self.llm_calls = 0
        self._notes: list[str] = []

    # ------------------------------------------------------------------ run lifecycle
    def prepare(self, options: RunOptions) -> uuid.UUID:
        """Find the unfinished run for this file+options, or create one; claim it for this pid."""
        path = options.input_path
        if not path.exists():
            raise InvalidInput(f"{path}: file not found")
        if path.suffix.lower() not in (".csv", ".xlsx", ".tsv", ".txt"):
            raise InvalidInput(f"{path}: unsupported file type {path.suffix!r}; use .csv or .xlsx")
        if options.tier not in (1, 2, 3):
            raise InvalidInput(f"--tier must be 1, 2 or 3, got {options.tier}")
        sha = file_sha256(path)
        key = options.key()
        output = options.resolved_output()
        with self.db.session() as session:
            run = None
            if not options.restart:
                run = session.scalars(
                    select(LeadRun)
                    .where(
                        LeadRun.tenant_id == self.tenant_id,
                        LeadRun.input_sha256 == sha,
                        LeadRun.options_key == key,
                        LeadRun.status != "completed",
                    )
                    .order_by(LeadRun.created_at.desc())
                ).first()
            if run is not None:
                self._claim(run)
                run.options = {**run.options, "output_xlsx": str(output)}
                self.progress.note(
                    f"Resuming run {run.id} at stage '{run.stage}' "
                    f"({run.imported_rows} rows already imported)"
                )
            else:
                run = LeadRun(
                    tenant_id=self.tenant_id,
                    input_path=str(path.resolve()),
                    input_name=path.name,
                    input_sha256=sha,
                    options_key=key,
                    tier=options.tier,
                    options={
                        "mapping": options.mapping,
                        "sheet": options.sheet,
                        "output_xlsx": str(output),
                    },
                    status="running",
                    stage="import",
                )
                session.add(run)
                session.flush()
                self._claim(run)
            return run.id

    def claim(self, run_id: uuid.UUID) -> None:
        """Take ownership of an existing (queued or crashed) run, e.g. inside a worker."""
        with self.db.session() as session:
            run = self._run(session, run_id)
            if run.status == "completed":
                raise Conflict(f"run {run_id} is already completed")
            self._claim(run)

    def _claim(self, run: LeadRun) -> None:
        """Refuse to run twice at once; a dead or stale owner (kill -9) is taken over."""
        me = (os.getpid(), socket.gethostname())
        if run.status == "running" and run.owner_pid and (run.owner_pid, run.owner_host) != me:
            fresh = run.heartbeat_at is not None and (
                (utcnow() - run.heartbeat_at).total_seconds() < HEARTBEAT_STALE_S
            )
            same_host = run.owner_host == me[1]
            if (same_host and pid_alive(run.owner_pid)) or (not same_host and fresh):
                raise Conflict(
                    f"run {run.id} is already in progress (pid {run.owner_pid} on "
                    f"{run.owner_host}); wait for it or stop that process"
                )
        run.owner_pid, run.owner_host = me
        run.heartbeat_at = utcnow()
        run.status = "running"
        run.error = None
        if run.started_at is None:
            run.started_at = utcnow()

    def execute(self, run_id: uuid.UUID) -> RunSummary:
        """Run every remaining stage; marks the run interrupted/failed on the way out."""
        started = time.monotonic()
        try:
            with self.db.session() as session:
                run = self._run(session, run_id)
                stage = run.stage
                tier = run.tier
                options = dict(run.options)
            for name in STAGES[STAGES.index(stage) :]:
                if name in ("export", "done"):
                    break
                self._set_stage(run_id, name)
                getattr(self, f"_stage_{name}")(run_id, tier, options)
            # Export is always redone in full: it is cheap, atomic and reflects the final state.
            self._set_stage(run_id, "export")
            summary = self._finish(run_id, time.monotonic() - started)
        except KeyboardInterrupt:
            self._mark(run_id, "interrupted", "interrupted by user; re-run to resume")
            raise
        except BaseException as exc:
            self._mark(run_id, "failed", f"{type(exc).__name__}: {exc}")
            raise
        finally:
            self.progress.close()
        return summary

    def _run(self, session: Session, run_id: uuid.UUID) -> LeadRun:
        run = session.get(LeadRun, run_id)
        if run is None or run.tenant_id != self.tenant_id:
            raise InvalidInput(f"run {run_id} not found")
        return run

    def _set_stage(self, run_id: uuid.UUID, name: str) -> None:
        with self.db.session() as session:
            run = self._run(session, run_id)
            run.stage = name
            run.heartbeat_at = utcnow()

    def _mark(self, run_id: uuid.UUID, status: str, error: str | None) -> None:
        with self.db.session() as session:
            run = session.get(LeadRun, run_id)
            if run is not None:
                run.status = status
                run.error = error
                run.notes = list(dict.fromkeys([*run.notes, *self._notes]))

    def note(self, text: str) -> None:
        """Say something once per run and keep it for the report."""
        if text not in self._notes:
            self._notes.append(text)
            self.progress.note(text)

    def _pending(self, session: Session, run_id: uuid.UUID, stage: int) -> int:
        return (
            session.scalar(select(func.count()).where(Lead.run_id == run_id, Lead.stage == stage))
            or 0
        )

    def _total(self, session: Session, run_id: uuid.UUID) -> int:
        return session.scalar(select(func.count()).where(Lead.run_id == run_id)) or 0

    def _batches(self, run_id: uuid.UUID, stage: int, size: int) -> Iterator[list[Lead]]:
        """Leads still at `stage`, oldest row first, one committed session per batch."""
        last = 0
        while True:
            with self.db.session() as session:
                leads = list(
                    session.scalars(
                        select(Lead)
                        .where(Lead.run_id == run_id, Lead.stage == stage, Lead.row_index > last)
                        .order_by(Lead.row_index)
                        .limit(size)
                    )
                )
                session.expunge_all()
            if not leads:
                return
            last = leads[-1].row_index
            yield leads

    # ------------------------------------------------------------------ stages
    def _stage_import(self, run_id: uuid.UUID, tier: int, options: dict[str, Any]) -> None:
        del tier
        with self.db.session() as session:
            run = self._run(session, run_id)
            path = Path(run.input_path)
            start_after = run.imported_rows
            total_known = run.total_rows
        validator = ContactValidator(check_mx=self.settings.check_mx)
        with open_table(path, options.get("mapping") or None, sheet=options.get("sheet")) as reader:
            for warning in getattr(reader, "warnings", []):
                self.note(f"{path.name}: {warning}")
            if total_known is None:
                total_known = reader.count_rows()
                with self.db.session() as session:
                    run = self._run(session, run_id)
                    run.total_rows = total_known
                    run.original_columns = list(reader.columns)
                    run.field_map = dict(reader.field_map)
            self.progress.stage("Import + validate", total_known, start_after)
            batch: list[dict[str, Any]] = []
            for row in reader.rows(start_after=start_after):
                contact = validator.validate(row.fields)
                errors = list(row.errors)
                if contact.get("email_error"):
                    errors.append(f"email: {contact['email_error']}")
                if contact.get("phone_error"):
                    errors.append(f"phone: {contact['phone_error']}")
                batch.append(
                    {
                        "id": uuid.uuid4(),
                        "tenant_id": self.tenant_id,
                        "run_id": run_id,
                        "row_index": row.row_index,
                        "stage": STAGE_VALIDATED,
                        "company": row.fields.get("company", "")[:300],
                        "email": (contact.get("email_normalized") or "")[:320],
                        "domain": (contact.get("domain") or "")[:253],
                        "raw": row.raw,
                        "fields": row.fields,
                        "row_errors": errors,
                        "contact": contact,
                        "enrichment": {},
                        "classification": {},
                        "score": {},
                        "cluster": {},
                    }
                )
                if len(batch) >= IMPORT_BATCH:
                    self._flush_import(run_id, batch)
                    batch = []
            if batch:
                self._flush_import(run_id, batch)

    def _flush_import(self, run_id: uuid.UUID, batch: list[dict[str, Any]]) -> None:
        with self.db.session() as session:
            session.execute(insert(Lead), batch)
            run = self._run(session, run_id)
            run.imported_rows = batch[-1]["row_index"]
            run.heartbeat_at = utcnow()
        self.progress.advance(len(batch))

    def _stage_enrich(self, run_id: uuid.UUID, tier: int, options: dict[str, Any]) -> None:
        del options
        with self.db.session() as session:
            pending = self._pending(session, run_id, STAGE_VALIDATED)
            total = self._total(session, run_id)
            hosts = list(
                session.scalars(
                    select(Lead.domain).where(Lead.run_id == run_id, Lead.domain != "").limit(50)
                )
            )
            sample_urls = [
                str(c.get("website_url") or "")
                for c in session.scalars(
                    select(Lead.contact).where(Lead.run_id == run_id).limit(50)
                )
            ]
        self.progress.stage(f"Enrich websites (tier {tier})", total, total - pending)
        if pending == 0:
            return
        probe_hosts = hosts + [httpx.URL(u).host for u in sample_urls if u.startswith("http")]
        if self.settings.offline == "auto":
            online = asyncio.run(network_available(self.settings, probe_hosts))
        else:
            online = self.settings.offline == "false"
        mockup = self.settings.mockup_for_tier(tier)
        if mockup and self.mockup_writer is None:
            self.note(
                "Mockup briefs skipped: " + (self.llm_unavailable_reason or "LLM not configured")
            )
        if not online:
            self.note(
                "No network: website enrichment skipped (sites recorded as offline). "
                "Set REVLINE_OFFLINE=false to force fetching."
            )
            self._mark_offline(run_id)
            return
        asyncio.run(self._enrich_async(run_id, tier, mockup))

    def _mark_offline(self, run_id: uuid.UUID) -> None:
        for leads in self._batches(run_id, STAGE_VALIDATED, STAGE_BATCH):
            updates = []
            for lead in leads:
                has_site = bool(lead.contact.get("website_url") or lead.domain)
                status = "offline" if has_site else "no_website"
                error = "network unavailable" if has_site else "no website or domain"
                updates.append(
                    {
                        "id": lead.id,
                        "stage": STAGE_ENRICHED,
                        "enrichment": {"status": status, "error": error},
                    }
                )
            with self.db.session() as session:
                session.execute(update(Lead), updates)
            self.progress.advance(len(updates))

    async def _enrich_async(self, run_id: uuid.UUID, tier: int, mockup: bool) -> None:
        cache = TTLCache(self.settings.effective_cache_path, self.settings.cache_ttl_s)
        limit = asyncio.Semaphore(max(1, self.settings.enrich_concurrency))
        try:
            async with Enricher(
                self.settings, cache, transport=self.transport, verify=self.verify
            ) as enricher:

                async def one(lead: Lead) -> tuple[Lead, dict[str, Any]]:
                    async with limit:
                        result = await enricher.enrich(
                            lead.contact.get("website_url") or None, lead.domain or None, tier
                        )
                    return lead, result

                for leads in self._batches(run_id, STAGE_VALIDATED, 200):
                    tasks = [asyncio.create_task(one(lead)) for lead in leads]
                    for next_done in asyncio.as_completed(tasks):
                        lead, result = await next_done
                        if (
                            mockup
                            and self.mockup_writer is not None
                            and result.get("status") == "ok"
                        ):
                            result["mockup"] = await asyncio.to_thread(self._mockup, lead, result)
                        # One commit per lead: a crash never loses or repeats a finished fetch.
                        with self.db.session() as session:
                            session.execute(
                                update(Lead),
                                [{"id": lead.id, "stage": STAGE_ENRICHED, "enrichment": result}],
                            )
                        self.progress.advance(1)
        finally:
            cache.close()

    def _mockup(self, lead: Lead, enrichment: dict[str, Any]) -> str:
        assert self.mockup_writer is not None
        view = lead_result(lead)
        view.enrichment = enrichment
        try:
            return self.mockup_writer(view)
        except Exception as exc:  # one failed brief must not stop the run
            self.note(f"Some mockup briefs failed: {exc}")
            return ""

    def _stage_classify(self, run_id: uuid.UUID, tier: int, options: dict[str, Any]) -> None:
        del tier, options
        dictionary = VerticalDictionary.load(self.settings.leads_dictionary)
        with self.db.session() as session:
            learned = [
                LearnedRule(field=r.field, value=r.value, vertical=r.vertical, source=r.source)
                for r in LearnedRuleRepository(session, self.tenant_id).list_all()
            ]
            pending = self._pending(session, run_id, STAGE_ENRICHED)
            total = self._total(session, run_id)
        if self.llm_classifier is None and pending:
            self.note(
                "LLM classification layer off: "
                + (self.llm_unavailable_reason or "LLM not configured")
                + "; leads the rules and fuzzy layers cannot place stay unclassified."
            )
        cascade = Cascade(
            dictionary,
            llm=self._counting_llm() if self.llm_classifier else None,
            learned=learned,
            on_learn=self._persist_rule,
            batch_size=self.settings.llm_classify_batch,
        )
        self.progress.stage("Classify", total, total - pending)
        for leads in self._batches(run_id, STAGE_ENRICHED, STAGE_BATCH):
            items = [classify_input(lead) for lead in leads]
            results = cascade.classify(items)
            updates = [
                {
                    "id": lead.id,
                    "stage": STAGE_CLASSIFIED,
                    "vertical": res.vertical,
                    "classification": {
                        "vertical": res.vertical,
                        "layer": res.layer,
                        "confidence": round(res.confidence, 3),
                        "evidence": res.evidence,
                    },
                }
                for lead, res in zip(leads, results, strict=True)
            ]
            with self.db.session() as session:
                session.execute(update(Lead), updates)
            self.progress.advance(len(updates))

    def _counting_llm(self) -> LLMClassifier:
        inner = self.llm_classifier
        assert inner is not None

        def call(
            items: Sequence[ClassifyInput], verticals: Sequence[str]
        ) -> Sequence[tuple[str | None, float]]:
            self.llm_calls += 1
            return inner(items, verticals)

        return call

    def _persist_rule(self, rule: LearnedRule) -> None:
        """Store each LLM answer at once, so a crash right after still keeps what was paid for."""
        with self.db.session() as session:
            LearnedRuleRepository(session, self.tenant_id).upsert(
                rule.field, rule.value, rule.vertical, rule.source
            )

    def _stage_dedupe(self, run_id: uuid.UUID, tier: int, options: dict[str, Any]) -> None:
        del tier, options
        DedupeStage(
            self.db, self.settings, self.tenant_id, self.progress, self.note, self._count_llm_call
        ).run(run_id)

    def _count_llm_call(self) -> None:
        self.llm_calls += 1

    def _stage_score(self, run_id: uuid.UUID, tier: int, options: dict[str, Any]) -> None:
        del tier, options
        engine = ScoringEngine.load(self.settings.leads_scoring)
        with self.db.session() as session:
            pending = self._pending(session, run_id, STAGE_CLASSIFIED)
            total = self._total(session, run_id)
        self.progress.stage("Score", total, total - pending)
        for leads in self._batches(run_id, STAGE_CLASSIFIED, STAGE_BATCH):
            updates = []
            for lead in leads:
                result = engine.score(lead_result(lead))
                updates.append(
                    {
                        "id": lead.id,
                        "stage": STAGE_SCORED,
                        "score": result,
                        "score_value": int(result["score"]),
                        "tier": str(result["tier"]),
                    }
                )
            with self.db.session() as session:
                session.execute(update(Lead), updates)
            self.progress.advance(len(updates))

    def _iter_results(self, run_id: uuid.UUID) -> Iterator[LeadResult]:
        with self.db.session() as session:
            stmt = (
                select(Lead)
                .where(Lead.run_id == run_id)
                .order_by(Lead.row_index)
                .execution_options(yield_per=STAGE_BATCH)
            )
            for lead in session.scalars(stmt):
                yield lead_result(lead)
                self.progress.advance(1)

    def build_summary(self, run_id: uuid.UUID, duration_s: float) -> RunSummary:
        """One streaming pass over the run's leads for the report and the CLI."""
        with self.db.session() as session:
            run = self._run(session, run_id)
            summary = RunSummary(
                run_id=str(run.id),
                input_path=run.input_path,
                tier=run.tier,
                original_columns=list(run.original_columns),
                duration_s=round(run.duration_s + duration_s, 2),
                notes=list(dict.fromkeys([*run.notes, *self._notes])),
                dedupe=dict((run.summary or {}).get("dedupe") or {}),
            )
        tally(summary, self._iter_results(run_id))
        summary.llm_calls = self.llm_calls
        return summary

    def _finish(self, run_id: uuid.UUID, elapsed: float) -> RunSummary:
        with self.db.session() as session:
            run = self._run(session, run_id)
            out = Path(str(run.options.get("output_xlsx")))
            total = self._total(session, run_id)
        self.progress.stage("Summarize", total)
        summary = self.build_summary(run_id, elapsed)
        self.progress.stage("Export XLSX + report", total)
        out.parent.mkdir(parents=True, exist_ok=True)
        write_xlsx(out, summary, self._iter_results(run_id))
        html = out.with_suffix(".html")
        write_report(html, summary)
        with self.db.session() as session:
            run = self._run(session, run_id)
            run.status = "completed"
            run.stage = "done"
            run.finished_at = utcnow()
            run.duration_s = summary.duration_s
            run.output_xlsx = str(out)
            run.output_html = str(html)
            run.notes = summary.notes
            data = summary.__dict__.copy()
            data["scores"] = histogram(summary.scores)
            run.summary = data
        return summary
