"""Without an LLM: workflows assembled from the closest pattern and the requirement's slots."""

from __future__ import annotations

import copy
import uuid

import pytest
import yaml
from sqlalchemy import func, select

from revline.kernel.config import get_settings
from revline.kernel.db import Database
from revline.kernel.errors import InvalidInput
from revline.knowledge import service as kb
from revline.workflows import service
from revline.workflows.generator.pipeline import NoPatterns
from revline.workflows.models import PatternUsage, WorkflowGeneration
from revline.workflows.validator import validate_text
from revline.workflows.validator.secrets import find_secrets
from tests.workflows.script import pattern

pytestmark = pytest.mark.usefixtures("embedder")


def test_without_an_llm_every_mode_runs_as_retrieval_and_says_so(
    db: Database, tenant_id: uuid.UUID
) -> None:
    requirement = ("Every Monday at 9am fetch our numbers from "
                   "https://stats.globex.example/api/week and post a short report to the "
                   "Slack webhook https://hooks.slack.com/services/T0/B0/report")
    outcome = service.generate(db, get_settings(), tenant_id, requirement, "full")
    result = outcome.result
    assert result is not None
    assert result.mode == "retrieval"
    assert result.llm_calls == 0
    assert result.cost_usd_micros == 0
    assert any("LLM not configured" in n and "retrieval mode" in n for n in result.notes)
    assert [p["id"] for p in result.patterns if p["used"]] == ["weekly-metrics-report"]
    assert result.valid, result.errors
    report = validate_text(result.dsl)
    assert report.valid
    assert not report.warnings
    doc = yaml.safe_load(result.dsl)
    nodes = {n["id"]: n["data"] for n in doc["workflow"]["graph"]["nodes"]}
    schedule = next(d for d in nodes.values() if d["type"] == "trigger-schedule")
    assert schedule["cron_expression"] == "0 9 * * 1"
    urls = {d.get("url") for d in nodes.values() if d["type"] == "http-request"}
    assert "https://stats.globex.example/api/week" in urls
    assert "https://hooks.slack.com/services/T0/B0/report" in urls
    assert "metrics.acme.example" not in result.dsl  # the examples were replaced
    assert result.quality.assessment is None
    assert result.quality.coverage_method == "lexical"
    with db.session() as session:
        detail = service.detail(session, tenant_id, str(outcome.generation_id))
        usage = session.scalar(select(func.count()).select_from(PatternUsage).where(
            PatternUsage.generation_id == outcome.generation_id))
    assert detail["requested_mode"] == "full"
    assert detail["mode"] == "retrieval"
    assert detail["current"]["mode"] == "retrieval"
    assert usage == len(result.patterns) == get_settings().workflows_patterns_k


def test_a_chat_requirement_gets_a_chatflow(db: Database, tenant_id: uuid.UUID) -> None:
    outcome = service.generate(
        db, get_settings(), tenant_id,
        "A chatbot for Globex that answers customer questions from the globex-docs knowledge "
        "base", "simple")
    assert outcome.result is not None
    assert outcome.result.app_mode == "advanced-chat"
    assert outcome.result.valid
    assert "globex-docs" in outcome.result.dsl
    assert "You are the support assistant of Globex." in outcome.result.dsl


def test_a_pattern_carrying_a_key_never_leaks_it(db: Database, tenant_id: uuid.UUID) -> None:
    key = "sk-proj-" + "Z9y8X7w6V5u4T3s2R1q0P9o8"
    leaky = copy.deepcopy(pattern("webhook-lead-intake"))
    leaky["id"] = "leaky-intake"
    leaky["name"] = "Zebra lead intake to the Zebra CRM"
    leaky["description"] += " Zebra edition."
    leaky["use_when"] = ["zebra leads arrive from the zebra form"]
    for node in leaky["graph"]["nodes"]:
        if node["data"]["type"] == "http-request":
            node["data"]["headers"] = f"Authorization:Bearer {key}"
    # Straight into the knowledge base, past the workflows API's own credential check.
    with db.session() as session:
        kb.upsert_pattern(session, tenant_id, leaky)
    outcome = service.generate(db, get_settings(), tenant_id,
                               "zebra leads from the zebra form go to the Zebra CRM",
                               "retrieval")
    result = outcome.result
    assert result is not None
    assert [p["id"] for p in result.patterns if p["used"]] == ["leaky-intake"]
    assert key not in result.dsl
    assert list(find_secrets(yaml.safe_load(result.dsl))) == []
    assert result.valid, result.errors
    secrets = [v for v in result.document["workflow"]["environment_variables"]
               if v["value_type"] == "secret"]
    assert secrets
    assert all(v["value"] == "" for v in secrets)
    assert "{{#env." + secrets[0]["name"] + "#}}" in result.dsl
    assert any("credential moved" in n for n in result.notes)


def test_bad_requirements_are_refused_before_anything_is_saved(
    db: Database, tenant_id: uuid.UUID
) -> None:
    settings = get_settings()
    with pytest.raises(InvalidInput, match="requirement is empty"):
        service.generate(db, settings, tenant_id, "   ", "full")
    too_long = "x" * (settings.workflows_max_requirement_chars + 1)
    with pytest.raises(InvalidInput, match="over the limit"):
        service.generate(db, settings, tenant_id, too_long, "full")
    with pytest.raises(InvalidInput, match="unknown mode"):
        service.generate(db, settings, tenant_id, "a workflow", "turbo")
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(WorkflowGeneration)) == 0


def test_an_empty_library_is_a_clear_error(db: Database, tenant_id: uuid.UUID) -> None:
    settings = get_settings()
    with db.session() as session:
        for record in kb.list_patterns(session, tenant_id, settings=settings):
            kb.delete_pattern(session, tenant_id, record.id, settings=settings)
    with pytest.raises(NoPatterns, match="library is empty"):
        service.generate(db, settings, tenant_id, "summarise meeting notes", "retrieval")
    with db.session() as session:
        [row] = service.list_generations(session, tenant_id)
    assert row["status"] == "failed"
    assert row["error_status"] == 409
    assert row["version"] is None


def test_a_regeneration_is_not_announced_as_a_resumed_run(
    db: Database, tenant_id: uuid.UUID
) -> None:
    from revline.workflows.models import WorkflowEvent

    first = service.generate(db, get_settings(), tenant_id, "summarise meeting notes",
                             "retrieval")
    _, second = service.regenerate(db, get_settings(), tenant_id, str(first.generation_id))
    assert second is not None
    assert second.version == 2
    with db.session() as session:
        messages = list(session.scalars(select(WorkflowEvent.message).where(
            WorkflowEvent.generation_id == first.generation_id)))
    assert not [m for m in messages if "interrupted" in m]


def test_the_app_name_does_not_cut_a_url_in_half() -> None:
    from revline.workflows.generator.retrieval import title_of

    assert title_of("Every morning fetch the top stories from https://news.example/api and "
                    "email a digest", "Fallback") == "Every morning fetch the top stories"
    assert title_of("Summarise meeting notes. Then email them.", "F") == \
        "Summarise meeting notes"
    assert title_of("Build a lead router: hot leads go to sales", "F") == "Lead router"
