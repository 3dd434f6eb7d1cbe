"""Budget shifts that follow each ad's posterior probability of being the best.

Probability-to-be-best comes from the experiments domain's bandit engine (through its service),
so ads and experiments rank arms with the same posterior maths.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from revline.experiments.service import prob_best_beta, prob_best_gaussian

FloatArray = NDArray[np.float64]

__all__ = ["prob_best_beta", "prob_best_gaussian", "roas_posterior_std", "shift_targets"]


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
