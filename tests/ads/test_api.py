"""The ads HTTP API: config, ads, budgets, evaluations, audit, the legacy CRM ingest path."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from revline.ads.models import AdConversion, CrmDeal, PendingAdChange
from revline.api.app import create_app
from revline.kernel.auth import create_api_key, ensure_tenant
from revline.kernel.config import Settings
from revline.kernel.db import Database


def _key(db: Database, settings: Settings, tenant: str, scopes: list[str]) -> dict[str, str]:
    with db.session() as session:
        _, key = create_api_key(session, ensure_tenant(session, tenant), "t", scopes,
                                settings.api_keys_pepper.get_secret_value())
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


@pytest.fixture
def auth(db: Database, settings: Settings) -> dict[str, str]:
    return _key(db, settings, "acme", ["ads:read", "ads:write"])


def _count(db: Database, model: type) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


AD = {"account_id": "act_9", "external_id": "as-1", "name": "Plumbing leads",
      "daily_budget_minor": 5_000, "currency": "usd"}


def test_config_roundtrip_and_validation(client: TestClient, auth: dict[str, str]) -> None:
    base = client.get("/api/v1/ads/config", headers=auth).json()
    assert base["mode"] == "direct"
    assert base["max_step_pct"] == 20
    assert base["ignorance_spend_minor"] == 10_000
    assert base["kill_roas"] == 0.5
    resp = client.patch("/api/v1/ads/config", headers=auth, json={
        "mode": "pipeline", "stage_values": {"appointment_scheduled": 225_000}})
    assert resp.status_code == 200
    assert resp.json()["mode"] == "pipeline"
    for bad in ({"mode": "magic"}, {"max_step_pct": 500}, {"no_such_rule": 1},
                {"kill_roas": 4}):
        rejected = client.patch("/api/v1/ads/config", headers=auth, json=bad)
        assert rejected.status_code == 422, bad
        assert rejected.json()["detail"].startswith("ads config")
    after = client.get("/api/v1/ads/config", headers=auth).json()
    assert after["mode"] == "pipeline"
    assert after["max_step_pct"] == 20


def test_ads_budget_and_bad_input(
    client: TestClient, auth: dict[str, str], db: Database, settings: Settings
) -> None:
    created = client.post("/api/v1/ads/ads", headers=auth, json=AD)
    assert created.status_code == 201, created.text
    ad = created.json()
    assert ad["currency"] == "USD"
    assert ad["roas"] is None
    assert ad["mode"] == "direct"
    assert client.post("/api/v1/ads/ads", headers=auth, json=AD).status_code == 409
    metrics = client.post(f"/api/v1/ads/ads/{ad['id']}/metrics", headers=auth, json={"days": [
        {"day": "2026-11-20", "spend_minor": 10_000, "revenue_minor": 35_000}]})
    assert metrics.json() == {"days": 1}
    assert client.get(f"/api/v1/ads/ads/{ad['id']}", headers=auth).json()["roas"] == 3.5
    # Below the minimum budget: 422, nothing queued.
    low = client.post(f"/api/v1/ads/ads/{ad['id']}/budget", headers=auth,
                      json={"daily_budget_minor": 50})
    assert low.status_code == 422
    assert "below this tenant's minimum" in low.json()["detail"]
    # Unknown ad: 404, nothing queued.
    ghost = client.post(f"/api/v1/ads/ads/{uuid.uuid4()}/budget", headers=auth,
                        json={"daily_budget_minor": 6_000})
    assert ghost.status_code == 404
    assert "unknown ad" in ghost.json()["detail"]
    assert _count(db, PendingAdChange) == 0
    queued = client.post(f"/api/v1/ads/ads/{ad['id']}/budget", headers=auth,
                         json={"daily_budget_minor": 6_000, "reason": "seasonal push"})
    assert queued.status_code == 202
    assert queued.json()["status"] == "pending"
    changes = client.get("/api/v1/ads/changes", headers=auth).json()
    assert [c["reason"] for c in changes] == ["seasonal push"]
    # Another tenant sees none of it.
    other = _key(db, settings, "other", ["*"])
    assert client.get(f"/api/v1/ads/ads/{ad['id']}", headers=other).status_code == 404
    assert client.get("/api/v1/ads/changes", headers=other).json() == []


def test_scopes(client: TestClient, db: Database, settings: Settings) -> None:
    reader = _key(db, settings, "acme", ["ads:read"])
    assert client.get("/api/v1/ads/ads", headers=reader).status_code == 200
    denied = client.post("/api/v1/ads/ads", headers=reader, json=AD)
    assert denied.status_code == 403
    assert "ads:write" in denied.json()["detail"]
    leads_only = _key(db, settings, "acme", ["leads:read"])
    assert client.get("/api/v1/ads/history", headers=leads_only).status_code == 403


INGEST = {
    "source": "hubspot",
    "pipelines": [{"id": "default", "label": "Sales", "stages": [
        {"id": "appointmentscheduled", "label": "Appointment Scheduled", "probability": 0.2},
        {"id": "closedwon", "label": "Closed Won", "probability": 1.0, "is_closed": True}]}],
    "deals": [
        {"deal_id": "1", "stage": "appointmentscheduled", "amount": "4,500.00",
         "email": "a@example.com", "created_at": "2026-11-20T10:00:00Z"},
        {"deal_id": "2", "stage": "closedwon", "amount": 7000, "created_at":
         "2026-11-20T11:00:00Z"},
    ],
}


def test_legacy_ingest_crm_data(client: TestClient, auth: dict[str, str], db: Database) -> None:
    ad = client.post("/api/v1/ads/ads", headers=auth, json=AD).json()
    client.post("/api/v1/ads/clicks", headers=auth, json={
        "ad_id": ad["id"], "email": "A@Example.com", "occurred_at": "2026-11-19T10:00:00Z"})
    client.patch("/api/v1/ads/config", headers=auth,
                 json={"value_source": "probability", "mode": "pipeline"})
    resp = client.post("/api/ml/ingest-crm-data", headers=auth, json=INGEST)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["created"], body["attributed"], body["stages"]) == (2, 1, 2)
    view = client.get(f"/api/v1/ads/ads/{ad['id']}", headers=auth).json()
    assert (view["pipeline_value_minor"], view["pipeline_deals"]) == (90_000, 1)  # 0.2 x 4,500
    # Re-sending updates (a stage moved), it does not duplicate.
    moved = {**INGEST, "pipelines": [], "deals": [{**INGEST["deals"][0], "stage": "closedwon"}]}
    assert client.post("/api/ml/ingest-crm-data", headers=auth, json=moved).json()["updated"] == 1
    view = client.get(f"/api/v1/ads/ads/{ad['id']}", headers=auth).json()
    assert view["pipeline_value_minor"] == 450_000
    assert _count(db, CrmDeal) == 2
    assert _count(db, AdConversion) == 2


def test_legacy_ingest_rejects_bad_payloads_without_state(
    client: TestClient, auth: dict[str, str], db: Database
) -> None:
    dup = {"deals": [INGEST["deals"][0], INGEST["deals"][0]]}
    bad_amount = {"deals": [{**INGEST["deals"][0], "amount": "lots"}]}
    bad_email = {"deals": [INGEST["deals"][1], {**INGEST["deals"][0], "email": "nope"}]}
    for payload, why in [(dup, "appears twice"), (bad_amount, "not a number"),
                         (bad_email, "deals[1] (1): email"), ({}, "at least one deal"),
                         ({"deals": [{"stage": "x"}]}, "deal_id")]:
        resp = client.post("/api/ml/ingest-crm-data", headers=auth, json=payload)
        assert resp.status_code == 422, payload
        assert why in resp.json()["detail"], resp.json()
    assert _count(db, CrmDeal) == 0
    assert _count(db, AdConversion) == 0


def test_openapi_lists_ads_paths(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/ads/ads", "/api/v1/ads/evaluations", "/api/v1/ads/conversions",
                 "/api/v1/ads/webhooks/hubspot", "/api/ml/ingest-crm-data"):
        assert path in paths
