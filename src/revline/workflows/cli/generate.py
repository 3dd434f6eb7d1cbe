"""`revline workflows generate | regenerate | batch | batch-status`."""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from revline.workflows.cli.base import (
    JsonOption,
    StageProgress,
    TenantOption,
    app,
    context,
    err,
    money,
    out,
    print_json,
    short,
    unit,
)

ModeOption = Annotated[str, typer.Option(
    "--mode", "-m", help="simple: one LLM call from the best pattern; full: requirements, "
    "architecture, configuration and quality steps; multi-agent: the steps as roles plus a "
    "reviewer; retrieval: no LLM. Without an LLM configured every mode runs as retrieval.")]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "workflow"


def _check_output(output: Path | None) -> None:
    """Refuse an output that cannot be a file before spending a generation on it."""
    from revline.kernel.errors import InvalidInput

    if output is not None and str(output) != "-" and output.is_dir():
        raise InvalidInput(f"-o {output}: is a directory; name a file, e.g. "
                           f"{output / 'workflow.yml'}")


def _write_dsl(dsl: str, output: Path | None, title: str) -> str:
    """Write the DSL; `-` is stdout. Returns where it went."""
    from revline.kernel.errors import InvalidInput

    if output is not None and str(output) == "-":
        typer.echo(dsl, nl=False)
        return "-"
    path = output or Path(f"{_slug(title)}.yml")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dsl, encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot write {path} ({exc.strerror or exc}); the generation is "
                           "saved: `revline workflows history`, then `show ID -o FILE`") from exc
    return str(path)


def _report(detail: dict[str, Any], where: str | None, as_json: bool) -> None:
    """Summarize a finished run on stderr (or print its JSON on stdout)."""
    current = detail["current"] or {}
    if as_json:
        keep = ("number", "mode", "app_mode", "name", "valid", "errors", "warnings",
                "quality_score", "quality", "repairs", "rounds", "patterns", "templates",
                "timings_ms", "notes", "cost_usd_micros", "llm_calls")
        print_json({"id": detail["id"], "requested_mode": detail["requested_mode"],
                    "status": detail["status"], "file": where,
                    **{k: current.get(k) for k in keep}})
        return
    mode = current.get("mode")
    label = "[yellow]retrieval[/yellow] (no LLM: assembled from the pattern library)" \
        if mode == "retrieval" else f"[cyan]{mode}[/cyan]"
    err.print(f"mode: {label}")
    used = [p["id"] for p in current.get("patterns") or [] if p.get("used")]
    if used:
        err.print(f"pattern: {used[0]} (of {len(current['patterns'])} retrieved)")
    for note in current.get("notes") or []:
        err.print(f"  [dim]note:[/dim] {escape(str(note))}")
    valid = current.get("valid")
    verdict = "[green]valid[/green]" if valid else \
        f"[red]invalid, {len(current.get('errors') or [])} error(s)[/red]"
    err.print(f"{verdict}, {len(current.get('warnings') or [])} warning(s) · quality "
              f"{current.get('quality_score')}/100 · cost {money(current.get('cost_usd_micros'))}"
              f" · {current.get('llm_calls', 0)} LLM call(s) · {current.get('rounds', 0)} "
              "fix round(s)")
    for issue in (current.get("errors") or [])[:10]:
        err.print(f"  [red]{escape(issue['path'])}[/red]: {escape(issue['message'])}")
    if where and where != "-":
        err.print(f"wrote [bold]{escape(where)}[/bold] (generation {short(detail['id'])}, "
                  f"version {current.get('number')})")


def _finish(tenant: str | None, generation_id: uuid.UUID, output: Path | None,
            as_json: bool) -> None:
    from revline.workflows import service

    with unit(tenant) as (session, tenant_id, _):
        detail = service.detail(session, tenant_id, str(generation_id))
    current = detail["current"] or {}
    where = _write_dsl(current["dsl"], output, detail["title"] or current.get("name", ""))
    _report(detail, where, as_json)
    if not current.get("valid"):
        raise typer.Exit(1)


