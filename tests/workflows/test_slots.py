"""Slot values from requirement text (the rules retrieval mode relies on), and filling them."""

from __future__ import annotations

import pytest

from revline.workflows.generator.slots import (
    SlotFill,
    extract_slots,
    fill_graph,
    natural_cron,
)


def slot(name: str, example: str, description: str = "") -> dict[str, str]:
    return {"name": name, "example": example, "description": description}


def values(text: str, *slots: dict[str, str]) -> dict[str, str]:
    return {k: v.value for k, v in extract_slots(text, list(slots)).items()}


def test_explicit_name_value_pairs_win() -> None:
    found = extract_slots('company_name: "Globex Corp", hot threshold = 85; language is French',
                          [slot("company_name", "Acme Cloud"), slot("hot_threshold", "70"),
                           slot("language", "English")])
    assert {k: (v.value, v.rule) for k, v in found.items()} == {
        "company_name": ("Globex Corp", "explicit"), "hot_threshold": ("85", "explicit"),
        "language": ("French", "explicit")}


def test_urls_go_to_the_slot_whose_words_surround_them() -> None:
    text = ("Pull numbers from the metrics API https://stats.globex.example/api/week and "
            "post the report to the Slack webhook https://hooks.slack.com/services/T0/B0/X.")
    assert values(
        text,
        slot("metrics_url", "https://metrics.acme.example/api/weekly",
             "JSON endpoint with this and last week's metrics"),
        slot("report_webhook", "https://hooks.example.com/services/weekly-report",
             "chat webhook that receives the report"),
    ) == {"metrics_url": "https://stats.globex.example/api/week",
          "report_webhook": "https://hooks.slack.com/services/T0/B0/X"}


def test_numbers_are_taken_near_the_slot_words_only() -> None:
    text = "Leads scoring above 80 are hot, above 55 warm; we have 3 sales reps."
    assert values(text, slot("hot_threshold", "70", "score from which a lead is hot"),
                  slot("warm_threshold", "40", "score from which a lead is warm")) == {
        "hot_threshold": "80", "warm_threshold": "55"}
    assert values("Generate 12 questions about Acme Backup",
                  slot("question_count", "8", "how many questions to generate")) == {
        "question_count": "12"}
    assert values("auto-approve expenses up to $1,500", slot(
        "auto_approve_limit", "500", "amount up to which requests are auto-approved")) == {
        "auto_approve_limit": "1500"}
    assert values("a plain requirement without numbers", slot("max_chars", "12000")) == {}


@pytest.mark.parametrize(("text", "cron"), [
    ("every Monday at 9am", "0 9 * * 1"),
    ("each weekday at 7:30", "30 7 * * 1-5"),
    ("daily at 6 pm", "0 18 * * *"),
    ("hourly", "0 * * * *"),
    ("on Monday and Thursday", "0 8 * * 1,4"),
    ("run it with cron 15 3 * * 2", "15 3 * * 2"),
    ("weekly", "0 8 * * 1"),
])
def test_schedules_in_words_become_cron(text: str, cron: str) -> None:
    assert natural_cron(text, "0 8 * * 1") == cron


def test_emails_languages_currencies_names_and_datasets() -> None:
    text = ("Translate support replies for Globex Industries into German, amounts in euros; "
            "hand off to help@globex.example; search the globex-docs knowledge base.")
    assert values(
        text, slot("company_name", "Acme Cloud"), slot("target_languages", "German"),
        slot("currency", "USD"), slot("handoff_channel", "support@acme.example"),
        slot("kb_id", "acme-product-docs"), slot("language", "English"),
    ) == {"company_name": "Globex Industries", "target_languages": "German",
          "currency": "EUR", "handoff_channel": "help@globex.example", "kb_id": "globex-docs",
          "language": "German"}
    # Weekdays and product words are not company names.
    assert values("Every Monday for Slack users", slot("company_name", "Acme Cloud")) == {}


def test_fill_replaces_examples_verbatim_and_keeps_types() -> None:
    graph = {"nodes": [
        {"id": "n1", "data": {"type": "llm", "title": "Acme Cloud helper",
                              "text": "You work for Acme Cloud. The Acme Cloud support team.",
                              "top": 70, "url": "https://x.example/a?acme=1"}},
        {"id": "Acme", "data": {"type": "code", "code": "if score >= 70: pass  # 700 no"}},
    ], "edges": [{"source": "n1", "target": "Acme"}]}
    filled = fill_graph(graph, [
        SlotFill("company_name", "Globex", "name", "Acme Cloud"),
        SlotFill("signature", "The Globex desk", "explicit", "The Acme Cloud support team"),
        SlotFill("hot_threshold", "85", "number", "70"),
    ])
    data = filled["nodes"][0]["data"]
    assert data["title"] == "Globex helper"
    # The longer example is replaced first, so the signature keeps its own value.
    assert data["text"] == "You work for Globex. The Globex desk."
    assert data["top"] == 85
    assert filled["nodes"][1]["data"]["code"] == "if score >= 85: pass  # 700 no"
    assert filled["nodes"][1]["id"] == "Acme"  # ids and edges are never rewritten
    assert graph["nodes"][0]["data"]["top"] == 70  # the input is not modified
