"""The validator against real Dify DSL: accepts every file Dify accepts, rejects the broken ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from revline.workflows.validator import validate_file
from tests.workflows.conftest import corpus_dir

_CORPUS = corpus_dir()
VALID = sorted(_CORPUS.glob("*.yml")) if _CORPUS else []
INVALID = sorted((_CORPUS / "invalid").glob("*.yml")) if _CORPUS else []
# Why each broken file is broken (its README / .SOURCE), as the validator's error codes.
EXPECTED = {
    "lazeyliu_broken_agent_parameters": {"node.field_type"},
    "lazeyliu_broken_agent_strategy": {"node.field_required"},
    "lazeyliu_broken_human_input_duplicate_actions": {"human.action_duplicate",
                                                      "human.input_duplicate"},
    "lazeyliu_broken_if_else_no_false": {"graph.dead_branch"},
    "lazeyliu_broken_knowledge_retrieval_config": {"node.field_required", "node.field_range"},
    "lazeyliu_broken_list_operator_limit": {"node.field_range"},
    "lazeyliu_broken_question_classifier_duplicate_class": {"classifier.class_duplicate"},
    "lazeyliu_broken_question_classifier_routing": {"graph.dead_branch"},
    "lazeyliu_broken_selector": {"edge.unknown_node", "var.unknown_node", "graph.unreachable",
                                 "graph.no_terminal"},
    "lazeyliu_broken_trigger_schedule_cron": {"node.field_required"},
    "lazeyliu_broken_trigger_webhook_body": {"node.field_type"},
    "rrocean_translation_workflow": {"var.unknown_node"},
}


def test_corpus_is_complete(dify_corpus: Path) -> None:
    assert len(VALID) == 78
    assert len(INVALID) == 12
    assert {p.stem for p in INVALID} == set(EXPECTED)


@pytest.mark.parametrize("path", VALID, ids=[p.stem for p in VALID])
def test_accepts_what_dify_accepts(path: Path) -> None:
    report = validate_file(path)
    assert report.valid, [i.line() for i in report.errors]


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_rejects_broken_files_for_the_right_reason(path: Path) -> None:
    report = validate_file(path)
    assert not report.valid
    assert {i.code for i in report.errors} == EXPECTED[path.stem]


def test_rrocean_reference_names_the_missing_node(dify_corpus: Path) -> None:
    report = validate_file(dify_corpus / "invalid" / "rrocean_translation_workflow.yml")
    lines = [i.line() for i in report.errors]
    assert lines[0] == (
        "workflow.graph.nodes[1].data.prompt_template[0].text: llm node '1636028c': "
        "{{#start.lang#}} refers to node 'start', which does not exist; use an existing node id"
    )
    # The end node names the LLM by its title: Dify would not resolve it, we say which id to use.
    title = [i for i in report.warnings if i.code == "var.node_title"]
    assert "use '1636028c'" in title[0].message


def test_legacy_dead_branch_is_a_warning_current_is_an_error(dify_corpus: Path) -> None:
    legacy = validate_file(dify_corpus / "a1sh4_knowledge_base_ingestion.yml")  # 0.5.0
    assert any(i.code == "graph.dead_branch" for i in legacy.warnings)
    current = validate_file(dify_corpus / "invalid" / "lazeyliu_broken_if_else_no_false.yml")
    assert any(i.code == "graph.dead_branch" for i in current.errors)
