"""Model registry over HTTP on real SQLite: versions, aliases, sticky split, promotion, audit."""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from revline.experiments.registry.service import bucket
from revline.kernel.config import Settings
from revline.kernel.db import Database
from tests.experiments.conftest import api_key

BASE = "/api/v1/models"


def register(client: TestClient, auth: dict[str, str], version: str, **extra: Any) -> Any:
    return client.post(f"{BASE}/scorer/versions", json={"version": version, **extra}, headers=auth)


def alias(
    client: TestClient, auth: dict[str, str], name: str, version: str, traffic: float | None = None
) -> Any:
    body: dict[str, Any] = {"version": version}
    if traffic is not None:
        body["traffic"] = traffic
    return client.put(f"{BASE}/scorer/aliases/{name}", json=body, headers=auth)


def outcomes(client: TestClient, auth: dict[str, str], rows: list[dict[str, Any]]) -> Any:
    return client.post(f"{BASE}/scorer/outcomes", json={"outcomes": rows}, headers=auth)


def binary_rows(version: str, n: int, rate: float, start: int, seed: int) -> list[dict[str, Any]]:
    hits = np.random.default_rng(seed).random(n) < rate
    return [
        {"event_id": f"{version}-{start + i}", "version": version, "value": float(h)}
        for i, h in enumerate(hits)
    ]


def test_register_alias_assign_promote_and_audit(client: TestClient, auth: dict[str, str]) -> None:
    v1 = register(client, auth, "v1", artifact_uri="s3://models/v1", metrics={"auc": 0.81})
    assert v1.status_code == 201, v1.text
    assert register(client, auth, "v2", params={"depth": 4}).status_code == 201
    assert register(client, auth, "v1").status_code == 409
    # A challenger needs a champion first.
    assert alias(client, auth, "challenger", "v2", 0.2).status_code == 409
    assert alias(client, auth, "champion", "v1").status_code == 200
    assert alias(client, auth, "champion", "v1", 0.5).status_code == 422  # traffic: challenger
    assert alias(client, auth, "challenger", "v1", 0.2).status_code == 422  # already champion
    assert alias(client, auth, "challenger", "v9", 0.2).status_code == 422
    assert alias(client, auth, "challenger", "v2", 0.2).status_code == 200
    assert alias(client, auth, "champion", "v2").status_code == 409  # promote it instead
    model = client.get(f"{BASE}/scorer", headers=auth).json()
    assert {a["alias"]: a["version"] for a in model["aliases"]} == {
        "champion": "v1",
        "challenger": "v2",
    }
    assert model["versions"][0]["metrics"] == {"auc": 0.81}

    # Sticky, deterministic split close to the traffic share.
    units = [f"user-{i}" for i in range(4000)]
    first = client.post(f"{BASE}/scorer/assign", json={"unit_ids": units}, headers=auth).json()
    again = client.post(f"{BASE}/scorer/assign", json={"unit_ids": units}, headers=auth).json()
    assert first == again
    on_challenger = {a["unit_id"] for a in first if a["alias"] == "challenger"}
    assert 0.17 < len(on_challenger) / len(units) < 0.23
    one = client.get(f"{BASE}/scorer/assign", params={"unit_id": "user-7"}, headers=auth).json()
    assert one == first[7]
    # Raising the share only adds units: nobody already on the challenger flips back.
    assert alias(client, auth, "challenger", "v2", 0.5).status_code == 200
    wider = client.post(f"{BASE}/scorer/assign", json={"unit_ids": units}, headers=auth).json()
    assert on_challenger <= {a["unit_id"] for a in wider if a["alias"] == "challenger"}

    # Not enough evidence: 409 and nothing changes.
    assert outcomes(client, auth, binary_rows("v1", 50, 0.10, 0, 1)).status_code == 201
    assert outcomes(client, auth, binary_rows("v2", 50, 0.20, 0, 2)).status_code == 201
    early = client.post(f"{BASE}/scorer/promote", json={}, headers=auth)
    assert early.status_code == 409
    assert "needs 100 outcomes" in early.json()["detail"]
    # Duplicates and unknown versions are rejected whole.
    dup = outcomes(client, auth, binary_rows("v1", 3, 0.1, 48, 3))
    assert dup.status_code == 409
    assert outcomes(client, auth, binary_rows("v7", 1, 0.1, 0, 3)).status_code == 422
    evaluation = client.get(f"{BASE}/scorer/evaluation", headers=auth).json()
    assert evaluation["champion"]["n"] == 50
    assert evaluation["kind"] == "binary"
    assert not evaluation["ready"]

    # Enough evidence that v2 converts better: promoted, challenger alias cleared.
    assert outcomes(client, auth, binary_rows("v1", 600, 0.10, 50, 4)).status_code == 201
    assert outcomes(client, auth, binary_rows("v2", 600, 0.20, 50, 5)).status_code == 201
    done = client.post(f"{BASE}/scorer/promote", json={"confidence": 0.99}, headers=auth)
    assert done.status_code == 200, done.text
    assert done.json()["prob_challenger_better"] > 0.99
    model = client.get(f"{BASE}/scorer", headers=auth).json()
    assert {a["alias"]: a["version"] for a in model["aliases"]} == {"champion": "v2"}
    assigned = client.get(f"{BASE}/scorer/assign", params={"unit_id": "u"}, headers=auth).json()
    assert assigned["version"] == "v2"

    history = client.get(f"{BASE}/scorer/history", headers=auth).json()
    actions = [(e["action"], e["alias"], e["from_version"], e["to_version"]) for e in history]
    assert actions == [
        ("register", None, None, "v1"),
        ("register", None, None, "v2"),
        ("alias", "champion", None, "v1"),
        ("alias", "challenger", None, "v2"),
        ("alias", "challenger", "v2", "v2"),
        ("promote", "champion", "v1", "v2"),
    ]
    assert history[4]["details"] == {"traffic": 0.5}
    assert history[5]["details"]["prob_challenger_better"] > 0.99
    assert all(e["actor"].startswith("api-key:") for e in history)
    listed = client.get(BASE, headers=auth).json()
    assert listed[0]["name"] == "scorer"
    assert listed[0]["aliases"] == {"champion": "v2"}


