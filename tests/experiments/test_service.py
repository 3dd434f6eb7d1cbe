"""Service rules on real SQLite that the HTTP tests do not pin down: the decay clock's order."""

from __future__ import annotations

import numpy as np
import pytest

from revline.experiments import bandit, service
from revline.experiments.schemas import ExperimentCreate, ObservationIn, PolicyIn
from revline.kernel.auth import ensure_tenant
from revline.kernel.config import Settings
from revline.kernel.db import Database


def test_a_batch_of_observations_decays_in_the_order_it_was_sent(
    db: Database, settings: Settings
) -> None:
    """With a half-life, what came last weighs most: a bulk import keeps its order."""
    events = [("a", 1.0)] * 20 + [("b", 1.0)] * 20 + [("a", 0.0), ("b", 0.0)] * 5
    with db.session() as session:
        tenant = ensure_tenant(session, "acme").id
        exp = service.create_experiment(session, tenant, ExperimentCreate(
            name="order", arms=["a", "b"], policy=PolicyIn(half_life=5.0)), settings)
        service.observe(session, tenant, exp.name, [
            ObservationIn(event_id=f"e{i}", arm=arm, reward=r) for i, (arm, r) in
            enumerate(events)])
        service.update_posteriors(session, tenant, exp.id)
        arms = service.ArmRepository(session, tenant).for_experiment(exp.id)
        stored = service.stats_of(arms)
    expected, _ = bandit.update(bandit.ArmStats.zeros(2), service.policy_of(exp),
                                [0 if arm == "a" else 1 for arm, _ in events],
                                [r for _, r in events])
    for got, want in zip((stored.n, stored.s), (expected.n, expected.s), strict=True):
        assert got == pytest.approx(want, rel=1e-9)
    assert stored.s[1] > 10 * stored.s[0]  # a's conversions came 20 conversions earlier
    assert np.all(stored.n > 0)
