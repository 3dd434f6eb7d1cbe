"""`/api/v1/llm/...`: chat, models, costs, calls and budgets, with llm:read / llm:write scopes."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from revline.api.app import create_app
from revline.kernel.auth import create_api_key, ensure_tenant
from revline.kernel.config import Settings
from revline.kernel.db import Database
from revline.kernel.deps import provide_llm
from revline.kernel.llm import LLMGateway
from tests.emulators.llm_server import Fault, LLMEmulator


@pytest.fixture
def client(db: Database, gateway: LLMGateway) -> Iterator[TestClient]:
    app = create_app()
    app.dependency_overrides[provide_llm] = lambda: gateway  # the LLMDep override
    with TestClient(app) as c:
        yield c


@pytest.fixture
def key(db: Database, settings: Settings) -> Callable[..., dict[str, str]]:
    def make(*scopes: str, tenant: str = "acme") -> dict[str, str]:
        with db.session() as session:
            _, plaintext = create_api_key(session, ensure_tenant(session, tenant), "t",
                                          list(scopes), settings.api_keys_pepper
                                          .get_secret_value())
        return {"Authorization": f"Bearer {plaintext}"}

    return make


def test_chat_then_costs_and_calls(
    client: TestClient, key: Callable[..., dict[str, str]], emu: LLMEmulator
) -> None:
    writer = key("llm:write", "llm:read")
    body = {"messages": [{"role": "user", "content": "hi"}], "feature": "api.test",
            "job_id": "run-9", "max_tokens": 50}
    first = client.post("/api/v1/llm/chat", json=body, headers=writer)
    assert first.status_code == 200, first.text
    assert first.json()["text"] == "hello from the emulator"
    assert not first.json()["cached"]
    assert client.post("/api/v1/llm/chat", json=body, headers=writer).json()["cached"]
    costs = client.get("/api/v1/llm/costs", params={"by": "job"}, headers=writer).json()
    assert costs["total"]["calls"] == 2
    assert costs["groups"][0]["key"] == "run-9"
    assert costs["total"]["cost_usd_micros"] == first.json()["cost_usd_micros"]
    calls = client.get("/api/v1/llm/calls", params={"job": "run-9"}, headers=writer).json()
    assert [c["cached"] for c in calls] == [True, False]
    other = key("llm:read", tenant="globex")
    assert client.get("/api/v1/llm/costs", headers=other).json()["total"]["calls"] == 0


def test_budgets_crud_and_enforcement(
    client: TestClient, key: Callable[..., dict[str, str]]
) -> None:
    writer = key("llm:write", "llm:read")
    put = client.put("/api/v1/llm/budgets", json={"scope": "job", "ref": "r1",
                                                   "limit_usd": 0.0001}, headers=writer)
    assert put.status_code == 200
    assert put.json()["limit_usd_micros"] == 100
    listed = client.get("/api/v1/llm/budgets", headers=writer).json()
    assert [(b["scope"], b["ref"]) for b in listed] == [("job", "r1")]
    refused = client.post("/api/v1/llm/chat", headers=writer, json={
        "messages": [{"role": "user", "content": "hi"}], "job_id": "r1"})
    assert refused.status_code == 402
    assert refused.json()["error"] == "BudgetExceeded"
    assert "budget of job r1 exceeded" in refused.json()["detail"]
    gone = client.delete("/api/v1/llm/budgets/job", params={"ref": "r1"}, headers=writer)
    assert gone.status_code == 204
    missing = client.delete("/api/v1/llm/budgets/job", params={"ref": "r1"}, headers=writer)
    assert missing.status_code == 404
    bad = client.put("/api/v1/llm/budgets", json={"scope": "job", "limit_usd": 1},
                     headers=writer)
    assert bad.status_code == 422
    assert "needs the job id" in bad.json()["detail"]


def test_scopes_are_enforced(client: TestClient, key: Callable[..., dict[str, str]]) -> None:
    reader = key("llm:read")
    assert client.get("/api/v1/llm/costs", headers=reader).status_code == 200
    assert client.get("/api/v1/llm/models", headers=reader).json()["aliases"]["default"]
    denied = client.put("/api/v1/llm/budgets", json={"limit_usd": 1}, headers=reader)
    assert denied.status_code == 403
    assert "llm:write" in denied.json()["detail"]
    assert client.get("/api/v1/llm/costs", headers=key("leads:read")).status_code == 403
    assert client.get("/api/v1/llm/costs").status_code == 401
    bad = client.get("/api/v1/llm/costs", params={"by": "colour"}, headers=reader)
    assert bad.status_code == 422
    assert "cannot group costs by" in bad.json()["detail"]


def test_provider_outage_is_a_503(
    client: TestClient, key: Callable[..., dict[str, str]], emu: LLMEmulator
) -> None:
    emu.inject(*[Fault("server_error") for _ in range(6)])
    response = client.post("/api/v1/llm/chat", headers=key("llm:write"), json={
        "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 503
    assert response.json()["error"] == "LLMUnavailable"


def test_unconfigured_llm_is_a_503_saying_how_to_configure(
    db: Database, key: Callable[..., dict[str, str]]
) -> None:
    with TestClient(create_app()) as c:
        response = c.get("/api/v1/llm/models", headers=key("llm:read"))
    assert response.status_code == 503
    assert "REVLINE_OPENAI_API_KEY" in response.json()["detail"]
