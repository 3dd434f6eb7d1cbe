"""HTTP API: health, auth and scopes, typed errors, and a lead run processed by a real worker."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from fastapi.testclient import TestClient

import revline.kernel.jobs.app as jobs_app
from revline.api.app import create_app
from revline.kernel.auth import create_api_key, ensure_tenant
from revline.kernel.config import Settings, get_settings
from revline.kernel.db import Database
from revline.kernel.jobs import make_celery
from revline.registry import configure_jobs

CSV = (
    "Company Name,Email,Phone,Website,City,Country,Category\n"
    "Bright Smile Dental,dr.lee@brightsmile-demo.com,(415) 555-0134,,San Francisco,US,Dentist\n"
    "Pipe Pros Plumbing,info@pipepros-demo.com,415-555-0199,,Oakland,US,Plumber\n"
    "Bad Row Inc,not-an-email,12,,,,\n"
)


def _key(db: Database, settings: Settings, tenant: str, scopes: list[str]) -> str:
    with db.session() as session:
        _, key = create_api_key(
            session,
            ensure_tenant(session, tenant),
            "t",
            scopes,
            settings.api_keys_pepper.get_secret_value(),
        )
    return key


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


def test_health_ready_and_openapi(client: TestClient) -> None:
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/ready").json() == {"status": "ready", "database": "ok"}
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/leads/runs" in paths


def test_auth_errors_are_typed(client: TestClient, db: Database, settings: Settings) -> None:
    missing = client.get("/api/v1/leads/runs")
    assert missing.status_code == 401
    assert "Authorization: Bearer" in missing.json()["detail"]
    assert client.get("/api/v1/leads/runs", headers={"X-API-Key": "rl_x_y"}).status_code == 401
    reader = _key(db, settings, "acme", ["leads:read"])
    resp = client.post(
        "/api/v1/leads/runs",
        headers={"Authorization": f"Bearer {reader}"},
        files={"file": ("leads.csv", CSV.encode(), "text/csv")},
    )
    assert resp.status_code == 403
    assert resp.json()["error"] == "Forbidden"


def test_upload_limits_and_types(
    client: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REVLINE_MAX_UPLOAD_MB", "1")
    get_settings.cache_clear()
    key = _key(db, get_settings(), "acme", ["*"])
    auth = {"Authorization": f"Bearer {key}"}
    big = b"Company\n" + b"x" * (2 * 1024 * 1024)
    resp = client.post("/api/v1/leads/runs", headers=auth, files={"file": ("big.csv", big)})
    assert resp.status_code == 413
    assert "1 MB upload limit" in resp.json()["detail"]
    resp = client.post("/api/v1/leads/runs", headers=auth, files={"file": ("x.exe", b"MZ")})
    assert resp.status_code == 422
    resp = client.post(
        "/api/v1/leads/runs", headers=auth, files={"file": ("a.csv", b"a")}, data={"tier": "7"}
    )
    assert resp.status_code == 422
    assert "tier" in resp.json()["detail"]


@pytest.mark.slow
def test_run_through_api_and_real_worker(
    client: TestClient,
    db: Database,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("REVLINE_OFFLINE", "true")
    get_settings.cache_clear()
    key = _key(db, settings, "acme", ["leads:read", "leads:write"])
    other = _key(db, settings, "other", ["*"])
    auth = {"Authorization": f"Bearer {key}"}
    configure_jobs()
    app = make_celery(get_settings())
    jobs_app._app = app
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        resp = client.post(
            "/api/v1/leads/runs",
            headers=auth,
            files={"file": ("leads.csv", CSV.encode(), "text/csv")},
            data={"tier": "1"},
        )
        assert resp.status_code == 202, resp.text
        run_id = resp.json()["id"]
        assert resp.json()["status"] == "queued"
        deadline = time.monotonic() + 90
        body = {}
        while time.monotonic() < deadline:
            body = client.get(f"/api/v1/leads/runs/{run_id}", headers=auth).json()
            if body["status"] in ("completed", "failed"):
                break
            time.sleep(0.3)
    assert body["status"] == "completed", body
    assert body["total"] == 3
    assert body["processed"]["scored"] == 3
    leads = client.get(f"/api/v1/leads/runs/{run_id}/leads", headers=auth).json()
    assert [lead["company"] for lead in leads] == [
        "Bright Smile Dental",
        "Pipe Pros Plumbing",
        "Bad Row Inc",
    ]
    assert any("email" in e for e in leads[2]["errors"])
    xlsx = client.get(f"/api/v1/leads/runs/{run_id}/export.xlsx", headers=auth)
    assert xlsx.status_code == 200
    assert "xl/workbook.xml" in zipfile.ZipFile(io.BytesIO(xlsx.content)).namelist()
    html = client.get(f"/api/v1/leads/runs/{run_id}/report.html", headers=auth)
    assert html.status_code == 200
    assert "<svg" in html.text
    # Another tenant cannot see it.
    assert (
        client.get(
            f"/api/v1/leads/runs/{run_id}", headers={"Authorization": f"Bearer {other}"}
        ).status_code
        == 404
    )
