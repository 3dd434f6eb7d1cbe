"""The generator's tables on PostgreSQL: runs, claims, history, analytics and the stream."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient

from revline.api.app import create_app
from revline.kernel.auth import ensure_tenant
from revline.kernel.config import get_settings
from revline.kernel.db import get_database
from revline.workflows import service
from revline.workflows.repository import GenerationRepository
from tests.emulators.llm_server import LLMEmulator
from tests.workflows.conftest import api_key
from tests.workflows.script import REQUIREMENT, team
from tests.workflows.test_events import sse_events


@pytest.mark.postgres
@pytest.mark.usefixtures("embedder")
def test_generation_history_claims_and_usage_on_postgres(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, llm: LLMEmulator
) -> None:
    monkeypatch.setenv("REVLINE_DATABASE_URL", pg_url)
    get_settings.cache_clear()
    settings = get_settings()
    db = get_database(settings)
    assert not db.is_sqlite
    llm.responder = team()
    auth = api_key(db, "acme", ["workflows:read", "workflows:write", "llm:read"])
    with db.session() as session:
        tenant_id = ensure_tenant(session, "acme").id
    with TestClient(create_app()) as client:
        gen = client.post("/api/v1/generate/full", json={"requirement": REQUIREMENT},
                          headers=auth).json()
        assert gen["current"]["valid"] is True
        assert gen["current"]["rounds"] == 1
        ledger = client.get(f"/api/v1/llm/costs?by=workflow&workflow={gen['id']}",
                            headers=auth).json()
        assert ledger["total"]["cost_usd_micros"] == gen["cost_usd_micros"] > 0
        stages = [e["stage"] for e, _ in sse_events(
            client, f"/api/v1/generate/{gen['id']}/events", auth) if e["status"] == "finished"]
        assert stages[-1] == "done"
        retrieval = client.post("/api/v1/generate/retrieval",
                                json={"requirement": "translate our docs into German"},
                                headers=auth).json()
        assert retrieval["current"]["valid"] is True
        usage = client.get("/api/v1/workflows/usage", headers=auth).json()
        used = {p["id"]: p for p in usage["patterns"] if p["used"]}
        assert used["support-rag-chatbot"]["mean_cost_usd_micros"] == gen["cost_usd_micros"]
        assert used["support-rag-chatbot"]["validity_rate"] == 1.0
        assert {m["mode"] for m in usage["modes"]} == {"full", "retrieval"}
        assert client.get(f"/api/v1/generate/{gen['id']}/diff?other={retrieval['id']}",
                          headers=auth).json()["nodes"]["added"]
    # Two workers claim the same queued run at once: exactly one gets it.
    with db.session() as session:
        queued = service.create_generation(session, settings, tenant_id, "a workflow",
                                           "retrieval")
    wins: list[bool] = []
    barrier = threading.Barrier(2)

    def claim() -> None:
        with db.session() as session:
            barrier.wait()
            wins.append(GenerationRepository(session, tenant_id).claim(queued.id, 900))

    threads = [threading.Thread(target=claim) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [False, True]
