"""`revline ads ...`: ad-budget optimizer, attribution, CRM sync and the safe executor."""

from __future__ import annotations

import csv
import json
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from revline.kernel.auth import tenant_session as _session
from revline.kernel.errors import InvalidInput, UnreadableInput

app = typer.Typer(
    help="Ad-budget optimizer, attribution, CRM sync and the safe executor.", no_args_is_help=True
)
config_app = typer.Typer(help="Show or change this tenant's ads rules.", no_args_is_help=True)
app.add_typer(config_app, name="config")
out = Console()

TenantOpt = Annotated[str | None, typer.Option("--tenant", help="Tenant slug (default: config).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _money(minor: int | None, currency: str) -> str:
    from revline.ads.money import fmt

    return fmt(minor, currency)


def _ad_id(session: Session, tenant_id: uuid.UUID, ref: str) -> uuid.UUID:
    """An ad by Revline id or platform id."""
    from revline.ads.repository import AdRepository

    ads = AdRepository(session, tenant_id)
    try:
        return ads.get_ad(uuid.UUID(ref)).id
    except ValueError:
        return ads.by_any_external(ref).id


def _ad_names(session: Session, tenant_id: uuid.UUID) -> dict[uuid.UUID, str]:
    """Platform ids by ad id, so tables show what the user knows the ad as."""
    from revline.ads.repository import AdRepository

    return {a.id: a.external_id for a in AdRepository(session, tenant_id).all()}


def _print_json(data: Any) -> None:
    out.print_json(json.dumps(data, default=str))


@app.command("status")
def status(tenant: TenantOpt = None, as_json: JsonOpt = False) -> None:
    """Ads with budget, spend, value and ROAS in their effective mode."""
    from revline.ads import service

    with _session(tenant) as (session, tenant_id):
        views = service.ad_views(session, tenant_id)
    if as_json:
        _print_json([v.model_dump() for v in views])
        return
    table = Table("ad", "name", "mode", "status", "budget/day", "spend", "value", "ROAS",
                  "learning", "age (d)", "queued", title="Ads")
    for v in views:
        table.add_row(
            escape(v.external_id), escape(v.name), v.mode, v.status,
            _money(v.daily_budget_minor, v.currency), _money(v.spend_minor, v.currency),
            _money(v.value_minor, v.currency), "-" if v.roas is None else f"{v.roas:.2f}",
            v.learning_status or "-", f"{v.age_days:.1f}", "yes" if v.open_change_id else "",
        )
    out.print(table)


# AdIn field -> the `ads add` argument or option that sets it, for error messages.
_ADD_OPTIONS = {"platform": "--platform", "account_id": "--account", "external_id": "EXTERNAL_ID",
                "name": "--name", "campaign_id": "--campaign", "daily_budget_minor": "--budget",
                "currency": "--currency", "started_at": "--started"}


@app.command("add")
def add(
    external_id: Annotated[str, typer.Argument(help="Platform ad (set) id.")],
    account: Annotated[str, typer.Option(help="Platform account id.")],
    budget: Annotated[str, typer.Option(help="Daily budget, e.g. 50.00")],
    currency: Annotated[str, typer.Option(help="ISO currency.")] = "USD",
    name: Annotated[str, typer.Option(help="Label.")] = "",
    campaign: Annotated[str, typer.Option(help="Campaign id (for per-campaign mode).")] = "",
    platform: Annotated[str, typer.Option(help="manual or meta.")] = "manual",
    started: Annotated[str | None, typer.Option(
        help="When it started delivering (ISO date; default now): the ignorance zone counts "
             "days from here.")] = None,
    tenant: TenantOpt = None,
) -> None:
    """Register an ad (one daily budget) to optimize."""
    from pydantic import ValidationError

    from revline.ads import service
    from revline.ads.adapters.base import parse_time
    from revline.ads.money import normalize_currency, to_minor
    from revline.ads.schemas import AdIn

    code = normalize_currency(currency)
    start = parse_time(started if not started or "T" in started else f"{started}T00:00:00Z")
    if started and start is None:
        raise InvalidInput(f"--started {started!r}: use an ISO date like 2026-01-31")
    try:
        data = AdIn.model_validate({
            "platform": platform, "account_id": account, "external_id": external_id,
            "name": name, "campaign_id": campaign, "daily_budget_minor": to_minor(budget, code),
            "currency": code, "started_at": start,
        })
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first.get("loc", ("?",))[0])
        option = _ADD_OPTIONS.get(field, field)
        raise InvalidInput(f"{option}: {first.get('msg', 'invalid value')}") from None
    with _session(tenant) as (session, tenant_id):
        ad = service.register_ad(session, tenant_id, data)
        out.print(f"registered {escape(ad.external_id)} id={ad.id}")


@app.command("metrics")
def metrics(
    csv_file: Annotated[Path, typer.Argument(metavar="FILE.csv", help=(
        "Columns: ad,day,spend[,revenue,impressions,clicks,conversions]; money in major units."
    ))],
    tenant: TenantOpt = None,
) -> None:
    """Import daily spend and platform results for ads not synced from Meta."""
    from revline.ads import service
    from revline.ads.money import to_minor
    from revline.ads.repository import AdRepository
    from revline.ads.schemas import MetricIn, MetricsIn

    try:
        with csv_file.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise UnreadableInput(f"{csv_file}: {exc.strerror or exc}") from exc
    if not rows or not {"ad", "day", "spend"} <= set(rows[0]):
        raise InvalidInput(f"{csv_file}: needs columns ad, day and spend")
    with _session(tenant) as (session, tenant_id):
        per_ad: dict[uuid.UUID, list[MetricIn]] = {}
        for n, row in enumerate(rows, start=2):
            try:
                ad_id = _ad_id(session, tenant_id, row["ad"])
                currency = AdRepository(session, tenant_id).get_ad(ad_id).currency
                per_ad.setdefault(ad_id, []).append(MetricIn(
                    day=date.fromisoformat(row["day"]),
                    spend_minor=to_minor(row["spend"], currency),
                    revenue_minor=to_minor(row.get("revenue") or "0", currency),
                    impressions=int(row.get("impressions") or 0),
                    clicks=int(row.get("clicks") or 0),
                    conversions=int(row.get("conversions") or 0),
                ))
            except ValueError as exc:
                raise InvalidInput(f"{csv_file}:{n}: {exc}") from exc
        total = sum(service.push_metrics(session, tenant_id, ad_id, MetricsIn(days=days))
                    for ad_id, days in per_ad.items())
    out.print(f"{total} ad-days imported for {len(per_ad)} ads")


@app.command("sync")
def sync(tenant: TenantOpt = None) -> None:
    """Pull ad sets and 30 days of insights from Meta (REVLINE_META_* settings)."""
    from revline.ads import service
    from revline.kernel.config import get_settings

    settings = get_settings()
    with _session(tenant or settings.ads_tenant) as (session, tenant_id):
        summary = service.sync_meta(session, settings, tenant_id,
                                    currency=service.get_rules(session, tenant_id).currency)
    out.print(f"{summary['adsets']} ad sets, {summary['metric_days']} ad-days from "
              f"{summary['account']} (account usage {summary['usage_pct']}%)")


@app.command("evaluate")
def evaluate(
    tenant: TenantOpt = None,
    execute: Annotated[bool, typer.Option(
        "--execute", help="Run one executor pass right after; each change still waits out its "
        "jitter (REVLINE_ADS_JITTER_MAX_S) and the guards.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run the decision rules now and queue their changes (apply with `revline ads execute`)."""
    from revline.ads import service
    from revline.kernel.config import get_settings

    with _session(tenant) as (session, tenant_id):
        row = service.create_evaluation(session, tenant_id, "cli")
        service.run_evaluation(session, get_settings(), tenant_id, row.id, execute_after=False)
        view = service.evaluation_out(session, tenant_id, row)
        names = _ad_names(session, tenant_id)
    _print_decisions(view, names, as_json)
    if execute:
        _execute(None)


def _print_decisions(view: Any, names: dict[uuid.UUID, str], as_json: bool) -> None:
    if as_json:
        _print_json(view.model_dump())
        return
    table = Table("ad", "mode", "action", "ROAS", "P(best)", "budget", "target", "why",
                  title=f"Evaluation {str(view.id)[:8]} ({view.status})")
    for d in view.decisions:
        table.add_row(
            escape(names.get(d.ad_id, str(d.ad_id)[:8])), d.mode, d.action,
            "-" if d.roas is None else f"{d.roas:.2f}",
            "-" if d.prob_best is None else f"{d.prob_best:.2f}",
            _money(d.current_budget_minor, d.currency), _money(d.target_budget_minor, d.currency),
            escape(d.reason),
        )
    out.print(table)
    out.print(f"changes queued: {view.summary.get('changes_queued', 0)}")


@app.command("decisions")
def decisions(
    evaluation: Annotated[str | None, typer.Option(help="Evaluation id (default: latest).")] = None,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Decisions of the latest (or a given) evaluation, with the numbers behind them."""
    from revline.ads import service

    with _session(tenant) as (session, tenant_id):
        if evaluation:
            try:
                evaluation_id = uuid.UUID(evaluation)
            except ValueError:
                raise InvalidInput(f"--evaluation {evaluation!r} is not an evaluation id; omit "
                                   "it for the latest") from None
            view = service.get_evaluation(session, tenant_id, evaluation_id)
        else:
            found = service.latest_decisions(session, tenant_id)
            if found is None:
                out.print("no evaluation has run yet: `revline ads evaluate`")
                return
            view = found
        names = _ad_names(session, tenant_id)
    _print_decisions(view, names, as_json)


def _execute(limit: int | None) -> None:
    from revline.ads import service
    from revline.kernel.config import get_settings
    from revline.kernel.db import get_database

    settings = get_settings()
    report = service.execute_pending(get_database(settings), settings, limit)
    outcomes = ", ".join(f"{k}: {v}" for k, v in sorted(report.outcomes.items())) or "nothing due"
    out.print(f"claimed {report.claimed}; {outcomes}")
    if report.next_due is not None:
        out.print(f"{report.waiting} change(s) waiting (jitter or a guard's hold); next due "
                  f"{report.next_due:%Y-%m-%d %H:%M:%S} UTC")


@app.command("execute")
def execute_cmd(
    limit: Annotated[int | None, typer.Option(help="At most this many changes.")] = None,
) -> None:
    """One safe-executor pass: claim due changes, run the guards, apply, audit."""
    _execute(limit)


@app.command("budget")
def budget(
    ad: Annotated[str, typer.Argument(help="Ad id or platform id.")],
    amount: Annotated[str, typer.Argument(help="New daily budget, e.g. 60.00")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit log).")] = "manual change",
    tenant: TenantOpt = None,
) -> None:
    """Queue a manual budget change; the executor's guards still apply."""
    from revline.ads import service
    from revline.ads.money import to_minor
    from revline.ads.repository import AdRepository
    from revline.ads.schemas import BudgetChangeIn
    from revline.kernel.config import get_settings

    with _session(tenant) as (session, tenant_id):
        ad_id = _ad_id(session, tenant_id, ad)
        currency = AdRepository(session, tenant_id).get_ad(ad_id).currency
        data = BudgetChangeIn(daily_budget_minor=to_minor(amount, currency), reason=reason)
        change = service.request_budget(session, get_settings(), tenant_id, ad_id, data,
                                        execute_after=False)
        out.print(f"queued change {change.id} (due {change.not_before:%H:%M:%S} UTC); "
                  "apply with `revline ads execute`")


@app.command("changes")
def changes(
    status_: Annotated[str | None, typer.Option("--status", help="pending, applied, ...")] = None,
    limit: Annotated[int, typer.Option(help="How many.")] = 30,
    tenant: TenantOpt = None,
) -> None:
    """The pending_ad_changes queue, newest first."""
    from revline.ads import service

    with _session(tenant) as (session, tenant_id):
        rows = service.list_changes(session, tenant_id, status_, limit)
        names = _ad_names(session, tenant_id)
    table = Table("change", "ad", "action", "requested (minor)", "status", "attempts", "due",
                  "note")
    for c in rows:
        table.add_row(str(c.id)[:8], escape(names.get(c.ad_id, str(c.ad_id)[:8])), c.action,
                      "-" if c.requested_budget_minor is None else str(c.requested_budget_minor),
                      c.status, str(c.attempts), f"{c.not_before:%m-%d %H:%M:%S}",
                      escape(c.hold_reason or c.outcome or ""))
    out.print(table)


@app.command("history")
def history(
    ad: Annotated[str | None, typer.Option(help="Only this ad (id or platform id).")] = None,
    limit: Annotated[int, typer.Option(help="How many.")] = 30,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The ad_change_history audit log: every attempt, its guard, reason and outcome."""
    from revline.ads import service

    with _session(tenant) as (session, tenant_id):
        ad_id = _ad_id(session, tenant_id, ad) if ad else None
        rows = service.list_history(session, tenant_id, ad_id, limit)
        names = _ad_names(session, tenant_id)
    if as_json:
        _print_json([r.model_dump() for r in rows])
        return
    table = Table("when (UTC)", "ad", "action", "outcome", "guard", "from (minor)", "to (minor)",
                  "reason")
    for h in rows:
        table.add_row(f"{h.created_at:%m-%d %H:%M:%S}", escape(names.get(h.ad_id, "?")),
                      h.action, h.outcome,
                      h.guard or "", "-" if h.from_budget_minor is None else
                      str(h.from_budget_minor), "-" if h.to_budget_minor is None else
                      str(h.to_budget_minor), escape(h.reason))
    out.print(table)


@app.command("attribution-report")
def attribution_report(
    since: Annotated[str | None, typer.Option(help="ISO date or time (UTC).")] = None,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Attribution recovery rate: share of conversions attributed, per layer."""
    from revline.ads import service
    from revline.ads.adapters.base import parse_time

    start: datetime | None = None
    if since:
        start = parse_time(since if "T" in since else f"{since}T00:00:00Z")
        if start is None:
            raise InvalidInput(f"--since {since!r}: use an ISO date like 2026-01-31")
    with _session(tenant) as (session, tenant_id):
        report = service.recovery_report(session, tenant_id, start)
    if as_json:
        _print_json(report)
        return
    table = Table("layer", "conversions", "share", "mean confidence",
                  title=f"Attribution: {report['recovery_rate']:.1%} of "
                        f"{report['conversions']} conversions recovered")
    for layer, row in report["by_layer"].items():
        mean = row["mean_confidence"]
        table.add_row(layer, str(row["count"]), f"{row['share']:.1%}",
                      "-" if mean is None else f"{mean:.2f}")
    table.add_row("unattributed", str(report["unattributed"]),
                  f"{1 - report['recovery_rate']:.1%}" if report["conversions"] else "0.0%", "")
    out.print(table)


@app.command("crm-sync")
def crm_sync(tenant: TenantOpt = None) -> None:
    """Pull HubSpot pipelines and deals now, attribute new deals, re-aggregate pipeline value."""
    from revline.ads import service
    from revline.kernel.config import get_settings

    settings = get_settings()
    with _session(tenant or settings.ads_tenant) as (session, tenant_id):
        summary = service.sync_hubspot(session, settings, tenant_id)
        currency = service.get_rules(session, tenant_id).currency
    pipe = summary["pipeline"]
    out.print(f"{summary['deals']} deals ({summary['created']} new), {summary['stages']} stages; "
              f"{pipe['deals']} attributed deals worth {_money(pipe['value_minor'], currency)} "
              f"of pipeline value across {pipe['ads']} ads")


@app.command("ingest-crm")
def ingest_crm(
    json_file: Annotated[Path, typer.Argument(metavar="FILE.json",
                                              help="Same body as POST /api/ml/ingest-crm-data.")],
    tenant: TenantOpt = None,
) -> None:
    """Bulk-ingest CRM pipelines and deals from a JSON file."""
    from pydantic import ValidationError

    from revline.ads import service
    from revline.ads.schemas import CrmIngestIn

    try:
        raw = json.loads(json_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UnreadableInput(f"{json_file}: {exc}") from exc
    try:
        data = CrmIngestIn.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidInput(f"{json_file}: {where}: {first.get('msg')}") from None
    with _session(tenant) as (session, tenant_id):
        summary = service.ingest(session, tenant_id, data)
    out.print(f"{summary['deals']} deals ({summary['created']} new, {summary['attributed']} "
              f"attributed), {summary['stages']} stages")


@config_app.command("show")
def config_show(tenant: TenantOpt = None, as_json: JsonOpt = False) -> None:
    """The effective rules (stored values over defaults)."""
    from revline.ads import service

    with _session(tenant) as (session, tenant_id):
        rules = service.get_rules(session, tenant_id)
    data = rules.model_dump()
    if as_json:
        _print_json(data)
        return
    stored = rules.model_dump(exclude_defaults=True)
    table = Table("setting", "value", "", title="Ads rules")
    for key, value in data.items():
        table.add_row(key, escape(json.dumps(value)), "set" if key in stored else "default")
    out.print(table)


@config_app.command("set")
def config_set(
    key: Annotated[str, typer.Argument(help="e.g. mode, kill_roas, stage_values.closedwon")],
    value: Annotated[str, typer.Argument(help="JSON or text; null removes a mapping entry.")],
    tenant: TenantOpt = None,
) -> None:
    """Change one rule, e.g. `config set mode pipeline`, `config set max_step_pct 15`."""
    from revline.ads import service

    with _session(tenant) as (session, tenant_id):
        rules = service.set_rule(session, tenant_id, key, value)
    name = key.split(".", 1)[0]
    out.print(f"{name} = {escape(json.dumps(rules.model_dump()[name]))}")
