"""Splink linkage: the model built from config, unsupervised training, and pair scoring.

DuckDB (default) runs Splink on the same in-process connection that holds the prepared
records, so nothing is copied. Spark (`engine="spark"`) gets the prepared records as an Arrow
table and runs blocking, training and scoring in a Spark session; scored pairs come back to
DuckDB, where clustering, vetoes, explanations and golden records are computed either way.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import duckdb

from revline.kernel.config import Settings
from revline.kernel.errors import ConfigError, InvalidInput
from revline.leads.dedupe.config import ComparisonSpec, LevelSpec, ProfileSpec, TrainingSpec
from revline.leads.dedupe.duck import one
from revline.leads.dedupe.prepare import block_columns

Engine = Literal["duckdb", "spark"]
LinkType = Literal["dedupe_only", "link_only"]
PAIRS_TABLE = "_dd_pairs"
# In a file of a few dozen leads, two duplicates make "1 pair in 20 matches" look like a fact;
# real lead lists have far fewer matching pairs than 1 in 100, so the prior never goes higher.
MAX_PRIOR = 0.01
_SPLINK_LOGGERS = ("splink",)


@dataclass
class ModelParams:
    """Fellegi-Sunter parameters independent of the SQL engine: the prior and m/u per level.

    `levels[comparison]` lists [m, u] for each non-null level in config order; None means
    "not estimated" (Splink then uses its neutral default).
    """

    prior: float
    levels: dict[str, list[list[float | None]]]
    trained: bool = False
    trained_records: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form stored with dedupe state."""
        return {
            "prior": self.prior,
            "levels": self.levels,
            "trained": self.trained,
            "trained_records": self.trained_records,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelParams:
        """Inverse of to_dict."""
        return cls(
            prior=float(data["prior"]),
            levels={k: [list(x) for x in v] for k, v in dict(data["levels"]).items()},
            trained=bool(data.get("trained", False)),
            trained_records=int(data.get("trained_records", 0)),
            notes=list(data.get("notes", [])),
        )

    def matches(self, profile: ProfileSpec) -> bool:
        """True when these parameters fit the profile's comparisons level for level."""
        shape = {
            c.name: len([lv for lv in c.levels if lv.kind != "missing"])
            for c in profile.comparisons
        }
        return shape == {k: len(v) for k, v in self.levels.items()}


def default_params(profile: ProfileSpec, prior: float) -> ModelParams:
    """The profile's YAML m/u values: the fixed model used when there is too little to train on."""
    levels = {
        c.name: [[lv.m, lv.u] for lv in c.levels if lv.kind != "missing"]
        for c in profile.comparisons
    }
    return ModelParams(prior=prior, levels=levels, trained=False)


@contextlib.contextmanager
def quiet_splink() -> Iterator[None]:
    """Splink logs progress and advice at INFO/WARNING; our CLI reports what matters itself."""
    saved = [(name, logging.getLogger(name).level) for name in _SPLINK_LOGGERS]
    for name, _ in saved:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        yield
    finally:
        for name, level in saved:
            logging.getLogger(name).setLevel(level)


def _level_creator(level: LevelSpec) -> Any:
    import splink.comparison_level_library as cll

    kind = level.kind
    creator: Any
    if kind == "missing":
        creator = cll.NullLevel(str(level.missing))
    elif kind == "exact":
        creator = cll.ExactMatchLevel(str(level.exact))
    elif kind == "jaro_winkler":
        creator = cll.JaroWinklerLevel(str(level.jaro_winkler), float(level.threshold or 0))
    elif kind == "levenshtein":
        creator = cll.LevenshteinLevel(str(level.levenshtein), int(level.threshold or 0))
    elif kind == "damerau_levenshtein":
        creator = cll.DamerauLevenshteinLevel(
            str(level.damerau_levenshtein), int(level.threshold or 0)
        )
    elif kind == "reversed":
        first, second = level.reversed or ["", ""]
        creator = cll.ColumnsReversedLevel(first, second, symmetrical=True)
    elif kind == "sql":
        creator = cll.CustomLevel(str(level.sql), base_dialect_str="duckdb")
    else:
        creator = cll.ElseLevel()
    if level.label:
        creator.configure(label_for_charts=level.label)
    return creator


def _comparison(spec: ComparisonSpec, params: list[list[float | None]]) -> Any:
    import splink.comparison_library as cl

    levels = []
    values = iter(params)
    for level in spec.levels:
        creator = _level_creator(level)
        if level.kind != "missing":
            m, u = next(values)
            if m is not None:
                creator.configure(m_probability=m)
            if u is not None:
                creator.configure(u_probability=u)
        levels.append(creator)
    return cl.CustomComparison(comparison_levels=levels, output_column_name=spec.name)


def splink_settings(
    profile: ProfileSpec, params: ModelParams, link_type: LinkType, max_iterations: int = 10
) -> Any:
    """A Splink SettingsCreator for the profile, carrying `params` as its starting values."""
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        max_iterations=max_iterations,
        link_type=link_type,
        comparisons=[_comparison(c, params.levels[c.name]) for c in profile.comparisons],
        blocking_rules_to_generate_predictions=[
            block_on(name) for name in block_columns(profile.blocking)
        ],
        probability_two_random_records_match=params.prior,
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=True,
    )


