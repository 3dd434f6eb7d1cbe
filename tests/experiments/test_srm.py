"""Sample-ratio mismatch: the closed-form chi-square tail and the per-period check."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from revline.experiments.srm import chi2_sf, srm_check


@pytest.mark.parametrize("df", [1, 2, 3, 4, 7, 10, 51, 200])
def test_chi2_tail_matches_scipy(df: int) -> None:
    for x in (0.001, 0.3, 1.0, 4.0, 15.0, 80.0, 400.0, 3000.0):
        expected = sps.chi2.sf(x, df)
        assert chi2_sf(x, df) == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_skewed_allocation_is_flagged() -> None:
    # Intended 50/50; one arm lost 10% of its events.
    result = srm_check([5000, 4500], [0.5, 0.5])
    assert result.mismatch
    assert result.p_value < 1e-6
    assert result.chi2 == pytest.approx(sps.chisquare([5000, 4500]).statistic)


def test_bandit_allocation_respected_is_not_flagged() -> None:
    gen = np.random.default_rng(0)
    intended = np.array([700.0, 200.0, 100.0])  # expected decisions, a bandit's uneven split
    flagged = 0
    for _ in range(200):
        observed = gen.multinomial(1000, intended / intended.sum())
        flagged += srm_check(observed, intended).mismatch
    assert flagged <= 2  # alpha = 0.001: false alarms are rare
    skewed = srm_check([760, 160, 80], intended)
    assert skewed.mismatch


def test_too_little_traffic_is_reported_not_flagged() -> None:
    result = srm_check([3, 0], [0.5, 0.5])
    assert not result.sufficient
    assert not result.mismatch
    assert srm_check([0, 0], [1, 1]).p_value == 1.0


def test_traffic_on_an_arm_the_engine_never_chose_is_a_mismatch() -> None:
    result = srm_check([50, 50, 3], [60.0, 40.0, 0.0])
    assert result.mismatch
    assert result.p_value == 0.0


def test_bad_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="one value per arm"):
        srm_check([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match=">= 0"):
        srm_check([1, -2], [1, 1])
    with pytest.raises(ValueError, match="df"):
        chi2_sf(1.0, 0)


def test_a_period_without_decisions_has_nothing_to_compare() -> None:
    """Rewards that arrive in a later period (no decided_at) are no sample-ratio mismatch."""
    result = srm_check([40, 35], [0.0, 0.0])
    assert not result.mismatch
    assert not result.sufficient
    assert result.p_value == 1.0
