"""`revline`: the lead pipeline, the API server, the worker and admin commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from revline import __version__
from revline.kernel.errors import RevlineError

app = typer.Typer(
    name="revline",
    help="Revline: self-hosted AI revenue engine. Start with `revline run examples/leads.csv`.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
config_app = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)
cache_app = typer.Typer(help="Inspect or clear the fetch/lookup cache.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage tenants' API keys.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(cache_app, name="cache")
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")

out = Console()
err = Console(stderr=True)


def _register_domains() -> None:
    import importlib

    from revline.registry import CLI_MODULES

    for name, module in CLI_MODULES:
        app.add_typer(importlib.import_module(module).app, name=name)


def _version(value: bool) -> None:
    if value:
        out.print(f"revline {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print version.")
    ] = False,
) -> None:
    """Revline command line."""


@app.command()
def run(
    input_file: Annotated[Path, typer.Argument(metavar="INPUT", help="Leads file: .csv or .xlsx")],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Output XLSX (default INPUT.enriched.xlsx); "
                     "the HTML report is written next to it."),
    ] = None,
    tier: Annotated[
        int, typer.Option("--tier", min=1, max=3, help="1: homepage facts; 2: + site audit; "
                          "3: + SEO crawl.")
    ] = 1,
    mapping: Annotated[
        list[str] | None,
        typer.Option("--map", help="FIELD=COLUMN, e.g. --map company='Business Name' (repeat)."),
    ] = None,
    sheet: Annotated[str | None, typer.Option(help="XLSX sheet name (default: first).")] = None,
    restart: Annotated[
        bool, typer.Option("--restart", help="Start over instead of resuming an unfinished run.")
    ] = False,
    tenant: Annotated[str | None, typer.Option(help="Tenant slug (default from config).")] = None,
) -> None:
    """Run the whole lead pipeline: import, validate, enrich, classify, dedupe, score, export.

    Re-running the same command after a crash or Ctrl-C resumes where it stopped.
    """
    from revline.cli.progress import RichProgress
    from revline.kernel.auth import ensure_tenant
    from revline.kernel.config import get_settings
    from revline.kernel.db import get_database
    from revline.leads.importer import parse_map_option
    from revline.leads.llm import llm_hooks
    from revline.leads.pipeline import LeadPipeline, RunOptions

    settings = get_settings()
    db = get_database(settings)
    with db.session() as session:
        tenant_id = ensure_tenant(session, tenant or settings.default_tenant).id
    progress = RichProgress(err)
    pipeline = LeadPipeline(db, settings, tenant_id, progress=progress)
    options = RunOptions(
        input_path=input_file,
        output_xlsx=output,
        tier=tier,
        mapping=parse_map_option(mapping or []),
        sheet=sheet,
        restart=restart,
    )
    run_id = pipeline.prepare(options)
    # LLM calls are billed to the run as the job, so the run id must exist first.
    classifier, mockup, reason = llm_hooks(settings, tenant_id, job_id=run_id)
    pipeline.llm_classifier, pipeline.mockup_writer = classifier, mockup
    pipeline.llm_unavailable_reason = reason
    try:
        summary = pipeline.execute(run_id)
    except KeyboardInterrupt:
        err.print(
            f"[yellow]Interrupted.[/yellow] Progress is saved (run {run_id}); "
            "re-run the same command to resume."
        )
        raise typer.Exit(130) from None
    xlsx = options.resolved_output()
    table = Table(title=f"Revline run {summary.run_id[:8]}", show_header=False)
    table.add_row("Leads", str(summary.total))
    table.add_row("Rows with errors (kept, flagged)", str(summary.rows_with_errors))
    table.add_row("Duplicates", f"{summary.duplicates} in {summary.clusters} clusters")
    tiers = ", ".join(f"{k}: {v}" for k, v in sorted(summary.tier_counts.items()))
    table.add_row("Tiers", tiers)
    shares = ", ".join(
        f"{k} {100 * v / max(1, summary.total):.0f}%"
        for k, v in sorted(summary.layer_counts.items(), key=lambda kv: -kv[1])
    )
    table.add_row("Classified by layer", shares)
    statuses = ", ".join(f"{k}: {v}" for k, v in summary.enrichment_status_counts.items())
    table.add_row("Websites", statuses)
    table.add_row("LLM calls", str(summary.llm_calls))
    table.add_row("Time", f"{summary.duration_s:.1f}s")
    table.add_row("XLSX", str(xlsx))
    table.add_row("Report", str(xlsx.with_suffix(".html")))
    out.print(table)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Bind address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Uvicorn worker processes.")] = 1,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    from revline.kernel.config import get_settings
    from revline.kernel.db import get_database

    get_database(get_settings())  # migrate once before workers start
    uvicorn.run(
        "revline.api.app:create_app", factory=True, host=host, port=port, workers=workers
    )


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="Worker threads/processes.")] = 2,
    beat: Annotated[bool, typer.Option("--beat/--no-beat", help="Also run the scheduler.")] = True,
    pool: Annotated[str, typer.Option(help="Celery pool: prefork, threads or solo.")] = "threads",
    queues: Annotated[str, typer.Option(help="Comma-separated queues.")] = "celery",
) -> None:
    """Run a Celery worker for background jobs (embedded SQLite broker by default)."""
    from revline.kernel.config import get_settings
    from revline.kernel.db import get_database
    from revline.kernel.jobs import get_celery
    from revline.registry import configure_jobs

    get_database(get_settings())
    configure_jobs()
    celery = get_celery()
    argv = ["worker", f"--concurrency={concurrency}", f"--pool={pool}", f"--queues={queues}",
            "--loglevel=INFO"]
    if beat:
        home = get_settings().ensure_home()
        argv += ["--beat", f"--schedule={home / 'celerybeat-schedule'}"]
    celery.worker_main(argv)


@config_app.command("show")
def config_show(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print the effective configuration with secrets masked."""
    from revline.kernel.config import get_settings

    data = get_settings().masked()
    if as_json:
        out.print_json(json.dumps(data, default=str))
        return
    table = Table("setting", "value", title="Effective configuration")
    for key, value in data.items():
        table.add_row(key, "" if value is None else str(value))
    out.print(table)


