"""Bandit engine math with seeded generators: posteriors, decay, guards, batches, P(best)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from revline.experiments import bandit
from revline.experiments.bandit import ArmStats, BanditError, Policy
from revline.experiments.simulate import piecewise_means, run_policy
from revline.experiments.srm import srm_check


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def fitted(policy: Policy, arms: list[int], rewards: list[float], k: int = 3) -> ArmStats:
    return bandit.update(ArmStats.zeros(k), policy, arms, rewards)[0]


# --- posteriors -------------------------------------------------------------------------------


def test_beta_posterior_counts_successes_and_failures() -> None:
    policy = Policy(prior_alpha=1.0, prior_beta=1.0)
    stats = fitted(policy, [0, 0, 0, 1, 1, 2], [1, 1, 0, 0, 0, 1])
    alpha, beta = bandit.beta_params(stats, policy)
    assert alpha.tolist() == [3.0, 1.0, 2.0]
    assert beta.tolist() == [2.0, 3.0, 1.0]
    mean, std = bandit.posterior_mean_std(stats, policy)
    assert mean[0] == pytest.approx(3 / 5)
    assert std[0] == pytest.approx(math.sqrt(3 * 2 / (25 * 6)))


def test_gaussian_posterior_matches_normal_gamma_update_by_hand() -> None:
    policy = Policy(reward="gaussian", prior_mean=0.0, prior_var=4.0, prior_strength=2.0)
    x = np.array([1.0, 3.0, 2.0, 6.0])
    stats = bandit.update(ArmStats.zeros(2), policy, [0, 0, 0, 0], x)[0]
    post = bandit.gaussian_posterior(stats, policy)
    n, xbar = 4, x.mean()
    kappa = 2.0 + n
    assert post.kappa[0] == pytest.approx(kappa)
    assert post.mean[0] == pytest.approx((2.0 * 0.0 + n * xbar) / kappa)
    assert post.shape[0] == pytest.approx(1.0 + n / 2)
    expected_scale = 4.0 + 0.5 * ((x - xbar) ** 2).sum() + 2.0 * n * xbar**2 / (2 * kappa)
    assert post.scale[0] == pytest.approx(expected_scale)
    # The arm without data keeps the prior.
    assert post.mean[1] == 0.0
    assert post.kappa[1] == 2.0


def test_gaussian_weights_make_the_mean_revenue_over_spend() -> None:
    # ROAS observations weighted by spend: the posterior mean tends to total revenue / spend.
    policy = Policy(reward="gaussian")
    spend = np.array([100.0, 300.0, 50.0] * 50)
    revenue = np.array([200.0, 1500.0, 25.0] * 50)
    stats = bandit.update(ArmStats.zeros(2), policy, np.zeros(150, int), revenue / spend, spend)[0]
    mean, std = bandit.posterior_mean_std(stats, policy)
    assert mean[0] == pytest.approx(revenue.sum() / spend.sum(), rel=1e-3)
    assert std[0] < 0.5
    assert math.isinf(std[1])  # no data, no finite posterior sd yet


def test_gaussian_ts_finds_the_best_revenue_arm() -> None:
    gen = rng(3)
    true = np.array([10.0, 12.0, 11.0])
    policy = Policy(reward="gaussian")
    stats = ArmStats.zeros(3)
    for _ in range(150):
        arms = bandit.choose(stats, policy, 20, gen)
        rewards = true[arms] + gen.normal(0, 5.0, arms.size)
        stats = bandit.update(stats, policy, arms, rewards)[0]
    assert stats.n.argmax() == 1
    assert stats.n[1] > 0.6 * stats.n.sum()


def test_rewards_are_validated() -> None:
    with pytest.raises(BanditError, match="0 or 1"):
        bandit.update(ArmStats.zeros(2), Policy(), [0], [0.5])
    with pytest.raises(BanditError, match="finite"):
        bandit.update(ArmStats.zeros(2), Policy(reward="gaussian"), [0], [math.nan])
    with pytest.raises(BanditError, match="> 0"):
        bandit.update(ArmStats.zeros(2), Policy(reward="gaussian"), [0], [1.0], [0.0])
    with pytest.raises(BanditError, match="out of range"):
        bandit.update(ArmStats.zeros(2), Policy(), [2], [1.0])


@pytest.mark.parametrize(
    ("policy", "k", "message"),
    [
        (Policy(min_weight=0.4), 3, "exceeds 100%"),
        (Policy(half_life=0), 2, "half_life"),
        (Policy(top_two=1.0), 2, "top_two"),
        (Policy(explore_share=0.0), 2, "explore_share"),
        (Policy(reward="gaussian", evidence="conversions"), 2, "bernoulli"),
        (Policy(burn_in=-1), 2, "burn_in"),
    ],
)
def test_bad_policies_say_why(policy: Policy, k: int, message: str) -> None:
    with pytest.raises(BanditError, match=message):
        policy.validate(k)


# --- decay: a half-life in evidence ----------------------------------------------------------


def test_half_life_halves_old_evidence_after_h_conversions() -> None:
    policy = Policy(half_life=10.0)  # 10 conversions
    stats = fitted(policy, [0], [1], k=2)  # one conversion on arm 0
    assert stats.s[0] == pytest.approx(1.0)
    # Ten more conversions on arm 1 (plus failures, which are no evidence in this unit).
    stats = bandit.update(stats, policy, [1] * 30, [1, 0, 0] * 10)[0]
    assert stats.s[0] == pytest.approx(0.5)
    assert stats.n[0] == pytest.approx(0.5)
    # Failures alone move no clock: the memory is measured in conversions.
    again = bandit.update(stats, policy, [1] * 50, [0] * 50)[0]
    assert again.s[0] == pytest.approx(0.5)


def test_half_life_in_trials_and_in_spend() -> None:
    trials = Policy(half_life=4.0, evidence="trials")
    stats = fitted(trials, [0] + [1] * 4, [1, 0, 0, 0, 0], k=2)
    assert stats.s[0] == pytest.approx(0.5)
    spend = Policy(reward="gaussian", half_life=100.0)  # evidence = weight (spend)
    stats = bandit.update(ArmStats.zeros(2), spend, [0, 1], [2.0, 1.0], [50.0, 200.0])[0]
    # Arm 0's 50 of spend is followed by 200 of spend: two half-lives.
    assert stats.w[0] == pytest.approx(50.0 * 0.25)
    assert stats.w[1] == pytest.approx(200.0)


def test_decay_does_not_depend_on_how_observations_are_batched() -> None:
    gen = rng(5)
    policy = Policy(half_life=7.0)
    arms = gen.integers(0, 3, 400)
    rewards = (gen.random(400) < 0.4).astype(float)
    at_once = bandit.update(ArmStats.zeros(3), policy, arms, rewards)[0]
    stepwise = ArmStats.zeros(3)
    for lo, hi in [(0, 1), (1, 50), (50, 51), (51, 300), (300, 400)]:
        stepwise = bandit.update(stepwise, policy, arms[lo:hi], rewards[lo:hi])[0]
    for name in ("n", "w", "s", "q"):
        np.testing.assert_allclose(getattr(stepwise, name), getattr(at_once, name), rtol=1e-10)


def test_decayed_arm_drifts_back_to_the_prior() -> None:
    policy = Policy(half_life=5.0)
    stats = fitted(policy, [0] * 100, [0] * 100, k=2)  # arm 0 looks hopeless
    stats = bandit.update(stats, policy, [1] * 200, [1] * 200)[0]
    alpha, beta = bandit.beta_params(stats, policy)
    assert alpha[0] == pytest.approx(1.0)
    assert beta[0] == pytest.approx(1.0, abs=1e-9)


def test_no_half_life_means_no_decay() -> None:
    stats = fitted(Policy(), [0] * 5 + [1] * 500, [1] * 505, k=2)
    assert stats.s[0] == 5.0


def test_evidence_decay_beats_no_decay_on_shifting_traffic() -> None:
    means = piecewise_means([[0.2, 0.8], [0.8, 0.2]], 4000)
    decayed = np.mean([run_policy(means, Policy(half_life=100.0), s, 10) for s in range(3)])
    sticky = np.mean([run_policy(means, Policy(), s, 10) for s in range(3)])
    assert decayed < 0.5 * sticky


# --- decisions: burn-in, minimum weight, top-two, batches -------------------------------------


def test_burn_in_serves_the_least_served_arms_first() -> None:
    policy = Policy(burn_in=5)
    arms = bandit.choose(ArmStats.zeros(3), policy, 7, rng(), counts=[0, 3, 10])
    assert np.bincount(arms, minlength=3).tolist() == [5, 2, 0]
    decided = bandit.decide(ArmStats.zeros(3), policy, 20, rng(), counts=[0, 3, 10])
    assert decided.burn_in == 7
    assert decided.arms.size == 20
    assert decided.intended.sum() == pytest.approx(20.0)
    # Once every arm has its burn-in, sampling takes over.
    assert bandit.decide(ArmStats.zeros(3), policy, 5, rng(), counts=[5, 5, 9]).burn_in == 0


def strong_leader() -> ArmStats:
    # Arm 0 converts at 50% over 2,000 trials, arms 1 and 2 at 10%.
    arms = [0] * 2000 + [1] * 2000 + [2] * 2000
    return fitted(Policy(), arms, [1, 0] * 1000 + ([1] + [0] * 9) * 400)


def test_min_weight_keeps_a_floor_of_traffic_on_every_arm() -> None:
    stats = strong_leader()
    plain = np.bincount(bandit.choose(stats, Policy(), 100_000, rng(1)), minlength=3) / 1e5
    assert plain[1] + plain[2] < 0.001
    floored = bandit.choose(stats, Policy(min_weight=0.05), 100_000, rng(1))
    share = np.bincount(floored, minlength=3) / 1e5
    assert share[1] == pytest.approx(0.05, abs=0.004)
    assert share[2] == pytest.approx(0.05, abs=0.004)
    probs = bandit.allocation(stats, Policy(min_weight=0.05), rng(2))
    assert probs.min() >= 0.05 - 1e-12


def test_top_two_splits_traffic_between_leader_and_challenger() -> None:
    stats = strong_leader()
    arms = bandit.choose(stats, Policy(top_two=0.5), 50_000, rng(2))
    share = np.bincount(arms, minlength=3) / arms.size
    assert share[0] == pytest.approx(0.5, abs=0.01)
    assert share[1] + share[2] == pytest.approx(0.5, abs=0.01)
    assert share[1] > 0.15
    assert share[2] > 0.15


def test_batch_choice_matches_probability_to_be_best() -> None:
    # Classic TS plays each arm with its posterior probability of being best.
    stats = fitted(
        Policy(),
        [0] * 40 + [1] * 40 + [2] * 40,
        [1, 0, 0, 0] * 10 + [1, 0] * 20 + [1, 0, 0] * 13 + [1],
    )
    policy = Policy(explore_share=1.0)
    arms = bandit.choose(stats, policy, 200_000, rng(3))
    share = np.bincount(arms, minlength=3) / arms.size
    best = bandit.prob_best(stats, policy, 200_000, rng(4))
    np.testing.assert_allclose(share, best, atol=0.01)


def test_batch_is_vectorised_reproducible_and_shaped() -> None:
    stats = strong_leader()
    a = bandit.choose(stats, Policy(burn_in=3), 1000, rng(7), counts=[0, 0, 0])
    b = bandit.choose(stats, Policy(burn_in=3), 1000, rng(7), counts=[0, 0, 0])
    assert a.shape == (1000,)
    assert a.dtype == np.int64
    np.testing.assert_array_equal(a, b)
    assert bandit.choose(stats, Policy(), 0, rng()).size == 0


def test_epsilon_exploring_ts_uses_means_for_most_arms() -> None:
    # Before any evidence all means tie; ties are broken at random, not towards arm 0.
    arms = bandit.choose(ArmStats.zeros(4), Policy(), 40_000, rng(8))
    np.testing.assert_allclose(np.bincount(arms) / arms.size, 0.25, atol=0.01)
    # With explore_share=1/K, the weaker arm is often scored by its mean, so it is played less.
    stats = fitted(Policy(), [0] * 40 + [1] * 40, [1, 0] * 20 + [1, 0, 0, 1, 0] * 8, k=2)
    eps = np.bincount(bandit.choose(stats, Policy(), 100_000, rng(9)), minlength=2)[1]
    classic = np.bincount(
        bandit.choose(stats, Policy(explore_share=1.0), 100_000, rng(9)), minlength=2
    )[1]
    assert 0.05 < eps / 1e5 < 0.7 * classic / 1e5


# --- probability to be best -------------------------------------------------------------------


def test_prob_best_beta_matches_the_normal_approximation() -> None:
    alpha = np.array([1000.0, 1080.0])
    beta = np.array([9000.0, 8920.0])
    got = bandit.prob_best_beta(alpha, beta, draws=200_000, rng=rng(10))
    m = alpha / (alpha + beta)
    v = alpha * beta / ((alpha + beta) ** 2 * (alpha + beta + 1))
    expected = sps.norm.cdf((m[1] - m[0]) / math.sqrt(v.sum()))
    assert got[1] == pytest.approx(expected, abs=0.005)
    assert got.sum() == pytest.approx(1.0)


def test_prob_best_gaussian_closed_form_and_ties() -> None:
    got = bandit.prob_best_gaussian([1.0, 1.5], [0.5, 0.5], draws=200_000, rng=rng(11))
    assert got[1] == pytest.approx(sps.norm.cdf(0.5 / math.sqrt(0.5)), abs=0.005)
    tied = bandit.prob_best_gaussian([2.0, 2.0], [0.0, 0.0], draws=20_000, rng=rng(12))
    assert tied == pytest.approx([0.5, 0.5], abs=0.02)
    with pytest.raises(BanditError, match="same length"):
        bandit.prob_best_gaussian([1.0, 2.0], [1.0])
    with pytest.raises(BanditError, match="> 0"):
        bandit.prob_best_beta([0.0, 1.0], [1.0, 1.0])


def test_prob_best_handles_many_arms_in_chunks() -> None:
    alpha = np.full(300, 10.0)
    alpha[17] = 60.0
    got = bandit.prob_best_beta(alpha, np.full(300, 40.0), draws=10_000, rng=rng(13))
    assert got.argmax() == 17
    assert got.sum() == pytest.approx(1.0)


def test_decide_draws_from_the_allocation_it_reports() -> None:
    stats = fitted(
        Policy(), [0] * 30 + [1] * 30 + [2] * 30, ([1, 0, 0] * 10 + [1, 0] * 15) + [0] * 30
    )
    policy = Policy(min_weight=0.05)
    flagged = 0
    for seed in range(100):
        # Few Monte Carlo draws, big batch: SRM must still hold, as decisions come from `intended`.
        decided = bandit.decide(stats, policy, 5000, rng(seed), draws=500)
        assert decided.intended.sum() == pytest.approx(5000)
        flagged += srm_check(np.bincount(decided.arms, minlength=3), decided.intended).mismatch
    assert flagged <= 2
    share = np.bincount(bandit.choose(stats, policy, 100_000, rng(1)), minlength=3) / 1e5
    np.testing.assert_allclose(bandit.allocation(stats, policy, rng(2), 100_000), share, atol=0.01)
