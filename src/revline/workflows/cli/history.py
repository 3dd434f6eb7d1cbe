"""`revline workflows history | show | diff | edit`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from revline.kernel.errors import InvalidInput
from revline.workflows.cli.base import (
    JsonOption,
    TenantOption,
    app,
    err,
    money,
    out,
    print_json,
    short,
    unit,
)


@app.command("history")
def history(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=500)] = 20,
    status: Annotated[str | None, typer.Option(help="queued, running, done or failed.")
                      ] = None,
    mode: Annotated[str | None, typer.Option(help="Mode that ran.")] = None,
    as_json: JsonOption = False,
    tenant: TenantOption = None,
) -> None:
    """Recent generations, newest first: mode, validity, quality score, cost."""
    from revline.workflows import service

    with unit(tenant) as (session, tenant_id, _):
        rows = service.list_generations(session, tenant_id, limit, 0, status, mode)
    if as_json:
        print_json(rows)
        return
    if not rows:
        err.print("no generations yet; try `revline workflows generate \"...\"`")
        return
    table = Table(title="workflow generations", box=None, pad_edge=False)
    for column in ("id", "created", "mode", "status", "v", "ok", "score", "cost", "title"):
        table.add_column(column, no_wrap=column != "title", overflow="fold")
    for row in rows:
        valid = "" if row["valid"] is None else ("yes" if row["valid"] else "[red]no[/red]")
        status = row["status"] if row["status"] != "failed" else "[red]failed[/red]"
        table.add_row(short(row["id"]), (row["created_at"] or "")[5:16].replace("T", " "),
                      row["mode"] or row["requested_mode"], status,
                      str(row["version"] or ""), valid,
                      "" if row["quality_score"] is None else f"{row['quality_score']:.0f}",
                      money(row["cost_usd_micros"]),
                      escape(row["title"] or row["requirement"][:60]))
    out.print(table)


def _show_text(detail: dict[str, Any]) -> None:
    current = detail["current"] or {}
    table = Table(show_header=False, title=f"generation {detail['id']}")
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("title", detail["title"]), ("requirement", detail["requirement"]),
        ("status", detail["status"] + (f" ({detail['error']})" if detail["error"] else "")),
        ("mode", f"{current.get('mode') or detail['mode'] or ''} (requested "
                 f"{detail['requested_mode']})"),
        ("version", f"{current.get('number', '')} ({current.get('source', '')})"),
        ("valid", str(current.get("valid", ""))),
        ("quality", f"{current.get('quality_score', '')}/100 " + _breakdown(current)),
        ("uncovered", "; ".join((current.get("quality") or {}).get("uncovered") or [])
         or "none"),
        ("patterns", ", ".join(f"{p['id']}{' (used)' if p['used'] else ''}"
                               for p in current.get("patterns") or [])),
        ("templates", ", ".join(current.get("templates") or [])),
        ("cost", f"{money(current.get('cost_usd_micros'))} this version, "
                 f"{money(detail['cost_usd_micros'])} all runs, {detail['llm_calls']} calls"),
        ("timings", ", ".join(f"{k} {v:.0f} ms" for k, v in
                              (current.get("timings_ms") or {}).items())),
        ("repairs", "; ".join(current.get("repairs") or []) or "none"),
    ]
    for key, value in rows:
        table.add_row(key, escape(str(value)))
    out.print(table)
    for note in current.get("notes") or []:
        out.print(f"note: {escape(str(note))}")
    for issue in current.get("errors") or []:
        out.print(f"[red]error[/red] {escape(issue['path'])}: {escape(issue['message'])}")
    for issue in current.get("warnings") or []:
        out.print(f"[yellow]warning[/yellow] {escape(issue['path'])}: "
                  f"{escape(issue['message'])}")


def _breakdown(version: dict[str, Any]) -> str:
    quality = version.get("quality") or {}
    if not quality:
        return ""
    assessment = quality.get("assessment")
    parts = [f"validity {quality.get('validity')}",
             f"coverage {quality.get('coverage')} ({quality.get('coverage_method')})"]
    if assessment is not None:
        parts.append(f"assessment {assessment}")
    return "(" + ", ".join(parts) + ")"


@app.command("show")
def show(
    ref: Annotated[str, typer.Argument(metavar="ID[:VERSION]",
                                       help="Generation id or prefix, optionally :VERSION.")],
    dsl: Annotated[bool, typer.Option("--dsl", help="Print the DSL YAML only.")] = False,
    output: Annotated[Path | None, typer.Option("-o", "--output",
                                                help="Write the DSL to this file.")] = None,
    as_json: JsonOption = False,
    tenant: TenantOption = None,
) -> None:
    """One generation: its version's validity, score breakdown, patterns, cost and timings."""
    from revline.workflows import service
    from revline.workflows.history import parse_ref, version_dict, version_of

    gen_ref, number = parse_ref(ref)
    with unit(tenant) as (session, tenant_id, _):
        detail = service.detail(session, tenant_id, gen_ref)
        if number is not None:
            detail["current"] = version_dict(version_of(session, tenant_id, gen_ref, number),
                                             dsl=True)
    current = detail["current"] or {}
    if output is not None and current.get("dsl"):
        try:
            output.write_text(current["dsl"], encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"cannot write {output} ({exc.strerror or exc})") from exc
        err.print(f"wrote {output}")
    if dsl:
        if not current.get("dsl"):
            err.print(f"generation {short(detail['id'])} has no version yet "
                      f"({detail['status']})")
            raise typer.Exit(1)
        typer.echo(current["dsl"], nl=False)
    elif as_json:
        print_json(detail)
    else:
        _show_text(detail)


