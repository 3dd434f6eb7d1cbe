"""Thompson-sampling bandit engine: pure numpy, no I/O.

Two reward models share one sufficient-statistics layout per arm (`ArmStats`):

* **Bernoulli** (conversions): Beta(alpha0 + s, beta0 + n - s) where `n` counts trials and `s`
  successes.
* **Gaussian** (revenue, ROAS): Normal-Inverse-Gamma posterior with weighted observations,
  x_i ~ N(mu, sigma^2 / w_i). For ROAS, send each period's ROAS with `weight` = its spend, so the
  posterior mean is total revenue / total spend. The prior is empirical Bayes by default (the
  pooled mean and variance of all arms, worth `prior_strength` observations), so it sits on the
  reward's own scale without configuration.

Decisions (`choose`, vectorised over N requests) are epsilon-exploring Thompson sampling
(Jin, Yang, Xiao and Xu, "Thompson Sampling with Less Exploration is Fast and Optimal", ICML
2023): for each request and arm, with probability `explore_share` the arm's score is a posterior
draw and otherwise its posterior mean; the request goes to the top score. The default share is
1/K, which the paper proves keeps TS's asymptotically optimal regret while cutting the regret it
pays for sampling clearly beaten arms (30-45% less than classic TS in the stationary settings of
`benchmarks/bandit_regret.py`, at the price of a wider upper tail);
`explore_share=1` is classic TS. Three optional guards: a **burn-in** (arms whose decision count
is below `burn_in` are served first, round-robin), **top-two TS** (Russo 2016: with probability
`top_two` play the sampled leader, otherwise a challenger found by resampling until another arm
wins) and a **minimum arm weight** (a mixture with uniform play, so every arm keeps at least
`min_weight` of the traffic).

Decay: a half-life in *evidence*, not in pulls
----------------------------------------------
Non-stationary traffic needs forgetting. The textbook discounted TS multiplies every arm's counts
by gamma at each pull, so its memory is a fixed number of *pulls*. But what an arm's posterior can
resolve depends on the evidence it holds, not on the pulls: at a 2% conversion rate, 1,000 pulls
hold 20 conversions (a +/-22% estimate) while at 50% they hold 500 (+/-4.5%). A gamma tuned on
one traffic mix is far too forgetful (or too sticky) on another: in `benchmarks/bandit_regret.py`
the best pull half-life for piecewise problem 1 more than doubles regret once every rate is
divided by 10, while a half-life of 100 conversions does well at both. For ads, whose conversion
rates differ by orders of magnitude, there is no single good gamma.

Here memory is measured in evidence units: `conversions` (Bernoulli successes, the default for
Bernoulli), `trials`, or `weight` (e.g. spend, the default for Gaussian). With half-life H, every
unit of evidence that arrives anywhere in the experiment multiplies all existing statistics (of
all arms, as in discounted TS, so idle arms drift back to the prior and get re-explored) by
2^(-1/H). Processing a batch of observations ordered by arrival with evidence e_1..e_m (total E,
running sums C_i) gives exactly:

    stats <- stats * 2^(-E/H) + sum_i 2^(-(E - C_i)/H) * stats(obs_i)

so an observation is decayed only by the evidence that came *after* it. The result does not depend
on how observations are grouped into batches (the Celery task may run every second or every hour)
and H has a direct reading: the posterior keeps about H / ln 2 = 1.44 H units of evidence, e.g.
H = 50 conversions keeps ~72, a relative standard error of ~12% on a conversion rate, whatever the
traffic volume or base rate. Stationary experiments use no decay (`half_life=None`).

Sample-ratio mismatch (`srm_check`): a chi-square goodness-of-fit test of the observed counts per
arm in one period against the allocation the engine intended for that period.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
RewardKind = Literal["bernoulli", "gaussian"]
EvidenceUnit = Literal["conversions", "trials", "weight"]

REWARD_KINDS: tuple[RewardKind, ...] = ("bernoulli", "gaussian")
EVIDENCE_UNITS: tuple[EvidenceUnit, ...] = ("conversions", "trials", "weight")
# Top-two TS: resamples tried before falling back to the best non-leader of the last draw.
_TOP_TWO_RESAMPLES = 8
# Variance floor for the empirical Gaussian prior (constant rewards would give zero variance).
_MIN_VAR = 1e-12
# Rows of (draws x arms) sampled at once by prob_best_*: bounds memory for many arms.
_CHUNK = 4096


class BanditError(ValueError):
    """A policy or input the engine cannot use; the service maps it to InvalidInput."""


@dataclass(frozen=True)
class Policy:
    """How an experiment decides and learns; stored as the experiment's config."""

    reward: RewardKind = "bernoulli"
    half_life: float | None = None  # evidence units; None = stationary (no decay)
    evidence: EvidenceUnit | None = None  # None: conversions (Bernoulli), weight (Gaussian)
    min_weight: float = 0.0  # floor on each arm's share of decisions
    burn_in: int = 0  # decisions each arm gets before sampling takes over
    top_two: float | None = None  # probability of playing the leader; None = plain TS
    explore_share: float | None = None  # chance an arm's score is a draw; None = 1/K
    prior_alpha: float = 1.0
    prior_beta: float = 1.0
    prior_mean: float | None = None  # Gaussian; None = pooled mean of the data
    prior_var: float | None = None  # Gaussian; None = pooled variance of the data
    prior_strength: float = 1.0  # Gaussian prior worth, in observations (kappa0)

    @property
    def evidence_unit(self) -> EvidenceUnit:
        """The unit the half-life is measured in."""
        if self.evidence is not None:
            return self.evidence
        return "conversions" if self.reward == "bernoulli" else "weight"

    def validate(self, n_arms: int | None = None) -> Policy:
        """Raise BanditError with a one-line reason when the policy cannot work."""
        if self.reward not in REWARD_KINDS:
            kinds = ", ".join(REWARD_KINDS)
            raise BanditError(f"reward must be one of {kinds}, got {self.reward!r}")
        if self.evidence is not None and self.evidence not in EVIDENCE_UNITS:
            raise BanditError(
                f"evidence must be one of {', '.join(EVIDENCE_UNITS)}, got {self.evidence!r}"
            )
        if self.reward == "gaussian" and self.evidence == "conversions":
            raise BanditError("evidence 'conversions' needs a bernoulli reward; use weight/trials")
        if self.half_life is not None and not 0 < self.half_life < math.inf:
            raise BanditError(f"half_life must be a positive number, got {self.half_life}")
        if not 0.0 <= self.min_weight < 1.0:
            raise BanditError(f"min_weight must be in [0, 1), got {self.min_weight}")
        if n_arms is not None and self.min_weight * n_arms > 1.0:
            raise BanditError(
                f"min_weight {self.min_weight} x {n_arms} arms exceeds 100% of traffic; "
                f"use at most {1.0 / n_arms:.4f}"
            )
        if self.burn_in < 0:
            raise BanditError(f"burn_in must be >= 0, got {self.burn_in}")
        if self.top_two is not None and not 0.0 < self.top_two < 1.0:
            raise BanditError(f"top_two must be in (0, 1), e.g. 0.5, got {self.top_two}")
        if self.explore_share is not None and not 0.0 < self.explore_share <= 1.0:
            raise BanditError(f"explore_share must be in (0, 1], got {self.explore_share}")
        if self.prior_alpha <= 0 or self.prior_beta <= 0:
            raise BanditError("prior_alpha and prior_beta must be > 0")
        if self.prior_strength <= 0:
            raise BanditError("prior_strength must be > 0")
        if self.prior_var is not None and self.prior_var <= 0:
            raise BanditError("prior_var must be > 0")
        return self


