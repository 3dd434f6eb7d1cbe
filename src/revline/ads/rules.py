"""The decision rules: ignorance zone, kill, scale and budget shifts by probability-to-be-best.

Pure: snapshots in, decisions out. Evaluation (service side) builds the snapshots from the
database and turns decisions into pending changes for the safe executor.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from revline.ads.allocation import prob_best_gaussian, roas_posterior_std, shift_targets
from revline.ads.money import fmt
from revline.ads.pipeline_value import roas
from revline.ads.schemas import AdsRules

HOLD = "hold"  # inside the ignorance zone: no kill, no budget move
KILL = "kill"
SCALE = "scale"
SHIFT = "shift"
KEEP = "keep"


@dataclass(frozen=True)
class AdSnapshot:
    """Everything the rules need to know about one active ad."""

    ad_id: uuid.UUID
    group: str  # ads compete for budget within a group (the ad account)
    mode: str
    currency: str
    daily_budget_minor: int
    spend_minor: int
    value_minor: int
    conversions: int
    age_days: float


@dataclass(frozen=True)
class Decision:
    """The rule that fired for one ad, the numbers behind it and the budget it wants."""

    ad_id: uuid.UUID
    action: str
    reason: str
    roas: float | None
    prob_best: float | None = None
    target_budget_minor: int | None = None


def in_ignorance_zone(ad: AdSnapshot, rules: AdsRules) -> str | None:
    """Why the ad is too young or too cheap to judge, or None when it can be judged."""
    young = ad.age_days < rules.ignorance_days
    cheap = ad.spend_minor < rules.ignorance_spend_minor
    if not (young or cheap):
        return None
    parts = []
    if young:
        parts.append(f"{ad.age_days:.1f} of the first {rules.ignorance_days:g} days")
    if cheap:
        parts.append(
            f"{fmt(ad.spend_minor, ad.currency)} of the first "
            f"{fmt(rules.ignorance_spend_minor, ad.currency)} spent"
        )
    return "ignorance zone: " + ", ".join(parts)


def decide(
    ads: list[AdSnapshot], rules: AdsRules, rng: np.random.Generator | None = None
) -> list[Decision]:
    """One decision per ad: hold, kill, scale, shift (by P(best) within its group) or keep."""
    decisions: dict[uuid.UUID, Decision] = {}
    shiftable: dict[str, list[AdSnapshot]] = defaultdict(list)
    step = rules.max_step_pct / 100.0
    for ad in ads:
        value_roas = roas(ad.value_minor, ad.spend_minor)
        label = "pipeline ROAS" if ad.mode == "pipeline" else "ROAS"
        zone = in_ignorance_zone(ad, rules)
        if zone is not None:
            decisions[ad.ad_id] = Decision(ad.ad_id, HOLD, zone, value_roas)
        elif value_roas is None:
            decisions[ad.ad_id] = Decision(ad.ad_id, KEEP, "no spend yet", None)
        elif ad.spend_minor > rules.kill_spend_minor and value_roas < rules.kill_roas:
            decisions[ad.ad_id] = Decision(
                ad.ad_id, KILL,
                f"{label} {value_roas:.2f} < {rules.kill_roas:g} after "
                f"{fmt(ad.spend_minor, ad.currency)} spent "
                f"(> {fmt(rules.kill_spend_minor, ad.currency)})",
                value_roas,
            )
        elif value_roas > rules.scale_roas:
            target = int(round(ad.daily_budget_minor * (1.0 + step)))
            decisions[ad.ad_id] = Decision(
                ad.ad_id, SCALE, f"{label} {value_roas:.2f} > {rules.scale_roas:g}",
                value_roas, target_budget_minor=target,
            )
        else:
            shiftable[ad.group].append(ad)
    for group_ads in shiftable.values():
        for decision in _shift_group(group_ads, rules, rng):
            decisions[decision.ad_id] = decision
    return [decisions[ad.ad_id] for ad in ads]


def _shift_group(
    ads: list[AdSnapshot], rules: AdsRules, rng: np.random.Generator | None
) -> list[Decision]:
    """Move budget between the group's judged ads toward the likeliest best ROAS."""
    ratios = [roas(ad.value_minor, ad.spend_minor) or 0.0 for ad in ads]
    if len(ads) < 2:
        return [
            Decision(ad.ad_id, KEEP, "only judged ad in its account: nothing to shift", r)
            for ad, r in zip(ads, ratios, strict=True)
        ]
    mean = np.asarray(ratios, dtype=np.float64)
    std = np.asarray(
        [roas_posterior_std(r, ad.conversions, rules.roas_std_floor)
         for ad, r in zip(ads, ratios, strict=True)],
        dtype=np.float64,
    )
    p_best = prob_best_gaussian(mean, std, rng=rng)
    targets = shift_targets([ad.daily_budget_minor for ad in ads], p_best, rules.min_share)
    out: list[Decision] = []
    for ad, r, p, target in zip(ads, ratios, p_best, targets, strict=True):
        current = ad.daily_budget_minor
        moved = abs(target - current) / current * 100.0 if current else float(target > 0) * 100
        if moved < rules.min_shift_pct:
            out.append(Decision(
                ad.ad_id, KEEP, f"P(best) {p:.2f}: budget already near its share", r, float(p)
            ))
            continue
        direction = "up" if target > current else "down"
        out.append(Decision(
            ad.ad_id, SHIFT,
            f"P(best) {p:.2f} among {len(ads)} ads: budget {direction} toward "
            f"{fmt(target, ad.currency)}",
            r, float(p), target,
        ))
    return out
