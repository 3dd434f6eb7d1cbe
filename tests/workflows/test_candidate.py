"""Building a generated candidate: our own output is held to every reference resolving."""

from __future__ import annotations

from revline.workflows.generator.graph import build_candidate
from revline.workflows.generator.types import WorkflowDraft
from tests.workflows.script import good_draft


def test_a_node_named_by_its_title_makes_generated_dsl_invalid() -> None:
    # Imported DSL that does this only gets a warning (real exports do it), but Dify resolves
    # ids: in a generated workflow the answer would come out empty, so it must be fixed.
    titled = good_draft()
    for node in titled["graph"]["nodes"]:
        if node["id"] == "answer_llm":
            node["data"]["title"] = "Writer"
        if node["id"] == "reply":
            node["data"]["answer"] = "{{#Writer.text#}}"
    candidate = build_candidate(WorkflowDraft.model_validate(titled), {})
    assert candidate.report is not None
    assert candidate.report.valid  # the validator alone lets it through, with a warning
    assert not candidate.valid
    [line] = [e for e in candidate.error_lines() if "by its title" in e]
    assert "use 'answer_llm'" in line
    errors, warnings = candidate.issues()
    assert [e["code"] for e in errors] == ["var.node_title"]
    assert all(w["code"] != "var.node_title" for w in warnings)
    assert not any("by its title" in w for w in candidate.warning_lines())
    assert build_candidate(WorkflowDraft.model_validate(good_draft()), {}).valid