def test_a_worse_challenger_is_not_promoted_on_values(
    client: TestClient, auth: dict[str, str]
) -> None:
    register(client, auth, "a")
    register(client, auth, "b")
    alias(client, auth, "champion", "a")
    alias(client, auth, "challenger", "b", 0.5)
    gen = np.random.default_rng(9)
    rows = [
        {"event_id": f"r{i}", "version": v, "value": float(gen.normal(mu, 20.0))}
        for i, (v, mu) in enumerate([("a", 100.0), ("b", 97.0)] * 300)
    ]
    assert outcomes(client, auth, rows).status_code == 201
    result = client.get(f"{BASE}/scorer/evaluation", headers=auth).json()
    assert result["kind"] == "continuous"
    assert result["prob_challenger_better"] < 0.5
    assert result["lift"] < 0
    refused = client.post(f"{BASE}/scorer/promote", json={"min_samples": 10}, headers=auth)
    assert refused.status_code == 409
    binary = client.post(f"{BASE}/scorer/promote", json={"kind": "binary"}, headers=auth)
    assert binary.status_code == 422
    history = client.get(f"{BASE}/scorer/history", headers=auth).json()
    assert [e["action"] for e in history][-1] == "alias"  # no promotion recorded


def test_alias_removal_rules_and_errors(
    client: TestClient, auth: dict[str, str], db: Database, settings: Settings
) -> None:
    assert client.get(f"{BASE}/scorer", headers=auth).status_code == 404
    bad = client.post(f"{BASE}/bad name/versions", json={"version": "1"}, headers=auth)
    assert bad.status_code == 422
    assert "model name 'bad name' is invalid" in bad.json()["detail"]
    assert register(client, auth, "v1").status_code == 201
    assert register(client, auth, "v2").status_code == 201
    assert client.get(f"{BASE}/scorer/assign?unit_id=u", headers=auth).status_code == 409
    alias(client, auth, "champion", "v1")
    alias(client, auth, "challenger", "v2")  # default traffic from settings
    model = client.get(f"{BASE}/scorer", headers=auth).json()
    assert {a["alias"]: a["traffic"] for a in model["aliases"]}["challenger"] == 0.1
    assert client.delete(f"{BASE}/scorer/aliases/champion", headers=auth).status_code == 409
    assert client.delete(f"{BASE}/scorer/aliases/challenger", headers=auth).status_code == 204
    assert client.delete(f"{BASE}/scorer/aliases/challenger", headers=auth).status_code == 404
    assert client.get(f"{BASE}/scorer/evaluation", headers=auth).status_code == 409
    assert alias(client, auth, "Staging!", "v2").status_code == 422
    assert alias(client, auth, "staging", "v2").status_code == 200
    assert client.get(f"{BASE}/scorer/history", headers=auth).json()[-2]["action"] == "unalias"
    reader = api_key(db, settings, "acme", ["experiments:read"])
    assert register(client, reader, "v3").status_code == 403
    other = api_key(db, settings, "other", ["experiments:read"])
    assert client.get(f"{BASE}/scorer", headers=other).status_code == 404


def test_bucket_is_uniform_and_stable() -> None:
    values = np.array([bucket("m\x00v2", f"u{i}") for i in range(20_000)])
    assert 0.0 <= values.min()
    assert values.max() < 1.0
    assert abs(values.mean() - 0.5) < 0.01
    assert np.histogram(values, bins=10, range=(0, 1))[0].min() > 1800
    assert bucket("m\x00v2", "u1") == bucket("m\x00v2", "u1")
    assert bucket("m\x00v2", "u1") != bucket("m\x00v3", "u1")
