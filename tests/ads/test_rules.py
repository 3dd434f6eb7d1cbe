"""Decision rules, pipeline ROAS, P(best) budget shifts, money and rule configuration."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from revline.ads import rules as r
from revline.ads.allocation import prob_best_beta, prob_best_gaussian, shift_targets
from revline.ads.money import fmt, to_minor
from revline.ads.pipeline_value import StageInfo, deal_value, roas
from revline.ads.schemas import AdsRules
from revline.kernel.errors import InvalidInput


def snap(spend: int, value: int, *, budget: int = 10_000, age: float = 10.0, conv: int = 5,
         group: str = "g", mode: str = "pipeline") -> r.AdSnapshot:
    return r.AdSnapshot(uuid.uuid4(), group, mode, "USD", budget, spend, value, conv, age)


def one(ad: r.AdSnapshot, rules: AdsRules | None = None) -> r.Decision:
    return r.decide([ad], rules or AdsRules(), np.random.default_rng(0))[0]


def test_ignorance_zone_never_kills_young_or_cheap_ads() -> None:
    young = one(snap(spend=50_000, value=0, age=1.5))
    assert young.action == r.HOLD
    assert "1.5 of the first 2 days" in young.reason
    cheap = one(snap(spend=9_999, value=0, age=30))
    assert cheap.action == r.HOLD
    assert "99.99 USD of the first 100.00 USD spent" in cheap.reason
    # The same losing ad outside the zone is killed.
    assert one(snap(spend=50_000, value=0, age=3)).action == r.KILL


def test_kill_needs_both_spend_over_200_and_roas_under_half() -> None:
    killed = one(snap(spend=20_001, value=9_000))
    assert killed.action == r.KILL
    assert "pipeline ROAS 0.45 < 0.5" in killed.reason
    # Exactly $200 is not "> $200": the ad keeps running.
    assert one(snap(spend=20_000, value=0)).action != r.KILL
    # Expensive but profitable enough: not killed.
    assert one(snap(spend=50_000, value=25_000)).action != r.KILL


def test_scale_when_roas_over_three_by_max_step() -> None:
    decision = one(snap(spend=30_000, value=100_000, budget=10_000))
    assert decision.action == r.SCALE
    assert decision.target_budget_minor == 12_000  # +20% default step
    assert decision.roas == pytest.approx(100_000 / 30_000)
    custom = AdsRules(max_step_pct=10, scale_roas=5)
    assert one(snap(spend=30_000, value=100_000), custom).action != r.SCALE
    assert one(snap(spend=30_000, value=160_000), custom).target_budget_minor == 11_000


def test_rules_are_configurable() -> None:
    lenient = AdsRules(ignorance_days=0, ignorance_spend_minor=0, kill_spend_minor=1_000,
                       kill_roas=0.9)
    assert one(snap(spend=2_000, value=1_500, age=0.1), lenient).action == r.KILL
    with pytest.raises(ValueError, match="kill_roas must be below scale_roas"):
        AdsRules(kill_roas=3, scale_roas=2)


def test_budget_shifts_follow_probability_to_be_best() -> None:
    strong = snap(spend=50_000, value=125_000, conv=40)   # ROAS 2.5, many conversions
    weak = snap(spend=50_000, value=40_000, conv=40)      # ROAS 0.8
    decisions = r.decide([strong, weak], AdsRules(), np.random.default_rng(1))
    by_id = {d.ad_id: d for d in decisions}
    up, down = by_id[strong.ad_id], by_id[weak.ad_id]
    assert up.action == down.action == r.SHIFT
    assert up.prob_best is not None
    assert up.prob_best > 0.99
    assert up.target_budget_minor is not None
    assert down.target_budget_minor is not None
    assert up.target_budget_minor > 10_000 > down.target_budget_minor
    # Money is moved, not created: the pair's total budget is unchanged.
    assert up.target_budget_minor + down.target_budget_minor == 20_000
    # The loser keeps the exploration floor (5% share).
    assert down.target_budget_minor == pytest.approx(0.05 * 20_000, abs=200)


def test_uncertain_ads_keep_their_budgets() -> None:
    a = snap(spend=30_000, value=60_000, conv=1)
    b = snap(spend=30_000, value=59_000, conv=1)
    decisions = r.decide([a, b], AdsRules(), np.random.default_rng(2))
    assert {d.action for d in decisions} == {r.KEEP}
    assert all(d.prob_best is not None and 0.3 < d.prob_best < 0.7 for d in decisions)


def test_shifts_stay_within_an_account() -> None:
    alone = snap(spend=30_000, value=60_000, group="acct-a")
    other = snap(spend=30_000, value=30_000, group="acct-b")
    decisions = r.decide([alone, other], AdsRules(), np.random.default_rng(3))
    assert [d.action for d in decisions] == [r.KEEP, r.KEEP]
    assert "only judged ad" in decisions[0].reason


def test_pipeline_value_from_stage_values() -> None:
    rules = AdsRules(value_source="stage_value",
                     stage_values={"appointment_scheduled": 225_000, "closedlost": 0})
    appt = StageInfo("Appointment Scheduled", 0.2, False)
    # Matched by label or id, however it is spelled.
    assert deal_value("appointmentscheduled", 900_000, appt, rules) == 225_000
    assert deal_value("appointmentscheduled", None, None, rules) == 225_000
    # A won stage without a configured value counts the real amount; others count nothing.
    assert deal_value("closedwon", 700_000, StageInfo("Closed Won", 1.0, True), rules) == 700_000
    assert deal_value("qualifiedtobuy", 700_000, StageInfo("Qualified", 0.4), rules) == 0
    spend = 150_000
    total = sum(deal_value(s, a, i, rules) for s, a, i in [
        ("appointmentscheduled", None, appt), ("appointmentscheduled", 1, appt),
        ("closedwon", 500_000, StageInfo("Closed Won", 1.0, True)),
    ])
    assert total == 950_000
    assert roas(total, spend) == pytest.approx(950_000 / 150_000)


def test_pipeline_value_from_probability_times_amount() -> None:
    rules = AdsRules(value_source="probability", expected_deal_value_minor=300_000)
    stage = StageInfo("Presentation Scheduled", 0.6, False)
    assert deal_value("presentationscheduled", 1_000_000, stage, rules) == 600_000
    # No amount on the deal: the tenant's expected deal value stands in.
    assert deal_value("presentationscheduled", None, stage, rules) == 180_000
    assert deal_value("closedlost", 1_000_000, StageInfo("Lost", 0.0, True), rules) == 0
    assert deal_value("unknown", 1_000_000, None, rules) == 0
    assert roas(0, 0) is None


def test_mode_switching_per_tenant_account_and_campaign() -> None:
    rules = AdsRules(mode="pipeline", account_modes={"act_2": "direct"},
                     campaign_modes={"c-9": "pipeline"})
    assert rules.mode_for("act_1", "") == "pipeline"
    assert rules.mode_for("act_2", "c-1") == "direct"
    assert rules.mode_for("act_2", "c-9") == "pipeline"


def test_prob_best_functions() -> None:
    rng = np.random.default_rng(7)
    p = prob_best_gaussian(np.array([1.0, 2.0, 0.5]), np.array([0.1, 0.1, 0.1]), rng=rng)
    assert p.sum() == pytest.approx(1.0)
    assert p[1] > 0.99
    p = prob_best_beta(np.array([50, 10]), np.array([50, 90]), rng=rng)
    assert p[0] > 0.99
    even = prob_best_gaussian(np.array([1.0, 1.0]), np.array([1.0, 1.0]), draws=20_000, rng=rng)
    assert even == pytest.approx([0.5, 0.5], abs=0.02)
    with pytest.raises(ValueError, match="must be > 0"):
        prob_best_beta(np.array([0.0]), np.array([1.0]))
    assert shift_targets([100, 100, 100], np.array([1.0, 0.0, 0.0]), 0.1) == [240, 30, 30]


def test_money_minor_units() -> None:
    assert to_minor("2,250.00", "USD") == 225_000
    assert to_minor(1500, "JPY") == 1500
    assert to_minor("1.2345", "KWD") == 1234
    assert fmt(225_000, "USD") == "2,250.00 USD"
    with pytest.raises(InvalidInput, match="not a number"):
        to_minor("lots", "USD")
