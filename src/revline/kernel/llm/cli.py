"""`revline llm ...`: providers and aliases, prices, a test call, costs, budgets and the cache."""

from __future__ import annotations

import json
import sys
import uuid
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from revline.kernel.errors import InvalidInput

app = typer.Typer(help="LLM gateway: providers, aliases, costs and budgets.", no_args_is_help=True)
budgets_app = typer.Typer(help="Spending limits per tenant, job, workflow, agent, conversation.",
                          no_args_is_help=True)
cache_app = typer.Typer(help="The exact-match response cache.", no_args_is_help=True)
app.add_typer(budgets_app, name="budgets")
app.add_typer(cache_app, name="cache")
out = Console()
err = Console(stderr=True)

TenantOpt = Annotated[str | None, typer.Option("--tenant", help="Tenant slug (default from "
                                                                "config).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
JobOpt = Annotated[str | None, typer.Option("--job", help="Job id.")]
WorkflowOpt = Annotated[str | None, typer.Option("--workflow", help="Workflow id.")]
AgentOpt = Annotated[str | None, typer.Option("--agent", help="Agent id.")]
ConversationOpt = Annotated[str | None, typer.Option("--conversation", help="Conversation id.")]


def _tenant_id(slug: str | None) -> uuid.UUID:
    from revline.kernel.auth import tenant_session

    with tenant_session(slug) as (_, tenant_id):
        return tenant_id


def _json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))  # noqa: T201 - machine-readable stdout


@app.command("models")
def models(as_json: JsonOpt = False) -> None:
    """Configured providers and model aliases with their fallback chains and prices."""
    from revline.kernel.config import get_settings
    from revline.kernel.llm import get_gateway

    info = get_gateway(get_settings()).describe()
    if as_json:
        _json(info)
        return
    table = Table("alias", "deployment (in order)", "$/1M in", "$/1M out",
                  title=f"LLM aliases (prices {info['price_version']})")
    for alias, chain in info["aliases"].items():
        for i, row in enumerate(chain):
            unknown = row["price_source"] == "unknown"
            table.add_row(alias if i == 0 else "", escape(row["deployment"]),
                          "unknown" if unknown else f"{row['input_usd_per_mtok']:g}",
                          "unknown" if unknown else f"{row['output_usd_per_mtok']:g}")
    out.print(table)
    for name, spec in info["providers"].items():
        out.print(f"provider {escape(name)}: {spec['kind']} at {escape(spec['base_url'])}")


@app.command("prices")
def prices(as_json: JsonOpt = False) -> None:
    """The versioned price table (bundled, plus llm_prices overrides)."""
    from revline.kernel.config import get_settings
    from revline.kernel.llm.prices import PriceTable

    table_data = PriceTable.load(get_settings())
    rows: dict[str, dict[str, Any]] = {
        name: {"input": p.input, "output": p.output, "source": p.source}
        for name, p in sorted(table_data.prices.items())
    }
    if as_json:
        _json({"version": table_data.version, "unit": "USD per 1M tokens", "models": rows,
               "zero_price": sorted(table_data.zero_price)})
        return
    table = Table("model", "$/1M in", "$/1M out", "source",
                  title=f"LLM prices, version {table_data.version}")
    for name, row in rows.items():
        table.add_row(escape(name), f"{row['input']:g}", f"{row['output']:g}", row["source"])
    out.print(table)


@app.command("ask")
def ask(
    prompt: Annotated[str, typer.Argument(help="What to ask.")],
    model: Annotated[str, typer.Option(help="Alias or model.")] = "default",
    system: Annotated[str | None, typer.Option(help="System prompt.")] = None,
    max_tokens: Annotated[int, typer.Option(help="Answer length limit.")] = 512,
    temperature: Annotated[float, typer.Option(help="0 = deterministic (and cached).")] = 0.0,
    stream: Annotated[bool, typer.Option("--stream", help="Print as it arrives.")] = False,
    feature: Annotated[str, typer.Option(help="Ledger feature label.")] = "cli.ask",
    tenant: TenantOpt = None,
) -> None:
    """One call through the gateway (budgets, ledger and cache included); cost on stderr."""
    from revline.kernel.config import get_settings
    from revline.kernel.llm import CallScope, ChatResult, get_gateway

    gateway = get_gateway(get_settings())
    scope = CallScope(tenant_id=_tenant_id(tenant), feature=feature)
    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": prompt}]
    result: ChatResult | None
    if stream:
        chunks = gateway.stream(messages, model=model, max_tokens=max_tokens,
                                temperature=temperature, scope=scope)
        for delta in chunks:
            sys.stdout.write(delta)
            sys.stdout.flush()
        sys.stdout.write("\n")
        result = chunks.result
    else:
        result = gateway.chat(messages, model=model, max_tokens=max_tokens,
                              temperature=temperature, scope=scope)
        print(result.text)  # noqa: T201 - the answer is the command's output
    if result is not None:
        err.print(f"{escape(result.provider)}:{escape(result.model)}  "
                  f"{result.prompt_tokens}+{result.completion_tokens} tokens  "
                  f"${result.cost_usd:.6f}  {result.latency_ms:.0f} ms"
                  + ("  (cached)" if result.cached else ""), highlight=False)


