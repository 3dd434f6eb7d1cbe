"""Budget shifts that follow each ad's posterior probability of being the best.

`prob_best_beta` and `prob_best_gaussian` are a private equivalent of the shared bandit
functions promised by `revline.experiments.bandit` (same signatures, same meaning). They live
here until the experiments branch is merged; the lead then points these names at the shared
ones, and nothing else in the ads domain changes.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def _winner_shares(samples: FloatArray) -> FloatArray:
    """Share of draws (rows) in which each arm (column) has the highest sample."""
    draws, arms = samples.shape
    winners = np.argmax(samples, axis=1)
    return np.bincount(winners, minlength=arms).astype(np.float64) / float(draws)


def prob_best_beta(
    alpha: NDArray[np.float64] | NDArray[np.int64],
    beta: NDArray[np.float64] | NDArray[np.int64],
    draws: int = 10_000,
    rng: np.random.Generator | None = None,
) -> FloatArray:
    """P(arm k has the highest rate) under independent Beta(alpha_k, beta_k) posteriors."""
    a = np.asarray(alpha, dtype=np.float64)
    b = np.asarray(beta, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError("alpha and beta must be equal-length, non-empty 1-D arrays")
    if np.any(a <= 0) or np.any(b <= 0):
        raise ValueError("Beta parameters must be positive")
    gen = rng or np.random.default_rng()
    return _winner_shares(gen.beta(a, b, size=(draws, a.size)))


def prob_best_gaussian(
    mean: NDArray[np.float64],
    std: NDArray[np.float64],
    draws: int = 10_000,
    rng: np.random.Generator | None = None,
) -> FloatArray:
    """P(arm k has the highest mean) under independent Normal(mean_k, std_k) posteriors."""
    m = np.asarray(mean, dtype=np.float64)
    s = np.asarray(std, dtype=np.float64)
    if m.shape != s.shape or m.ndim != 1 or m.size == 0:
        raise ValueError("mean and std must be equal-length, non-empty 1-D arrays")
    if np.any(s < 0) or not np.all(np.isfinite(m)) or not np.all(np.isfinite(s)):
        raise ValueError("std must be non-negative and all values finite")
    gen = rng or np.random.default_rng()
    return _winner_shares(gen.standard_normal((draws, m.size)) * s + m)


def roas_posterior_std(roas: float, conversions: int, floor: float) -> float:
    """Spread of a ROAS estimate: relative error of a sum of n events shrinks like 1/sqrt(n+1)."""
    return max(abs(roas), floor) / float(np.sqrt(conversions + 1.0))


def shift_targets(
    budgets: list[int], prob_best: FloatArray, min_share: float
) -> list[int]:
    """Re-split the group's total budget in proportion to P(best), each ad keeping min_share.

    The floor keeps every arm exploring (a zero budget would freeze its posterior forever);
    the executor's max-step guard then limits how far one change may move.
    """
    n = len(budgets)
    if n == 0:
        return []
    floor = min(max(min_share, 0.0), 1.0 / n)
    weights = floor + (1.0 - n * floor) * np.asarray(prob_best, dtype=np.float64)
    total = sum(budgets)
    targets = [int(round(total * float(w))) for w in weights]
    # Rounding must not create or destroy money: give the remainder to the likeliest winner.
    targets[int(np.argmax(weights))] += total - sum(targets)
    return targets
