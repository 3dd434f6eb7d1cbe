"""Bernoulli bandit simulator: pure numpy, used by `revline experiments simulate` and benchmarks.

Every policy is driven the same way: it chooses arms for a batch of `batch` requests from its
current posterior, then sees that batch's rewards (as our Celery-updated posteriors do in
production). Rewards come from a fixed table of uniforms per (seed, step, arm), so two policies
run on the same seed face the same luck (common random numbers), and regret is the pseudo-regret
sum over steps of (best mean - chosen arm's mean).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from revline.experiments import bandit
from revline.experiments.bandit import FloatArray, IntArray

ChooseFn = Callable[[int], IntArray]
UpdateFn = Callable[[IntArray, FloatArray], None]
# Reward tables are seeded apart from any policy's own generator.
_ENV_SEED_OFFSET = 1_000_003


def piecewise_means(segments: Sequence[Sequence[float]], horizon: int) -> FloatArray:
    """(horizon, K) arm means: the segments in equal consecutive blocks."""
    table = np.asarray(segments, dtype=np.float64)
    if table.ndim != 2 or table.shape[0] == 0 or table.shape[1] < 2:
        raise ValueError("give at least one segment of at least two arm means")
    if np.any((table < 0) | (table > 1)):
        raise ValueError("Bernoulli means must be in [0, 1]")
    if horizon < table.shape[0]:
        raise ValueError("horizon must be at least the number of segments")
    rows = np.minimum(np.arange(horizon) * table.shape[0] // horizon, table.shape[0] - 1)
    return np.asarray(table[rows], dtype=np.float64)


def stationary_means(k: int, best: float, gap: float) -> list[float]:
    """One best arm at `best`, the other k-1 at `best - gap`."""
    return [best] + [best - gap] * (k - 1)


def run(choose: ChooseFn, learn: UpdateFn, means: FloatArray, seed: int, batch: int) -> float:
    """Pseudo-regret of one policy run: choose a batch, observe its rewards, learn, repeat."""
    horizon, k = means.shape
    luck = np.random.default_rng(seed + _ENV_SEED_OFFSET).random((horizon, k))
    best = means.max(axis=1)
    regret = 0.0
    for start in range(0, horizon, batch):
        arms = np.asarray(choose(min(batch, horizon - start)), dtype=np.int64)
        steps = np.arange(start, start + arms.size)
        chosen = means[steps, arms]
        regret += float((best[steps] - chosen).sum())
        learn(arms, (luck[steps, arms] < chosen).astype(np.float64))
    return regret


def run_policy(means: FloatArray, policy: bandit.Policy, seed: int, batch: int) -> float:
    """Pseudo-regret of our engine with `policy` on the given means."""
    rng = np.random.default_rng(seed)
    state = {"stats": bandit.ArmStats.zeros(means.shape[1])}
    counts = np.zeros(means.shape[1], dtype=np.int64)

    def choose(n: int) -> IntArray:
        arms = bandit.choose(state["stats"], policy, n, rng, counts=counts)
        counts[:] += np.bincount(arms, minlength=counts.size)
        return arms

    def learn(arms: IntArray, rewards: FloatArray) -> None:
        state["stats"] = bandit.update(state["stats"], policy, arms, rewards)[0]

    return run(choose, learn, means, seed, batch)