@app.command("costs")
def costs(
    by: Annotated[str, typer.Option(help="model, provider, feature, job, workflow, agent, "
                                         "conversation, day or status.")] = "model",
    since: Annotated[str | None, typer.Option(help="YYYY-MM-DD, ISO time, or 7d.")] = None,
    until: Annotated[str | None, typer.Option(help="YYYY-MM-DD or ISO time.")] = None,
    feature: Annotated[str | None, typer.Option(help="Only this feature.")] = None,
    job: JobOpt = None,
    workflow: WorkflowOpt = None,
    agent: AgentOpt = None,
    conversation: ConversationOpt = None,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Calls, tokens and cost from the ledger, grouped."""
    from revline.kernel.config import get_settings
    from revline.kernel.db import get_database
    from revline.kernel.llm.budgets import fmt_usd
    from revline.kernel.llm.ledger import cost_summary, parse_when

    tenant_id = _tenant_id(tenant)
    filters = {"feature": feature, "job": job, "workflow": workflow, "agent": agent,
               "conversation": conversation}
    with get_database(get_settings()).session() as session:
        data = cost_summary(session, tenant_id, by, parse_when(since, "--since"),
                            parse_when(until, "--until"), filters)
    if as_json:
        _json(data)
        return
    table = Table(title="LLM costs")
    table.add_column(by, overflow="fold", min_width=10)
    for name in ("calls", "cached", "errors", "in", "out", "cost", "ms"):
        table.add_column(name, justify="right", no_wrap=True)
    for row in [*data["groups"], {"key": "total", **data["total"]}]:
        table.add_row(escape(str(row["key"] if row["key"] is not None else "-")),
                      str(row["calls"]), str(row["cache_hits"]), str(row["errors"]),
                      f"{row['prompt_tokens']:,}", f"{row['completion_tokens']:,}",
                      fmt_usd(row["cost_usd_micros"]), f"{row['avg_latency_ms']:.0f}")
    out.print(table)


@app.command("calls")
def calls(
    limit: Annotated[int, typer.Option(help="How many rows.", min=1, max=10_000)] = 20,
    feature: Annotated[str | None, typer.Option(help="Only this feature.")] = None,
    job: JobOpt = None,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The newest ledger rows."""
    from revline.kernel.config import get_settings
    from revline.kernel.db import get_database
    from revline.kernel.llm.budgets import fmt_usd
    from revline.kernel.llm.ledger import recent_calls

    with get_database(get_settings()).session() as session:
        rows = recent_calls(session, _tenant_id(tenant), limit,
                            filters={"feature": feature, "job": job})
    if as_json:
        _json(rows)
        return
    table = Table(title="LLM calls")
    table.add_column("time (UTC)", no_wrap=True)
    table.add_column("feature", overflow="fold")
    table.add_column("model", overflow="fold", min_width=12)
    for name in ("status", "tokens", "cost", "ms"):
        table.add_column(name, no_wrap=True, justify="left" if name == "status" else "right")
    for r in rows:
        status = "cached" if r["cached"] else r["status"]
        table.add_row(r["created_at"][5:16].replace("T", " "), escape(r["feature"]),
                      escape(r["model"] or r["model_requested"]), status,
                      f"{r['prompt_tokens']}+{r['completion_tokens']}",
                      fmt_usd(r["cost_usd_micros"]), f"{r['latency_ms']:.0f}")
    out.print(table)


def _selector(
    tenant_wide: bool, job: str | None, workflow: str | None, agent: str | None,
    conversation: str | None,
) -> tuple[str, str | None]:
    levels = (("job", job), ("workflow", workflow), ("agent", agent),
              ("conversation", conversation))
    chosen: list[tuple[str, str | None]] = [(s, r) for s, r in levels if r]
    if tenant_wide:
        chosen.append(("tenant", None))
    if len(chosen) != 1:
        raise InvalidInput("pick exactly one of --tenant-wide, --job ID, --workflow ID, "
                           "--agent ID, --conversation ID")
    return chosen[0]


TenantWideOpt = Annotated[bool, typer.Option("--tenant-wide", help="The tenant's own budget.")]


@budgets_app.command("list")
def budgets_list(tenant: TenantOpt = None, as_json: JsonOpt = False) -> None:
    """Budgets with spent, reserved (calls in flight) and remaining amounts."""
    from revline.kernel.config import get_settings
    from revline.kernel.db import get_database
    from revline.kernel.llm.budgets import budget_view, fmt_usd, list_budgets

    with get_database(get_settings()).session() as session:
        rows = [budget_view(b) for b in list_budgets(session, _tenant_id(tenant))]
    if as_json:
        _json(rows)
        return
    table = Table("scope", "id", "period", "limit", "spent", "reserved", "left",
                  title="LLM budgets")
    for r in rows:
        table.add_row(r["scope"], escape(r["ref"] or ""), r["period"],
                      fmt_usd(r["limit_usd_micros"]), fmt_usd(r["spent_usd_micros"]),
                      fmt_usd(r["reserved_usd_micros"]), fmt_usd(r["remaining_usd_micros"]))
    out.print(table)


@budgets_app.command("set")
def budgets_set(
    limit: Annotated[float, typer.Option("--limit", help="Limit in USD.")],
    tenant_wide: TenantWideOpt = False,
    job: JobOpt = None,
    workflow: WorkflowOpt = None,
    agent: AgentOpt = None,
    conversation: ConversationOpt = None,
    period: Annotated[str, typer.Option(help="total, day or month.")] = "total",
    tenant: TenantOpt = None,
) -> None:
    """Create or change a budget; calls that would exceed it raise BudgetExceeded."""
    from revline.kernel.config import get_settings
    from revline.kernel.db import get_database
    from revline.kernel.llm.budgets import budget_view, fmt_usd, scope_label, set_budget

    scope, ref = _selector(tenant_wide, job, workflow, agent, conversation)
    with get_database(get_settings()).session() as session:
        view = budget_view(set_budget(session, _tenant_id(tenant), scope, ref, limit, period))
    out.print(f"budget of {escape(scope_label(scope, ref or ''))}: "
              f"{fmt_usd(view['limit_usd_micros'])} "
              f"{'in total' if period == 'total' else 'per ' + period} "
              f"({fmt_usd(view['remaining_usd_micros'])} left)")


@budgets_app.command("delete")
def budgets_delete(
    tenant_wide: TenantWideOpt = False,
    job: JobOpt = None,
    workflow: WorkflowOpt = None,
    agent: AgentOpt = None,
    conversation: ConversationOpt = None,
    tenant: TenantOpt = None,
) -> None:
    """Remove a budget (the ledger keeps its history)."""
    from revline.kernel.config import get_settings
    from revline.kernel.db import get_database
    from revline.kernel.llm.budgets import delete_budget, scope_label

    scope, ref = _selector(tenant_wide, job, workflow, agent, conversation)
    with get_database(get_settings()).session() as session:
        delete_budget(session, _tenant_id(tenant), scope, ref)
    out.print(f"deleted the budget of {escape(scope_label(scope, ref or ''))}")


@budgets_app.command("release-stale")
def budgets_release_stale(
    older_than: Annotated[float | None, typer.Option(
        help="Seconds a call may stay pending (default llm_stale_reservation_s).")] = None,
) -> None:
    """Give back reservations of calls that never settled (e.g. a killed worker)."""
    from revline.kernel.config import get_settings
    from revline.kernel.db import get_database
    from revline.kernel.llm.budgets import release_stale

    settings = get_settings()
    seconds = settings.llm_stale_reservation_s if older_than is None else older_than
    with get_database(settings).session() as session:
        count = release_stale(session, seconds)
    out.print(f"released {count} stale reservation(s)")


@cache_app.command("stats")
def cache_stats_cmd(tenant: TenantOpt = None, as_json: JsonOpt = False) -> None:
    """Live and expired cached answers of a tenant."""
    from revline.kernel.config import get_settings
    from revline.kernel.db import get_database
    from revline.kernel.llm.cache import cache_stats

    with get_database(get_settings()).session() as session:
        stats = cache_stats(session, _tenant_id(tenant))
    if as_json:
        _json(stats)
        return
    out.print(f"{stats['live']} live, {stats['expired']} expired cached answers")


@cache_app.command("clear")
def cache_clear_cmd(
    expired: Annotated[bool, typer.Option("--expired", help="Only expired entries.")] = False,
    tenant: TenantOpt = None,
) -> None:
    """Delete a tenant's cached answers."""
    from revline.kernel.config import get_settings
    from revline.kernel.db import get_database
    from revline.kernel.llm.cache import cache_clear

    with get_database(get_settings()).session() as session:
        removed = cache_clear(session, _tenant_id(tenant), expired_only=expired)
    out.print(f"removed {removed} cached answer(s)")