@dataclass
class ArmStats:
    """Decayed sufficient statistics per arm: count n, weight w, sum w*x, sum w*x^2."""

    n: FloatArray
    w: FloatArray
    s: FloatArray
    q: FloatArray

    @classmethod
    def zeros(cls, k: int) -> ArmStats:
        """No evidence yet for k arms."""
        return cls(np.zeros(k), np.zeros(k), np.zeros(k), np.zeros(k))

    @property
    def k(self) -> int:
        """Number of arms."""
        return int(self.n.shape[0])

    def copy(self) -> ArmStats:
        """Independent copy (updates are pure and return new stats)."""
        return ArmStats(self.n.copy(), self.w.copy(), self.s.copy(), self.q.copy())


def _as_float(values: npt.ArrayLike, name: str) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise BanditError(f"{name} must be finite numbers")
    return arr


def check_rewards(
    policy: Policy, rewards: npt.ArrayLike, weights: npt.ArrayLike | None = None
) -> tuple[FloatArray, FloatArray]:
    """Validate rewards (0/1 for Bernoulli) and weights (> 0); return them as float arrays."""
    r = np.atleast_1d(_as_float(rewards, "rewards"))
    w = np.ones_like(r) if weights is None else np.atleast_1d(_as_float(weights, "weights"))
    if w.shape != r.shape:
        raise BanditError("weights must have one value per reward")
    if np.any(w <= 0):
        raise BanditError("weights must be > 0")
    if policy.reward == "bernoulli":
        if not np.all((r == 0.0) | (r == 1.0)):
            raise BanditError("bernoulli rewards must be 0 or 1")
        if not np.all(w == 1.0):
            raise BanditError("bernoulli observations carry no weight; send one event per trial")
    return r, w