@app.command("generate")
def generate(
    requirement: Annotated[str, typer.Argument(metavar="REQUIREMENT",
                                               help="What the workflow should do, in words.")],
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="DSL file to write (default: a name from the title; - for "
        "stdout).")] = None,
    mode: ModeOption = "full",
    name: Annotated[str | None, typer.Option(help="App name (default: from the "
                                                  "requirement).")] = None,
    max_rounds: Annotated[int | None, typer.Option(
        "--max-rounds", min=0, max=10, help="Quality fix rounds (default "
        "workflows_max_rounds).")] = None,
    as_json: JsonOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
    tenant: TenantOption = None,
) -> None:
    """Generate a Dify workflow (DSL YAML) from a requirement.

    Progress goes to stderr, the file is written and summarized (mode, pattern, validity,
    quality score, cost). Exit 0 when the DSL is valid, 1 when it is saved but invalid.
    Without an LLM configured, the workflow is assembled from the closest pattern
    ("retrieval" mode) and labelled as such.
    """
    from revline.workflows import service

    service.check_mode(mode)
    _check_output(output)
    db, settings, tenant_id = context(tenant)
    progress = StageProgress(err, quiet=quiet or as_json)
    try:
        outcome = service.generate(db, settings, tenant_id, requirement, mode, name=name,
                                   max_rounds=max_rounds, listener=progress)
    finally:
        progress.stop()
    _finish(tenant, outcome.generation_id, output, as_json)


@app.command("regenerate")
def regenerate(
    ref: Annotated[str, typer.Argument(metavar="ID", help="Generation id or prefix.")],
    output: Annotated[Path | None, typer.Option("-o", "--output",
                                                help="Write the new version's DSL here.")
                      ] = None,
    mode: Annotated[str | None, typer.Option("--mode", "-m",
                                             help="Mode for this run (default: as before).")
                    ] = None,
    feedback: Annotated[str | None, typer.Option(help="What to change this time.")] = None,
    as_json: JsonOption = False,
    tenant: TenantOption = None,
) -> None:
    """Run a generation again: a new version with fresh LLM answers (see `diff`)."""
    from revline.workflows import service

    _check_output(output)
    db, settings, tenant_id = context(tenant)
    progress = StageProgress(err, quiet=as_json)
    try:
        generation_id, _ = service.regenerate(db, settings, tenant_id, ref, mode=mode,
                                              feedback=feedback, listener=progress)
    finally:
        progress.stop()
    _finish(tenant, generation_id, output, as_json)


def read_batch_file(path: Path) -> list[dict[str, Any]]:
    """Requirements from a file: JSON lines ({requirement, name?}), a JSON list, or text
    with one requirement per line (blank lines and # comments skipped)."""
    from revline.kernel.errors import InvalidInput, UnreadableInput

    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UnreadableInput(f"{path}: cannot read ({exc})") from exc
    stripped = text.strip()
    items: list[dict[str, Any]] = []
    if stripped.startswith("["):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, "
                               f"column {exc.colno})") from exc
        for number, d in enumerate(data, 1):
            if isinstance(d, str):
                items.append({"requirement": d})
            elif isinstance(d, dict):
                items.append(dict(d))
            else:
                raise InvalidInput(f"{path}: item {number}: expected a requirement string or "
                                   f"{{\"requirement\": ...}}, got {json.dumps(d)[:60]}")
        return items
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("{"):
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
            if not isinstance(item, dict):
                raise InvalidInput(f"{path}:{number}: expected {{\"requirement\": ...}}")
            items.append(item)
        else:
            items.append({"requirement": line})
    return items


def _batch_table(data: dict[str, Any]) -> Table:
    table = Table(title=f"batch {short(data['id'])} · {data['mode']} · "
                        f"{data['finished']}/{data['total']} finished")
    for column in ("#", "id", "status", "mode", "valid", "quality", "cost", "title / error"):
        table.add_column(column)
    for item in data.get("items") or []:
        table.add_row(str((item["batch_index"] or 0) + 1), short(item["id"]), item["status"],
                      item["mode"] or "", "" if item["valid"] is None else
                      ("yes" if item["valid"] else "no"),
                      "" if item["quality_score"] is None else str(item["quality_score"]),
                      money(item["cost_usd_micros"]),
                      escape(item["error"] or item["title"] or item["requirement"][:50]))
    return table


