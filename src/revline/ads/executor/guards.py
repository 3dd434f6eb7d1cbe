"""Guards that stand between a decision and the ad platform. Pure: context in, verdict out.

Order matters: first whatever makes touching the platform unwise right now (account rate
limit, learning phase, Meta's four budget edits per ad set per hour, runaway spend), then the
shape of the change itself (max step, minimum budget, randomized rounding).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from revline.ads.money import fmt
from revline.ads.schemas import AdsRules

SET_BUDGET = "set_budget"
PAUSE = "pause"

PROCEED = "proceed"
HOLD = "hold"
NOOP = "noop"

LEARNING = "LEARNING"
ACCOUNT_BACKOFF = timedelta(minutes=5)
VELOCITY_BACKOFF = timedelta(hours=1)
# Before this share of the UTC day has passed, the spend pace is too noisy to extrapolate.
MIN_DAY_FRACTION = 1.0 / 24.0


@dataclass(frozen=True)
class GuardContext:
    """The change and the live state it would land on."""

    now: datetime
    action: str
    currency: str
    current_budget_minor: int
    requested_budget_minor: int | None
    learning_status: str | None
    recent_budget_changes: list[datetime]  # applied budget edits of this ad set, last hour
    spend_today_minor: int | None
    account_usage_pct: int
    account_regain_minutes: int
    throttled_until: datetime | None


@dataclass
class Verdict:
    """Proceed with target_budget_minor, hold until retry_at, or do nothing (noop)."""

    kind: str
    guard: str | None = None
    reason: str = ""
    retry_at: datetime | None = None
    target_budget_minor: int | None = None
    notes: list[str] = field(default_factory=list)


def jitter_seconds(rng: random.Random, max_s: float) -> float:
    """Random delay before a change becomes claimable, so edits never land in lockstep."""
    return rng.uniform(0.0, max_s) if max_s > 0 else 0.0


def account_hold(ctx: GuardContext, rules: AdsRules) -> Verdict | None:
    """Hold while Meta throttles the account or its usage is above the tenant's ceiling."""
    if ctx.throttled_until is not None and ctx.throttled_until > ctx.now:
        return Verdict(HOLD, "account_rate_limit",
                       f"account throttled until {ctx.throttled_until:%H:%M:%S} UTC",
                       ctx.throttled_until)
    if ctx.account_usage_pct >= rules.account_usage_max_pct:
        wait = max(timedelta(minutes=ctx.account_regain_minutes), ACCOUNT_BACKOFF)
        return Verdict(HOLD, "account_rate_limit",
                       f"account usage {ctx.account_usage_pct}% >= "
                       f"{rules.account_usage_max_pct}% (X-Business-Use-Case-Usage)",
                       ctx.now + wait)
    return None


def learning_hold(ctx: GuardContext, rules: AdsRules) -> Verdict | None:
    """A budget edit during Meta's learning phase restarts learning: wait for it to end."""
    if rules.learning_hold and (ctx.learning_status or "").upper() == LEARNING:
        return Verdict(HOLD, "learning_stage", "ad set is in the learning phase",
                       ctx.now + timedelta(minutes=rules.learning_recheck_minutes))
    return None


def hourly_limit_hold(ctx: GuardContext, rules: AdsRules) -> Verdict | None:
    """Meta allows 4 budget changes per ad set per hour; the 5th would block it for an hour."""
    window_start = ctx.now - timedelta(hours=1)
    recent = sorted(t for t in ctx.recent_budget_changes if t > window_start)
    if len(recent) < rules.budget_changes_per_hour:
        return None
    free_at = recent[-rules.budget_changes_per_hour] + timedelta(hours=1)
    return Verdict(HOLD, "budget_changes_per_hour",
                   f"{len(recent)} budget changes in the last hour "
                   f"(limit {rules.budget_changes_per_hour})", free_at)