# -- backends ------------------------------------------------------------------------------


class Backend:
    """Where Splink runs; scored pairs always land in the local DuckDB connection."""

    name: Engine = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        from splink import DuckDBAPI

        self.con = con
        self.db_api: Any = DuckDBAPI(connection=con)

    def register(self, table: str, columns: Sequence[str]) -> Any:
        """A Splink dataframe over a prepared local table (no copy on DuckDB)."""
        del columns
        return self.db_api.register(table)

    def fetch(self, splink_df: Any, target: str, *, append: bool = False) -> None:
        """Materialize scored pairs into the local table `target`."""
        _materialize(self.con, f"select * from {splink_df.physical_name}", target, append)
        splink_df.drop_table_from_database_and_remove_from_cache()

    def close(self) -> None:
        """Release engine resources (the DuckDB connection belongs to the caller)."""


class SparkBackend(Backend):
    """Splink on Spark: for record counts one machine's DuckDB cannot hold."""

    name: Engine = "spark"

    def __init__(self, con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
        try:
            from splink import SparkAPI
        except ImportError as exc:
            raise ConfigError(
                "--engine spark needs pyspark: pip install 'revline[spark]' (and Java 17+)"
            ) from exc
        self.con = con
        self.spark = spark_session(settings)
        self.db_api = SparkAPI(spark_session=self.spark)  # type: ignore[no-untyped-call]
        self._counter = 0

    def register(self, table: str, columns: Sequence[str]) -> Any:
        """Ship the prepared columns to Spark as Arrow."""
        arrow = self.con.sql(f"select {', '.join(columns)} from {table}").to_arrow_table()
        self._counter += 1
        frame = self.spark.createDataFrame(arrow.to_pandas())
        return self.db_api.register(frame, table_name=f"{table}_{self._counter}")

    def fetch(self, splink_df: Any, target: str, *, append: bool = False) -> None:
        """Bring scored pairs back from Spark into local DuckDB."""
        arrow = splink_df.as_spark_dataframe().toArrow()
        self.con.register("_dd_spark_in", arrow)
        _materialize(self.con, "select * from _dd_spark_in", target, append)
        self.con.unregister("_dd_spark_in")

    def close(self) -> None:
        """Drop cached tables; the session itself is reused within the process."""
        self.spark.catalog.clearCache()


def _materialize(con: duckdb.DuckDBPyConnection, select: str, target: str, append: bool) -> None:
    if append:
        con.execute(f"insert into {target} by name {select}")
    else:
        con.execute(f"create or replace table {target} as {select}")


_SPARK: Any = None


def spark_session(settings: Settings) -> Any:
    """One local (or configured) Spark session per process, with Splink's similarity UDF jar."""
    global _SPARK
    if _SPARK is not None:
        return _SPARK
    import os

    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    checkpoints = settings.ensure_home() / "dedupe" / "spark-checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    builder = (
        SparkSession.builder.master(settings.dedupe_spark_master)
        .appName("revline-dedupe")
        .config("spark.jars", similarity_jar_location())
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(settings.dedupe_spark_partitions))
        .config("spark.driver.memory", settings.dedupe_spark_driver_memory)
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.local.dir", str(checkpoints))
    )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    spark.sparkContext.setCheckpointDir(str(checkpoints))
    _SPARK = spark
    return spark


