"""`revline workflows patterns ... | templates ... | usage`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.markup import escape
from rich.table import Table

from revline.workflows.cli.base import (
    JsonOption,
    TenantOption,
    app,
    context,
    err,
    money,
    out,
    patterns_app,
    print_json,
    templates_app,
    unit,
)


def _load_yaml(path: Path) -> dict[str, Any]:
    from revline.kernel.errors import InvalidInput
    from revline.workflows.validator.loader import parse_yaml, read_text

    data = parse_yaml(read_text(path), str(path))
    if not isinstance(data, dict):
        raise InvalidInput(f"{path}: expected a YAML mapping")
    return data


# Patterns ------------------------------------------------------------------------------------
@patterns_app.command("list")
def patterns_list(
    category: Annotated[str | None, typer.Option(help="Only this category.")] = None,
    as_json: JsonOption = False,
    tenant: TenantOption = None,
) -> None:
    """Every pattern of the tenant: id, mode, category, origin, name."""
    from revline.workflows import service

    with unit(tenant) as (session, tenant_id, settings):
        rows = [p for p in service.list_patterns(session, settings, tenant_id)
                if category in (None, p["category"])]
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"{len(rows)} patterns")
    for column in ("id", "mode", "category", "origin", "name"):
        table.add_column(column, no_wrap=column != "name")
    for row in rows:
        table.add_row(row["id"], row["mode"], row["category"], row["origin"],
                      escape(row["name"]))
    out.print(table)


@patterns_app.command("show")
def patterns_show(
    pattern_id: Annotated[str, typer.Argument(metavar="ID")],
    as_json: JsonOption = False,
    tenant: TenantOption = None,
) -> None:
    """One pattern as YAML (schema v1: description, use_when, slots, graph)."""
    from revline.workflows import service

    with unit(tenant) as (session, tenant_id, settings):
        record = service.get_pattern(session, settings, tenant_id, pattern_id)
    if as_json:
        print_json(record)
        return
    typer.echo(yaml.safe_dump(record["pattern"], allow_unicode=True, sort_keys=False,
                              width=100), nl=False)


@patterns_app.command("search")
def patterns_search(
    text: Annotated[str, typer.Argument(metavar="TEXT")],
    k: Annotated[int, typer.Option("-k", min=1, max=50, help="How many.")] = 5,
    reasons: Annotated[bool, typer.Option("--reasons/--no-reasons",
                                          help="Say why each fits (recommend).")] = True,
    as_json: JsonOption = False,
    tenant: TenantOption = None,
) -> None:
    """Patterns ranked for a requirement, with the reasons each fits."""
    from revline.workflows import service

    db, settings, tenant_id = context(tenant)
    if reasons:
        rows = service.recommend(db, settings, tenant_id, text, k)
    else:
        rows = service.search_patterns(db, settings, tenant_id, text, k)
    if as_json:
        print_json(rows)
        return
    for row in rows:
        out.print(f"[bold]{row['rank']}. {row['id']}[/bold] ({row['mode']}, score "
                  f"{row['score']:.4f}) {escape(row['name'])}")
        for reason in row.get("reasons") or []:
            out.print(f"     {escape(reason)}")


@patterns_app.command("add")
def patterns_add(
    file: Annotated[Path, typer.Argument(metavar="FILE.yml", help="A schema v1 pattern.")],
    replace: Annotated[bool, typer.Option("--replace", help="Replace a pattern with the "
                                                            "same id.")] = False,
    tenant: TenantOption = None,
) -> None:
    """Add your own pattern; its graph must build into valid DSL, slot examples verbatim."""
    from revline.workflows import service

    pattern = _load_yaml(file)
    with unit(tenant) as (session, tenant_id, settings):
        record = service.save_pattern(session, settings, tenant_id, pattern,
                                      create=not replace)
    err.print(f"saved pattern {record.id} ({record.mode}, {len(record.slots)} slot(s))")


@patterns_app.command("delete")
def patterns_delete(
    pattern_id: Annotated[str, typer.Argument(metavar="ID")],
    tenant: TenantOption = None,
) -> None:
    """Delete a pattern (a deleted bundled pattern is not seeded again)."""
    from revline.workflows import service

    with unit(tenant) as (session, tenant_id, settings):
        service.delete_pattern(session, settings, tenant_id, pattern_id)
    err.print(f"deleted pattern {pattern_id}")


# Node templates ------------------------------------------------------------------------------
@templates_app.command("list")
def templates_list(as_json: JsonOption = False, tenant: TenantOption = None) -> None:
    """Your node templates."""
    from revline.workflows import service

    with unit(tenant) as (session, tenant_id, _):
        rows = service.list_templates(session, tenant_id)
    if as_json:
        print_json(rows)
        return
    if not rows:
        err.print("no node templates; add one with `revline workflows templates add FILE.yml`")
        return
    table = Table(title=f"{len(rows)} node templates")
    for column in ("id", "type", "uses", "tags", "name"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["id"], row["type"], str(row["uses"]), ", ".join(row["tags"]),
                      escape(row["name"]))
    out.print(table)


@templates_app.command("show")
def templates_show(
    template_id: Annotated[str, typer.Argument(metavar="ID")],
    tenant: TenantOption = None,
) -> None:
    """One node template as YAML."""
    from revline.workflows import service
    from revline.workflows.library import template_dict

    with unit(tenant) as (session, tenant_id, _):
        row = template_dict(service.get_template(session, tenant_id, template_id))
    typer.echo(yaml.safe_dump(row, allow_unicode=True, sort_keys=False, width=100), nl=False)


@templates_app.command("add")
def templates_add(
    file: Annotated[Path, typer.Argument(metavar="FILE.yml", help=(
        "{id, name, description, type, tags, data: <a Dify node's data>}"))],
    replace: Annotated[bool, typer.Option("--replace", help="Replace a template with the "
                                                            "same id.")] = False,
    tenant: TenantOption = None,
) -> None:
    """Add a node template the generator may reuse (checked by the node rules)."""
    from revline.kernel.errors import InvalidInput
    from revline.workflows import service

    body = _load_yaml(file)
    template_id = str(body.pop("id", "") or "")
    if not template_id:
        raise InvalidInput(f"{file}: `id` is required, e.g. crm-lookup")
    with unit(tenant) as (session, tenant_id, _):
        row = service.save_template(session, tenant_id, template_id, body, create=not replace)
        err.print(f"saved node template {row.template_id} ({row.node_type})")


@templates_app.command("delete")
def templates_delete(
    template_id: Annotated[str, typer.Argument(metavar="ID")],
    tenant: TenantOption = None,
) -> None:
    """Delete a node template."""
    from revline.workflows import service

    with unit(tenant) as (session, tenant_id, _):
        service.delete_template(session, tenant_id, template_id)
    err.print(f"deleted node template {template_id}")


# Analytics -----------------------------------------------------------------------------------
@app.command("usage")
def usage(
    all_patterns: Annotated[bool, typer.Option("--all", help="Also patterns never "
                                                             "retrieved.")] = False,
    as_json: JsonOption = False,
    tenant: TenantOption = None,
) -> None:
    """Pattern usage and success: retrieved, used, validity rate, mean quality and cost."""
    from revline.workflows import service

    with unit(tenant) as (session, tenant_id, settings):
        data = service.usage(session, settings, tenant_id)
    if as_json:
        print_json(data)
        return
    table = Table(title="pattern usage")
    for column in ("pattern", "retrieved", "used", "valid", "mean quality", "mean cost"):
        table.add_column(column, justify="left" if column == "pattern" else "right")
    for p in data["patterns"]:
        if not all_patterns and not p["retrieved"]:
            continue
        rate = "" if p["validity_rate"] is None else f"{100 * p['validity_rate']:.0f}%"
        table.add_row(p["id"], str(p["retrieved"]), str(p["used"]), rate,
                      "" if p["mean_quality"] is None else f"{p['mean_quality']:.1f}",
                      money(p["mean_cost_usd_micros"]) if p["used"] else "")
    out.print(table)
    modes = Table(title="by mode")
    for column in ("mode", "versions", "valid", "mean quality", "mean cost", "total cost"):
        modes.add_column(column)
    for m in data["modes"]:
        modes.add_row(m["mode"], str(m["versions"]), f"{100 * m['validity_rate']:.0f}%",
                      f"{m['mean_quality']:.1f}", money(m["mean_cost_usd_micros"]),
                      money(m["total_cost_usd_micros"]))
    out.print(modes)
    counts = ", ".join(f"{k}: {v}" for k, v in sorted(data["generations"].items()))
    out.print(f"generations: {counts or 'none'} · total cost "
              f"{money(data['total_cost_usd_micros'])}")