def _cache() -> object:
    from revline.kernel.cache import TTLCache
    from revline.kernel.config import get_settings

    settings = get_settings()
    settings.ensure_home()
    return TTLCache(settings.effective_cache_path, settings.cache_ttl_s)


@cache_app.command("stats")
def cache_stats(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Entries, expired entries and bytes, per namespace."""
    from revline.kernel.cache import TTLCache

    cache = _cache()
    assert isinstance(cache, TTLCache)
    stats = cache.stats()
    cache.close()
    out.print_json(json.dumps(stats, default=str)) if as_json else out.print(stats)


@cache_app.command("clear")
def cache_clear(
    namespace: Annotated[str | None, typer.Option(help="Only this namespace, e.g. page")] = None,
) -> None:
    """Delete cached pages and lookups."""
    from revline.kernel.cache import TTLCache

    cache = _cache()
    assert isinstance(cache, TTLCache)
    removed = cache.clear(namespace)
    cache.close()
    out.print(f"removed {removed} cache entries")


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="A label for the key.")] = "cli",
    scope: Annotated[list[str] | None, typer.Option(help="Scope (repeat); default '*'.")] = None,
    tenant: Annotated[str | None, typer.Option(help="Tenant slug (created if missing).")] = None,
) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    from revline.kernel.auth import create_api_key, ensure_tenant
    from revline.kernel.config import get_settings
    from revline.kernel.db import get_database

    settings = get_settings()
    with get_database(settings).session() as session:
        row_tenant = ensure_tenant(session, tenant or settings.default_tenant)
        row, plaintext = create_api_key(
            session, row_tenant, name, scope or ["*"], settings.api_keys_pepper.get_secret_value()
        )
        out.print(f"tenant={row_tenant.slug} key_id={row.id} scopes={','.join(row.scopes)}")
    print(plaintext)  # noqa: T201 - the key goes to stdout alone so scripts can capture it


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations (also done automatically on first use)."""
    from revline.kernel.config import get_settings
    from revline.kernel.db import get_database

    db = get_database(get_settings())
    out.print(f"database at head: {len(db.table_names())} tables")


def main() -> None:
    """Console entry point: typed errors become one line on stderr and a non-zero exit."""
    _register_domains()
    try:
        app()
    except RevlineError as exc:
        err.print(f"[red]error:[/red] {escape(exc.message)}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
