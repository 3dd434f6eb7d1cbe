"""`revline kb patterns ...` and `revline kb winners ...`."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from revline.knowledge.cli.session import cli_session, tenant_option

patterns_app = typer.Typer(help="The workflow/automation pattern library.",
                           no_args_is_help=True)
winners_app = typer.Typer(help="Winning ad and email creatives.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _emit(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")


@patterns_app.command("list")
def patterns_list(
    category: Annotated[str | None, typer.Option(help="Only this category.")] = None,
    as_json: JsonOpt = False,
    tenant: tenant_option = None,
) -> None:
    """Patterns of the tenant (seeded from the bundled library on first use)."""
    from revline.knowledge import service

    with cli_session(tenant) as (session, tenant_id, settings):
        records = [r for r in service.list_patterns(session, tenant_id, settings=settings)
                   if category is None or r.category == category]
    if as_json:
        _emit([r.to_dict(full=False) for r in records])
        return
    table = Table("id", "mode", "category", "origin", "name")
    for r in records:
        table.add_row(r.id, r.mode, r.category, r.origin, escape(r.name))
    out.print(table)


@patterns_app.command("show")
def patterns_show(
    pattern_id: Annotated[str, typer.Argument(metavar="ID")],
    tenant: tenant_option = None,
) -> None:
    """Print one pattern (with its graph) as JSON."""
    from revline.knowledge import service

    with cli_session(tenant) as (session, tenant_id, settings):
        _emit(service.get_pattern(session, tenant_id, pattern_id, settings=settings).to_dict())


@patterns_app.command("search")
def patterns_search(
    text: Annotated[str, typer.Argument(help="What the workflow should do.")],
    k: Annotated[int, typer.Option("--k", min=1, max=50)] = 5,
    category: Annotated[str | None, typer.Option(help="Only this category.")] = None,
    as_json: JsonOpt = False,
    tenant: tenant_option = None,
) -> None:
    """Patterns most relevant to a requirement (hybrid search)."""
    from revline.knowledge import service

    filters: dict[str, Any] | None = {"category": category} if category else None
    with cli_session(tenant) as (session, tenant_id, settings):
        found = service.search_patterns(session, tenant_id, text, k, filters, settings=settings)
    if as_json:
        _emit([{**r.to_dict(full=False), "score": round(s, 6)} for r, s in found])
        return
    table = Table("score", "id", "category", "name")
    for record, score in found:
        table.add_row(f"{score:.4f}", record.id, record.category, escape(record.name))
    out.print(table)


@patterns_app.command("seed")
def patterns_seed(tenant: tenant_option = None) -> None:
    """Apply the bundled library to the tenant now (adds, updates, deletions)."""
    from revline.knowledge.patterns import service as patterns

    with cli_session(tenant) as (session, tenant_id, settings):
        report = patterns.reseed(session, settings, tenant_id)
    _emit(report.to_dict())


@patterns_app.command("validate")
def patterns_validate(
    directory: Annotated[Path | None, typer.Argument(
        help="Pattern folder (default: the configured library).")] = None,
) -> None:
    """Check every pattern file against schema v1; exit 1 when any is invalid."""
    from revline.kernel.config import get_settings
    from revline.knowledge.patterns.library import library_dir, read_library

    library = read_library(directory or library_dir(get_settings()))
    for error in library.errors:
        sys.stdout.write(error + "\n")
    out.print(f"{len(library.patterns)} valid, {len(library.errors)} problems "
              f"in {library.directory}", highlight=False)
    if library.errors:
        raise typer.Exit(1)


@winners_app.command("add")
def winners_add(
    text: Annotated[str, typer.Argument(help="The creative's body text.")],
    channel: Annotated[str, typer.Option(help="meta, google, email, ...")],
    kind: Annotated[str, typer.Option(help="ad or email")] = "ad",
    headline: Annotated[str, typer.Option(help="Headline or subject line.")] = "",
    impressions: Annotated[int, typer.Option(min=0)] = 0,
    clicks: Annotated[int, typer.Option(min=0)] = 0,
    conversions: Annotated[int, typer.Option(min=0)] = 0,
    spend: Annotated[float, typer.Option(min=0, help="In currency units, e.g. 12.50")] = 0.0,
    revenue: Annotated[float, typer.Option(min=0, help="In currency units")] = 0.0,
    currency: Annotated[str, typer.Option()] = "USD",
    observed: Annotated[datetime | None, typer.Option(help="When metrics were read (UTC).")] = None,
    tenant: tenant_option = None,
) -> None:
    """Record a winning creative with its metrics (same creative again: metrics update)."""
    from revline.knowledge import service
    from revline.knowledge.winners import WinnerInput, winner_dict

    winner = WinnerInput(
        body=text, channel=channel, kind=kind, headline=headline, impressions=impressions,
        clicks=clicks, conversions=conversions, spend_minor=round(spend * 100),
        revenue_minor=round(revenue * 100), currency=currency, observed_at=observed,
    )
    with cli_session(tenant) as (session, tenant_id, settings):
        row, created = service.add_winner(session, tenant_id, winner, settings=settings)
        _emit({**winner_dict(row), "created": created})


@winners_app.command("search")
def winners_search(
    text: Annotated[str, typer.Argument(help="The new creative to match.")],
    k: Annotated[int, typer.Option("--k", min=1, max=100)] = 5,
    channel: Annotated[str | None, typer.Option()] = None,
    metric: Annotated[str, typer.Option(help="ctr, cvr or conversion_rate")] = "ctr",
    as_json: JsonOpt = False,
    tenant: tenant_option = None,
) -> None:
    """Winners similar to a creative, ranked by similarity, proven rate and recency."""
    from revline.knowledge import service

    with cli_session(tenant) as (session, tenant_id, settings):
        hits = service.find_similar(session, tenant_id, text, k, channel, None, metric,
                                    settings=settings)
        rows = [h.to_dict() for h in hits]
    if as_json:
        _emit(rows)
        return
    table = Table("score", "sim", metric, "lower", "impr.", "channel", "creative")
    for row in rows:
        table.add_row(f"{row['score']:.3f}", f"{row['similarity']:.3f}", f"{row['rate']:.4f}",
                      f"{row['lower_bound']:.4f}", str(row["impressions"]), row["channel"],
                      escape((row["headline"] + " " + row["body"]).strip()[:80]))
    out.print(table)
