"""One dedupe run: prepare keys, score pairs with Splink, review, cluster, golden records.

Everything lives in one DuckDB connection (in memory, spilling to a temp directory):
`raw` (input rows), `keyed` (identity keys), `pairs` (scored, explained, vetoed, labelled),
`assign` (cluster memberships of linked records) and `golden`. Callers read results from
there, so a million-row run never materializes per-row Python objects.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from revline.kernel.config import Settings
from revline.kernel.errors import InvalidInput
from revline.leads.dedupe.cluster import (
    ClusterStats,
    Edge,
    Membership,
    attach_incremental,
    cluster_edges,
)
from revline.leads.dedupe.config import DedupeConfig, ProfileSpec
from revline.leads.dedupe.duck import create_table, one, scalar
from revline.leads.dedupe.engine import (
    PAIRS_TABLE,
    Backend,
    Linkage,
    LinkType,
    ModelParams,
    configure_duckdb,
    default_params,
    estimate_prior,
    open_backend,
)
from revline.leads.dedupe.golden import build_golden
from revline.leads.dedupe.keys import DedupeRecord
from revline.leads.dedupe.pairs import (
    apply_labels,
    count_uncertain,
    decorate,
    uncertain_pairs,
)
from revline.leads.dedupe.prepare import (
    RAW_TABLE_COLUMNS,
    add_block_columns,
    prepare,
    records_columns,
)
from revline.leads.dedupe.review import Judge, PairLabel, ReviewPair, review_in_batches

LabelSink = Callable[[Sequence[PairLabel]], None]


@dataclass
class ExistingState:
    """What an incremental run builds on: saved records with cluster ids, and the model."""

    records_path: Path
    params: ModelParams
    profile: str
    version: int = 0  # the state's version when loaded; saving checks nobody saved since


@dataclass
class DedupeStats:
    """What a run did; shown by the CLI, stored with state and in the run report."""

    records: int = 0
    known_records: int = 0
    clusters: int = 0
    duplicates: int = 0
    largest_cluster: int = 1
    profile: str = ""
    engine: str = "duckdb"
    model: str = ""
    prior: float = 0.0
    scored_pairs: int = 0
    vetoed_pairs: int = 0
    labelled_pairs: int = 0
    uncertain_pairs: int = 0
    llm_reviewed: int = 0
    weak_links_cut: int = 0
    capped_clusters: int = 0
    capped_keys: int = 0
    attached_to_existing: int = 0
    golden_records: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able view."""
        return dict(self.__dict__)


