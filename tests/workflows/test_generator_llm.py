"""The generator with an LLM: scripted answers through the real gateway and the emulator."""

from __future__ import annotations

import copy
import uuid

import pytest
from sqlalchemy import select

from revline.kernel.config import get_settings
from revline.kernel.db import Database
from revline.kernel.llm.models import LLMCall
from revline.workflows import service
from revline.workflows.models import WorkflowEvent, WorkflowVersion
from revline.workflows.validator import validate_text
from revline.workflows.validator.secrets import find_secrets
from tests.emulators.llm_server import Fault, LLMEmulator
from tests.workflows import script
from tests.workflows.script import REQUIREMENT, Script, good_draft, team

pytestmark = pytest.mark.usefixtures("embedder")


def ledger(db: Database, generation_id: uuid.UUID) -> list[LLMCall]:
    """The gateway's ledger rows billed to one generation."""
    with db.session() as session:
        return list(session.scalars(select(LLMCall).where(
            LLMCall.workflow_id == str(generation_id)).order_by(LLMCall.created_at)))


def events(db: Database, generation_id: uuid.UUID) -> list[tuple[str, str]]:
    """(stage, status) of a generation's events, in order."""
    with db.session() as session:
        rows = session.scalars(select(WorkflowEvent).where(
            WorkflowEvent.generation_id == generation_id).order_by(WorkflowEvent.seq))
        return [(r.stage, r.status) for r in rows]


def version(db: Database, generation_id: uuid.UUID, number: int = 1) -> WorkflowVersion:
    with db.session() as session:
        return session.scalars(select(WorkflowVersion).where(
            WorkflowVersion.generation_id == generation_id,
            WorkflowVersion.number == number)).one()


def test_full_pipeline_repairs_then_the_quality_loop_fixes_the_graph(
    llm: LLMEmulator, db: Database, tenant_id: uuid.UUID
) -> None:
    llm.responder = answers = team()
    heard: list[tuple[str, str]] = []
    outcome = service.generate(db, get_settings(), tenant_id, REQUIREMENT, "full",
                               listener=lambda st, status, msg, data: heard.append((st, status)))
    result = outcome.result
    assert result is not None
    assert result.mode == "full"
    assert result.valid, result.errors
    assert result.app_mode == "advanced-chat"
    # The deterministic repair fixed the handle and dropped the dangling edge...
    assert any("'yes' -> 'source'" in r for r in result.repairs)
    assert any("'ghost' is not a node" in r for r in result.repairs)
    # ... the validator caught the wrong output name, and one quality round fixed it.
    assert result.rounds == 1
    fix_round, assessment = answers.calls("QualityReview")
    assert any("txt" in e for e in fix_round["validator_errors"])
    assert assessment["validator_errors"] == []
    assert [len(answers.calls(t)) for t in ("RequirementsSpec", "ArchitecturePlan",
                                            "WorkflowDraft")] == [1, 1, 1]
    # Score: validity 1, coverage 2/2 (judged), assessment 0.9 -> 50 + 30 + 18.
    assert result.quality.coverage_method == "quality step"
    assert result.quality.score == 98.0
    assert [p["id"] for p in result.patterns if p["used"]] == ["support-rag-chatbot"]
    report = validate_text(result.dsl)
    assert report.valid
    assert not report.warnings
    # Progress: every stage started and finished, in order, then done.
    stages = [s for s, status in events(db, outcome.generation_id) if status == "finished"]
    assert stages == ["requirements", "architecture", "configuration", "quality",
                      "validating", "done"]
    assert ("quality", "info") in heard
    assert heard[-1] == ("done", "finished")
    # Cost: summed from each answer, and the ledger agrees, call by call and in total.
    rows = ledger(db, outcome.generation_id)
    assert [r.feature for r in rows] == ["workflows.requirements", "workflows.architecture",
                                         "workflows.configuration", "workflows.quality",
                                         "workflows.quality"]
    assert all(r.tenant_id == tenant_id and r.job_id is None for r in rows)
    saved = version(db, outcome.generation_id)
    assert saved.cost_usd_micros == result.cost_usd_micros == sum(
        r.cost_usd_micros for r in rows) > 0
    assert saved.llm_calls == 5
    assert set(saved.timings) == {"requirements", "architecture", "configuration", "quality",
                                  "validating"}


