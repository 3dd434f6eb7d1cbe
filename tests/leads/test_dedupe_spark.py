"""`--engine spark`: the same model and clusters on a local Spark session (skipped without
pyspark or Java). One small run: Spark's start-up dominates and counts against CI time."""

from __future__ import annotations

import shutil

import pytest

from revline.kernel.config import Settings
from revline.leads.dedupe import Deduper, DedupeRecord, load_config
from tests.leads.dedupe_helpers import background, groups

pytest.importorskip("pyspark", reason="pyspark not installed: pip install 'revline[spark]'")
if shutil.which("java") is None:
    pytest.skip("Java not found: Spark needs a JDK (17+)", allow_module_level=True)


def test_spark_engine_clusters_like_duckdb(settings: Settings) -> None:
    from revline.leads.dedupe.engine import stop_spark

    people = [
        DedupeRecord("s1", company="Lee Dental", name="Ann Lee", email="ann.lee@gmail.com",
                     phone_e164="+14155550101", city="San Francisco"),
        DedupeRecord("s2", company="LEE DENTAL LLC", name="Lee, Ann", email="annlee@googlemail.com",
                     phone_e164="+14155550101", city="San Francisco"),
        DedupeRecord("s3", company="Lee Dental", name="Bob Stone", email="info@leedental.com",
                     phone_e164="+14155550101", city="San Francisco"),
    ]
    records = background(150) + people
    # The default model: u sampling and EM on Spark run a few hundred Spark jobs (about 25 s
    # more here); training itself is engine-independent code and is covered on DuckDB.
    cfg = load_config()
    results = {}
    try:
        for engine in ("spark", "duckdb"):
            # One shuffle partition: a few hundred records gain nothing from more.
            spark_settings = settings.model_copy(update={"dedupe_spark_partitions": 1})
            with Deduper(spark_settings, cfg, engine=engine) as d:
                d.load_records(records)
                stats = d.run()
                rows = d.con.execute(f"select record_id, cluster_id from ({d.cluster_sql()})")
                results[engine] = ({r: {"cluster_id": c} for r, c in rows.fetchall()}, stats)
    finally:
        stop_spark()
    spark, stats = results["spark"]
    assert stats.engine == "spark"
    assert stats.scored_pairs > 0
    assert groups(spark, "s") == {frozenset({"s1", "s2"}), frozenset({"s3"})}
    assert groups(spark) == groups(results["duckdb"][0])
