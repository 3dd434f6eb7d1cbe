"""`revline kb ...`: knowledge bases: ingest documents, hybrid search, patterns, winners.

Heavy imports (SQLAlchemy models, numpy, LanceDB, the embedding model) happen inside the
commands, so `revline --help` stays fast and never loads a model.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from revline.kernel.errors import InvalidInput
from revline.knowledge.cli.library import patterns_app, winners_app
from revline.knowledge.cli.session import cli_session, tenant_option

if TYPE_CHECKING:
    from revline.knowledge.search import Hit

app = typer.Typer(
    help="Knowledge bases: ingest documents, hybrid search, patterns, winners.",
    no_args_is_help=True,
)
app.add_typer(patterns_app, name="patterns")
app.add_typer(winners_app, name="winners")
out = Console()
err = Console(stderr=True)

KBArg = Annotated[str, typer.Argument(metavar="KB", help="Knowledge base name.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def emit_json(data: Any) -> None:
    """One JSON document per line on stdout (never wrapped, unlike rich)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def parse_pairs(pairs: list[str] | None, what: str) -> dict[str, str]:
    """`key=value` options as a dict."""
    result: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"{what} {pair!r} must look like key=value")
        result[key.strip()] = value.strip()
    return result


@app.command("create")
def create(
    kb: KBArg,
    description: Annotated[str, typer.Option(help="What the KB holds.")] = "",
    chunk_size: Annotated[int | None, typer.Option(help="Chunk size in characters.")] = None,
    chunk_overlap: Annotated[int | None, typer.Option(help="Overlap in characters.")] = None,
    tenant: tenant_option = None,
) -> None:
    """Create a knowledge base (recording the embedding model and vector store)."""
    from revline.knowledge import service

    with cli_session(tenant) as (session, tenant_id, settings):
        row = service.create_kb(session, tenant_id, kb, description, chunk_size, chunk_overlap,
                                settings=settings)
        out.print(f"created knowledge base {escape(row.name)} ({row.backend}, "
                  f"{row.embed_model}, chunks {row.chunk_size}/{row.chunk_overlap})")


@app.command("ingest")
def ingest(
    kb: KBArg,
    paths: Annotated[list[str], typer.Argument(metavar="PATH...",
                                               help="Files, directories or http(s) URLs.")],
    meta: Annotated[list[str] | None, typer.Option(
        "--meta", help="key=value metadata for every document (repeat).")] = None,
    prune: Annotated[bool, typer.Option(
        help="Remove documents that disappeared from the ingested directories.")] = False,
    as_json: JsonOpt = False,
    tenant: tenant_option = None,
) -> None:
    """Ingest files, directories (recursively) or URLs; the KB is created if missing.

    Unchanged documents are skipped; changed ones replace their chunks. Progress is saved
    as it goes, so an interrupted ingest resumes when run again.
    """
    from revline.knowledge import service
    from revline.knowledge.ingest.sources import expand_paths

    sources, walked, skipped = expand_paths(paths, parse_pairs(meta, "--meta"))
    with cli_session(tenant) as (session, tenant_id, settings):
        bar = _IngestBar(len(sources))
        try:
            report = service.ingest_sources(
                session, tenant_id, kb, sources, settings=settings, progress=bar.advance,
                checkpoint=session.commit, prune_under=walked if prune else None,
            )
        except KeyboardInterrupt:
            bar.close()
            err.print("[yellow]Interrupted.[/yellow] Finished documents are saved; run the "
                      "same command again to continue.")
            raise typer.Exit(130) from None
        finally:
            bar.close()
        report.skipped_unsupported = skipped
    if as_json:
        emit_json(report.to_dict())
    else:
        s = report.summary()
        out.print(
            f"{escape(kb)}: {s['added']} added, {s['updated']} updated, {s['unchanged']} "
            f"unchanged, {s['duplicate']} duplicate, {s['removed']} removed, {s['failed']} "
            f"failed; {s['chunks_added']} chunks indexed in {report.duration_s:.1f}s"
            + (f" ({skipped} unsupported files skipped)" if skipped else ""),
            highlight=False, soft_wrap=True,
        )
    for failed in report.failed:
        err.print(f"[red]error:[/red] {escape(failed.error or failed.source)}", highlight=False,
                  soft_wrap=True)
    if report.failed:
        raise typer.Exit(1)


class _IngestBar:
    """A rich progress bar over documents on stderr (plain when not a terminal)."""

    def __init__(self, total: int) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("[bold]ingest"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            TextColumn("{task.description}"), console=err, disable=not err.is_terminal,
        )
        self.task = self.progress.add_task("", total=total)
        self.progress.start()

    def advance(self, source: str, _result: Any) -> None:
        self.progress.update(self.task, advance=1, description=escape(Path(source).name)[:40])

    def close(self) -> None:
        self.progress.stop()