def evidence_of(policy: Policy, rewards: FloatArray, weights: FloatArray) -> FloatArray:
    """Evidence each observation adds to the decay clock, in the policy's unit."""
    unit = policy.evidence_unit
    if unit == "conversions":
        return rewards * weights
    if unit == "trials":
        return np.ones_like(rewards)
    return weights


def update(
    stats: ArmStats,
    policy: Policy,
    arms: npt.ArrayLike,
    rewards: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
) -> tuple[ArmStats, float]:
    """Fold observations (in arrival order) into the stats; returns (new stats, evidence added).

    With a half-life, old evidence and each observation are decayed by the evidence that arrived
    after them (see the module docstring); the result is the same however the observations are
    split into batches.
    """
    a = np.atleast_1d(np.asarray(arms, dtype=np.int64))
    r, w = check_rewards(policy, rewards, weights)
    if a.shape != r.shape:
        raise BanditError("arms and rewards must have the same length")
    if a.size and (a.min() < 0 or a.max() >= stats.k):
        raise BanditError(f"arm index out of range 0..{stats.k - 1}")
    ev = evidence_of(policy, r, w)
    total = float(ev.sum())
    new = stats.copy()
    if policy.half_life is not None and total > 0:
        rate = math.log(2.0) / policy.half_life
        after = total - np.cumsum(ev)  # evidence that arrived after each observation
        obs_factor = np.exp(-rate * after)
        old_factor = math.exp(-rate * total)
        for arr in (new.n, new.w, new.s, new.q):
            arr *= old_factor
    else:
        obs_factor = np.ones_like(r)
    k = stats.k
    new.n += np.bincount(a, weights=obs_factor, minlength=k)
    new.w += np.bincount(a, weights=obs_factor * w, minlength=k)
    new.s += np.bincount(a, weights=obs_factor * w * r, minlength=k)
    new.q += np.bincount(a, weights=obs_factor * w * r * r, minlength=k)
    return new, total


@dataclass(frozen=True)
class GaussianPosterior:
    """Normal-Inverse-Gamma parameters per arm."""

    mean: FloatArray
    kappa: FloatArray
    shape: FloatArray
    scale: FloatArray


