"""The lead pipeline's LLM hooks bill their calls to the tenant, the run and a feature."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from revline.kernel.config import Settings
from revline.leads.classify import ClassifyInput
from revline.leads.llm import llm_hooks
from revline.leads.schemas import LeadResult
from tests.emulators.llm_server import LLMEmulator
from tests.kernel.llm.conftest import ledger


def test_leads_hooks_pass_a_call_scope(
    make_settings: Callable[..., Settings], emu: LLMEmulator, tenant: uuid.UUID
) -> None:
    def answer(request: dict[str, Any]) -> str:
        if request.get("response_format"):
            leads = json.loads(request["messages"][1]["content"])["leads"]
            return json.dumps({"results": [{"key": x["key"], "vertical": "dental",
                                            "confidence": 0.9} for x in leads]})
        return "- Faster hero"

    emu.responder = answer
    settings = make_settings()
    classify, mockup, reason = llm_hooks(settings, tenant, job_id="run-42")
    assert classify is not None
    assert mockup is not None
    assert reason is None
    assert classify([ClassifyInput(key="1", name="Bright Smile")], ["dental"]) == [
        ("dental", 0.9)]
    assert mockup(LeadResult(row_index=0, raw={}, fields={"company": "Bright Smile"})) == (
        "- Faster hero")
    rows = ledger(settings)
    assert [(r.feature, r.model_requested) for r in rows] == [
        ("leads.classify", "classifier"), ("leads.mockup", "default")]
    assert {(r.tenant_id, r.job_id) for r in rows} == {(tenant, "run-42")}
