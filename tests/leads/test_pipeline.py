"""The pipeline against real local sites and the LLM emulator: tiers, statuses, learning."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from revline.kernel.auth import ensure_tenant
from revline.kernel.config import get_settings
from revline.kernel.db import get_database
from revline.leads.llm import llm_hooks
from revline.leads.models import Lead, LearnedRule
from revline.leads.pipeline import LeadPipeline, RunOptions
from tests.emulators.llm_server import serve_llm
from tests.emulators.sites import serve_sites


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _pipeline(**kwargs: Any) -> LeadPipeline:
    settings = get_settings()
    db = get_database(settings)
    with db.session() as session:
        tenant_id = ensure_tenant(session, "t").id
    return LeadPipeline(db, settings, tenant_id, **kwargs)


def test_tier3_enrichment_statuses_and_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REVLINE_HTTP_TIMEOUT_S", "1")
    monkeypatch.setenv("REVLINE_HTTP_RETRIES", "0")
    monkeypatch.setenv("REVLINE_SEO_MAX_PAGES", "5")
    get_settings.cache_clear()
    with serve_sites(slow_delay_s=3.0) as sites:
        rows = [
            {"Company": "Rich Dental", "Website": sites.url("rich"), "Email": "a@rich-demo.com"},
            {"Company": "Gone Roofing", "Website": sites.url("notfound"), "Email": ""},
            {"Company": "Loop Plumbing", "Website": sites.url("loop"), "Email": ""},
            {"Company": "Slow Law", "Website": sites.url("slow"), "Email": ""},
            {"Company": "Pdf Realty", "Website": sites.url("nonhtml"), "Email": ""},
            {"Company": "Tls Bakery", "Website": sites.url("tls"), "Email": ""},
            {"Company": "No Site Cafe", "Website": "", "Email": "x@gmail.com"},
        ]
        src = _write(tmp_path / "sites.csv", rows)
        pipeline = _pipeline()
        run_id = pipeline.prepare(RunOptions(input_path=src, tier=3))
        summary = pipeline.execute(run_id)
        hits_after_first = sites.hits("rich", "/")
    statuses = {r["Company"]: None for r in rows}
    wb = load_workbook(tmp_path / "sites.enriched.xlsx", read_only=True)
    website = list(wb["Website"].iter_rows(values_only=True))
    header = [str(h) for h in website[0]]
    for row in website[1:]:
        statuses[str(row[header.index("company")])] = row[header.index("status")]
    assert statuses == {
        "Rich Dental": "ok",
        "Gone Roofing": "http_error",
        "Loop Plumbing": "redirect_loop",
        "Slow Law": "timeout",
        "Pdf Realty": "not_html",
        "Tls Bakery": "tls_error",
        "No Site Cafe": "no_website",
    }
    assert "Audit" in wb.sheetnames
    assert "SEO" in wb.sheetnames
    assert summary.coverage["site audit"] == 1
    assert summary.coverage["SEO audit"] == 1
    assert hits_after_first == 1
    assert any("Mockup briefs skipped" in n for n in summary.notes)
    html = (tmp_path / "sites.enriched.html").read_text()
    assert html.count("<svg") >= 4


def test_llm_layer_batches_learns_and_persists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unknown categories go to the LLM in batches; answers become stored rules."""

    def responder(request: dict[str, Any]) -> str:
        payload = json.loads(request["messages"][1]["content"])
        software = next(v for v in payload["verticals"] if v.startswith("software"))
        results = [
            {
                "key": lead["key"],
                "vertical": software if "Widget" in lead["category"] else None,
                "confidence": 0.9,
            }
            for lead in payload["leads"]
        ]
        return json.dumps({"results": results})

    rows = [
        {
            "Company": f"Zorblax {i}",
            "Category": "Widget Forge" if i % 2 else "Quux Atelier",
            "Email": "",
        }
        for i in range(60)
    ]
    src = _write(tmp_path / "unknown.csv", rows)
    monkeypatch.setenv("REVLINE_OFFLINE", "true")
    with serve_llm(responder) as llm:
        monkeypatch.setenv("REVLINE_LLM_BASE_URL", llm.base_url)
        monkeypatch.setenv("REVLINE_OPENAI_API_KEY", llm.api_key)
        get_settings.cache_clear()
        settings = get_settings()
        pipeline = _pipeline()
        classifier, mockup, reason = llm_hooks(settings, pipeline.tenant_id)
        assert classifier is not None
        assert reason is None
        pipeline.llm_classifier = classifier
        run_id = pipeline.prepare(RunOptions(input_path=src))
        summary = pipeline.execute(run_id)
        sent = [json.loads(r["messages"][1]["content"])["leads"] for r in llm.requests]
    # One question per distinct category: the first answer teaches the rest.
    assert sum(len(batch) for batch in sent) == 2
    assert summary.layer_counts.get("llm") == 2  # one answer, one "no vertical"
    assert summary.layer_counts.get("learned") == 29
    assert summary.layer_counts.get("none") == 29
    assert summary.llm_calls == len(llm.requests)
    db = get_database(get_settings())
    with db.session() as session:
        rules = session.scalars(select(LearnedRule)).all()
        learned = {(r.field, r.value) for r in rules}
        assert ("category", "widget forge") in learned
        assert all(r.vertical.startswith("software") for r in rules)
        software = session.scalar(select(func.count()).where(Lead.vertical.like("software%")))
    assert software == 30


def test_no_llm_says_how_to_configure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVLINE_OFFLINE", "true")
    get_settings.cache_clear()
    src = _write(tmp_path / "u.csv", [{"Company": "Qwxz Holdings", "Category": "Gizmos"}])
    classifier, _, reason = llm_hooks(get_settings(), None)  # type: ignore[arg-type]
    assert classifier is None
    assert reason is not None
    pipeline = _pipeline(llm_unavailable_reason=reason)
    summary = pipeline.execute(pipeline.prepare(RunOptions(input_path=src)))
    assert summary.layer_counts == {"none": 1}
    assert any("REVLINE_OPENAI_API_KEY" in n for n in summary.notes)


def test_tier2_mockup_brief_through_gateway(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MOCKUP_ENABLED defaults on for tier 2: each reachable site gets a brief from the LLM."""
    with serve_sites() as sites, serve_llm(lambda _req: "- Faster hero\n- Add booking") as llm:
        monkeypatch.setenv("REVLINE_LLM_BASE_URL", llm.base_url)
        monkeypatch.setenv("REVLINE_OPENAI_API_KEY", llm.api_key)
        get_settings.cache_clear()
        src = _write(tmp_path / "m.csv", [{"Company": "Rich Dental", "Website": sites.url("rich")}])
        pipeline = _pipeline()
        classifier, mockup, _ = llm_hooks(get_settings(), pipeline.tenant_id)
        pipeline.llm_classifier, pipeline.mockup_writer = classifier, mockup
        pipeline.execute(pipeline.prepare(RunOptions(input_path=src, tier=2)))
        prompts = [r["messages"][1]["content"] for r in llm.requests]
    with get_database(get_settings()).session() as session:
        lead = session.scalars(select(Lead)).one()
    assert lead.enrichment["mockup"] == "- Faster hero\n- Add booking"
    assert any('"audit"' in p for p in prompts)  # the brief is grounded in the audit numbers
