"""`revline experiments models ...`: register versions, set aliases, promote, audit."""

from __future__ import annotations

import getpass
import json
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table

from revline.experiments.clikit import JsonOpt, TenantOpt, invalid, out, print_json
from revline.kernel.auth import tenant_session as _session
from revline.kernel.errors import InvalidInput

app = typer.Typer(
    help="Model registry: versions, champion/challenger aliases with a traffic split, "
    "promotion on logged outcomes, audit trail.",
    no_args_is_help=True,
)
NameArg = Annotated[str, typer.Argument(help="Model name, e.g. lead-scorer.")]


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _parse_metrics(pairs: list[str]) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        try:
            if not sep or not key:
                raise ValueError
            metrics[key] = float(value)
        except ValueError:
            raise InvalidInput(f"--metric {pair!r}: use NAME=NUMBER, e.g. auc=0.81") from None
    return metrics


@app.command("register")
def register(
    name: NameArg,
    version: Annotated[str, typer.Argument(help="Version label, e.g. 2026-11-01 or v3.")],
    artifact_uri: Annotated[
        str | None, typer.Option(help="Where the artifact lives (s3://, file://, ...).")
    ] = None,
    params: Annotated[
        str | None, typer.Option(help="Params as JSON, e.g. '{\"half_life\": 100}'.")
    ] = None,
    metric: Annotated[
        list[str] | None, typer.Option(help="Offline metric NAME=NUMBER (repeat).")
    ] = None,
    description: Annotated[str, typer.Option(help="Free text.")] = "",
    tenant: TenantOpt = None,
) -> None:
    """Register a model or policy version (immutable)."""
    from revline.experiments.registry import service
    from revline.experiments.registry.schemas import VersionIn

    try:
        parsed = json.loads(params) if params else {}
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"--params is not JSON: {exc.msg}") from exc
    if not isinstance(parsed, dict):
        raise InvalidInput("--params must be a JSON object")
    try:
        body = VersionIn(
            version=version,
            artifact_uri=artifact_uri,
            params=parsed,
            metrics=_parse_metrics(metric or []),
            description=description,
        )
    except ValidationError as exc:
        raise invalid(exc) from exc
    with _session(tenant) as (session, tenant_id):
        service.register_version(session, tenant_id, name, body, _actor())
    out.print(f"registered {escape(name)} {escape(version)}")


@app.command("list")
def list_cmd(tenant: TenantOpt = None, as_json: JsonOpt = False) -> None:
    """List models with their version count and aliases."""
    from revline.experiments.registry import service

    with _session(tenant) as (session, tenant_id):
        rows = service.list_models(session, tenant_id)
    if as_json:
        print_json(rows)
        return
    table = Table("model", "versions", "aliases", "latest")
    for m in rows:
        aliases = ", ".join(f"{k}={v}" for k, v in m.aliases.items())
        table.add_row(
            escape(m.name), str(m.versions), escape(aliases), m.latest_at.strftime("%Y-%m-%d %H:%M")
        )
    out.print(table)