@app.command("diff")
def diff(
    a: Annotated[str, typer.Argument(metavar="A", help="ID[:VERSION] or a DSL file.")],
    b: Annotated[str, typer.Argument(metavar="B", help="ID[:VERSION] or a DSL file.")],
    as_json: JsonOption = False,
    tenant: TenantOption = None,
) -> None:
    """What changed between two versions (or files), ignoring layout and id-only churn.

    `diff 3f2a9c1e:1 3f2a9c1e:2`; a bare ID means its current version. Exit 0 when
    identical, 1 when they differ.
    """
    from revline.workflows import diff as diffing
    from revline.workflows import service
    from revline.workflows.validator.loader import parse_yaml, read_text

    def is_file(ref: str) -> bool:
        return ref.endswith((".yml", ".yaml")) and Path(ref).exists()

    if is_file(a) and is_file(b):
        result = diffing.diff_documents(parse_yaml(read_text(Path(a)), a),
                                        parse_yaml(read_text(Path(b)), b))
    else:
        with unit(tenant) as (session, tenant_id, _):
            result = service.diff(session, tenant_id, a, b)
    if as_json:
        print_json(result)
    else:
        for line in diffing.render(result):
            out.print(escape(line))
        err.print(result["summary"])
    raise typer.Exit(0 if result["identical"] else 1)


@app.command("edit")
def edit(
    ref: Annotated[str, typer.Argument(metavar="ID", help="Generation id or prefix.")],
    file: Annotated[Path, typer.Argument(metavar="FILE.yml", help="The edited DSL.")],
    note: Annotated[str, typer.Option(help="Why it was edited.")] = "",
    tenant: TenantOption = None,
) -> None:
    """Save an edited DSL as the generation's next version (validated and scored)."""
    from revline.workflows import service
    from revline.workflows.validator.loader import read_text

    text = read_text(file)
    with unit(tenant) as (session, tenant_id, _):
        version = service.edit(session, tenant_id, ref, text, note)
        number, valid, score = version.number, version.valid, version.quality_score
        errors = list(version.errors)
    verdict = "valid" if valid else f"invalid, {len(errors)} error(s)"
    err.print(f"saved version {number}: {verdict}, quality {score}/100")
    for issue in errors[:10]:
        err.print(f"  {escape(issue['path'])}: {escape(issue['message'])}")
    if not valid:
        raise typer.Exit(1)
