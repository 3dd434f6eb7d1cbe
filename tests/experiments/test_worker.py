"""Posterior updates run by a real Celery worker on the embedded SQLite broker."""

from __future__ import annotations

import time
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from fastapi.testclient import TestClient

import revline.kernel.jobs.app as jobs_app
from revline.experiments import service, tasks
from revline.experiments.schemas import ObservationIn
from revline.kernel.auth import ensure_tenant
from revline.kernel.config import get_settings
from revline.kernel.db import Database
from revline.kernel.jobs import make_celery, pending_jobs
from revline.registry import configure_jobs
from tests.experiments.conftest import create_experiment

BASE = "/api/v1/experiments"


def wait_for(fetch: Any, done: Any, timeout: float = 60.0) -> Any:
    """Poll `fetch()` until `done(value)`; the worker runs in its own thread."""
    deadline = time.monotonic() + timeout
    value = fetch()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(0.2)
        value = fetch()
    return value


@pytest.mark.slow
def test_observations_reach_the_posteriors_through_the_worker(
    client: TestClient, auth: dict[str, str], db: Database
) -> None:
    configure_jobs()
    app = make_celery(get_settings())  # tasks is imported above, so its beat entry is in
    jobs_app._app = app  # the after-commit hook sends through this app
    exp = create_experiment(client, auth, arms=["a", "b"])
    rows = [{"event_id": f"w{i}", "arm": "ab"[i % 2], "reward": i % 4 == 0} for i in range(40)]
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        resp = client.post(
            f"{BASE}/headline/observations/batch", json={"observations": rows}, headers=auth
        )
        assert resp.status_code == 201, resp.text
        post = wait_for(
            lambda: client.get(f"{BASE}/headline/posteriors", headers=auth).json(),
            lambda p: p["pending_observations"] == 0,
        )
        assert post["pending_observations"] == 0, post
        arms = {a["name"]: a for a in post["arms"]}
        # Arm a got events 0, 2, ..., 38: rewards at 0, 4, 8, ... -> 10 conversions of 20.
        assert arms["a"]["alpha"] == 11.0
        assert arms["a"]["beta"] == 11.0
        assert arms["b"]["alpha"] == 1.0
        assert arms["b"]["beta"] == 21.0
        # A lost job (dropped before the broker saw it) is caught by the periodic sweep.
        with db.session() as session:
            tenant_id = ensure_tenant(session, "acme").id
            service.observe(
                session,
                tenant_id,
                exp["id"],
                [ObservationIn(event_id="lost", arm="b", reward=1)],
            )
            pending_jobs(session).clear()
        assert client.get(f"{BASE}/headline", headers=auth).json()["pending_observations"] == 1
        result = app.send_task("experiments.sweep_pending")
        assert result.get(timeout=60) == 1
    final = client.get(f"{BASE}/headline/posteriors", headers=auth).json()
    assert final["pending_observations"] == 0
    assert final["arms"][1]["alpha"] == 2.0
    beat = app.conf.beat_schedule["experiments-sweep-pending"]
    assert beat["task"] == tasks.sweep_pending.name
