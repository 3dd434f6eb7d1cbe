"""Top-level rules: mapping, version, kind, app and mode, workflow block, variables."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.workflows.samples import (
    assert_clean,
    check,
    find,
    simple_chatflow,
    simple_workflow,
    the_error,
)


def test_baselines_are_valid_without_warnings() -> None:
    for doc in (simple_workflow(), simple_chatflow()):
        report = check(doc)
        assert_clean(report)


@pytest.mark.parametrize(("data", "got"), [([1, 2], "a list"), ("text", "a string"),
                                           (None, "an empty document")])
def test_document_must_be_a_mapping(data: Any, got: str) -> None:
    error = the_error(data)
    assert (error.code, error.path) == ("document.not_mapping", "document")
    assert got in error.message


def test_newer_version_is_refused_with_a_reason() -> None:
    doc = simple_workflow()
    doc["version"] = "0.7.0"
    error = the_error(doc)
    assert (error.code, error.path) == ("version.unsupported", "version")
    assert "newer than the newest supported version 0.6.0" in error.message


def test_older_supported_versions_are_accepted_with_a_warning() -> None:
    doc = simple_workflow()
    doc["version"] = "0.1.5"
    report = check(doc)
    assert report.valid
    assert find(report, "version.legacy").severity == "warning"


def test_missing_version_means_0_1_0_like_dify() -> None:
    doc = simple_workflow()
    del doc["version"]
    report = check(doc)
    assert report.valid
    assert "treats it as 0.1.0" in find(report, "version.missing").message


def test_version_must_be_a_string() -> None:
    doc = simple_workflow()
    doc["version"] = 0.6
    error = the_error(doc)
    assert (error.code, error.path) == ("version.not_string", "version")
    assert "quote it" in error.message


def test_version_must_parse() -> None:
    doc = simple_workflow()
    doc["version"] = "six"
    assert the_error(doc).code == "version.invalid"


def test_unknown_kind_is_a_warning_because_dify_coerces_it() -> None:
    doc = simple_workflow()
    doc["kind"] = "workflow"
    report = check(doc)
    assert report.valid
    assert find(report, "document.kind_unknown").path == "kind"


def test_app_block_is_required() -> None:
    doc = simple_workflow()
    del doc["app"]
    error = the_error(doc)
    assert (error.code, error.path) == ("app.missing", "app")


def test_mode_is_required_and_known() -> None:
    doc = simple_workflow()
    doc["app"]["mode"] = "agent"
    error = the_error(doc)
    assert (error.code, error.path) == ("app.mode_unknown", "app.mode")
    assert "advanced-chat" in error.message
    del doc["app"]["mode"]
    assert the_error(doc).code == "app.mode_missing"


def test_graph_modes_need_the_workflow_block() -> None:
    doc = simple_workflow()
    del doc["workflow"]
    error = the_error(doc)
    assert (error.code, error.path) == ("workflow.missing", "workflow")


def test_graph_is_required() -> None:
    doc = simple_workflow()
    del doc["workflow"]["graph"]
    assert the_error(doc).code == "workflow.graph_missing"


def test_model_config_modes_need_model_config() -> None:
    doc = {"version": "0.6.0", "kind": "app", "app": {"name": "x", "mode": "chat"}}
    error = the_error(doc)
    assert (error.code, error.path) == ("document.model_config_missing", "model_config")
    doc["model_config"] = {"pre_prompt": "Hi"}
    assert check(doc).valid


def _env(*items: dict[str, Any]) -> dict[str, Any]:
    doc = simple_workflow()
    doc["workflow"]["environment_variables"] = list(items)
    return doc


def test_environment_variable_rules() -> None:
    error = the_error(_env({"name": "bad name", "value_type": "string", "value": ""}))
    assert (error.code, error.path) == ("env.name", "workflow.environment_variables[0].name")
    error = the_error(_env({"name": "A", "value_type": "string", "value": ""},
                           {"name": "A", "value_type": "string", "value": ""}))
    assert (error.code, error.path) == ("env.duplicate", "workflow.environment_variables[1].name")
    error = the_error(_env({"name": "A", "value_type": "bool", "value": ""}))
    assert error.code == "env.value_type"
    error = the_error(_env({"name": "LIMIT", "value_type": "number", "value": "ten"}))
    assert (error.code, error.path) == ("env.value_type_mismatch",
                                        "workflow.environment_variables[0].value")


def test_conversation_variable_rules() -> None:
    doc = simple_chatflow()
    doc["workflow"]["conversation_variables"] = [{"name": "topic", "value_type": "text"}]
    error = the_error(doc)
    assert (error.code, error.path) == ("conversation.value_type",
                                        "workflow.conversation_variables[0].value_type")
    wf = simple_workflow()
    wf["workflow"]["conversation_variables"] = [{"name": "topic", "value_type": "string"}]
    assert find(check(wf), "conversation.not_chatflow").severity == "warning"


def test_dependencies_shape() -> None:
    doc = simple_workflow()
    doc["dependencies"] = [{"type": "pip", "value": {}}]
    error = the_error(doc)
    assert (error.code, error.path) == ("dependencies.item_type", "dependencies[0].type")
    doc["dependencies"] = {"a": 1}
    assert the_error(doc).code == "dependencies.type"


def test_secret_literal_is_flagged() -> None:
    doc = simple_workflow()
    doc["workflow"]["graph"]["nodes"][1]["data"]["prompt_template"][0]["text"] = (
        "Use key sk-abcdefghijklmnopqrstuvwxyz123456"
    )
    warning = find(check(doc), "secret.literal")
    assert warning.path == "workflow.graph.nodes[1].data.prompt_template[0].text"
    assert "secret environment variable" in warning.message


def test_report_json_shape() -> None:
    doc = copy.deepcopy(simple_workflow())
    doc["version"] = "9.9.9"
    payload = check(doc).to_dict()
    assert payload["valid"] is False
    assert payload["errors"][0].keys() == {"path", "message", "code"}
    assert payload["warnings"] == []