def test_simple_mode_is_one_call_from_the_best_pattern(
    llm: LLMEmulator, db: Database, tenant_id: uuid.UUID
) -> None:
    llm.responder = answers = Script(WorkflowDraft=[good_draft()])
    outcome = service.generate(db, get_settings(), tenant_id, REQUIREMENT, "simple")
    result = outcome.result
    assert result is not None
    assert result.valid
    assert result.mode == "simple"
    assert result.llm_calls == 1
    assert result.rounds == 0
    [configuration] = answers.calls("WorkflowDraft")
    assert configuration["base_pattern"]["id"] == "support-rag-chatbot"
    assert configuration["base_pattern"]["graph"]["nodes"]
    # The rule-based slot values found in the requirement are handed to the model.
    assert configuration["slot_values"]["kb_id"] == "acme-product-docs"
    assert configuration["slot_values"]["handoff_channel"] == "support@acme.example"
    # No assessment in simple mode: score = 60 * validity + 40 * lexical coverage.
    assert result.quality.assessment is None
    assert result.quality.coverage_method == "lexical"
    assert result.quality.score == round(60 + 40 * result.quality.coverage, 1)


def test_multi_agent_reviewer_sends_the_work_back_a_step(
    llm: LLMEmulator, db: Database, tenant_id: uuid.UUID
) -> None:
    renamed = good_draft()
    renamed["name"] = "Acme Helpdesk"
    llm.responder = answers = team(
        WorkflowDraft=[good_draft(), renamed],
        CriticVerdict=[{"approve": False, "send_back_to": "configuration",
                        "feedback": "call the app Acme Helpdesk"},
                       {"approve": True, "send_back_to": None, "feedback": ""}],
    )
    outcome = service.generate(db, get_settings(), tenant_id, REQUIREMENT, "multi-agent")
    assert outcome.result is not None
    assert outcome.result.mode == "multi-agent"
    assert outcome.result.valid
    assert outcome.result.name == "Acme Helpdesk"
    first, second = answers.calls("WorkflowDraft")
    assert "reviewer_feedback" not in first
    assert second["reviewer_feedback"] == ["call the app Acme Helpdesk"]
    # Sent back to configuration: requirements and architecture ran once.
    assert len(answers.calls("RequirementsSpec")) == 1
    assert len(answers.calls("ArchitecturePlan")) == 1
    assert len(answers.calls("CriticVerdict")) == 2
    assert events(db, outcome.generation_id).count(("review", "finished")) == 2
    # Each step speaks to its own role.
    systems = " ".join(m["content"] for m in llm.requests[0]["messages"]
                       if m["role"] == "system")
    assert "requirements analyst" in systems
    features = {r.feature for r in ledger(db, outcome.generation_id)}
    assert "workflows.critic" in features


def test_a_failing_primary_falls_back_to_the_secondary_and_still_validates(
    llm: LLMEmulator, db: Database, tenant_id: uuid.UUID
) -> None:
    llm.responder = team()
    llm.inject(*[Fault("server_error", status=500, wire="openai") for _ in range(3)],
               Fault("rate_limit", retry_after=120, wire="openai"))
    outcome = service.generate(db, get_settings(), tenant_id, REQUIREMENT, "full")
    assert outcome.result is not None
    assert outcome.result.valid
    rows = ledger(db, outcome.generation_id)
    providers = [r.provider for r in rows]
    # The first two steps were answered by Claude (500s, then a long Retry-After), the
    # rest by GPT-4o again.
    assert providers[:2] == ["anthropic", "anthropic"]
    assert set(providers[2:]) == {"openai"}
    assert llm.count("anthropic") == 2
    assert outcome.result.cost_usd_micros == sum(r.cost_usd_micros for r in rows) > 0


def test_the_loop_stops_after_max_rounds_and_saves_the_result_flagged_invalid(
    llm: LLMEmulator, db: Database, tenant_id: uuid.UUID
) -> None:
    broken = script.broken_draft()
    llm.responder = team(QualityReview=[{"assessment": 0.3, "fixed": broken}])
    outcome = service.generate(db, get_settings(), tenant_id, REQUIREMENT, "full",
                               max_rounds=2)
    result = outcome.result
    assert result is not None
    assert not result.valid
    assert result.rounds == 2
    assert result.quality.score <= 40
    assert any(e["code"].startswith("var.") for e in result.errors)
    with db.session() as session:
        detail = service.detail(session, tenant_id, str(outcome.generation_id))
    assert detail["status"] == "done"
    assert detail["valid"] is False
    assert detail["current"]["errors"]


