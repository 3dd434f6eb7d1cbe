"""The quality score: validity, coverage and the quality step's assessment."""

from __future__ import annotations

from revline.workflows.generator import scoring
from revline.workflows.generator.types import Coverage


def test_score_weights_and_the_cap_on_invalid_workflows() -> None:
    full = scoring.score(errors=0, warnings=0, covered=["a", "b"], uncovered=[],
                         assessment=0.5, coverage_method="quality step")
    assert full.score == 90.0  # 50 + 30 + 0.2 * 50
    warned = scoring.score(errors=0, warnings=2, covered=["a"], uncovered=["b"],
                           assessment=None, coverage_method="lexical")
    assert warned.validity == 0.8
    assert warned.score == 68.0  # 60 * 0.8 + 40 * 0.5
    assert scoring.validity(0, 9) == 0.5  # warnings never push a valid DSL below half
    invalid = scoring.score(errors=1, warnings=0, covered=["a"], uncovered=[],
                            assessment=1.0, coverage_method="quality step")
    assert invalid.validity == 0.0
    assert invalid.score == 40.0  # 0 + 30 + 20 = 50, capped


def test_judged_coverage_needs_nodes_that_exist() -> None:
    covered, uncovered = scoring.judged_coverage(
        {"R1": "answer from docs", "R2": "escalate", "R3": "log"},
        [Coverage(requirement_id="R1", covered=True, node_ids=["llm"]),
         Coverage(requirement_id="R2", covered=True, node_ids=["made_up"]),
         Coverage(requirement_id="R3", covered=False)],
        {"start", "llm"})
    assert covered == ["answer from docs"]
    assert uncovered == ["escalate", "log"]


def test_a_coverage_claim_naming_no_node_does_not_count() -> None:
    # The quality step is asked to name the covering nodes; a bare "covered" backs nothing.
    covered, uncovered = scoring.judged_coverage(
        {"R1": "answer from docs", "R2": "escalate"},
        [Coverage(requirement_id="R1", covered=True, node_ids=["llm"]),
         Coverage(requirement_id="R2", covered=True, node_ids=[])],
        {"start", "llm"})
    assert covered == ["answer from docs"]
    assert uncovered == ["escalate"]


def test_lexical_coverage_and_requirement_splitting() -> None:
    parts = scoring.split_requirements(
        "Answer customer questions from the docs. Escalate angry customers to Slack; "
        "log every conversation in the CRM")
    assert parts == ["Answer customer questions from the docs",
                     "Escalate angry customers to Slack", "log every conversation in the CRM"]
    text = "Search docs. Answer the customer's question. Post escalations to a Slack webhook."
    covered, uncovered = scoring.lexical_coverage(parts, text)
    assert covered == parts[:2]
    assert uncovered == parts[2:]


def test_the_app_text_that_echoes_the_requirement_does_not_count_as_coverage() -> None:
    requirement = "Send every invoice to the accounting team over Telegram"
    document = {
        "app": {"name": requirement, "description": f"Generated for: {requirement}"},
        "workflow": {"graph": {"nodes": [
            {"id": "start", "data": {"type": "start", "title": "Start"}},
            {"id": "llm", "data": {"type": "llm", "title": "Summarize the meeting notes"}},
        ]}},
    }
    text = scoring.graph_text(document)
    assert "Telegram" not in text
    assert "Summarize the meeting notes" in text
    covered, uncovered = scoring.lexical_coverage([requirement], text)
    assert covered == []
    assert uncovered == [requirement]


def test_a_url_or_address_copied_from_the_requirement_is_one_word_not_many() -> None:
    # Retrieval fills a pattern's URL slot with the requirement's own URL: finding it in the
    # graph shows the URL is used, not that "news", "example" and "api" are covered.
    requirement = ("Every morning fetch the top stories from https://news.example/api and "
                   "email a digest to team@globex.example")
    document = {"workflow": {"graph": {"nodes": [
        {"id": "fetch", "data": {"type": "http-request", "title": "Fetch metrics",
                                 "url": "https://news.example/api"}},
        {"id": "post", "data": {"type": "http-request", "title": "Post to channel",
                                "url": "https://hooks.slack.com/services/T0/B0/x"}},
    ]}}}
    covered, uncovered = scoring.lexical_coverage([requirement], scoring.graph_text(document))
    assert covered == []
    assert uncovered == [requirement]
    stems = scoring.content_stems(requirement)
    assert "https://news.example/api" in stems
    assert "team@globex.example" in stems
    assert not {"news", "globe", "team"} & stems
