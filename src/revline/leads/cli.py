"""`revline leads ...`: list runs, inspect one, and dedupe a file on its own."""

from __future__ import annotations

import csv
import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from revline.kernel.errors import InvalidInput

app = typer.Typer(help="Lead runs and lead-file tools.", no_args_is_help=True)
out = Console()


def _tenant_id(slug: str | None) -> uuid.UUID:
    from revline.kernel.auth import ensure_tenant
    from revline.kernel.config import get_settings
    from revline.kernel.db import get_database

    settings = get_settings()
    with get_database(settings).session() as session:
        return ensure_tenant(session, slug or settings.default_tenant).id


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
) -> None:
    """Write `record_id,cluster_id` for every input row."""
    from revline.leads.dedupe import DedupeRecord, cluster_records, record_from_lead
    from revline.leads.importer import open_table
    from revline.leads.validate import ContactValidator

    validator = ContactValidator()
    records: list[DedupeRecord] = []
    ids: list[str] = []
    seen: set[str] = set()
    with open_table(input_file) as reader:
        if id_column is not None and id_column not in reader.columns:
            raise InvalidInput(
                f"{input_file}: no column {id_column!r}; columns are: {', '.join(reader.columns)}"
            )
        for row in reader.rows():
            rid = row.raw.get(id_column, "") if id_column else str(row.row_index)
            if not rid:
                raise InvalidInput(f"{input_file}: row {row.row_index} has an empty {id_column}")
            if rid in seen:
                raise InvalidInput(f"{input_file}: duplicate id {rid!r} in column {id_column}")
            seen.add(rid)
            contact = validator.validate(row.fields)
            ids.append(rid)
            records.append(record_from_lead(f"{row.row_index:09d}", row.fields, contact))
    clusters = cluster_records(records)
    key_to_id = {r.id: rid for r, rid in zip(records, ids, strict=True)}
    tmp = output.with_suffix(output.suffix + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["record_id", "cluster_id"])
        for record, rid in zip(records, ids, strict=True):
            primary = clusters[record.id]["cluster_id"].removeprefix("c-")
            writer.writerow([rid, key_to_id.get(primary, primary)])
    tmp.replace(output)
    n_clusters = len({c["cluster_id"] for c in clusters.values()})
    out.print(f"{len(records)} records in {n_clusters} clusters -> {output}")
