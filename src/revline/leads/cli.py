"""`revline leads ...`: list runs, dedupe a file on its own, and import dedupe review answers."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from revline.kernel.errors import InvalidInput

app = typer.Typer(help="Lead runs and lead-file tools.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)


def _tenant_id(slug: str | None) -> uuid.UUID:
    from revline.kernel.auth import tenant_session

    with tenant_session(slug) as (_, tenant_id):
        return tenant_id


@app.command("runs")
def runs(
    limit: Annotated[int, typer.Option(help="How many runs.")] = 20,
    tenant: Annotated[str | None, typer.Option(help="Tenant slug.")] = None,
) -> None:
    """List recent runs with status and stage."""
    from revline.kernel.config import get_settings
    from revline.kernel.db import get_database
    from revline.leads.repository import LeadRunRepository

    tenant_id = _tenant_id(tenant)
    table = Table("run", "file", "tier", "status", "stage", "rows", "created")
    with get_database(get_settings()).session() as session:
        for run in LeadRunRepository(session, tenant_id).list(limit=limit):
            table.add_row(
                str(run.id)[:8], run.input_name, str(run.tier), run.status, run.stage,
                str(run.total_rows or 0), run.created_at.strftime("%Y-%m-%d %H:%M"),
            )
    out.print(table)


@app.command("dedupe")
def dedupe(
    input_file: Annotated[Path, typer.Argument(metavar="INPUT.csv", help="Leads CSV/XLSX.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="CLUSTERS.csv to write.")],
    id_column: Annotated[
        str | None, typer.Option("--id-column", help="Column with record ids (default: row no.)")
    ] = None,
    incremental: Annotated[
        bool,
        typer.Option(
            "--incremental",
            help="Match INPUT against the saved state (model and clusters) of an earlier run, "
            "without retraining or renaming existing clusters.",
        ),
    ] = False,
    state: Annotated[
        str, typer.Option("--state", help="Name of the saved state to build on and update.")
    ] = "default",
    save: Annotated[
        bool, typer.Option("--save/--no-save", help="Save model and clusters for --incremental.")
    ] = True,
    engine: Annotated[
        str | None,
        typer.Option("--engine", help="duckdb (default) or spark (needs pyspark and Java)."),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option("--threshold", help="Link pairs with match probability >= this (0-1)."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="Dedupe YAML (default: REVLINE_DEDUPE_CONFIG or bundled)."),
    ] = None,
    uncertain_out: Annotated[
        Path | None,
        typer.Option(
            "--uncertain-out",
            help="Write uncertain pairs here for a person to label; import the answers with "
            "`revline leads dedupe-labels FILE`.",
        ),
    ] = None,
    llm: Annotated[
        bool, typer.Option("--llm", help="Ask the LLM gateway about uncertain pairs.")
    ] = False,
    golden_out: Annotated[
        Path | None, typer.Option("--golden-out", help="Write one golden record per cluster.")
    ] = None,
    links_out: Annotated[
        Path | None,
        typer.Option("--links-out", help="Write the link (fields matched, weight) per merge."),
    ] = None,
    mapping: Annotated[
        list[str] | None,
        typer.Option("--map", help="FIELD=COLUMN, e.g. --map company='Business Name' (repeat)."),
    ] = None,
    tenant: Annotated[str | None, typer.Option(help="Tenant slug.")] = None,
) -> None:
    """Write `record_id,cluster_id` for every input row (Splink, DuckDB or Spark)."""
    from revline.kernel.config import get_settings
    from revline.kernel.db import get_database
    from revline.leads.dedupe.runs import FileRequest, dedupe_file
    from revline.leads.importer import parse_map_option

    if engine is not None and engine not in ("duckdb", "spark"):
        raise InvalidInput(f"--engine must be duckdb or spark, got {engine!r}")
    req = FileRequest(
        input_path=input_file, output=output, id_column=id_column,
        mapping=parse_map_option(mapping or []), incremental=incremental, state=state,
        save=save, engine=engine, threshold=threshold, config_path=config,
        uncertain_out=uncertain_out, golden_out=golden_out, links_out=links_out, llm=llm,
    )
    settings = get_settings()
    result = dedupe_file(get_database(settings), settings, _tenant_id(tenant), req)
    st = result.stats
    for warning in dict.fromkeys([*result.warnings, *st.notes]):
        err.print(f"[yellow]note:[/yellow] {escape(warning)}", highlight=False, soft_wrap=True)
    known = f", {st.known_records:,} already known" if st.known_records else ""
    out.print(
        f"{st.records:,} records{known} -> {st.clusters:,} clusters of 2+ "
        f"({st.duplicates:,} duplicates, largest {st.largest_cluster}) -> {output}",
        highlight=False, soft_wrap=True,
    )
    extra = [f"profile {st.profile}", st.model, f"engine {st.engine}",
             f"{sum(st.seconds.values()):.1f} s"]
    if st.uncertain_pairs or uncertain_out:
        extra.append(f"{st.uncertain_pairs:,} uncertain pairs")
    if st.llm_reviewed:
        extra.append(f"{st.llm_reviewed:,} reviewed by the LLM")
    if st.attached_to_existing:
        extra.append(f"{st.attached_to_existing:,} joined existing clusters")
    out.print("  " + "; ".join(extra), highlight=False, soft_wrap=True)
    for name, path in (("uncertain", uncertain_out), ("golden", golden_out), ("links", links_out)):
        if path is not None:
            out.print(f"  {name}: {result.written.get(name, 0):,} rows -> {path}",
                      highlight=False, soft_wrap=True)


@app.command("dedupe-labels")
def dedupe_labels(
    review_file: Annotated[
        Path, typer.Argument(metavar="PAIRS.csv", help="A --uncertain-out file with labels.")
    ],
    tenant: Annotated[str | None, typer.Option(help="Tenant slug.")] = None,
) -> None:
    """Store yes/no answers from a review file; later dedupe runs reuse them as decisions."""
    from revline.kernel.config import get_settings
    from revline.kernel.db import get_database
    from revline.leads.dedupe.review import read_review_csv
    from revline.leads.dedupe.runs import import_labels

    labels = list(read_review_csv(review_file))
    if not labels:
        raise InvalidInput(
            f"{review_file}: no answers found; fill the label column with yes or no"
        )
    settings = get_settings()
    n = import_labels(get_database(settings), _tenant_id(tenant), labels)
    same = sum(1 for lb in labels if lb.match)
    out.print(f"{n:,} answers stored ({same:,} same, {len(labels) - same:,} different)")