def _read_queries(path: Path) -> list[tuple[Any, str]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path}: cannot read queries ({exc})") from exc
    queries: list[tuple[Any, str]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{path}:{number}: not JSON ({exc.msg})") from exc
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise InvalidInput(f'{path}:{number}: expected {{"id": ..., "text": "..."}}')
        queries.append((item.get("id"), item["text"]))
    return queries


@app.command("query")
def query(
    kb: KBArg,
    text: Annotated[str | None, typer.Argument(help="Query text (or use --queries).")] = None,
    queries: Annotated[Path | None, typer.Option(
        "--queries", help='JSONL file, one {"id": ..., "text": ...} per line.')] = None,
    k: Annotated[int, typer.Option("--k", help="Hits per query.", min=1, max=1000)] = 10,
    mode: Annotated[str, typer.Option(help="hybrid, vector or bm25.")] = "hybrid",
    where: Annotated[list[str] | None, typer.Option(
        "--filter", help="key=value filter: source, kind, title or metadata (repeat).")] = None,
    collapse: Annotated[bool, typer.Option(help="At most one hit per document.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per query.")] = False,
    tenant: tenant_option = None,
) -> None:
    """Search a knowledge base: BM25 + vector fused with RRF, top-k with scores and spans."""
    from revline.knowledge import service

    if (text is None) == (queries is None):
        raise InvalidInput("give either a query TEXT or --queries FILE.jsonl")
    batch = _read_queries(queries) if queries is not None else [(None, text or "")]
    filters: dict[str, Any] | None = parse_pairs(where, "--filter") or None
    with cli_session(tenant) as (session, tenant_id, settings):
        for query_id, query_text in batch:
            hits = service.search(session, tenant_id, kb, query_text, k, filters, mode,
                                  collapse, settings=settings)
            if as_json:
                line: dict[str, Any] = {"query": query_text,
                                        "hits": [h.to_dict() for h in hits]}
                emit_json({"id": query_id, **line} if queries is not None else line)
            else:
                _print_hits(query_text, hits)


def _short_source(source: str) -> str:
    """Paths under the working directory are shown relative to it."""
    try:
        return str(Path(source).relative_to(Path.cwd()))
    except ValueError:
        return source


def _print_hits(query_text: str, hits: list[Hit]) -> None:
    table = Table("#", "score", title=escape(query_text))
    table.add_column("source", overflow="fold")
    table.add_column("section")
    table.add_column("chunk")
    for rank, hit in enumerate(hits, start=1):
        snippet = " ".join(hit.chunk.split())[:160]
        table.add_row(str(rank), f"{hit.score:.4f}", escape(_short_source(hit.source)),
                      escape(hit.span.section), escape(snippet))
    out.print(table)


@app.command("stats")
def stats(
    kb: Annotated[str | None, typer.Argument(metavar="[KB]", help="One KB (default: all).")] = None,
    as_json: JsonOpt = False,
    tenant: tenant_option = None,
) -> None:
    """Documents, chunks, bytes, model and store of one or every knowledge base."""
    from revline.knowledge import service

    with cli_session(tenant) as (session, tenant_id, settings):
        names = [kb] if kb else [r.name for r in service.list_kbs(session, tenant_id,
                                                                  settings=settings)]
        rows = [service.stats(session, tenant_id, name, settings=settings) for name in names]
        library = service.pattern_library_count(settings)
        seeded = len(service.list_patterns(session, tenant_id, settings=settings))
    if as_json:
        emit_json(rows[0] if kb else {"knowledge_bases": rows, "patterns": seeded,
                                      "patterns_bundled": library})
        return
    table = Table("kb", "docs", "chunks", "MB", "kinds", "backend", "model", "ok")
    for row in rows:
        kinds = ", ".join(f"{k}:{v}" for k, v in sorted(row["kinds"].items()))
        table.add_row(escape(row["name"]), str(row["documents"]), str(row["chunks"]),
                      f"{row['bytes'] / 1048576:.1f}", kinds, row["backend"],
                      f"{row['embed_model']} ({row['embed_sha256'][:8]})",
                      "yes" if row["model_matches"] else "[red]reembed[/red]")
    out.print(table)
    if not kb:
        out.print(f"patterns: {seeded} for this tenant, {library} in the bundled library")


@app.command("list")
def list_bases(
    include_all: Annotated[bool, typer.Option("--all", help="Include internal KBs.")] = False,
    as_json: JsonOpt = False,
    tenant: tenant_option = None,
) -> None:
    """List knowledge bases."""
    from revline.knowledge import service
    from revline.knowledge.schemas import KBOut

    with cli_session(tenant) as (session, tenant_id, settings):
        rows = [KBOut.of(r) for r in service.list_kbs(session, tenant_id, include_all,
                                                      settings=settings)]
    if as_json:
        emit_json([r.model_dump(mode="json") for r in rows])
        return
    table = Table("kb", "documents", "chunks", "description")
    for row in rows:
        table.add_row(escape(row.name), str(row.documents), str(row.chunks),
                      escape(row.description))
    out.print(table)


@app.command("docs")
def docs(
    kb: KBArg,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: JsonOpt = False,
    tenant: tenant_option = None,
) -> None:
    """List a knowledge base's documents."""
    from revline.knowledge import service
    from revline.knowledge.schemas import DocumentOut

    with cli_session(tenant) as (session, tenant_id, _):
        rows = [DocumentOut.of(d) for d in service.documents_page(session, tenant_id, kb, limit,
                                                                  offset)]
    if as_json:
        emit_json([r.model_dump(mode="json") for r in rows])
        return
    table = Table("id", "kind", "chunks", "KB", "title", "source")
    for row in rows:
        table.add_row(row.id[:8], row.kind, str(row.chunk_count), f"{row.size_bytes / 1024:.0f}",
                      escape(row.title), escape(row.source))
    out.print(table)


@app.command("chunks")
def chunks(
    kb: KBArg,
    document: Annotated[str, typer.Argument(help="Document id or source.")],
    as_json: JsonOpt = False,
    tenant: tenant_option = None,
) -> None:
    """Show a document's chunks with their spans."""
    from revline.knowledge import service
    from revline.knowledge.schemas import ChunkOut

    with cli_session(tenant) as (session, tenant_id, _):
        rows = [ChunkOut.of(c) for c in service.chunks_page(session, tenant_id, kb, document,
                                                            limit=10_000)]
    if as_json:
        emit_json([r.model_dump(mode="json") for r in rows])
        return
    for row in rows:
        pages = f" pages {row.page_start}-{row.page_end}" if row.page_start else ""
        out.print(f"[bold]#{row.ordinal}[/bold] [{row.span_start}:{row.span_end}]{pages} "
                  f"{escape(row.section)}", highlight=False)
        out.print(escape(row.text), highlight=False)


@app.command("remove")
def remove(
    kb: KBArg,
    document: Annotated[str, typer.Argument(help="Document id or source.")],
    tenant: tenant_option = None,
) -> None:
    """Remove one document from a knowledge base."""
    from revline.knowledge import service

    with cli_session(tenant) as (session, tenant_id, settings):
        service.delete_document(session, tenant_id, kb, document, settings=settings)
    out.print(f"removed {escape(document)}")


@app.command("delete")
def delete(
    kb: KBArg,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False,
    tenant: tenant_option = None,
) -> None:
    """Delete a knowledge base with all its documents and vectors."""
    from revline.knowledge import service

    if not yes and not typer.confirm(f"Delete knowledge base {kb!r} and all its documents?"):
        raise typer.Exit(1)
    with cli_session(tenant) as (session, tenant_id, settings):
        service.delete_kb(session, tenant_id, kb, settings=settings)
    out.print(f"deleted {escape(kb)}")


@app.command("reembed")
def reembed(kb: KBArg, tenant: tenant_option = None) -> None:
    """Re-embed a KB with the configured model and backend (after changing kb_embed_model)."""
    from rich.progress import Progress

    from revline.knowledge import service
    from revline.knowledge.reembed import reembed_kb

    with cli_session(tenant) as (session, tenant_id, settings):
        row = service.get_kb(session, tenant_id, kb) if not kb.startswith("_") else (
            _system_kb(session, tenant_id, kb))
        with Progress(console=err, disable=not err.is_terminal) as bar:
            task = bar.add_task("reembed", total=max(1, row.chunk_count))
            result = reembed_kb(session, settings, row,
                                progress=lambda done, total: bar.update(task, completed=done,
                                                                        total=total))
    out.print(f"re-embedded {escape(kb)}: {result.get('chunks', 0)} chunks with "
              f"{result['model']} on {result['backend']}", highlight=False)


def _system_kb(session: Any, tenant_id: Any, name: str) -> Any:
    from revline.knowledge.repository import KnowledgeBaseRepository

    row = KnowledgeBaseRepository(session, tenant_id).by_name(name)
    if row is None:
        raise InvalidInput(f"no internal knowledge base {name!r}")
    return row


@app.command("optimize")
def optimize(
    kb: Annotated[str | None, typer.Argument(metavar="[KB]", help="One KB (default: all).")] = None,
    tenant: tenant_option = None,
) -> None:
    """Compact collections and update indexes now (the worker does this hourly)."""
    from revline.knowledge import service
    from revline.knowledge.kbs import collection_of, store_of

    with cli_session(tenant) as (session, tenant_id, settings):
        rows = [service.get_kb(session, tenant_id, kb)] if kb else service.list_kbs(
            session, tenant_id, include_system=True, settings=settings)
        targets = [(r.name, store_of(settings, r), collection_of(r)) for r in rows]
    for name, store, collection in targets:
        out.print(f"{escape(name)}: {store.optimize(collection)}", highlight=False)
