"""The dedupe stage inside `revline run`: clusters on the leads, explanations in the Duplicates
sheet, the Golden records sheet, the report's figures, and LLM review when switched on."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from revline.kernel.auth import ensure_tenant
from revline.kernel.config import get_settings
from revline.kernel.db import get_database
from revline.kernel.llm.models import LLMCall
from revline.leads.models import DedupeLabel, Lead, LeadRun
from revline.leads.pipeline import LeadPipeline, RunOptions
from tests.emulators.llm_server import serve_llm
from tests.leads.dedupe_helpers import background

COLUMNS = ["Company", "Contact", "Email", "Phone", "Website", "City", "Country", "Source",
           "Last Updated"]


def _leads(path: Path, extra: list[list[str]]) -> Path:
    rows = [
        [r.company, r.name, r.email, r.phone_e164, r.domain, r.city, "US", "import", ""]
        for r in background(60)
    ]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        writer.writerows(rows + extra)
    return path


def _run(src: Path) -> Any:
    settings = get_settings()
    db = get_database(settings)
    with db.session() as session:
        tenant_id = ensure_tenant(session, "t").id
    pipeline = LeadPipeline(db, settings, tenant_id)
    summary = pipeline.execute(pipeline.prepare(RunOptions(input_path=src)))
    return summary, db


def test_run_exports_explained_duplicates_and_golden_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REVLINE_OFFLINE", "true")
    get_settings.cache_clear()
    src = _leads(tmp_path / "leads.csv", [
        ["Harbor Dental", "Ann Lee", "ann.lee@gmail.com", "(415) 555-0101", "harbordental.com",
         "San Francisco", "US", "import", "2023-02-01"],
        ["HARBOR DENTAL LLC", "Lee, Ann", "annlee+site@googlemail.com", "+1 415 555 0101", "",
         "San Francisco", "US", "crm", "2024-05-01"],
        ["Harbor Dental", "Bob Stone", "info@harbordental.com", "415-555-0101",
         "www.harbordental.com", "San Francisco", "US", "import", ""],
    ])
    summary, db = _run(src)
    assert summary.duplicates == 1
    assert summary.clusters == 62
    assert summary.dedupe["profile"] == "person"
    assert summary.dedupe["golden_records"] == 1
    assert summary.dedupe["vetoed_pairs"] >= 1  # Bob Stone is someone else at the same office
    with db.session() as session:
        clusters = {lead.row_index: lead.cluster for lead in session.scalars(select(Lead))}
    assert clusters[61]["cluster_id"] == clusters[62]["cluster_id"] == "c-61"
    assert clusters[62]["linked_to"] == 61
    assert clusters[61]["members"] == [61, 62]
    assert clusters[63]["cluster_id"] == "c-63"
    assert clusters[61]["golden"]["email"] == "annlee+site@googlemail.com"  # most recent
    assert clusters[61]["golden_from"]["company"] == 62  # the CRM row wins for the name

    wb = load_workbook(tmp_path / "leads.enriched.xlsx", read_only=True)
    dups = list(wb["Duplicates"].iter_rows(values_only=True))
    assert dups[0] == ("cluster_id", "row_index", "company", "is_primary", "linked_to",
                       "match_probability", "match_weight", "match_reason")
    assert [r[:5] for r in dups[1:]] == [("c-61", 61, "Harbor Dental", "yes", 62),
                                         ("c-61", 62, "HARBOR DENTAL LLC", "no", 61)]
    assert dups[2][5] > 0.99
    assert dups[2][6] > 20
    assert "email: same personal email (+" in dups[2][7]
    assert "name: same name (+" in dups[2][7]
    golden = list(wb["Golden records"].iter_rows(values_only=True))
    header = list(golden[0])
    row = dict(zip(header, golden[1], strict=True))
    assert (row["cluster_id"], row["cluster_size"], row["rows"]) == ("c-61", 2, "61, 62")
    assert row["company"] == "HARBOR DENTAL LLC"
    assert row["phone_e164"] == "+14155550101"
    assert "company: row 62" in row["chosen from"]
    assert "email: row 62" in row["chosen from"]
    figures = {r[0]: r[1] for r in wb["Summary"].iter_rows(values_only=True)}
    assert figures["golden records"] == 1
    assert figures["model profile"] == "person"
    html = (tmp_path / "leads.enriched.html").read_text(encoding="utf-8")
    assert 'id="dedupe"' in html
    assert "pairs vetoed" in html


def test_run_sends_uncertain_pairs_to_the_llm_when_enabled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[Any] = []

    def responder(request: dict[str, Any]) -> str:
        pairs = json.loads(request["messages"][-1]["content"])["pairs"]
        asked.extend(pairs)
        return json.dumps({"results": [{"id": p["id"], "same": True, "confidence": 0.8,
                                        "reason": "plural typo"} for p in pairs]})

    src = _leads(tmp_path / "pairs.csv", [
        ["Nova Print", "", "", "+1 617 555 0100", "", "Boston", "US", "import", ""],
        ["Nova Prints", "", "", "(617) 555-0100", "", "Boston", "US", "import", ""],
    ])
    with serve_llm(responder) as llm:
        for key, value in {"REVLINE_OFFLINE": "true", "REVLINE_DEDUPE_LLM": "true",
                           "REVLINE_DEDUPE_THRESHOLD": "0.999999",
                           "REVLINE_LLM_BASE_URL": llm.base_url,
                           "REVLINE_OPENAI_API_KEY": "sk-test"}.items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()
        summary, db = _run(src)
    assert asked
    assert summary.dedupe["llm_reviewed"] == len(asked)
    assert summary.llm_calls >= 1  # counted with the run's other LLM calls
    with db.session() as session:
        leads = {lead.row_index: lead.cluster for lead in session.scalars(select(Lead))}
        labels = list(session.scalars(select(DedupeLabel)))
    # Below this threshold the pair stays apart on its own; the LLM's "same" links it.
    assert leads[61]["cluster_id"] == leads[62]["cluster_id"] == "c-61"
    assert leads[62]["match_reason"].startswith("labelled the same by llm")
    assert labels
    assert all(lb.source == "llm" and lb.match for lb in labels)
    with db.session() as session:  # billed to the tenant, with the run as the job
        run = session.scalars(select(LeadRun)).one()
        billed = {(c.tenant_id, c.feature, c.job_id) for c in session.scalars(select(LLMCall))}
    assert billed == {(run.tenant_id, "leads.dedupe", str(run.id))}
