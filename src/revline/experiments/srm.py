"""Sample-ratio mismatch: is the traffic an arm *received* the traffic the engine *intended*?

Pure logic, no I/O. A bandit changes its allocation over time, so the check runs per period: the
observations logged for each arm in one period are compared, by a chi-square goodness-of-fit test,
with the allocation the engine intended in that period (the expected number of decisions per arm,
summed over that period's decisions). A mismatch means events are being lost or duplicated for
some arm (tracking broken on one variant, bots, redirects), and any posterior built on those
events is biased. The default alpha of 0.001 is the usual SRM threshold: with many periods and
experiments a looser one raises false alarms every day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# Classic validity rule for the chi-square approximation: every expected count at least 5.
MIN_EXPECTED = 5.0


def chi2_sf(x: float, df: int) -> float:
    """Upper tail P(X >= x) of a chi-square with integer df, in closed form (no SciPy needed)."""
    if df < 1:
        raise ValueError("df must be >= 1")
    if x <= 0:
        return 1.0
    if math.isinf(x):
        return 0.0
    y = x / 2.0
    if df % 2 == 0:
        # Q(m, y) = e^-y * sum_{i<m} y^i / i!
        total, log_term = 0.0, -y
        for i in range(df // 2):
            if i:
                log_term += math.log(y) - math.log(i)
            total += math.exp(log_term)
        return min(1.0, max(0.0, total))
    # Q(m + 1/2, y) = erfc(sqrt y) + e^-y * sum_{i<m} y^(i+1/2) / Gamma(i + 3/2)
    total = math.erfc(math.sqrt(y))
    for i in range(df // 2):
        total += math.exp(-y + (i + 0.5) * math.log(y) - math.lgamma(i + 1.5))
    return min(1.0, max(0.0, total))


@dataclass(frozen=True)
class SRMResult:
    """One chi-square test of observed counts against the intended allocation."""

    observed: list[int]
    expected: list[float]  # intended share x total observed
    chi2: float
    df: int
    p_value: float
    sufficient: bool  # every expected count >= MIN_EXPECTED, so the test is valid
    mismatch: bool  # sufficient and p < alpha (or traffic on an arm meant to get none)


def srm_check(observed: npt.ArrayLike, intended: npt.ArrayLike, alpha: float = 0.001) -> SRMResult:
    """Chi-square test of observed counts per arm vs the intended allocation (counts or shares)."""
    obs = np.asarray(observed, dtype=np.float64)
    want = np.asarray(intended, dtype=np.float64)
    if obs.shape != want.shape or obs.ndim != 1:
        raise ValueError("observed and intended must be 1-D with one value per arm")
    if np.any(obs < 0) or np.any(want < 0) or not np.all(np.isfinite(want)):
        raise ValueError("counts and intended allocation must be finite and >= 0")
    if not 0 < alpha < 1:
        raise ValueError("alpha must be in (0, 1)")
    n = float(obs.sum())
    share = want / want.sum() if want.sum() > 0 else np.zeros_like(want)
    expected = share * n
    live = share > 0
    observed_list = [int(v) for v in obs]
    expected_list = [float(v) for v in expected]
    if not live.any():
        # No decision at all in this period (rewards that arrived after its decisions' period
        # without decided_at): there is no intended ratio to test against.
        return SRMResult(observed_list, expected_list, 0.0, 0, 1.0, False, False)
    if np.any(obs[~live] > 0):
        # Traffic on an arm the engine never chose: a mismatch whatever the volume.
        return SRMResult(
            observed_list, expected_list, math.inf, max(int(live.sum()) - 1, 1), 0.0, True, True
        )
    df = int(live.sum()) - 1
    if df < 1 or n == 0:
        return SRMResult(observed_list, expected_list, 0.0, max(df, 0), 1.0, False, False)
    chi2 = float((((obs[live] - expected[live]) ** 2) / expected[live]).sum())
    p_value = chi2_sf(chi2, df)
    sufficient = bool(np.all(expected[live] >= MIN_EXPECTED))
    return SRMResult(
        observed_list, expected_list, chi2, df, p_value, sufficient, sufficient and p_value < alpha
    )