def velocity_hold(ctx: GuardContext, target: int, rules: AdsRules) -> Verdict | None:
    """Don't feed an ad set that already spends faster than its budget allows."""
    if ctx.spend_today_minor is None or target <= ctx.current_budget_minor:
        return None
    midnight = ctx.now.replace(hour=0, minute=0, second=0, microsecond=0)
    fraction = max((ctx.now - midnight).total_seconds() / 86_400.0, MIN_DAY_FRACTION)
    pace = ctx.spend_today_minor / fraction
    limit = rules.velocity_max_ratio * ctx.current_budget_minor
    if ctx.current_budget_minor > 0 and pace > limit:
        return Verdict(HOLD, "spend_velocity",
                       f"spending at {pace / ctx.current_budget_minor:.2f}x the daily budget's "
                       f"pace (limit {rules.velocity_max_ratio:g}x); no increase for now",
                       ctx.now + VELOCITY_BACKOFF)
    return None


def step_bounds(current: int, rules: AdsRules) -> tuple[int, int]:
    """The lowest and highest budget one change may set, from max step % and the minimum."""
    step = rules.max_step_pct / 100.0
    low = max(int(round(current * (1.0 - step))), rules.min_budget_minor)
    high = max(int(round(current * (1.0 + step))), rules.min_budget_minor)
    return low, high


def fuzzy_round(value: int, step: int, low: int, high: int, rng: random.Random) -> int:
    """Randomized rounding to a multiple of `step`, kept within [low, high].

    Rounds up with probability equal to the fraction, so budgets are unbiased on average but
    never the exact machine-computed figure (a steady pattern of odd amounts looks automated).
    """
    if step <= 1:
        return min(max(value, low), high)
    down = (value // step) * step
    up = down + step
    chosen = up if rng.random() < (value - down) / step else down
    if chosen > high:
        chosen = down
    if chosen < low:
        chosen = up if up <= high else value
    return min(max(chosen, low), high)


def shape_budget(ctx: GuardContext, rules: AdsRules, rng: random.Random) -> Verdict:
    """Apply max step %, the minimum budget and fuzzy rounding to the requested budget."""
    requested = ctx.requested_budget_minor or 0
    current = ctx.current_budget_minor
    notes: list[str] = []
    low, high = step_bounds(current, rules)
    target = requested
    if current > 0 and not low <= target <= high:
        target = min(max(target, low), high)
        notes.append(
            f"max step {rules.max_step_pct:g}%: {fmt(requested, ctx.currency)} -> "
            f"{fmt(target, ctx.currency)}"
        )
    if target < rules.min_budget_minor:
        notes.append(f"minimum budget {fmt(rules.min_budget_minor, ctx.currency)}")
        target = rules.min_budget_minor
    if current > 0:
        rounded = fuzzy_round(target, rules.fuzzy_step_minor, low, high, rng)
    else:
        rounded = max(rules.min_budget_minor, target)
    if rounded == current != target:
        rounded = target  # rounding must not swallow a small but real change
    if rounded != target:
        notes.append(f"fuzzy rounding {fmt(target, ctx.currency)} -> "
                     f"{fmt(rounded, ctx.currency)}")
    if rounded == current:
        return Verdict(NOOP, None, "budget already at target after guards",
                       target_budget_minor=current, notes=notes)
    return Verdict(PROCEED, None, "", target_budget_minor=rounded, notes=notes)


def evaluate(ctx: GuardContext, rules: AdsRules, rng: random.Random) -> Verdict:
    """Run every guard that applies to the change; the first hold wins."""
    held = account_hold(ctx, rules)
    if held is not None:
        return held
    if ctx.action == PAUSE:
        return Verdict(PROCEED, reason="pause")
    shaped = shape_budget(ctx, rules, rng)
    if shaped.kind == NOOP:
        return shaped
    target = shaped.target_budget_minor or 0
    for check in (learning_hold(ctx, rules), hourly_limit_hold(ctx, rules),
                  velocity_hold(ctx, target, rules)):
        if check is not None:
            check.notes = shaped.notes
            return check
    return shaped
