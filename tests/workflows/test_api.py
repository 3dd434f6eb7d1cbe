"""The workflows API: generate, history, versions, diff, download, edits, errors, scopes."""

from __future__ import annotations

import uuid

import pytest
import yaml
from fastapi.testclient import TestClient

from revline.kernel.db import Database
from revline.kernel.llm.budgets import set_budget
from revline.workflows.validator import validate_text
from tests.emulators.llm_server import LLMEmulator
from tests.workflows.conftest import api_key
from tests.workflows.script import REQUIREMENT, team

pytestmark = pytest.mark.usefixtures("embedder")
BOT = ("A chatbot for Globex that answers customer questions from the globex-docs knowledge "
       "base and hands off to help@globex.example")


def test_generate_history_versions_diff_download_and_edit(
    client: TestClient, auth: dict[str, str]
) -> None:
    resp = client.post("/api/v1/generate/full", json={"requirement": BOT}, headers=auth)
    assert resp.status_code == 201, resp.text
    gen = resp.json()
    assert gen["status"] == "done"
    assert gen["requested_mode"] == "full"
    assert gen["mode"] == "retrieval"  # no LLM configured in this test
    current = gen["current"]
    assert current["number"] == 1
    assert current["valid"] is True
    assert validate_text(current["dsl"]).valid
    assert gen["events_url"] == f"/api/v1/generate/{gen['id']}/events"

    listed = client.get("/api/v1/generate", headers=auth).json()
    assert [g["id"] for g in listed] == [gen["id"]]
    assert client.get(f"/api/v1/generate/{gen['id'][:8]}", headers=auth).json()["id"] == \
        gen["id"]

    download = client.get(f"/api/v1/generate/{gen['id']}/dsl", headers=auth)
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("application/x-yaml")
    assert 'filename="chatbot-for-globex' in download.headers["content-disposition"]
    assert download.text == current["dsl"]

    # An edit is a new version, validated and scored; the diff shows exactly the change.
    doc = yaml.safe_load(download.text)
    for node in doc["workflow"]["graph"]["nodes"]:
        if node["data"]["type"] == "llm":
            node["data"]["model"]["name"] = "gpt-4o"
        node["position"] = {"x": 0, "y": 0}  # layout churn is ignored
    edited = client.put(f"/api/v1/generate/{gen['id']}/dsl", headers=auth,
                        content=yaml.safe_dump(doc).encode())
    assert edited.status_code == 201, edited.text
    assert edited.json()["number"] == 2
    assert edited.json()["source"] == "edit"
    assert edited.json()["valid"] is True
    versions = client.get(f"/api/v1/generate/{gen['id']}/versions", headers=auth).json()
    assert [(v["number"], v["source"]) for v in versions] == [(1, "generate"), (2, "edit")]
    diff = client.get(f"/api/v1/generate/{gen['id']}/diff", headers=auth).json()
    assert diff["from"]["version"] == 1
    assert diff["to"]["version"] == 2
    [changed] = diff["nodes"]["changed"]
    assert changed["fields"] == [{"path": "data.model.name", "before": "gpt-4o-mini",
                                  "after": "gpt-4o"}]
    assert diff["summary"] == "1 node(s) changed"
    first = client.get(f"/api/v1/generate/{gen['id']}/versions/1", headers=auth).json()
    assert first["dsl"] == current["dsl"]
    old = client.get(f"/api/v1/generate/{gen['id']}/dsl?version=1", headers=auth)
    assert old.text == current["dsl"]


def test_bad_requests_get_one_line_errors_and_save_nothing(
    client: TestClient, auth: dict[str, str]
) -> None:
    empty = client.post("/api/v1/generate/simple", json={"requirement": " "}, headers=auth)
    assert empty.status_code == 422
    assert "requirement is empty" in empty.json()["detail"]
    long = client.post("/api/v1/generate/full", json={"requirement": "x" * 5000},
                       headers=auth)
    assert long.status_code == 422
    assert "4000" in long.json()["detail"]
    assert client.post("/api/v1/generate/turbo", json={"requirement": "x"},
                       headers=auth).status_code == 422
    assert client.get("/api/v1/generate", headers=auth).json() == []
    unknown = client.get(f"/api/v1/generate/{uuid.uuid4()}", headers=auth)
    assert unknown.status_code == 404
    assert "not found" in unknown.json()["detail"]
    assert client.get("/api/v1/generate/zz", headers=auth).status_code == 422
    assert client.get(f"/api/v1/generate/{uuid.uuid4()}/events",
                      headers=auth).status_code == 404
    bad_yaml = client.put(f"/api/v1/generate/{uuid.uuid4()}/dsl", content=b"a: [",
                          headers=auth)
    assert bad_yaml.status_code == 404  # the generation is looked up first


