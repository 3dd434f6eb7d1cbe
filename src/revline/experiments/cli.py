"""`revline experiments ...`: bandit experiments and the model registry."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table

from revline.experiments.clikit import JsonOpt, TenantOpt, invalid, out, print_json
from revline.experiments.registry.cli import app as models_app
from revline.kernel.auth import tenant_session
from revline.kernel.errors import InvalidInput, UnreadableInput

app = typer.Typer(
    help="Bandit experiments (Thompson sampling) and the model registry (`models`).",
    no_args_is_help=True,
)
app.add_typer(models_app, name="models")


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Unique name, e.g. homepage-headline.")],
    arm: Annotated[list[str], typer.Option("--arm", "-a", help="Arm name (repeat, >= 2).")],
    reward: Annotated[
        str, typer.Option(help="bernoulli (0/1 conversions) or gaussian (revenue, ROAS).")
    ] = "bernoulli",
    half_life: Annotated[
        float | None,
        typer.Option(
            help="Decay half-life in evidence units; omit for stationary traffic. "
            "100 conversions suits traffic that shifts."
        ),
    ] = None,
    evidence: Annotated[
        str | None, typer.Option(help="Half-life unit: conversions, trials or weight (spend).")
    ] = None,
    min_weight: Annotated[float, typer.Option(help="Traffic floor per arm, e.g. 0.02.")] = 0.0,
    burn_in: Annotated[int, typer.Option(help="Decisions per arm before sampling starts.")] = 0,
    top_two: Annotated[
        float | None, typer.Option(help="Top-two TS: chance to play the leader, e.g. 0.5.")
    ] = None,
    explore_share: Annotated[
        float | None,
        typer.Option(
            help="Chance an arm's score is a posterior draw (default 1/K; 1 = classic TS)."
        ),
    ] = None,
    srm_period: Annotated[int | None, typer.Option(help="SRM period in seconds.")] = None,
    description: Annotated[str, typer.Option(help="Free text.")] = "",
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an experiment with its arms and bandit policy."""
    from revline.experiments import service
    from revline.experiments.schemas import ExperimentCreate, PolicyIn
    from revline.kernel.config import get_settings

    policy: dict[str, Any] = {
        "half_life": half_life,
        "evidence": evidence,
        "min_weight": min_weight,
        "burn_in": burn_in,
        "top_two": top_two,
        "explore_share": explore_share,
    }
    try:
        body = ExperimentCreate(
            name=name,
            description=description,
            reward=reward,
            arms=list(arm),
            srm_period_s=srm_period,
            policy=PolicyIn(**{k: v for k, v in policy.items() if v is not None}),
        )
    except ValidationError as exc:
        raise invalid(exc) from exc
    with tenant_session(tenant) as (session, tenant_id):
        row = service.create_experiment(session, tenant_id, body, get_settings())
        shown = service.experiment_out(session, tenant_id, row)
    if as_json:
        print_json(shown)
        return
    out.print(
        f"created experiment {escape(shown.name)} ({shown.id}) with "
        f"{len(shown.arms)} arms: {escape(', '.join(a.name for a in shown.arms))}"
    )


