"""Regret of Revline's Thompson sampling vs mabwiser's ThompsonSampling, in the same run.

Usage: python benchmarks/bandit_regret.py [--seeds 20] [--batch 10]

Settings (20 seeds each; mean pseudo-regret +/- standard error):
  * stationary Bernoulli, K=10, best arm 0.5, others 0.5-eps, eps in {0.1, 0.02}, T=20,000;
    goal: our regret <= 1.0x mabwiser.
  * piecewise-stationary problem 1, K=3, T=10,000, means [.3,.5,.9] -> [.3,.2,.9] ->
    [.3,.2,.1] -> [.7,.2,.1] -> [.7,.5,.1] in equal segments; goal <= 0.5x mabwiser.

How both are driven (`revline.experiments.simulate.run`): each policy picks arms for a batch of
`--batch` requests from its current posterior (ours: one `bandit.choose` call; mabwiser: one
`predict` with that many context rows, which draws one Beta sample per row and arm), then learns
that batch's rewards (ours: `bandit.update`; mabwiser: `partial_fit`, after an empty `fit`). This
is how decisions are served in production (posteriors move when the update job runs), it is the
same protocol for both, and it keeps mabwiser's per-call overhead out of the figures. Both face
the same reward table per seed (common random numbers).

Our configuration is the documented default for each kind of traffic, never tuned per seed:
stationary runs use no decay; the piecewise run uses the README's recommended half-life for
shifting traffic, 100 conversions. Both use the default explore_share = 1/K (epsilon-exploring
TS); the `*_classic_ts_ratio` keys show classic TS (explore_share=1) too, and `*_p90` keys show
the upper tail, where epsilon-exploring TS is wider than classic TS.

Why the half-life is counted in evidence: `decay_unit` runs problem 1 as given and with every rate
divided by 10 (T=50,000), with our half-life of 100 conversions and with the best pull-based one
on the original rates (200 pulls, i.e. gamma = 0.9965, best of 100/200/400/1000). The pull-based
memory is tuned to one conversion rate; when rates drop it holds too few conversions.
Last line: one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from mabwiser.mab import MAB, LearningPolicy

from revline.experiments import bandit
from revline.experiments.simulate import piecewise_means, run, run_policy, stationary_means

PIECEWISE_1 = [[0.3, 0.5, 0.9], [0.3, 0.2, 0.9], [0.3, 0.2, 0.1], [0.7, 0.2, 0.1], [0.7, 0.5, 0.1]]
# The README's recommendation for traffic that shifts: a half-life of 100 conversions.
NONSTATIONARY_HALF_LIFE = 100.0


def mabwiser_regret(means: np.ndarray, seed: int, batch: int) -> float:
    """mabwiser ThompsonSampling driven by batched predict / partial_fit."""
    k = means.shape[1]
    mab = MAB(arms=list(range(k)), learning_policy=LearningPolicy.ThompsonSampling(), seed=seed)
    mab.fit(decisions=np.array([], dtype=np.int64), rewards=np.array([], dtype=np.float64))

    def choose(n: int) -> np.ndarray:
        picks = mab.predict(np.zeros((n, 1))) if n > 1 else [mab.predict()]
        return np.asarray(picks, dtype=np.int64)

    def learn(arms: np.ndarray, rewards: np.ndarray) -> None:
        mab.partial_fit(decisions=arms, rewards=rewards)

    return run(choose, learn, means, seed, batch)


def summarize(values: list[float]) -> dict[str, float]:
    """Mean, standard error and 90th percentile of per-seed regrets."""
    arr = np.asarray(values)
    return {
        "mean": round(float(arr.mean()), 2),
        "se": round(float(arr.std(ddof=1) / np.sqrt(arr.size)), 2),
        "p90": round(float(np.percentile(arr, 90)), 2),
    }


def setting(
    label: str, means: np.ndarray, ours: bandit.Policy, seeds: int, batch: int
) -> dict[str, Any]:
    """Run our default policy, classic TS and mabwiser on the same seeds."""
    classic = bandit.Policy(half_life=ours.half_life, explore_share=1.0)
    runs: dict[str, Callable[[int], float]] = {
        "revline": lambda s: run_policy(means, ours, s, batch),
        "revline_classic_ts": lambda s: run_policy(means, classic, s, batch),
        "mabwiser": lambda s: mabwiser_regret(means, s, batch),
    }
    result: dict[str, Any] = {"setting": label}
    for name, fn in runs.items():
        started = time.perf_counter()
        result[name] = summarize([fn(seed) for seed in range(seeds)])
        result[name]["seconds"] = round(time.perf_counter() - started, 2)
    base = result["mabwiser"]["mean"]
    result["ratio"] = round(result["revline"]["mean"] / base, 3)
    result["classic_ts_ratio"] = round(result["revline_classic_ts"]["mean"] / base, 3)
    print(json.dumps(result))
    return result


def decay_unit(seeds: int, batch: int) -> dict[str, Any]:
    """Evidence half-life vs a tuned pull half-life, at the original and at 1/10 the rates."""
    by_evidence = bandit.Policy(half_life=NONSTATIONARY_HALF_LIFE)
    by_pulls = bandit.Policy(half_life=200.0, evidence="trials")
    result: dict[str, Any] = {"setting": "decay_unit"}
    for label, scale, horizon in (("rates_x1", 1.0, 10_000), ("rates_x0.1", 0.1, 50_000)):
        means = piecewise_means(np.asarray(PIECEWISE_1) * scale, horizon)
        evidence = summarize([run_policy(means, by_evidence, s, batch) for s in range(seeds)])
        pulls = summarize([run_policy(means, by_pulls, s, batch) for s in range(seeds)])
        result[label] = {
            "evidence_100_conversions": evidence,
            "pulls_200": pulls,
            "pull_over_evidence": round(pulls["mean"] / evidence["mean"], 3),
        }
    print(json.dumps(result))
    return result


def decisions_per_second(n: int = 1_000_000, k: int = 10) -> tuple[float, float]:
    """Batched decision throughput: ours (one choose call) and mabwiser (one predict call)."""
    rng = np.random.default_rng(0)
    stats, _ = bandit.update(
        bandit.ArmStats.zeros(k),
        bandit.Policy(),
        rng.integers(0, k, 50_000),
        (rng.random(50_000) < 0.3).astype(float),
    )
    policy = bandit.Policy()
    bandit.choose(stats, policy, 1000, rng)  # warm up
    started = time.perf_counter()
    bandit.choose(stats, policy, n, rng)
    ours = n / (time.perf_counter() - started)
    mab = MAB(arms=list(range(k)), learning_policy=LearningPolicy.ThompsonSampling(), seed=0)
    mab.fit(decisions=rng.integers(0, k, 50_000), rewards=(rng.random(50_000) < 0.3) * 1.0)
    m = 100_000
    started = time.perf_counter()
    mab.predict(np.zeros((m, 1)))
    theirs = m / (time.perf_counter() - started)
    return ours, theirs


def main() -> None:
    """Run every setting, then print the summary JSON as the last line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--batch", type=int, default=10, help="Decisions between updates.")
    args = parser.parse_args()
    started = time.perf_counter()
    stationary = bandit.Policy()
    eps01 = setting(
        "stationary_eps0.1",
        piecewise_means([stationary_means(10, 0.5, 0.1)], 20_000),
        stationary,
        args.seeds,
        args.batch,
    )
    eps002 = setting(
        "stationary_eps0.02",
        piecewise_means([stationary_means(10, 0.5, 0.02)], 20_000),
        stationary,
        args.seeds,
        args.batch,
    )
    piecewise = setting(
        "piecewise1",
        piecewise_means(PIECEWISE_1, 10_000),
        bandit.Policy(half_life=NONSTATIONARY_HALF_LIFE),
        args.seeds,
        args.batch,
    )
    decay = decay_unit(args.seeds, args.batch)
    ours, theirs = decisions_per_second()
    summary: dict[str, Any] = {
        "stationary_eps0.1_ratio": eps01["ratio"],
        "stationary_eps0.02_ratio": eps002["ratio"],
        "piecewise1_ratio": piecewise["ratio"],
        "decisions_per_s": round(ours),
        "stationary_eps0.1_classic_ts_ratio": eps01["classic_ts_ratio"],
        "stationary_eps0.02_classic_ts_ratio": eps002["classic_ts_ratio"],
        "piecewise1_classic_ts_ratio": piecewise["classic_ts_ratio"],
        "mabwiser_decisions_per_s": round(theirs),
        "pull_half_life_regret_ratio_rates_x1": decay["rates_x1"]["pull_over_evidence"],
        "pull_half_life_regret_ratio_rates_x0.1": decay["rates_x0.1"]["pull_over_evidence"],
        "seeds": args.seeds,
        "batch": args.batch,
        "seconds": round(time.perf_counter() - started, 1),
    }
    for res in (eps01, eps002, piecewise):
        label = res["setting"]
        for name in ("revline", "mabwiser"):
            summary[f"{label}_{name}_regret"] = f"{res[name]['mean']} ± {res[name]['se']}"
            summary[f"{label}_{name}_p90"] = res[name]["p90"]
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