def test_scopes_and_tenants(client: TestClient, db: Database, auth: dict[str, str]) -> None:
    reader = api_key(db, "acme", ["workflows:read"])
    denied = client.post("/api/v1/generate/full", json={"requirement": BOT}, headers=reader)
    assert denied.status_code == 403
    assert client.post("/api/v1/generate/full", json={"requirement": BOT}).status_code == 401
    gen = client.post("/api/v1/generate/retrieval", json={"requirement": BOT},
                      headers=auth).json()
    assert client.get(f"/api/v1/generate/{gen['id']}", headers=reader).status_code == 200
    other = api_key(db, "globex", ["workflows:read", "workflows:write"])
    assert client.get(f"/api/v1/generate/{gen['id']}", headers=other).status_code == 404
    assert client.get("/api/v1/generate", headers=other).json() == []


def test_budget_exceeded_is_402_with_no_version_saved(
    client: TestClient, auth: dict[str, str], db: Database, llm: LLMEmulator,
    tenant_id: uuid.UUID,
) -> None:
    llm.responder = team()
    with db.session() as session:
        set_budget(session, tenant_id, "tenant", None, 0.00001)
    resp = client.post("/api/v1/generate/full", json={"requirement": REQUIREMENT},
                       headers=auth)
    assert resp.status_code == 402, resp.text
    body = resp.json()
    assert body["error"] == "BudgetExceeded"
    assert "budget" in body["detail"]
    assert llm.count() == 0  # refused before anything was sent
    gen = client.get(f"/api/v1/generate/{body['generation_id']}", headers=auth).json()
    assert gen["status"] == "failed"
    assert gen["error_status"] == 402
    assert gen["version"] is None
    assert gen["current"] is None
    assert gen["cost_usd_micros"] == 0
    assert client.get(f"/api/v1/generate/{body['generation_id']}/versions",
                      headers=auth).json() == []
    missing = client.get(f"/api/v1/generate/{body['generation_id']}/dsl", headers=auth)
    assert missing.status_code == 409
    assert "no version" in missing.json()["detail"]
    usage = client.get("/api/v1/workflows/usage", headers=auth).json()
    assert all(p["retrieved"] == 0 for p in usage["patterns"])
    assert usage["generations"] == {"failed": 1}


def test_llm_generation_over_the_api_reports_cost_and_the_ledger_agrees(
    client: TestClient, auth: dict[str, str], llm: LLMEmulator
) -> None:
    llm.responder = team()
    resp = client.post("/api/v1/generate/full",
                       json={"requirement": REQUIREMENT, "name": "Acme help"}, headers=auth)
    assert resp.status_code == 201, resp.text
    gen = resp.json()
    assert gen["mode"] == "full"
    assert gen["current"]["rounds"] == 1
    assert gen["current"]["name"] == "Acme support assistant"
    costs = client.get(f"/api/v1/llm/costs?by=workflow&workflow={gen['id']}",
                       headers=api_key_all(client, auth)).json()
    assert costs["total"]["cost_usd_micros"] == gen["cost_usd_micros"] > 0
    assert costs["total"]["calls"] == gen["llm_calls"] == 5


def api_key_all(client: TestClient, auth: dict[str, str]) -> dict[str, str]:
    """A key that may read the LLM ledger, for the same tenant."""
    from revline.kernel.config import get_settings
    from revline.kernel.db import get_database

    return api_key(get_database(get_settings()), "acme", ["llm:read"])


def test_a_client_chosen_id_names_the_generation_once(
    client: TestClient, auth: dict[str, str]
) -> None:
    chosen = str(uuid.uuid4())
    body = {"requirement": BOT, "id": chosen, "wait": False}
    queued = client.post("/api/v1/generate/simple", json=body, headers=auth)
    assert queued.status_code == 202
    assert queued.json()["id"] == chosen
    assert queued.json()["status"] == "queued"
    again = client.post("/api/v1/generate/simple", json=body, headers=auth)
    assert again.status_code == 409
    assert "already in use" in again.json()["detail"]
