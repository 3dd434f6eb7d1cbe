"""Pure ranking math: RRF, Wilson lower bound, recency decay, near-duplicate collapse."""

from __future__ import annotations

import math

import numpy as np
import pytest

from revline.knowledge.ranking import (
    collapse_near_duplicates,
    recency_decay,
    rrf,
    wilson_lower_bound,
)


def test_rrf_rewards_agreement_and_breaks_ties_stably() -> None:
    fused = rrf([["a", "b", "c"], ["b", "a", "d"]], k=60)
    scores = dict(fused)
    assert [item for item, _ in fused][:2] == ["a", "b"]  # equal sums: best rank, then order
    assert scores["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert scores["d"] == pytest.approx(1 / 63)
    assert scores["c"] == scores["d"]
    assert [item for item, _ in fused][2:] == ["c", "d"]


def test_wilson_bound_matches_the_closed_form() -> None:
    # 10 of 100 at z=1.96 -> 0.0552 (standard textbook value).
    assert wilson_lower_bound(10, 100) == pytest.approx(0.05523, abs=1e-4)
    assert wilson_lower_bound(0, 0) == 0.0
    assert wilson_lower_bound(0, 50) == 0.0
    # More evidence for the same rate raises the bound.
    assert wilson_lower_bound(100, 1000) > wilson_lower_bound(10, 100)
    assert wilson_lower_bound(5, 5) < 1.0


def test_recency_decay_halves_per_half_life() -> None:
    assert recency_decay(0, 30) == 1.0
    assert recency_decay(30, 30) == pytest.approx(0.5)
    assert recency_decay(90, 30) == pytest.approx(0.125)
    assert recency_decay(-5, 30) == 1.0
    assert math.isclose(recency_decay(15, 30), 2 ** -0.5)


def test_collapse_groups_near_duplicates_in_rank_order() -> None:
    base = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    near = np.array([0.99, 0.05, 0.0], dtype=np.float32)
    other = np.array([0.0, 1.0, 0.0], dtype=np.float32)
    groups = collapse_near_duplicates([base, other, near], threshold=0.95)
    assert groups == [[0, 2], [1]]
    assert collapse_near_duplicates([base, near], threshold=0.9999) == [[0], [1]]


def test_weighted_rrf_lets_the_stronger_list_win_disagreements() -> None:
    plain = rrf([["a", "b"], ["b", "a"]], k=10)
    assert plain[0][1] == pytest.approx(plain[1][1])  # a tie without weights
    weighted = rrf([["a", "b"], ["b", "a"]], k=10, weights=[1.5, 1.0])
    assert [item for item, _ in weighted] == ["a", "b"]
    assert dict(weighted)["a"] == pytest.approx(1.5 / 11 + 1 / 12)
    with pytest.raises(ValueError, match="2 weights for 1 rankings"):
        rrf([["a"]], weights=[1.0, 2.0])