@app.command("show")
def show(name: NameArg, tenant: TenantOpt = None, as_json: JsonOpt = False) -> None:
    """Show a model's versions and aliases."""
    from revline.experiments.registry import service

    with _session(tenant) as (session, tenant_id):
        model = service.get_model(session, tenant_id, name)
    if as_json:
        print_json(model)
        return
    table = Table("version", "aliases", "metrics", "artifact", "registered")
    for v in model.versions:
        table.add_row(
            escape(v.version),
            ", ".join(v.aliases),
            escape(json.dumps(v.metrics)),
            escape(v.artifact_uri or ""),
            v.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    out.print(table)
    for a in model.aliases:
        share = f" (traffic {a.traffic:.0%})" if a.alias == "challenger" else ""
        out.print(f"{a.alias} -> {escape(a.version)}{share}")


@app.command("alias")
def alias(
    name: NameArg,
    alias_name: Annotated[str, typer.Argument(metavar="ALIAS", help="champion, challenger, ...")],
    version: Annotated[str, typer.Argument(help="Version to point at.")],
    traffic: Annotated[
        float | None, typer.Option(help="Challenger's share of units, e.g. 0.1.")
    ] = None,
    tenant: TenantOpt = None,
) -> None:
    """Point an alias at a version (audited)."""
    from revline.experiments.registry import service
    from revline.kernel.config import get_settings

    with _session(tenant) as (session, tenant_id):
        row = service.set_alias(
            session, tenant_id, name, alias_name, version, traffic, _actor(), get_settings()
        )
    share = f" with {row.traffic:.0%} of traffic" if row.alias == "challenger" else ""
    out.print(f"{escape(name)}: {row.alias} -> {escape(row.version)}{share}")


@app.command("unalias")
def unalias(
    name: NameArg,
    alias_name: Annotated[str, typer.Argument(metavar="ALIAS", help="Alias to remove.")],
    tenant: TenantOpt = None,
) -> None:
    """Remove an alias (audited)."""
    from revline.experiments.registry import service

    with _session(tenant) as (session, tenant_id):
        service.remove_alias(session, tenant_id, name, alias_name, _actor())
    out.print(f"{escape(name)}: removed {escape(alias_name)}")


@app.command("assign")
def assign(
    name: NameArg,
    unit_ids: Annotated[list[str], typer.Argument(help="Unit ids (users, accounts, ...).")],
    tenant: TenantOpt = None,
) -> None:
    """Print `unit alias version` for each unit (sticky)."""
    from revline.experiments.registry import service

    with _session(tenant) as (session, tenant_id):
        rows = service.assign(session, tenant_id, name, unit_ids)
    for row in rows:
        print(f"{row.unit_id}\t{row.alias}\t{row.version}")  # noqa: T201 - for scripts


@app.command("outcome")
def outcome(
    name: NameArg,
    version: Annotated[str, typer.Argument(help="Version that served the unit.")],
    value: Annotated[float, typer.Argument(help="1/0 (converted or not) or a value.")],
    event_id: Annotated[str, typer.Option(help="Your id for the event; a repeat is rejected.")],
    unit_id: Annotated[str | None, typer.Option(help="The unit served.")] = None,
    tenant: TenantOpt = None,
) -> None:
    """Log one online outcome for a version."""
    from revline.experiments.registry import service
    from revline.experiments.registry.schemas import OutcomeIn

    try:
        item = OutcomeIn(event_id=event_id, version=version, value=value, unit_id=unit_id)
    except ValidationError as exc:
        raise invalid(exc) from exc
    with _session(tenant) as (session, tenant_id):
        service.log_outcomes(session, tenant_id, name, [item])
    out.print(f"logged outcome {escape(event_id)} for {escape(name)} {escape(version)}")


def _print_evaluation(result: Any) -> None:
    prob = result.prob_challenger_better
    out.print(
        f"{escape(result.name)} ({result.kind}): champion {escape(result.champion.version)} "
        f"n={result.champion.n} mean={result.champion.mean} | challenger "
        f"{escape(result.challenger.version)} n={result.challenger.n} "
        f"mean={result.challenger.mean} | P(challenger better)="
        f"{'n/a' if prob is None else f'{prob:.3f}'} | {escape(result.reason)}"
    )


ConfidenceOpt = Annotated[
    float | None, typer.Option(help="Required P(challenger better), default 0.95.")
]
MinSamplesOpt = Annotated[int | None, typer.Option(help="Outcomes per version, default 100.")]
KindOpt = Annotated[str, typer.Option(help="auto, binary (0/1) or continuous.")]


@app.command("evaluate")
def evaluate(
    name: NameArg,
    confidence: ConfidenceOpt = None,
    min_samples: MinSamplesOpt = None,
    kind: KindOpt = "auto",
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Compare challenger and champion on the logged outcomes (changes nothing)."""
    from revline.experiments.registry import service
    from revline.kernel.config import get_settings

    with _session(tenant) as (session, tenant_id):
        result = service.evaluate(
            session, tenant_id, name, get_settings(), confidence, min_samples, _kind(kind)
        )
    print_json(result) if as_json else _print_evaluation(result)


def _kind(kind: str) -> Any:
    if kind not in ("auto", "binary", "continuous"):
        raise InvalidInput(f"--kind must be auto, binary or continuous, got {kind!r}")
    return kind


@app.command("promote")
def promote(
    name: NameArg,
    confidence: ConfidenceOpt = None,
    min_samples: MinSamplesOpt = None,
    kind: KindOpt = "auto",
    tenant: TenantOpt = None,
) -> None:
    """Make the challenger champion if it wins with the set confidence (else exit 1)."""
    from revline.experiments.registry import service
    from revline.kernel.config import get_settings

    with _session(tenant) as (session, tenant_id):
        result = service.promote(
            session, tenant_id, name, _actor(), get_settings(), confidence, min_samples, _kind(kind)
        )
    _print_evaluation(result)
    out.print(f"promoted {escape(result.challenger.version)} to champion")


@app.command("history")
def history(name: NameArg, tenant: TenantOpt = None, as_json: JsonOpt = False) -> None:
    """The audit trail: registrations, alias changes, promotions."""
    from revline.experiments.registry import service

    with _session(tenant) as (session, tenant_id):
        rows = service.history(session, tenant_id, name)
    if as_json:
        print_json(rows)
        return
    table = Table("when (UTC)", "action", "alias", "from", "to", "actor")
    for r in rows:
        table.add_row(
            r.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            r.action,
            r.alias or "",
            escape(r.from_version or ""),
            escape(r.to_version or ""),
            escape(r.actor),
        )
    out.print(table)