def stop_spark() -> None:
    """Stop the process's Spark session (tests, and long-lived processes between jobs)."""
    global _SPARK
    if _SPARK is not None:
        _SPARK.stop()
        _SPARK = None


def open_backend(engine: str, con: duckdb.DuckDBPyConnection, settings: Settings) -> Backend:
    """The backend for `--engine`."""
    if engine == "duckdb":
        return Backend(con)
    if engine == "spark":
        return SparkBackend(con, settings)
    raise InvalidInput(f"unknown dedupe engine {engine!r}; use duckdb or spark")


def configure_duckdb(con: duckdb.DuckDBPyConnection, settings: Settings, spill: Path) -> None:
    """Memory limit, threads and a spill directory, so big inputs page to disk instead of dying."""
    spill.mkdir(parents=True, exist_ok=True)
    con.execute(f"set temp_directory = '{spill.as_posix()}'")
    con.execute("set preserve_insertion_order = false")
    if settings.dedupe_memory_limit:
        con.execute(f"set memory_limit = '{settings.dedupe_memory_limit}'")
    if settings.dedupe_threads:
        con.execute(f"set threads = {int(settings.dedupe_threads)}")


# -- the prior -----------------------------------------------------------------------------


def estimate_prior(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rules: Sequence[Sequence[str]],
    training: TrainingSpec,
    *,
    cap: int,
    link_type: LinkType = "dedupe_only",
    floor_matches: float = 1.0,
) -> tuple[float, int]:
    """P(two random records match) from pairs that near-certain rules find, scaled by recall.

    Counted in DuckDB over keys shared by at most `cap` records, so a hot key cannot make it
    quadratic. Returns (prior, pairs found).
    """
    n_row = one(con, f"select count(*) from {table}")
    n = int(n_row[0]) if n_row else 0
    if link_type == "link_only":
        sizes = [int(r[0]) for r in con.execute(
            f"select count(*) from {table} group by source_dataset"
        ).fetchall()]
        total = math.prod(sizes) if len(sizes) == 2 else 0
    else:
        total = n * (n - 1) // 2
    if total <= 0:
        return MAX_PRIOR, 0
    cross = "and l.source_dataset <> r.source_dataset" if link_type == "link_only" else ""
    parts = []
    for cols in rules:
        on = " and ".join(f"l.{c} = r.{c}" for c in cols)
        grp = ", ".join(cols)
        not_null = " and ".join(f"{c} is not null" for c in cols)
        parts.append(f"""
            select l.unique_id as a, r.unique_id as b
            from (select * from {table} where {not_null}
                  qualify count(*) over (partition by {grp}) <= {cap}) l
            join (select * from {table} where {not_null}
                  qualify count(*) over (partition by {grp}) <= {cap}) r
              on {on} and l.unique_id < r.unique_id {cross}
        """)
    found_row = one(con, f"select count(*) from ({' union '.join(parts)})") if parts else None
    found = int(found_row[0]) if found_row else 0
    expected = max(found, floor_matches) / training.recall
    return min(max(expected / total, 1e-12), MAX_PRIOR), found


# -- training and scoring ------------------------------------------------------------------


def _model_params_from_linker(linker: Any, profile: ProfileSpec, prior: float) -> ModelParams:
    model = linker.misc.save_model_to_json()
    levels: dict[str, list[list[float | None]]] = {}
    for comp in model["comparisons"]:
        name = comp["output_column_name"]
        levels[name] = [
            [_num(lv.get("m_probability")), _num(lv.get("u_probability"))]
            for lv in comp["comparison_levels"]
            if not lv.get("is_null_level")
        ]
    missing = {c.name for c in profile.comparisons} - set(levels)
    if missing:
        raise ConfigError(f"trained model lacks comparisons {sorted(missing)}")
    return ModelParams(prior=prior, levels=levels, trained=True)


def _num(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) and number > 0 else None


