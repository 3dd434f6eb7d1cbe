"""Fixtures for the experiments tests: the real app on the test's SQLite, and API keys."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from revline.api.app import create_app
from revline.kernel.auth import create_api_key, ensure_tenant
from revline.kernel.config import Settings
from revline.kernel.db import Database


def api_key(db: Database, settings: Settings, tenant: str, scopes: list[str]) -> dict[str, str]:
    """Authorization header of a fresh key for `tenant` with `scopes`."""
    with db.session() as session:
        _, key = create_api_key(
            session,
            ensure_tenant(session, tenant),
            "test",
            scopes,
            settings.api_keys_pepper.get_secret_value(),
        )
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    """The whole API on the test's migrated SQLite database."""
    with TestClient(create_app()) as c:
        yield c


@pytest.fixture
def auth(db: Database, settings: Settings) -> dict[str, str]:
    """A read+write experiments key of tenant acme."""
    return api_key(db, settings, "acme", ["experiments:read", "experiments:write"])


def create_experiment(client: TestClient, auth: dict[str, str], **body: Any) -> dict[str, Any]:
    """POST an experiment (defaults: bernoulli, arms a/b/c) and return its JSON."""
    payload: dict[str, Any] = {"name": "headline", "arms": ["a", "b", "c"]}
    payload.update(body)
    resp = client.post("/api/v1/experiments", json=payload, headers=auth)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())
