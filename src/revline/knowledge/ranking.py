"""Pure ranking math: reciprocal rank fusion, Wilson bounds, recency decay, near-duplicates."""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import TypeVar

import numpy as np
import numpy.typing as npt

K = TypeVar("K", bound=Hashable)


def rrf(
    rankings: Sequence[Sequence[K]], k: int = 60, weights: Sequence[float] | None = None
) -> list[tuple[K, float]]:
    """Reciprocal rank fusion: sum of weight/(k + rank) over the lists an item appears in.

    Ties break by the item's best rank, then by first appearance, so results are stable.
    """
    if weights is not None and len(weights) != len(rankings):
        raise ValueError(f"{len(weights)} weights for {len(rankings)} rankings")
    scores: dict[K, float] = {}
    best: dict[K, int] = {}
    order: dict[K, int] = {}
    for index, ranking in enumerate(rankings):
        weight = 1.0 if weights is None else weights[index]
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
            best[item] = min(best.get(item, rank), rank)
            order.setdefault(item, len(order))
    return sorted(scores.items(), key=lambda kv: (-kv[1], best[kv[0]], order[kv[0]]))


def wilson_lower_bound(successes: int, trials: int, z: float = 1.96) -> float:
    """Lower end of the Wilson score interval: a rate we are confident the truth exceeds."""
    if trials <= 0:
        return 0.0
    successes = max(0, min(successes, trials))
    p = successes / trials
    z2 = z * z
    centre = p + z2 / (2 * trials)
    margin = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    return max(0.0, (centre - margin) / (1 + z2 / trials))


def recency_decay(age_days: float, half_life_days: float) -> float:
    """Weight halving every `half_life_days`; future dates count as now."""
    return float(0.5 ** (max(0.0, age_days) / half_life_days))


def collapse_near_duplicates(
    vectors: Sequence[npt.NDArray[np.float32]], threshold: float
) -> list[list[int]]:
    """Greedy grouping in the given (ranked) order: each item joins the first kept item whose
    cosine similarity is at least `threshold`, else starts a group. Returns groups of indexes;
    the first index of each group is its representative."""
    groups: list[list[int]] = []
    kept: list[npt.NDArray[np.float32]] = []
    for index, vector in enumerate(vectors):
        unit = vector / (float(np.linalg.norm(vector)) or 1.0)
        for group, other in zip(groups, kept, strict=True):
            if float(np.dot(unit, other)) >= threshold:
                group.append(index)
                break
        else:
            groups.append([index])
            kept.append(unit)
    return groups
