"""Dedupe runs end to end: a file from the CLI (with saved state) or a lead run's records.

These own their short database transactions, like the pipeline runner: labels are read
before the run, every LLM answer is stored the moment it arrives, and state is saved last.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from revline.kernel.config import Settings
from revline.kernel.db import Database
from revline.kernel.errors import InvalidInput
from revline.leads.dedupe.config import DedupeConfig, effective_config, with_threshold
from revline.leads.dedupe.deduper import Deduper, DedupeStats, ExistingState
from revline.leads.dedupe.files import (
    LoadedFile,
    check_output,
    load_file,
    write_clusters,
    write_golden,
    write_links,
)
from revline.leads.dedupe.golden import GOLDEN_FIELDS
from revline.leads.dedupe.keys import DedupeRecord, natural_key
from revline.leads.dedupe.review import Judge, PairLabel, make_llm_judge, write_review_csv
from revline.leads.dedupe.store import check_state_name, load_existing, save_state
from revline.leads.repository import DedupeLabelRepository


@dataclass
class FileRequest:
    """Everything `revline leads dedupe` was asked to do."""

    input_path: Path
    output: Path
    id_column: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    sheet: str | None = None
    incremental: bool = False
    state: str = "default"
    save: bool = True
    engine: str | None = None
    threshold: float | None = None
    config_path: Path | None = None
    uncertain_out: Path | None = None
    golden_out: Path | None = None
    links_out: Path | None = None
    llm: bool = False


@dataclass
class FileResult:
    """What a file run wrote and found."""

    stats: DedupeStats
    loaded: LoadedFile
    written: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def llm_judge(
    settings: Settings, tenant_id: uuid.UUID, job_id: uuid.UUID | str | None = None
) -> Judge:
    """A judge on the configured LLM gateway (LLMNotConfigured says how to configure one),
    billed to the tenant as feature `leads.dedupe` (and to the run as the job, when given)."""
    from revline.kernel.llm import CallScope, get_gateway

    scope = CallScope(tenant_id=tenant_id, feature="leads.dedupe", job_id=job_id)
    return make_llm_judge(get_gateway(settings), scope)


def _label_sink(db: Database, tenant_id: uuid.UUID) -> Any:
    def store(labels: Sequence[PairLabel]) -> None:
        with db.session() as session:
            DedupeLabelRepository(session, tenant_id).upsert_many(labels)

    return store


def import_labels(db: Database, tenant_id: uuid.UUID, labels: Sequence[PairLabel]) -> int:
    """Store answers a person gave in a review CSV; they apply from the next run on."""
    with db.session() as session:
        return DedupeLabelRepository(session, tenant_id).upsert_many(labels)


def dedupe_file(
    db: Database, settings: Settings, tenant_id: uuid.UUID, req: FileRequest
) -> FileResult:
    """Cluster a leads file, write CLUSTERS.csv (and the optional outputs), save state."""
    cfg = with_threshold(effective_config(settings, req.config_path), req.threshold)
    check_state_name(req.state)
    if req.incremental and not req.id_column:
        raise InvalidInput(
            "--incremental needs --id-column: row numbers are not the same records from one "
            "file to the next"
        )
    outputs = [p for p in (req.output, req.uncertain_out, req.golden_out, req.links_out) if p]
    for out in outputs:
        check_output(out, [req.input_path])
    warnings: list[str] = []
    existing: ExistingState | None = None
    with db.session() as session:
        labels = DedupeLabelRepository(session, tenant_id).all_labels()
        if req.incremental:
            existing, warnings = load_existing(session, tenant_id, req.state, cfg)
    judge = llm_judge(settings, tenant_id) if req.llm else None
    with Deduper(settings, cfg, engine=req.engine) as deduper:
        loaded = load_file(
            deduper, req.input_path, id_column=req.id_column, mapping=req.mapping,
            sheet=req.sheet,
        )
        stats = deduper.run(
            labels=labels, judge=judge, on_labels=_label_sink(db, tenant_id), existing=existing
        )
        result = FileResult(stats=stats, loaded=loaded, warnings=warnings + loaded.warnings)
        result.written["clusters"] = write_clusters(deduper, req.output)
        if req.golden_out:
            result.written["golden"] = write_golden(deduper, req.golden_out)
        if req.links_out:
            result.written["links"] = write_links(deduper, req.links_out)
        if req.uncertain_out:
            result.written["uncertain"] = write_review_csv(
                req.uncertain_out, deduper.uncertain_pairs()
            )
        if req.save:
            with db.session() as session:
                _, old = save_state(
                    session, settings, tenant_id, req.state, deduper,
                    expected_version=existing.version if existing is not None else None,
                )
            if old is not None:
                old.unlink(missing_ok=True)
    return result


@dataclass
class LeadClusters:
    """Per-record cluster facts for the lead pipeline, and the run's dedupe stats."""

    clusters: dict[str, dict[str, Any]]
    stats: DedupeStats


def cluster_records(
    settings: Settings,
    records: Sequence[DedupeRecord],
    *,
    config: DedupeConfig | None = None,
    labels: Sequence[PairLabel] = (),
    judge: Judge | None = None,
    on_labels: Any = None,
) -> LeadClusters:
    """Cluster an in-memory list of records (the `revline run` dedupe stage).

    Every record gets cluster_id, cluster_size, is_primary, linked_to, match_probability,
    match_weight and match_reason (the per-field explanation of the link that put it in its
    cluster); each primary of a cluster of 2+ also carries `golden`, `golden_from` and
    `members`.
    """
    cfg = config or effective_config(settings)
    with Deduper(settings, cfg) as deduper:
        deduper.load_records(records)
        stats = deduper.run(labels=labels, judge=judge, on_labels=on_labels)
        deduper.golden()
        rows = deduper.con.execute(
            f"select record_id, cluster_id, cluster_size, is_primary, linked_to, "
            f"match_probability, match_weight, why from ({deduper.cluster_sql()})"
        ).fetchall()
        golden_cols = [c for f in GOLDEN_FIELDS for c in (f, f"{f}_from")]
        golden = {
            str(r[0]): r[1:]
            for r in deduper.con.execute(
                f"select cluster_id, {', '.join(golden_cols)} from golden"
            ).fetchall()
        }
    members: dict[str, list[str]] = {}
    for row in rows:
        if int(row[2]) > 1:
            members.setdefault(str(row[1]), []).append(str(row[0]))
    out: dict[str, dict[str, Any]] = {}
    for rid, cid, size, primary, linked, prob, weight, why in rows:
        info: dict[str, Any] = {
            "cluster_id": str(cid),
            "cluster_size": int(size),
            "is_primary": bool(primary),
            "match_reason": str(why or ""),
            "linked_to": str(linked or ""),
            "match_probability": None if prob is None else round(float(prob), 6),
            "match_weight": None if weight is None else round(float(weight), 2),
        }
        if primary and int(size) > 1 and str(cid) in golden:
            values = golden[str(cid)]
            info["golden"] = {f: values[2 * i] for i, f in enumerate(GOLDEN_FIELDS)}
            info["golden_from"] = {
                f: values[2 * i + 1] for i, f in enumerate(GOLDEN_FIELDS) if values[2 * i + 1]
            }
            info["members"] = sorted(members.get(str(cid), []), key=natural_key)
        out[str(rid)] = info
    return LeadClusters(clusters=out, stats=stats)