def test_credentials_never_reach_the_prompt_or_the_dsl(
    llm: LLMEmulator, db: Database, tenant_id: uuid.UUID
) -> None:
    key = "sk-live-" + "A1b2C3d4E5f6G7h8I9j0K1l2"
    draft = good_draft()
    draft["graph"]["nodes"].insert(1, {"id": "crm", "data": {
        "type": "http-request", "title": "CRM lookup", "method": "get",
        "url": "https://crm.acme.example/api/contacts", "headers": f"Authorization:Bearer {key}",
        "params": "", "body": {"type": "none", "data": []},
        "authorization": {"type": "no-auth"}, "timeout": {"connect": 5, "read": 10}}})
    draft["graph"]["edges"] = [{"source": "start", "target": "crm"},
                               {"source": "crm", "target": "retrieve_docs"},
                               *draft["graph"]["edges"][1:]]
    draft["environment_variables"] = [{"name": "crm_token", "value": key}]
    llm.responder = Script(WorkflowDraft=[draft])
    outcome = service.generate(db, get_settings(), tenant_id,
                               f"{REQUIREMENT}. Our CRM api key is {key}", "simple")
    result = outcome.result
    assert result is not None
    assert result.valid, result.errors
    assert key not in result.dsl
    assert list(find_secrets(result.document)) == []
    envs = {v["name"]: v for v in result.document["workflow"]["environment_variables"]}
    assert envs["crm_token"]["value_type"] == "secret"
    assert envs["crm_token"]["value"] == ""
    moved = [v for v in envs.values() if v["name"].startswith("CRM_")]
    assert moved
    assert moved[0]["value"] == ""
    assert any("credential moved" in n for n in result.notes)
    assert any("removed from the requirement" in n for n in result.notes)
    assert all(key not in str(request) for request in llm.requests)
    with db.session() as session:
        stored = service.detail(session, tenant_id, str(outcome.generation_id))
    assert key not in stored["requirement"]
    assert "[secret removed]" in stored["requirement"]


def test_regenerate_makes_a_new_version_with_fresh_answers(
    llm: LLMEmulator, db: Database, tenant_id: uuid.UUID
) -> None:
    renamed = copy.deepcopy(good_draft())
    renamed["name"] = "Acme answers"
    llm.responder = answers = Script(WorkflowDraft=[good_draft(), renamed])
    first = service.generate(db, get_settings(), tenant_id, REQUIREMENT, "simple")
    _, second = service.regenerate(db, get_settings(), tenant_id, str(first.generation_id),
                                   feedback="a shorter name")
    assert second is not None
    assert second.version == 2
    assert len(answers.calls("WorkflowDraft")) == 2  # not served from the cache
    assert answers.calls("WorkflowDraft")[1]["reviewer_feedback"] == ["a shorter name"]
    with db.session() as session:
        diff = service.diff(session, tenant_id, f"{first.generation_id}:1",
                            f"{first.generation_id}:2")
        detail = service.detail(session, tenant_id, str(first.generation_id))
    assert diff["app"] == [{"path": "app.name", "before": "Acme support assistant",
                            "after": "Acme answers"}]
    assert diff["nodes"] == {"added": [], "removed": [], "changed": [], "renamed": []}
    assert detail["version"] == 2
    assert detail["cost_usd_micros"] == sum(
        r.cost_usd_micros for r in ledger(db, first.generation_id))


class _Killed(BaseException):
    """The worker process dies (nothing below `run_generation` may catch this)."""


def test_a_resumed_run_still_reports_what_the_killed_attempt_spent(
    llm: LLMEmulator, db: Database, tenant_id: uuid.UUID
) -> None:
    from datetime import timedelta

    from revline.kernel.db.base import utcnow
    from revline.workflows.models import WorkflowGeneration

    llm.responder = team()
    settings = get_settings()

    def die_after_configuration(stage: str, status: str, *_: object) -> None:
        if (stage, status) == ("configuration", "finished"):
            raise _Killed

    with db.session() as session:
        gen_id = service.create_generation(session, settings, tenant_id, REQUIREMENT,
                                           "full").id
    with pytest.raises(_Killed):
        service.run_queued(db, settings, tenant_id, gen_id, die_after_configuration)
    spent_before = sum(r.cost_usd_micros for r in ledger(db, gen_id))
    assert spent_before > 0  # three steps were paid for before the process died
    with db.session() as session:  # time passes: the run went silent
        row = session.get(WorkflowGeneration, gen_id)
        assert row is not None
        row.updated_at = utcnow() - timedelta(seconds=settings.workflows_stale_after_s + 1)
    outcome = service.run_queued(db, settings, tenant_id, gen_id)
    assert outcome.ran
    rows = ledger(db, gen_id)
    with db.session() as session:
        detail = service.detail(session, tenant_id, str(gen_id))
    # The generation's cost is what it cost, both attempts included (the resumed steps
    # may even come from the cache at no cost).
    assert detail["cost_usd_micros"] == sum(r.cost_usd_micros for r in rows) > spent_before
    assert detail["llm_calls"] == len(rows)