@app.command("list")
def list_cmd(tenant: TenantOpt = None, as_json: JsonOpt = False) -> None:
    """List experiments with their arms and observation counts."""
    from revline.experiments import service

    with tenant_session(tenant) as (session, tenant_id):
        rows = [
            service.experiment_out(session, tenant_id, e)
            for e in service.list_experiments(session, tenant_id)
        ]
    if as_json:
        print_json(rows)
        return
    table = Table("name", "reward", "arms", "decisions", "observations", "pending", "created")
    for e in rows:
        table.add_row(
            escape(e.name),
            e.reward,
            str(len(e.arms)),
            str(sum(a.decisions for a in e.arms)),
            str(sum(a.observations for a in e.arms)),
            str(e.pending_observations),
            e.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    out.print(table)


@app.command("show")
def show(
    ref: Annotated[str, typer.Argument(help="Experiment name or id.")],
    draws: Annotated[int | None, typer.Option(help="Monte Carlo draws for P(best).")] = None,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show an experiment's policy, arms, posteriors and probability to be best."""
    from revline.experiments import service
    from revline.kernel.config import get_settings

    with tenant_session(tenant) as (session, tenant_id):
        exp = service.experiment_out(
            session, tenant_id, service.get_experiment(session, tenant_id, ref)
        )
        post = service.posteriors(
            session, tenant_id, ref, draws or get_settings().experiments_prob_best_draws
        )
    if as_json:
        print_json(post)
        return
    policy = {k: v for k, v in exp.policy.items() if v not in (None, 0, 0.0, 1.0)}
    out.print(
        f"[bold]{escape(exp.name)}[/bold] {exp.id} reward={exp.reward} "
        f"policy={escape(json.dumps(policy))} evidence={exp.evidence_total:.1f} "
        f"version={exp.posterior_version} pending={exp.pending_observations}"
    )
    table = Table("arm", "decisions", "observations", "posterior mean", "sd", "P(best)")
    for a in post.arms:
        sd = "-" if a.std is None else f"{a.std:.4f}"
        table.add_row(
            escape(a.name),
            str(a.decisions),
            str(a.observations),
            f"{a.mean:.4f}",
            sd,
            f"{a.prob_best:.3f}",
        )
    out.print(table)


@app.command("decide")
def decide(
    ref: Annotated[str, typer.Argument(help="Experiment name or id.")],
    n: Annotated[int, typer.Option("-n", help="Number of requests to decide for.")] = 1,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Choose arms for n requests (one vectorised draw); prints one arm per line."""
    from revline.experiments import service
    from revline.kernel.config import get_settings

    with tenant_session(tenant) as (session, tenant_id):
        result = service.decide(session, tenant_id, ref, n, get_settings())
    if as_json:
        print_json(result)
        return
    for name in result.arms:
        print(name)  # noqa: T201 - plain lines for scripts


def _read_observations(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UnreadableInput(f"{path}: cannot read ({exc.strerror})") from exc
    items = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{path}:{number}: not JSON ({exc.msg})") from exc
        if not isinstance(item, dict):
            raise InvalidInput(
                f"{path}:{number}: expected an object like "
                '{"event_id": "e1", "arm": "a", "reward": 1}'
            )
        items.append(item)
    if not items:
        raise InvalidInput(f"{path}: no observations")
    return items


@app.command("observe")
def observe(
    ref: Annotated[str, typer.Argument(help="Experiment name or id.")],
    arm: Annotated[str | None, typer.Argument(help="Arm name.")] = None,
    reward: Annotated[float | None, typer.Argument(help="0/1, or a value for gaussian.")] = None,
    event_id: Annotated[
        str | None, typer.Option(help="Your id for the event; a repeat is rejected.")
    ] = None,
    weight: Annotated[float, typer.Option(help="Gaussian weight, e.g. spend for ROAS.")] = 1.0,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            "-f",
            help="JSONL of {event_id, arm, reward, weight?, "
            "occurred_at?, decided_at?}; stored all or none.",
        ),
    ] = None,
    update: Annotated[
        bool,
        typer.Option(
            "--update/--no-update",
            help="Fold into the posteriors now (default), or leave it to the worker.",
        ),
    ] = True,
    tenant: TenantOpt = None,
) -> None:
    """Record rewards: one (ARM REWARD --event-id ID) or many (--file)."""
    from revline.experiments import service
    from revline.experiments.schemas import ObservationIn
    from revline.kernel.jobs import pending_jobs

    if file is not None:
        raw = _read_observations(file)
    elif arm is not None and reward is not None and event_id is not None:
        raw = [{"event_id": event_id, "arm": arm, "reward": reward, "weight": weight}]
    else:
        raise InvalidInput("give ARM REWARD --event-id ID, or --file observations.jsonl")
    try:
        items = [ObservationIn(**item) for item in raw]
    except ValidationError as exc:
        raise invalid(exc) from exc
    with tenant_session(tenant) as (session, tenant_id):
        stored = service.observe(session, tenant_id, ref, items)
        applied = 0
        if update:
            applied = service.update_posteriors(
                session, tenant_id, uuid.UUID(stored.experiment_id)
            ).applied
            pending_jobs(session).clear()  # done here; no worker job needed
    note = f"; {applied} folded into the posteriors" if update else "; queued for the worker"
    out.print(f"stored {stored.accepted} observation(s){note}")


@app.command("update")
def update_cmd(
    ref: Annotated[str, typer.Argument(help="Experiment name or id.")],
    tenant: TenantOpt = None,
) -> None:
    """Fold pending observations into the posteriors now (what the worker job does)."""
    from revline.experiments import service

    with tenant_session(tenant) as (session, tenant_id):
        exp = service.get_experiment(session, tenant_id, ref)
        result = service.update_posteriors(session, tenant_id, exp.id)
    out.print(
        f"applied {result.applied} observation(s); posterior version {result.posterior_version}"
    )


@app.command("srm")
def srm(
    ref: Annotated[str, typer.Argument(help="Experiment name or id.")],
    periods: Annotated[int, typer.Option(help="How many recent periods.")] = 24,
    alpha: Annotated[float | None, typer.Option(help="Significance level (default 0.001).")] = None,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Sample-ratio-mismatch test per period; exits 1 if any period mismatches."""
    from revline.experiments import service
    from revline.kernel.config import get_settings

    with tenant_session(tenant) as (session, tenant_id):
        report = service.srm_report(
            session, tenant_id, ref, periods, alpha or get_settings().experiments_srm_alpha
        )
    if as_json:
        print_json(report)
    else:
        table = Table("period (UTC)", "observed", "intended share", "chi2", "p", "verdict")
        for p in report.periods:
            total = sum(p.intended.values()) or 1.0
            shares = ", ".join(f"{escape(k)} {v / total:.2f}" for k, v in p.intended.items())
            seen = ", ".join(f"{escape(k)} {v}" for k, v in p.observed.items())
            verdict = "[red]MISMATCH[/red]" if p.mismatch else "ok" if p.sufficient else "too few"
            chi2 = "inf" if p.chi2 is None else f"{p.chi2:.2f}"
            table.add_row(
                p.period_start.strftime("%Y-%m-%d %H:%M"),
                seen,
                shares,
                chi2,
                f"{p.p_value:.2g}",
                verdict,
            )
        out.print(table)
        out.print(
            f"{report.mismatched_periods} of {len(report.periods)} period(s) mismatched "
            f"at alpha={report.alpha}"
        )
    if report.mismatched_periods:
        raise typer.Exit(1)


@app.command("simulate")
def simulate(
    means: Annotated[
        list[str],
        typer.Option(
            "--means",
            help="Comma-separated arm rates for one segment; repeat for "
            "piecewise-stationary traffic, e.g. --means .3,.5,.9 --means .3,.2,.9",
        ),
    ],
    horizon: Annotated[int, typer.Option(help="Total decisions.")] = 10_000,
    half_life: Annotated[float | None, typer.Option(help="Decay half-life (evidence).")] = None,
    evidence: Annotated[str | None, typer.Option(help="conversions, trials or weight.")] = None,
    explore_share: Annotated[float | None, typer.Option(help="Default 1/K.")] = None,
    batch: Annotated[int, typer.Option(help="Decisions between posterior updates.")] = 10,
    seeds: Annotated[int, typer.Option(help="Independent runs.")] = 10,
) -> None:
    """Regret of a policy on simulated Bernoulli traffic, to choose a half-life offline."""
    from revline.experiments.bandit import BanditError, Policy
    from revline.experiments.simulate import piecewise_means, run_policy

    try:
        segments = [[float(x) for x in m.split(",")] for m in means]
    except ValueError:
        raise InvalidInput(
            f"--means {' '.join(means)!r}: use comma-separated rates, e.g. --means .3,.5,.9"
        ) from None
    if seeds < 1 or batch < 1:
        raise InvalidInput("--seeds and --batch must be >= 1")
    try:
        table_means = piecewise_means(segments, horizon)
        policy = Policy(
            half_life=half_life,
            evidence=evidence,  # type: ignore[arg-type]
            explore_share=explore_share,
        ).validate(table_means.shape[1])
    except (ValueError, BanditError) as exc:
        raise InvalidInput(f"simulate: {exc}") from exc
    regrets = [run_policy(table_means, policy, seed, batch) for seed in range(seeds)]
    mean = sum(regrets) / len(regrets)
    se = (sum((r - mean) ** 2 for r in regrets) / max(len(regrets) - 1, 1) / len(regrets)) ** 0.5
    defaults = vars(Policy())
    changed = {k: v for k, v in vars(policy).items() if v != defaults[k]}
    out.print(
        f"regret over {horizon} decisions, {seeds} seeds: {mean:.1f} ± {se:.1f} "
        f"(policy {escape(json.dumps(changed))})"
    )
