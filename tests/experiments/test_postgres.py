"""The experiments domain on PostgreSQL: the API flow, upserts, locking and the registry."""

from __future__ import annotations

import threading
import uuid

import pytest
from fastapi.testclient import TestClient

from revline.api.app import create_app
from revline.experiments import service
from revline.kernel.auth import ensure_tenant
from revline.kernel.config import get_settings
from revline.kernel.db import get_database
from tests.experiments.conftest import api_key, create_experiment

BASE = "/api/v1/experiments"


@pytest.mark.postgres
def test_experiments_and_registry_on_postgres(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVLINE_DATABASE_URL", pg_url)
    get_settings.cache_clear()
    settings = get_settings()
    db = get_database(settings)
    assert not db.is_sqlite
    auth = api_key(db, settings, "acme", ["experiments:read", "experiments:write"])
    with TestClient(create_app()) as client:
        exp = create_experiment(client, auth, arms=["a", "b"], policy={"half_life": 40})
        batch = client.post(f"{BASE}/headline/decide/batch", json={"n": 500}, headers=auth)
        assert batch.status_code == 200, batch.text
        again = client.post(f"{BASE}/headline/decide/batch", json={"n": 500}, headers=auth).json()
        rows = [
            {"event_id": f"e{i}", "arm": arm, "reward": int(arm == "b" and i % 2 == 0)}
            for i, arm in enumerate(again["arms"])
        ]
        resp = client.post(
            f"{BASE}/headline/observations/batch", json={"observations": rows}, headers=auth
        )
        assert resp.status_code == 201, resp.text
        dup = client.post(f"{BASE}/headline/observations", json=rows[0], headers=auth)
        assert dup.status_code == 409

        # Two updates at once (two workers): the experiment lock makes them apply each
        # observation exactly once.
        with db.session() as session:
            tenant_id = ensure_tenant(session, "acme").id
        applied: list[int] = []

        def update() -> None:
            with db.session() as session:
                applied.append(
                    service.update_posteriors(session, tenant_id, uuid.UUID(exp["id"])).applied
                )

        threads = [threading.Thread(target=update) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(applied) == [0, 500]
        shown = client.get(f"{BASE}/headline", headers=auth).json()
        assert sum(a["observations"] for a in shown["arms"]) == 500
        assert shown["posterior_version"] == 2
        assert shown["evidence_total"] == sum(r["reward"] for r in rows)  # conversions
        # The two batches fell in one SRM period: the upserts added up.
        report = client.get(f"{BASE}/headline/srm", headers=auth).json()
        period = report["periods"][0]
        assert sum(period["assigned"].values()) == 1000
        assert sum(period["observed"].values()) == 500

        models = "/api/v1/models/scorer"
        for version in ("v1", "v2"):
            reg = client.post(f"{models}/versions", json={"version": version}, headers=auth)
            assert reg.status_code == 201
        client.put(f"{models}/aliases/champion", json={"version": "v1"}, headers=auth)
        client.put(f"{models}/aliases/challenger", json={"version": "v2"}, headers=auth)
        outcomes = [
            {"event_id": f"o{i}", "version": "v1" if i % 2 else "v2", "value": float(i % 4 == 0)}
            for i in range(400)
        ]
        logged = client.post(f"{models}/outcomes", json={"outcomes": outcomes}, headers=auth)
        assert logged.status_code == 201
        promoted = client.post(f"{models}/promote", json={}, headers=auth)
        assert promoted.status_code == 200, promoted.text
        history = client.get(f"{models}/history", headers=auth).json()
        assert history[-1]["action"] == "promote"