def gaussian_posterior(stats: ArmStats, policy: Policy) -> GaussianPosterior:
    """NIG posterior per arm, with the empirical-Bayes prior unless one is configured."""
    total_w = float(stats.w.sum())
    if policy.prior_mean is not None:
        mu0 = policy.prior_mean
    else:
        mu0 = float(stats.s.sum() / total_w) if total_w > 0 else 0.0
    if policy.prior_var is not None:
        var0 = policy.prior_var
    elif total_w > 0:
        var0 = max(float(stats.q.sum() / total_w - mu0 * mu0), _MIN_VAR)
    else:
        var0 = 1.0
    kappa0 = policy.prior_strength
    a0 = 1.0
    b0 = a0 * var0
    safe_w = np.where(stats.w > 0, stats.w, 1.0)
    xbar = np.where(stats.w > 0, stats.s / safe_w, mu0)
    within = np.maximum(stats.q - stats.s * stats.s / safe_w, 0.0)
    kappa = kappa0 + stats.w
    mean = (kappa0 * mu0 + stats.s) / kappa
    shape = a0 + stats.n / 2.0
    # Weights measure precision relative to the per-unit variance; the prior-vs-data term uses
    # the data's weight just as the Normal-Gamma update does with counts.
    scale = b0 + 0.5 * within + kappa0 * stats.w * (xbar - mu0) ** 2 / (2.0 * kappa)
    return GaussianPosterior(mean, kappa, shape, scale)


def beta_params(stats: ArmStats, policy: Policy) -> tuple[FloatArray, FloatArray]:
    """Beta(alpha, beta) per arm for a Bernoulli policy."""
    alpha = policy.prior_alpha + stats.s
    beta = policy.prior_beta + np.maximum(stats.n - stats.s, 0.0)
    return alpha, beta


def posterior_mean_std(stats: ArmStats, policy: Policy) -> tuple[FloatArray, FloatArray]:
    """Posterior mean and standard deviation of each arm's expected reward."""
    if policy.reward == "bernoulli":
        alpha, beta = beta_params(stats, policy)
        total = alpha + beta
        return alpha / total, np.sqrt(alpha * beta / (total * total * (total + 1.0)))
    post = gaussian_posterior(stats, policy)
    # Marginal of mu is Student-t with 2a dof; its variance exists once a > 1.
    excess = post.shape - 1.0
    safe = np.where(excess > 0, excess, 1.0)
    var = np.where(excess > 0, post.scale / (safe * post.kappa), np.inf)
    return post.mean, np.sqrt(var)