def needed_columns(table_columns: Sequence[str], profile: ProfileSpec) -> list[str]:
    """Columns Splink needs: id, source dataset, blocking keys and everything compared."""
    texts = [
        " ".join(
            str(v) for v in (lv.missing, lv.exact, lv.jaro_winkler, lv.levenshtein,
                             lv.damerau_levenshtein, lv.sql, " ".join(lv.reversed or []))
            if v
        )
        for c in profile.comparisons
        for lv in c.levels
    ]
    used = " ".join(texts) + " " + " ".join(" ".join(r) for r in profile.training)
    keep = {"unique_id", "source_dataset", *block_columns(profile.blocking)}
    return [c for c in table_columns if c in keep or c in used]


@dataclass
class Linkage:
    """One Splink model over a prepared table: train it, then score candidate pairs."""

    backend: Backend
    table: str
    profile: ProfileSpec
    params: ModelParams
    link_type: LinkType = "dedupe_only"
    max_iterations: int = 10

    def __post_init__(self) -> None:
        cols = [r[0] for r in self.backend.con.execute(f"describe {self.table}").fetchall()]
        self.columns = needed_columns(cols, self.profile)
        self.input = self.backend.register(self.table, self.columns)
        self._rebuild(self.params)

    def _rebuild(self, params: ModelParams) -> None:
        from splink import Linker

        with quiet_splink():
            self.linker = Linker(
                self.input,
                splink_settings(self.profile, params, self.link_type, self.max_iterations),
                log_level=None,
            )

    def _floored(self, m_floor: float) -> ModelParams:
        """Current model parameters, with configured defaults for levels EM never saw and m
        values held above `m_floor`."""
        params = _model_params_from_linker(self.linker, self.profile, self.params.prior)
        default = default_params(self.profile, self.params.prior)
        for name, levels in params.levels.items():
            for pos, (m, u) in enumerate(levels):
                dm, du = default.levels[name][pos]
                m = m if m is not None else dm
                levels[pos] = [None if m is None else max(m, m_floor), u if u is not None else du]
        return params

    def train(self, training: TrainingSpec, n_records: int) -> ModelParams:
        """u by random sampling, then m by EM on each training rule; params carry the result.

        An EM session that fails (too few pairs, or m collapsing below float range on a level
        the data never shows) is skipped: Splink leaves a failed session's model half-edited,
        so the model is rebuilt from the snapshot taken before it.
        """
        from splink import block_on
        from splink.internals.exceptions import SplinkException

        notes: list[str] = []
        sessions = 0
        with quiet_splink():
            self.linker.training.estimate_u_using_random_sampling(
                max_pairs=training.u_max_pairs, seed=training.seed
            )
            params = self._floored(training.m_floor)
            for rule in self.profile.training:
                try:
                    self.linker.training.estimate_parameters_using_expectation_maximisation(
                        block_on(*rule), max_pairs=training.em_max_pairs
                    )
                    sessions += 1
                    params = self._floored(training.m_floor)
                except (SplinkException, ValueError, ZeroDivisionError) as exc:
                    notes.append(f"EM on {'+'.join(rule)} skipped: {str(exc).splitlines()[0]}")
                # Restart from floored values: a near-zero m would otherwise shrink further in
                # the next session until Splink rejects it (and a failed session leaves the
                # model half-edited).
                self._rebuild(params)
        params.trained = sessions > 0
        params.trained_records = n_records
        params.notes = notes
        self.params = params
        self._rebuild(params)
        return params

    def score(self, low: float, target: str = PAIRS_TABLE) -> int:
        """Score all blocked pairs, keeping those at or above `low`, into local `target`."""
        with quiet_splink():
            pred = self.linker.inference.predict(
                threshold_match_probability=low, warning_mode="never"
            )
            self.backend.fetch(pred, target)
        row = one(self.backend.con, f"select count(*) from {target}")
        return int(row[0]) if row else 0

    def score_new(self, new_table: str, low: float, target: str = PAIRS_TABLE) -> int:
        """Incremental: pairs among new records and between new and existing records."""
        new = self.backend.register(new_table, self.columns)
        with quiet_splink():
            within = self.linker.inference.predict_within(
                new, threshold_match_probability=low, warning_mode="never"
            )
            self.backend.fetch(within, target)
            between = self.linker.inference.predict_between(
                new, self.input, threshold_match_probability=low, warning_mode="never"
            )
            self.backend.fetch(between, target, append=True)
        row = one(self.backend.con, f"select count(*) from {target}")
        return int(row[0]) if row else 0
