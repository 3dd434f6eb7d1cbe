"""Pattern usage and success figures, checked against the versions they summarize."""

from __future__ import annotations

import uuid
from statistics import mean
from typing import Any

import pytest
from fastapi.testclient import TestClient

from revline.kernel.config import get_settings
from revline.kernel.db import Database
from revline.workflows import service
from tests.emulators.llm_server import LLMEmulator
from tests.workflows.script import REQUIREMENT, Script, good_draft

pytestmark = pytest.mark.usefixtures("embedder")


def test_usage_counts_retrievals_uses_validity_quality_and_cost(
    client: TestClient, auth: dict[str, str], db: Database, tenant_id: uuid.UUID,
    llm: LLMEmulator,
) -> None:
    settings = get_settings()
    llm.responder = Script(WorkflowDraft=[good_draft()])
    runs = [
        ("Every Monday at 9am post our weekly metrics to a Slack webhook", "retrieval"),
        ("Each Friday send the week's KPIs report to the team chat webhook", "retrieval"),
        ("A chatbot answering customer questions from the docs knowledge base", "retrieval"),
        (REQUIREMENT, "simple"),
    ]
    ids = [service.generate(db, settings, tenant_id, text, mode).generation_id
           for text, mode in runs]
    with db.session() as session:  # an edit is a version but not a pattern use
        current = service.detail(session, tenant_id, str(ids[0]))["current"]
        service.edit(session, tenant_id, str(ids[0]), current["dsl"])
        versions = [service.detail(session, tenant_id, str(i))["current"] for i in ids[1:]]
        versions.insert(0, current)

    usage = client.get("/api/v1/workflows/usage", headers=auth).json()
    by_id = {p["id"]: p for p in usage["patterns"]}
    assert len(by_id) == 21
    expected: dict[str, dict[str, Any]] = {}
    for version in versions:
        for p in version["patterns"]:
            row = expected.setdefault(p["id"], {"retrieved": 0, "used": []})
            row["retrieved"] += 1
            if p["used"]:
                row["used"].append(version)
    for pid, want in expected.items():
        got = by_id[pid]
        assert got["retrieved"] == want["retrieved"], pid
        assert got["used"] == len(want["used"]), pid
        if want["used"]:
            assert got["validity_rate"] == mean(1.0 if v["valid"] else 0.0
                                                for v in want["used"])
            assert got["mean_quality"] == round(mean(v["quality_score"]
                                                     for v in want["used"]), 1)
            assert got["mean_cost_usd_micros"] == round(mean(v["cost_usd_micros"]
                                                             for v in want["used"]))
    metrics, support = by_id["weekly-metrics-report"], by_id["support-rag-chatbot"]
    assert metrics["used"] == 2
    assert metrics["validity_rate"] == 1.0
    assert metrics["mean_cost_usd_micros"] == 0
    assert support["used"] == 2
    assert support["mean_cost_usd_micros"] == round(versions[3]["cost_usd_micros"] / 2) > 0
    assert usage["patterns"][0]["used"] == 2  # most used first
    never = [p for p in usage["patterns"] if p["retrieved"] == 0]
    assert all(p["validity_rate"] is None and p["origin"] == "bundled" for p in never)
    modes = {m["mode"]: m for m in usage["modes"]}
    assert set(modes) == {"retrieval", "simple"}  # edits are not a generation mode
    assert modes["retrieval"]["versions"] == 3
    assert modes["simple"]["total_cost_usd_micros"] == versions[3]["cost_usd_micros"]
    assert usage["generations"] == {"done": 4}
    assert usage["total_cost_usd_micros"] == versions[3]["cost_usd_micros"]