def posterior_draws(
    stats: ArmStats, policy: Policy, size: int, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """(`size` joint posterior draws of each arm's expected reward, shape (size, k); means)."""
    k = stats.k
    if policy.reward == "bernoulli":
        alpha, beta = beta_params(stats, policy)
        draws: FloatArray = rng.beta(alpha, beta, size=(size, k))
        center = alpha / (alpha + beta)
    else:
        post = gaussian_posterior(stats, policy)
        var = post.scale / rng.gamma(post.shape, 1.0, size=(size, k))
        draws = post.mean + rng.standard_normal((size, k)) * np.sqrt(var / post.kappa)
        center = post.mean
    return draws, center


def scores(stats: ArmStats, policy: Policy, size: int, rng: np.random.Generator) -> FloatArray:
    """Per-request decision scores: a posterior draw with probability explore_share, else the mean.

    Shape (size, k); the argmax of each row is that request's arm.
    """
    draws, center = posterior_draws(stats, policy, size, rng)
    share = policy.explore_share if policy.explore_share is not None else 1.0 / max(stats.k, 1)
    if share < 1.0:
        use_mean = rng.random(draws.shape) >= share
        draws = np.where(use_mean, center, draws)
    return draws


def argmax_rows(values: FloatArray, rng: np.random.Generator) -> IntArray:
    """Argmax of each row with ties broken at random (posterior means tie before any evidence)."""
    top = values.max(axis=1, keepdims=True)
    tied = values == top
    if not tied.sum(axis=1).max(initial=0) > 1:
        return np.asarray(values.argmax(axis=1), dtype=np.int64)
    return np.asarray((tied * rng.random(values.shape)).argmax(axis=1), dtype=np.int64)


def _challengers(
    stats: ArmStats, policy: Policy, leaders: IntArray, rng: np.random.Generator
) -> IntArray:
    """Top-two challenger per leader: resample until another arm wins, else the runner-up."""
    out = np.full(leaders.shape, -1, dtype=np.int64)
    todo = np.arange(leaders.size)
    last: FloatArray | None = None
    for _ in range(_TOP_TWO_RESAMPLES):
        if todo.size == 0:
            return out
        last = scores(stats, policy, todo.size, rng)
        best = argmax_rows(last, rng)
        found = best != leaders[todo]
        out[todo[found]] = best[found]
        last = last[~found]
        todo = todo[~found]
    if todo.size and last is not None:
        last[np.arange(todo.size), leaders[todo]] = -np.inf
        out[todo] = argmax_rows(last, rng)
    return out


def _thompson(stats: ArmStats, policy: Policy, n: int, rng: np.random.Generator) -> IntArray:
    """n decisions by (top-two) Thompson sampling mixed with uniform play for the weight floor."""
    k = stats.k
    choice = argmax_rows(scores(stats, policy, n, rng), rng)
    if policy.top_two is not None and k > 1 and n:
        swap = rng.random(n) >= policy.top_two
        if swap.any():
            choice[swap] = _challengers(stats, policy, choice[swap], rng)
    if policy.min_weight > 0 and n:
        uniform = rng.random(n) < policy.min_weight * k
        choice[uniform] = rng.integers(0, k, size=int(uniform.sum()))
    return choice


def _burn_in(counts: IntArray, burn_in: int, n: int) -> IntArray:
    """Up to n decisions that lift the least-served arms towards `burn_in`, level by level."""
    need = np.maximum(burn_in - counts, 0)
    total = int(need.sum())
    if total == 0 or n == 0:
        return np.zeros(0, dtype=np.int64)
    arms = np.repeat(np.arange(counts.size), need)
    # Level = the count an arm will have when this slot is served; lowest levels go first.
    starts = np.repeat(np.cumsum(need) - need, need)
    levels = counts[arms] + (np.arange(total) - starts)
    order = np.lexsort((arms, levels))
    return arms[order[:n]].astype(np.int64)


@dataclass(frozen=True)
class Decisions:
    """Arms chosen for a batch of requests, plus what the policy intended (for SRM)."""

    arms: IntArray
    intended: FloatArray  # expected decisions per arm: burn-in counts + n x probabilities
    burn_in: int = 0  # how many of the decisions were burn-in
    probabilities: FloatArray = field(default_factory=lambda: np.zeros(0))


def _forced(stats: ArmStats, policy: Policy, n: int, counts: npt.ArrayLike | None) -> IntArray:
    """The burn-in share of n requests (validated inputs)."""
    if n < 0:
        raise BanditError("n must be >= 0")
    if stats.k == 0:
        raise BanditError("the experiment has no arms")
    if not policy.burn_in or counts is None:
        return np.zeros(0, dtype=np.int64)
    c = np.asarray(counts, dtype=np.int64)
    if c.shape != (stats.k,):
        raise BanditError("counts must have one value per arm")
    return _burn_in(c, policy.burn_in, n)


def choose(
    stats: ArmStats,
    policy: Policy,
    n: int,
    rng: np.random.Generator,
    counts: npt.ArrayLike | None = None,
) -> IntArray:
    """Arms for n requests in one vectorised call (burn-in first, then sampling), shuffled.

    `counts` are the decisions each arm has had so far; burn-in needs them.
    """
    forced = _forced(stats, policy, n, counts)
    sampled = _thompson(stats, policy, n - forced.size, rng)
    if forced.size == 0:
        return sampled
    out = np.concatenate([forced, sampled])
    rng.shuffle(out)
    return out


def allocation(
    stats: ArmStats, policy: Policy, rng: np.random.Generator, draws: int = 10_000
) -> FloatArray:
    """Probability that the sampling rule (after burn-in) picks each arm, by Monte Carlo."""
    k = stats.k
    share = np.bincount(_thompson(stats, replace(policy, min_weight=0.0), draws, rng), minlength=k)
    probs = share / max(draws, 1)
    if policy.min_weight > 0:
        probs = (1.0 - policy.min_weight * k) * probs + policy.min_weight
    return probs.astype(np.float64)


def decide(
    stats: ArmStats,
    policy: Policy,
    n: int,
    rng: np.random.Generator,
    counts: npt.ArrayLike | None = None,
    draws: int = 10_000,
) -> Decisions:
    """Arms for n requests plus the allocation they were drawn from (what SRM checks against).

    Burn-in decisions come first; the rest are drawn i.i.d. from the policy's allocation,
    estimated once per call from `draws` simulated decisions. The intended allocation is then
    exactly the distribution the decisions came from, so SRM tests carry no estimation noise,
    whatever the batch size. (`choose` is the same policy with one fresh draw per request.)
    """
    k = stats.k
    forced = _forced(stats, policy, n, counts)
    rest = n - forced.size
    probs = allocation(stats, policy, rng, draws) if rest else np.zeros(k)
    sampled = rng.choice(k, size=rest, p=probs / probs.sum()) if rest else forced[:0]
    intended = np.bincount(forced, minlength=k).astype(np.float64) + rest * probs
    arms = np.concatenate([forced, sampled.astype(np.int64)])
    if forced.size:
        rng.shuffle(arms)
    return Decisions(arms=arms, intended=intended, burn_in=int(forced.size), probabilities=probs)


def _wins(
    draw: Callable[[int], FloatArray], k: int, draws: int, rng: np.random.Generator
) -> FloatArray:
    """Share of `draws` joint samples in which each arm is the largest, sampled in chunks."""
    if draws <= 0:
        raise BanditError("draws must be > 0")
    wins = np.zeros(k)
    done = 0
    while done < draws:
        size = min(_CHUNK, draws - done)
        wins += np.bincount(argmax_rows(draw(size), rng), minlength=k)
        done += size
    return (wins / draws).astype(np.float64)


def prob_best(
    stats: ArmStats, policy: Policy, draws: int = 10_000, rng: np.random.Generator | None = None
) -> FloatArray:
    """Posterior probability that each arm has the highest expected reward."""
    gen = rng if rng is not None else np.random.default_rng()
    return _wins(lambda size: posterior_draws(stats, policy, size, gen)[0], stats.k, draws, gen)


def _paired(
    x: npt.ArrayLike, y: npt.ArrayLike, x_name: str, y_name: str
) -> tuple[FloatArray, FloatArray]:
    """Two finite 1-D arrays of the same length, one value per arm."""
    a = np.atleast_1d(_as_float(x, x_name))
    b = np.atleast_1d(_as_float(y, y_name))
    if a.shape != b.shape or a.ndim != 1:
        raise BanditError(f"{x_name} and {y_name} must be 1-D arrays of the same length")
    return a, b


def prob_best_beta(
    alpha: npt.ArrayLike,
    beta: npt.ArrayLike,
    draws: int = 10_000,
    rng: np.random.Generator | None = None,
) -> FloatArray:
    """P(arm is best) under independent Beta(alpha, beta) posteriors; shared with ads."""
    a, b = _paired(alpha, beta, "alpha", "beta")
    if np.any(a <= 0) or np.any(b <= 0):
        raise BanditError("alpha and beta must be > 0")
    gen = rng if rng is not None else np.random.default_rng()
    return _wins(lambda size: gen.beta(a, b, size=(size, a.size)), a.size, draws, gen)


def prob_best_gaussian(
    mean: npt.ArrayLike,
    std: npt.ArrayLike,
    draws: int = 10_000,
    rng: np.random.Generator | None = None,
) -> FloatArray:
    """P(arm is best) under independent Normal(mean, std) posteriors; shared with ads."""
    m, s = _paired(mean, std, "mean", "std")
    if np.any(s < 0):
        raise BanditError("std must be >= 0")
    gen = rng if rng is not None else np.random.default_rng()
    return _wins(lambda size: m + gen.standard_normal((size, m.size)) * s, m.size, draws, gen)