class Deduper:
    """Owns the DuckDB connection of one run; use as a context manager."""

    def __init__(
        self, settings: Settings, config: DedupeConfig, *, engine: str | None = None
    ) -> None:
        self.settings = settings
        self.config = config
        self.engine = engine or settings.dedupe_engine
        self._tmp = Path(tempfile.mkdtemp(prefix="dedupe-", dir=_tmp_root(settings)))
        self.con = duckdb.connect(":memory:")
        configure_duckdb(self.con, settings, self._tmp / "spill")
        self.stats = DedupeStats(engine=self.engine)
        self.params: ModelParams | None = None
        self.profile_name = ""
        self._prekeyed = False
        self._started = time.perf_counter()

    def __enter__(self) -> Deduper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Free the connection and spill files."""
        self.con.close()
        shutil.rmtree(self._tmp, ignore_errors=True)

    # -- input ---------------------------------------------------------------------------
    def load_sql(self, select: str) -> int:
        """Raw input rows from a query with RAW_TABLE_COLUMNS; ids must be unique, non-empty."""
        self.con.execute(f"create or replace table raw as {select}")
        return self._check_ids()

    def load_columns(self, columns: Mapping[str, tuple[str, Sequence[Any]]]) -> int:
        """Raw input from typed Python lists (see prepare.raw_columns)."""
        create_table(self.con, "raw", columns)
        return self._check_ids()

    def load_records(self, records: Iterable[DedupeRecord]) -> int:
        """Raw input from DedupeRecords (small inputs, the pipeline)."""
        return self.load_columns(records_columns(records))

    def load_keyed(self, select: str) -> int:
        """Records whose comparison columns are ready (any columns plus `unique_id`, and
        `source_dataset` for linkage): the lead key builder is skipped. Benchmarks on FEBRL
        and other non-lead tables use this with their own profile."""
        self.con.execute(f"create or replace table _dd_keyed_in as {select}")
        cols = [r[0] for r in self.con.execute("describe _dd_keyed_in").fetchall()]
        if "unique_id" not in cols:
            raise InvalidInput("load_keyed needs a unique_id column")
        data = [c for c in cols if c not in ("unique_id", "source_dataset", "row_pos")]
        identity = ", ".join(f"coalesce(cast({c} as varchar), '')" for c in data) or "''"
        self.con.execute(f"""
            create or replace table keyed as
            select *, row_number() over () - 1 as row_pos,
                   md5(concat_ws('|', {identity})) as fp,
                   0 as source_rank, cast(null as timestamp) as recency, 0 as completeness
            from _dd_keyed_in
        """)
        self.con.execute("drop table _dd_keyed_in")
        texts = ", ".join(f"'' as {c}" for c in RAW_TABLE_COLUMNS if c not in ("record_id",
                                                                                 "row_pos"))
        self.con.execute(
            f"create or replace table raw as select unique_id as record_id, {texts}, row_pos "
            f"from keyed"
        )
        self._prekeyed = True
        return self._check_ids()

    def _check_ids(self) -> int:
        empty = one(
            self.con,
            "select row_pos from raw where record_id is null or trim(record_id) = '' limit 1",
        )
        if empty:
            raise InvalidInput(f"record at input row {int(empty[0]) + 1} has an empty id")
        dup = one(
            self.con,
            "select record_id, list(row_pos order by row_pos) from raw group by record_id "
            "having count(*) > 1 order by min(row_pos) limit 1",
        )
        if dup:
            rows = " and ".join(str(int(p) + 1) for p in list(dup[1])[:2])
            raise InvalidInput(
                f"duplicate record id {dup[0]!r} (input rows {rows}): dedupe needs unique ids"
            )
        row = one(self.con, "select count(*) from raw")
        self.stats.records = int(row[0]) if row else 0
        return self.stats.records

    # -- the run -------------------------------------------------------------------------
    def run(
        self,
        *,
        labels: Iterable[PairLabel] = (),
        judge: Judge | None = None,
        on_labels: LabelSink | None = None,
        existing: ExistingState | None = None,
        link_type: LinkType = "dedupe_only",
    ) -> DedupeStats:
        """Score, review and cluster the loaded records (against `existing` when incremental)."""
        cfg, stats = self.config, self.stats
        self._tick("load")
        if existing is not None:
            self._load_existing(existing)
        if not self._prekeyed:
            prepare(self.con, "new_raw" if existing else "raw", "keyed",
                    source_priority=cfg.survivorship.source_priority,
                    workers=self.settings.dedupe_threads or os.cpu_count() or 1)
        self._tick("keys")
        profile = self._profile(existing)
        count_over = ("existing",) if existing else ()
        capped = add_block_columns(
            self.con, "keyed", profile.blocking, cfg.max_block_size, count_over=count_over
        )
        if existing is not None:
            add_block_columns(self.con, "existing", profile.blocking, cfg.max_block_size,
                              count_over=("keyed",))
        stats.capped_keys = sum(capped.values())
        if stats.capped_keys:
            stats.notes.append(
                f"{stats.capped_keys} blocking key(s) shared by more than {cfg.max_block_size} "
                "records were not used for blocking (too common to identify anyone)"
            )
        n_new = self._count("keyed")
        backend = open_backend(self.engine, self.con, self.settings)
        try:
            if existing is not None:
                self.params = existing.params
                stats.model = _model_text(existing.params)
                linkage = Linkage(backend, "existing", profile, self.params, link_type)
                low = min(cfg.link.uncertain[0], cfg.link.threshold)
                stats.scored_pairs = linkage.score_new("keyed", low) if n_new else 0
            else:
                self.params = self._train(backend, profile, link_type)
                stats.model = _model_text(self.params)
                low = min(cfg.link.uncertain[0], cfg.link.threshold)
                linkage = Linkage(backend, "keyed", profile, self.params, link_type)
                stats.scored_pairs = linkage.score(low) if stats.records > 1 else 0
            if stats.scored_pairs == 0:
                self._empty_pairs(linkage)
        finally:
            backend.close()
        stats.prior = self.params.prior
        stats.notes.extend(self.params.notes)
        self._tick("score")
        self._decorate(profile, labels, existing is not None)
        self._review(judge, on_labels)
        self._tick("review")
        memberships, cstats = self._cluster(existing)
        self._store_assignments(memberships)
        self._summarize(cstats)
        self._tick("cluster")
        return stats

    def _tick(self, phase: str) -> None:
        now = time.perf_counter()
        self.stats.seconds[phase] = round(now - self._started, 3)
        self._started = now

    def _count(self, table: str) -> int:
        row = one(self.con, f"select count(*) from {table}")
        return int(row[0]) if row else 0

    def _profile(self, existing: ExistingState | None) -> ProfileSpec:
        cfg = self.config
        name = existing.profile if existing is not None else cfg.profile
        if name == "auto":
            row = one(self.con, "select avg((full_name is not null)::int) from keyed")
            share = float(row[0]) if row and row[0] is not None else 0.0
            name = "person" if share >= cfg.person_share else "company"
        if name not in cfg.profiles:
            raise InvalidInput(f"saved dedupe state uses profile {name!r}, which the config lacks")
        self.profile_name = self.stats.profile = name
        return cfg.profiles[name]

    def _train(self, backend: Backend, profile: ProfileSpec, link_type: LinkType) -> ModelParams:
        cfg = self.config
        prior, _ = estimate_prior(
            self.con, "keyed", profile.deterministic, cfg.training,
            cap=cfg.max_block_size, link_type=link_type,
        )
        if profile.prior:
            prior = profile.prior
        params = default_params(profile, prior)
        n = self.stats.records
        if n < max(cfg.training.min_records, 2):
            return params  # the configured default model; stats.model says so
        linkage = Linkage(backend, "keyed", profile, params, link_type,
                          max_iterations=cfg.training.max_iterations)
        return linkage.train(cfg.training, n)

    def _load_existing(self, existing: ExistingState) -> None:
        path = existing.records_path.as_posix()
        self.con.execute(
            f"create or replace table existing_all as select * from read_parquet('{path}')"
        )
        # New rows come after everything saved, so "most recent" survivorship sees them so.
        offset = self._scalar("select coalesce(max(row_pos) + 1, 0) from existing_all")
        self.con.execute(f"update raw set row_pos = row_pos + {offset}")
        self.con.execute("""
            create or replace table known as
            select r.record_id, e.cluster_id
            from raw r join existing_all e on e.record_id = r.record_id
        """)
        self.stats.known_records = self._count("known")
        self.con.execute("""
            create or replace table new_raw as
            select * from raw where record_id not in (select record_id from known)
        """)
        keyed_cols = [
            r[0] for r in self.con.execute("describe existing_all").fetchall()
            if r[0] not in RAW_TABLE_COLUMNS and r[0] not in ("cluster_id", "cluster_size")
            and not r[0].startswith("blk_")
        ]
        self.con.execute(
            f"create or replace table existing as select record_id as unique_id, row_pos, "
            f"{', '.join(keyed_cols)} from existing_all"
        )


    def _empty_pairs(self, linkage: Linkage) -> None:
        """No candidate pairs: an empty pairs table with the columns later steps read."""
        cols = ["unique_id_l varchar", "unique_id_r varchar", "match_probability double",
                "match_weight double"]
        for comp in linkage.profile.comparisons:
            cols += [f"gamma_{comp.name} integer", f"mw_{comp.name} double"]
        for col in linkage.columns:
            if col != "unique_id":
                cols += [f"{col}_l varchar", f"{col}_r varchar"]
        self.con.execute(f"create or replace table {PAIRS_TABLE} ({', '.join(cols)})")

    def _decorate(
        self, profile: ProfileSpec, labels: Iterable[PairLabel], incremental: bool
    ) -> None:
        """Fingerprints, vetoes, stored labels and explanations on every scored pair."""
        self.stats.vetoed_pairs, self.stats.labelled_pairs = decorate(
            self.con, profile, list(labels), incremental
        )

    def _scalar(self, sql: str) -> int:
        return scalar(self.con, sql)

    def uncertain_pairs(self, limit: int | None = None) -> list[ReviewPair]:
        """Unanswered pairs in the review band, most likely matches first."""
        return uncertain_pairs(self.con, self.config.link,
                               with_existing=self._has_table("existing_all"), limit=limit)

    def _has_table(self, name: str) -> bool:
        return bool(self._scalar(
            f"select count(*) from duckdb_tables() where table_name = '{name}'"
        ))

    def _review(self, judge: Judge | None, on_labels: LabelSink | None) -> None:
        link, stats = self.config.link, self.stats
        stats.uncertain_pairs = count_uncertain(self.con, link)
        if judge is None or not stats.uncertain_pairs or self.config.llm.max_pairs == 0:
            return
        pairs = self.uncertain_pairs(limit=self.config.llm.max_pairs)
        answers, problem = review_in_batches(
            pairs, judge, self.config.llm.batch_size, on_batch=on_labels
        )
        if problem:
            stats.notes.append(problem)
        if stats.uncertain_pairs > len(pairs):
            stats.notes.append(
                f"LLM reviewed the {len(pairs)} most likely of {stats.uncertain_pairs} "
                f"uncertain pairs (llm.max_pairs); export the rest with --uncertain-out"
            )
        if not answers:
            return
        apply_labels(self.con, answers)
        stats.llm_reviewed = len(answers)
        stats.uncertain_pairs = count_uncertain(self.con, link)

    def _edges(self) -> list[Edge]:
        rows = self.con.execute(
            f"select unique_id_l, unique_id_r, p, coalesce(match_weight, 0), coalesce(why, '') "
            f"from pairs where p >= {self.config.link.threshold}"
        ).fetchall()
        return [Edge(str(a), str(b), float(p), float(w), str(why)) for a, b, p, w, why in rows]

    def _cluster(
        self, existing: ExistingState | None
    ) -> tuple[dict[str, Membership], ClusterStats]:
        link = self.config.link
        edges = self._edges()
        if existing is None:
            return cluster_edges(
                edges, threshold=link.threshold, strong_link=link.strong_link,
                max_size=link.max_cluster_size,
            )
        touched = {n for e in edges for n in (e.a, e.b)}
        known = self.con.execute(
            "select record_id, cluster_id from existing_all"
        ).fetchall() if touched else []
        clusters = {str(r): str(c) for r, c in known if str(r) in touched}
        sizes = dict(self.con.execute(
            "select cluster_id, count(*) from existing_all group by cluster_id"
        ).fetchall()) if clusters else {}
        return attach_incremental(
            edges, clusters, {str(k): int(v) for k, v in sizes.items()},
            threshold=link.threshold, strong_link=link.strong_link, max_size=link.max_cluster_size,
        )

    def _store_assignments(self, memberships: dict[str, Membership]) -> None:
        items = sorted(memberships.items())
        create_table(self.con, "assign", {
            "unique_id": ("varchar", [k for k, _ in items]),
            "cluster_id": ("varchar", [m.cluster_id for _, m in items]),
            "cluster_size": ("bigint", [m.size for _, m in items]),
            "is_primary": ("boolean", [m.is_primary for _, m in items]),
            "linked_to": ("varchar", [m.linked_to for _, m in items]),
            "match_probability": ("double", [m.probability for _, m in items]),
            "match_weight": ("double", [m.weight for _, m in items]),
            "why": ("varchar", [m.reason for _, m in items]),
        })

    def _summarize(self, cstats: ClusterStats) -> None:
        stats = self.stats
        stats.weak_links_cut = cstats.weak_links_cut
        stats.capped_clusters = cstats.capped_clusters
        stats.attached_to_existing = cstats.attached_to_existing
        stats.notes.extend(cstats.notes)
        stats.clusters = self._scalar("select count(distinct cluster_id) from assign")
        stats.duplicates = self._scalar("select count(*) from assign where not is_primary")
        if self._has_table("existing_all"):
            stats.duplicates = self._scalar("select count(*) from assign") - self._scalar(
                "select count(distinct cluster_id) from assign where cluster_id not in "
                "(select cluster_id from existing_all)"
            )
        stats.largest_cluster = max(
            1, self._scalar("select max(cluster_size) from assign")
        )

    # -- results -------------------------------------------------------------------------
    def cluster_sql(self) -> str:
        """SELECT over every input row: record_id, cluster_id, cluster_size, is_primary,
        linked_to, match_probability, match_weight, why, row_pos (input order)."""
        known = (
            "left join known k on k.record_id = r.record_id" if self._has_table("known") else ""
        )
        known_id = "k.cluster_id, " if known else ""
        return f"""
            select r.record_id, coalesce(a.cluster_id, {known_id}r.record_id) as cluster_id,
                   coalesce(a.cluster_size, 1) as cluster_size,
                   coalesce(a.is_primary, {'k.cluster_id is null' if known else 'true'})
                       as is_primary,
                   coalesce(a.linked_to, '') as linked_to, a.match_probability,
                   a.match_weight, coalesce(a.why, '') as why, r.row_pos
            from raw r left join assign a on a.unique_id = r.record_id {known}
        """

    def golden(self) -> int:
        """Build the `golden` table (clusters with 2+ members); returns how many."""
        spec = self.config.survivorship
        if self._has_table("existing_all"):
            names = ", ".join(RAW_TABLE_COLUMNS)
            self.con.execute(f"""
                create or replace view _dd_raw_all as
                select {names} from raw union all select {names} from existing_all
                where record_id not in (select record_id from raw)
            """)
            self.con.execute("""
                create or replace view _dd_keyed_all as
                select unique_id, row_pos, source_rank, recency, completeness from keyed
                union all select unique_id, row_pos, source_rank, recency, completeness
                from existing
            """)
            self.con.execute("""
                create or replace view _dd_assign_all as
                select unique_id, cluster_id, cluster_size from assign
                union all
                select e.record_id, e.cluster_id, s.size from existing_all e
                join (select cluster_id, max(cluster_size) as size from assign
                      group by cluster_id) s on s.cluster_id = e.cluster_id
            """)
            n = build_golden(self.con, raw="_dd_raw_all", keyed="_dd_keyed_all",
                             assignments="_dd_assign_all", target="golden", spec=spec)
        else:
            n = build_golden(self.con, raw="raw", keyed="keyed", assignments="assign",
                             target="golden", spec=spec)
        self.stats.golden_records = n
        return n


def _model_text(params: ModelParams) -> str:
    if params.trained:
        return f"trained (EM) on {params.trained_records:,} records"
    return "default model (dedupe.yml)"


def _tmp_root(settings: Settings) -> Path:
    root = settings.ensure_home() / "dedupe" / "tmp"
    root.mkdir(parents=True, exist_ok=True)
    return root