@app.command("batch")
def batch(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="One requirement per line, or "
                                         "JSON lines {\"requirement\", \"name\"}.")],
    mode: ModeOption = "full",
    name: Annotated[str, typer.Option(help="Batch name.")] = "",
    inline: Annotated[bool, typer.Option(
        "--inline", help="Generate here, one after another, instead of queueing jobs for "
        "`revline worker`.")] = False,
    wait: Annotated[bool, typer.Option("--wait/--no-wait",
                                       help="Follow the queued jobs until all finish.")] = True,
    output_dir: Annotated[Path | None, typer.Option(
        "--output-dir", "-d", help="Write each valid item's DSL here when finished.")] = None,
    as_json: JsonOption = False,
    tenant: TenantOption = None,
) -> None:
    """Generate many workflows: one `workflows.generate` job per requirement.

    Jobs run in `revline worker`; a killed worker's item is picked up again, finished items
    are never redone (`batch-status ID --resume` re-queues at once).
    """
    from revline.workflows import service
    from revline.workflows.batch import batch_dict

    items = read_batch_file(file)
    with unit(tenant) as (session, tenant_id, settings):
        row = service.create_batch(session, settings, tenant_id, items, mode, name)
        batch_id = row.id
        if inline:
            from revline.kernel.jobs import pending_jobs

            pending_jobs(session).clear()  # run here instead of in a worker
    db, settings, tenant_id = context(tenant)
    if inline:
        with unit(tenant) as (session, _, _):
            ids = [uuid.UUID(i["id"]) for i in batch_dict(session, tenant_id, batch_id)["items"]]
        for index, generation_id in enumerate(ids, 1):
            err.print(f"[bold]item {index}/{len(ids)}[/bold]")
            progress = StageProgress(err, quiet=as_json)
            try:
                service.run_queued(db, settings, tenant_id, generation_id, progress)
            except Exception as exc:  # the item records its error; carry on with the rest
                err.print(f"[red]item {index} failed:[/red] {escape(str(exc))}")
            finally:
                progress.stop()
    else:
        err.print(f"queued batch {batch_id} ({len(items)} job(s)); run `revline worker` to "
                  "process them")
        if wait:
            _follow(tenant, batch_id, as_json)
    _show_batch(tenant, batch_id, as_json, output_dir)


def _follow(tenant: str | None, batch_id: uuid.UUID, quiet: bool) -> None:
    from revline.workflows.batch import batch_dict

    last = -1
    while True:
        with unit(tenant) as (session, tenant_id, _):
            data = batch_dict(session, tenant_id, batch_id, items=False)
        if data["finished"] != last and not quiet:
            err.print(f"  {data['finished']}/{data['total']} finished "
                      f"({', '.join(f'{k}: {v}' for k, v in sorted(data['counts'].items()))})")
            last = data["finished"]
        if data["complete"]:
            return
        time.sleep(1.0)


def _show_batch(tenant: str | None, batch_id: uuid.UUID, as_json: bool,
                output_dir: Path | None) -> None:
    from revline.workflows import service
    from revline.workflows.history import version_of

    with unit(tenant) as (session, tenant_id, _):
        data = service.get_batch(session, tenant_id, batch_id)
        if output_dir is not None:
            output_dir.mkdir(parents=True, exist_ok=True)
            for item in data["items"]:
                if item["status"] == "done":
                    version = version_of(session, tenant_id, item["id"])
                    path = output_dir / f"{(item['batch_index'] or 0) + 1:03d}-" \
                                        f"{_slug(item['title'] or 'workflow')}.yml"
                    path.write_text(version.dsl, encoding="utf-8")
                    item["file"] = str(path)
    if as_json:
        print_json(data)
    else:
        out.print(_batch_table(data))
    if data["counts"].get("failed"):
        raise typer.Exit(1)


@app.command("batch-status")
def batch_status(
    batch_id: Annotated[uuid.UUID, typer.Argument(metavar="BATCH_ID")],
    resume: Annotated[bool, typer.Option("--resume", help="Re-queue unfinished items now.")
                      ] = False,
    retry_failed: Annotated[bool, typer.Option("--retry-failed",
                                               help="With --resume, failed items too.")
                            ] = False,
    as_json: JsonOption = False,
    tenant: TenantOption = None,
) -> None:
    """A batch's items and results; `--resume` re-queues the unfinished ones."""
    from revline.workflows import service

    if resume:
        with unit(tenant) as (session, tenant_id, settings):
            queued = service.resume_batch(session, settings, tenant_id, batch_id, retry_failed)
        err.print(f"re-queued {len(queued)} item(s)")
    _show_batch(tenant, batch_id, as_json, None)
