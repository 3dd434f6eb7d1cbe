"""Enriched XLSX export: written with xlsxwriter, read back with openpyxl as Excel would."""

from __future__ import annotations

import gc
import tracemalloc
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from revline.leads.export import (
    CONTACT_KEYS,
    ENRICHED_HEADERS,
    MAX_CELL_CHARS,
    PEEK_LEADS,
    write_xlsx,
)
from revline.leads.schemas import LeadResult, RunSummary

ORIGINAL = ["Company Name", "E-mail", "Phone #", "Website", "Zip", "Notes"]
FORMULA = '=HYPERLINK("http://evil.example/x","click me")'
LONG = "Ä" * 40_000


def make_lead(i: int, **over: Any) -> LeadResult:
    """A realistic fully-processed lead; keyword arguments replace whole sections."""
    company = f"Müller & Söhne {i} GmbH"
    lead = LeadResult(
        row_index=i,
        raw={
            "Company Name": company, "E-mail": f" Info{i}@Mueller.de ", "Phone #": "030 1234567",
            "Website": "mueller.de", "Zip": "01067", "Notes": "",
        },
        fields={"company": company, "email": f"Info{i}@Mueller.de", "phone": "030 1234567",
                "website": "mueller.de", "postal_code": "01067"},
        contact={
            "email_normalized": f"Info{i}@mueller.de", "email_valid": True, "email_error": "",
            "email_disposable": False, "email_role": True, "email_free": False,
            "email_domain": "mueller.de", "phone_e164": "+49301234567", "phone_valid": True,
            "phone_type": "fixed_line", "phone_region": "DE", "phone_error": "",
            "domain": "mueller.de", "domain_source": "website", "website_url": "https://mueller.de",
        },
        enrichment={
            "status": "ok", "final_url": "https://www.mueller.de/", "http_status": 200,
            "title": "Müller & Söhne – Sanitär seit 1921",
            "social": {"facebook": "https://facebook.com/mueller", "instagram": "https://instagram.com/m"},
            "structured_types": ["LocalBusiness", "Plumber"],
        },
        classification={"vertical": "plumbing", "layer": "rules", "confidence": 0.9,
                        "evidence": "title: Sanitär"},
        score={"score": 82, "tier": "A", "reasons": ["valid email", "website reachable"]},
        cluster={"cluster_id": f"c{i}", "cluster_size": 1, "is_primary": True, "match_reason": ""},
    )
    for key, value in over.items():
        setattr(lead, key, value)
    return lead


def make_summary(n: int, **over: Any) -> RunSummary:
    summary = RunSummary(
        run_id="7b1e4c0a-run", input_path="/data/leads.csv", tier=2,
        original_columns=list(ORIGINAL),
        total=n, rows_with_errors=2, duration_s=12.34,
        layer_counts={"rules": n - 1, "llm": 1}, tier_counts={"A": n - 1, "D": 1},
        vertical_counts={"plumbing": n}, enrichment_status_counts={"ok": n},
        coverage={"valid email": n, "site audit": 0}, duplicates=1, clusters=n - 1,
        llm_calls=3, llm_cost_usd=0.0123, notes=["Mockup briefs skipped: LLM not configured"],
    )
    for key, value in over.items():
        setattr(summary, key, value)
    return summary


def rows(ws: Worksheet) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in ws.iter_rows(values_only=True)]


def as_dicts(ws: Worksheet) -> list[dict[str, Any]]:
    header, *body = rows(ws)
    return [dict(zip(header, r, strict=True)) for r in body]


@pytest.fixture
def mixed_leads() -> list[LeadResult]:
    """Five leads covering the awkward cases: formulas, unicode, huge text, missing dicts."""
    formula = make_lead(1)
    formula.raw["Company Name"] = FORMULA
    formula.fields["company"] = FORMULA
    formula.raw["Notes"] = "+1 (555) 0100"
    formula.enrichment["audit"] = {"https": True, "load_ms": 812, "images": [{"src": "a.png"}] * 3,
                                   "lighthouse_mode": "lite"}
    formula.enrichment["mockup"] = "- Put the phone number in the header\n- Add reviews"
    formula.enrichment["seo"] = {"pages_crawled": 7, "missing_titles": ["/a", "/b"],
                                 "pages": [{"url": "/"}, {"url": "/a"}]}
    unicode = make_lead(2)
    unicode.raw["Notes"] = "café ☕ 東京 — naïve"
    unicode.enrichment["language"] = "de"
    unicode.enrichment["cms"] = "WordPress"  # not a documented key: found by the peek
    huge = make_lead(3)
    huge.raw["Notes"] = LONG
    huge.enrichment["title"] = LONG
    bare = make_lead(4, contact={}, enrichment={}, classification={}, score={}, cluster={},
                     row_errors=["Phone #: cell is not text", "Zip: empty"])
    dup = make_lead(5)
    why = "domain: same company domain (+11.6); company: company name nearly equal (+9.8)"
    dup.cluster = {"cluster_id": "c-1", "cluster_size": 2, "is_primary": False,
                   "match_reason": why, "linked_to": 1, "match_probability": 0.9731,
                   "match_weight": 5.18}
    dup.contact = {**dup.contact, "email_valid": False, "email_error": "The domain is invalid"}
    dup.score = {"score": 12.0, "tier": "D", "reasons": []}
    formula.cluster = {"cluster_id": "c-1", "cluster_size": 2, "is_primary": True,
                       "match_reason": why, "linked_to": 5, "match_probability": 0.9731,
                       "match_weight": 5.18, "members": [1, 5],
                       "golden": {"company": "Müller & Söhne GmbH", "email": "info@mueller.de",
                                  "domain": "mueller.de"},
                       "golden_from": {"company": 5, "email": 1, "domain": 1}}
    return [dup, formula, unicode, huge, bare]  # order of input, not of row_index


@pytest.fixture
def book(tmp_path: Path, mixed_leads: list[LeadResult]) -> tuple[Path, int]:
    out = tmp_path / "out" / "leads.enriched.xlsx"
    written = write_xlsx(out, make_summary(len(mixed_leads)), iter(mixed_leads))
    return out, written


def test_sheet_names_and_row_count(book: tuple[Path, int]) -> None:
    path, written = book
    assert written == 5
    wb = load_workbook(path)
    assert wb.sheetnames == ["Leads", "Contacts", "Website", "Audit", "SEO", "Mockup",
                             "Classification", "Duplicates", "Golden records", "Errors",
                             "Summary"]
    assert wb["Leads"].max_row == 6
    assert not [p for p in path.parent.iterdir() if p.name != path.name], "temp file left behind"


def test_leads_sheet_keeps_original_columns_then_enriched(book: tuple[Path, int]) -> None:
    path, _ = book
    ws = load_workbook(path)["Leads"]
    header, *body = rows(ws)
    assert list(header) == [*ORIGINAL, *ENRICHED_HEADERS]
    dup, formula, unicode, huge, bare = (dict(zip(header, r, strict=True)) for r in body)
    # Original cells are unchanged text: no number/date conversion, no trimming.
    assert dup["E-mail"] == " Info5@Mueller.de "
    assert dup["Zip"] == "01067"
    assert formula["Notes"] == "+1 (555) 0100"
    assert unicode["Notes"] == "café ☕ 東京 — naïve"
    assert dup["Notes"] is None  # empty cell stays empty
    assert dup["score"] == 12
    assert isinstance(dup["score"], int | float)
    assert formula["score"] == 82
    assert formula["tier"] == "A"
    assert dup["tier"] == "D"
    assert formula["score reasons"] == "valid email; website reachable"
    assert formula["email valid"] == "yes"
    assert dup["email valid"] == "no"
    assert formula["phone (E.164)"] == "+49301234567"
    assert formula["website title"] == "Müller & Söhne – Sanitär seit 1921"
    assert dup["duplicate"] == "yes"
    assert formula["duplicate"] == "no"
    assert bare["duplicate"] == "no"
    assert dup["row errors"] == "email: The domain is invalid"
    assert bare["row errors"] == "Phone #: cell is not text; Zip: empty"
    assert bare["score"] is None
    assert bare["tier"] is None
    assert bare["website status"] is None


def test_header_is_frozen_filtered_and_styled(book: tuple[Path, int]) -> None:
    path, _ = book
    wb = load_workbook(path)
    ws = wb["Leads"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:{ws.cell(1, ws.max_column).column_letter}6"
    assert ws["A1"].font.b
    assert ws["A1"].fill.fgColor.rgb.endswith("1F3A5F")
    tier_col = len(ORIGINAL) + ENRICHED_HEADERS.index("tier") + 1
    assert ws.cell(3, tier_col).value == "A"
    assert ws.cell(3, tier_col).fill.fgColor.rgb.endswith("C6EFCE")  # A is green
    assert ws.cell(2, tier_col).fill.fgColor.rgb.endswith("E7E6E6")  # D is grey
    width = ws.column_dimensions["A"].width
    assert width is not None
    assert 8 <= width <= 62
    for name in ("Contacts", "Website", "Errors", "Duplicates", "Classification"):
        assert wb[name].freeze_panes == "A2", name


def test_formula_text_is_stored_as_a_string(book: tuple[Path, int]) -> None:
    path, _ = book
    wb = load_workbook(path)
    for sheet, cell in (("Leads", "A3"), ("Classification", "B3"), ("Contacts", "B3")):
        c = wb[sheet][cell]
        assert c.value == FORMULA, sheet
        assert c.data_type == "s", sheet
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/sheet"):
                assert b"<f>" not in zf.read(name), f"{name} contains a formula"


def test_long_strings_are_truncated_to_excel_limit(book: tuple[Path, int]) -> None:
    path, _ = book
    wb = load_workbook(path)
    notes = wb["Leads"]["F5"].value
    assert isinstance(notes, str)
    assert len(notes) <= MAX_CELL_CHARS
    assert notes.startswith("ÄÄÄ")
    assert notes.endswith("[truncated]")
    title = next(r["title"] for r in as_dicts(wb["Website"]) if r["row_index"] == 3)
    assert len(title) <= MAX_CELL_CHARS


def test_contacts_and_website_columns(book: tuple[Path, int]) -> None:
    path, _ = book
    wb = load_workbook(path)
    contacts = rows(wb["Contacts"])
    assert list(contacts[0]) == ["row_index", "company", *CONTACT_KEYS, "other fields"]
    first = dict(zip(contacts[0], contacts[1], strict=True))
    assert first["row_index"] == 5
    assert first["email_valid"] is False
    assert first["email_role"] is True
    assert first["phone_region"] == "DE"
    website = as_dicts(wb["Website"])
    header = list(rows(wb["Website"])[0])
    assert header[:5] == ["row_index", "company", "status", "error", "final_url"]
    assert "cms" in header  # extra key found while peeking
    assert not {"audit", "seo", "mockup"} & set(header)  # nested dicts have their own sheets
    by_row = {r["row_index"]: r for r in website}
    assert by_row[5]["social"] == (
        "facebook: https://facebook.com/mueller; instagram: https://instagram.com/m"
    )
    assert by_row[5]["structured_types"] == "LocalBusiness, Plumber"
    assert by_row[5]["http_status"] == 200
    assert by_row[2]["cms"] == "WordPress"
    assert by_row[2]["language"] == "de"
    assert by_row[4]["status"] is None  # lead without enrichment still gets its row
    assert len(website) == 5


def test_audit_seo_mockup_sheets(book: tuple[Path, int]) -> None:
    path, _ = book
    wb = load_workbook(path)
    audit = as_dicts(wb["Audit"])
    assert [r["row_index"] for r in audit] == [1]
    assert audit[0]["load_ms"] == 812
    assert audit[0]["https"] is True
    assert audit[0]["images"] == 3  # a list of records becomes its count
    assert audit[0]["lighthouse_mode"] == "lite"
    seo = as_dicts(wb["SEO"])
    assert seo[0]["missing_titles"] == "/a, /b"
    assert seo[0]["pages"] == 2
    mockup = as_dicts(wb["Mockup"])
    assert mockup == [{"row_index": 1, "company": FORMULA,
                       "mockup brief": "- Put the phone number in the header\n- Add reviews"}]


def test_classification_duplicates_errors(book: tuple[Path, int]) -> None:
    path, _ = book
    wb = load_workbook(path)
    cls = as_dicts(wb["Classification"])
    assert cls[0] == {"row_index": 5, "company": "Müller & Söhne 5 GmbH", "vertical": "plumbing",
                      "layer": "rules", "confidence": 0.9, "evidence": "title: Sanitär"}
    dups = rows(wb["Duplicates"])
    why = "domain: same company domain (+11.6); company: company name nearly equal (+9.8)"
    assert dups == [
        ("cluster_id", "row_index", "company", "is_primary", "linked_to", "match_probability",
         "match_weight", "match_reason"),
        ("c-1", 1, FORMULA, "yes", 5, 0.9731, 5.18, why),  # primary first
        ("c-1", 5, "Müller & Söhne 5 GmbH", "no", 1, 0.9731, 5.18, why),
    ]
    golden = as_dicts(wb["Golden records"])
    assert len(golden) == 1
    assert golden[0]["cluster_id"] == "c-1"
    assert golden[0]["rows"] == "1, 5"
    assert golden[0]["company"] == "Müller & Söhne GmbH"
    assert golden[0]["email"] == "info@mueller.de"
    assert golden[0]["chosen from"] == "company: row 5; email: row 1; domain: row 1"
    errors = rows(wb["Errors"])
    assert errors == [
        ("row_index", "company", "source", "error"),
        (5, "Müller & Söhne 5 GmbH", "email", "The domain is invalid"),
        (4, "Müller & Söhne 4 GmbH", "row", "Phone #: cell is not text"),
        (4, "Müller & Söhne 4 GmbH", "row", "Zip: empty"),
    ]


def test_summary_sheet(book: tuple[Path, int]) -> None:
    path, _ = book
    ws = load_workbook(path)["Summary"]
    figures = {r[0]: (r[1], r[2]) for r in rows(ws)[1:]}
    assert figures["run id"][0] == "7b1e4c0a-run"
    assert figures["leads"] == (5, 100)
    assert figures["rows with errors"] == (2, 40)
    assert figures["tier A"] == (4, 80)
    assert figures["tier B"] == (0, 0)
    assert figures["rules"] == (4, 80)
    assert figures["llm"] == (1, 20)
    assert figures["LLM calls"][0] == 3
    assert figures["LLM cost (USD)"][0] == pytest.approx(0.0123)
    assert figures["note"][0] == "Mockup briefs skipped: LLM not configured"


def test_optional_sheets_absent_without_data(tmp_path: Path) -> None:
    out = tmp_path / "plain.xlsx"
    assert write_xlsx(out, make_summary(3), [make_lead(i) for i in range(1, 4)]) == 3
    names = load_workbook(out).sheetnames
    assert names == ["Leads", "Contacts", "Website", "Classification", "Duplicates",
                     "Golden records", "Errors", "Summary"]
    assert rows(load_workbook(out)["Duplicates"]) == [
        ("cluster_id", "row_index", "company", "is_primary", "linked_to", "match_probability",
         "match_weight", "match_reason")
    ]


def test_data_after_the_peek_is_not_lost(tmp_path: Path) -> None:
    """Keys and nested dicts that first appear after the peeked leads still reach the file."""
    leads = [make_lead(i) for i in range(1, PEEK_LEADS + 11)]
    late = leads[-1]
    late.enrichment["audit"] = {"https": False}
    late.enrichment["favicon"] = "/favicon.ico"
    late.contact["email_mx"] = "mx.mueller.de"
    out = tmp_path / "late.xlsx"
    assert write_xlsx(out, make_summary(len(leads)), iter(leads)) == len(leads)
    wb = load_workbook(out)
    assert wb.sheetnames[-1] == "Audit"  # opened when the data showed up
    assert as_dicts(wb["Audit"])[0]["row_index"] == late.row_index
    website = as_dicts(wb["Website"])
    assert website[-1]["other fields"] == "favicon: /favicon.ico"
    assert as_dicts(wb["Contacts"])[-1]["other fields"] == "email_mx: mx.mueller.de"


def test_empty_run_writes_headers_only(tmp_path: Path) -> None:
    out = tmp_path / "empty.xlsx"
    assert write_xlsx(out, make_summary(0, total=0), []) == 0
    wb = load_workbook(out)
    assert rows(wb["Leads"]) == [(*ORIGINAL, *ENRICHED_HEADERS)]


def test_crash_midway_leaves_previous_file_and_no_temp(tmp_path: Path) -> None:
    out = tmp_path / "keep.xlsx"
    out.write_bytes(b"previous export")

    def exploding() -> Iterator[LeadResult]:
        yield make_lead(1)
        yield make_lead(2)
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError, match="database went away"):
        write_xlsx(out, make_summary(2), exploding())
    assert out.read_bytes() == b"previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.xlsx"]


def test_odd_values_are_coerced(tmp_path: Path) -> None:
    class Weird:
        def __str__(self) -> str:
            return "weird-object"

    lead = make_lead(1)
    lead.enrichment.update({"http_status": float("nan"), "error": Weird(), "emails": [],
                            "phones": ("+4930", None)})
    lead.contact["email_normalized"] = 12345678901234567890  # too big for a float
    out = tmp_path / "odd.xlsx"
    write_xlsx(out, make_summary(1), [lead])
    wb = load_workbook(out)
    site = as_dicts(wb["Website"])[0]
    assert site["http_status"] == "nan"
    assert site["error"] == "weird-object"
    assert site["emails"] is None
    assert site["phones"] == "+4930"
    assert as_dicts(wb["Contacts"])[0]["email_normalized"] == "12345678901234567890"


def _synthetic(n: int) -> Iterator[LeadResult]:
    """Lean leads (few cells each) so the run stays quick under tracemalloc's overhead."""
    for i in range(1, n + 1):
        in_cluster = i % 100 < 4
        yield LeadResult(
            row_index=i,
            raw={"Company": f"Company {i}", "Email": f"info{i}@example{i % 997}.com"},
            fields={"company": f"Company {i}"},
            row_errors=["Phone: too short"] if i % 50 == 0 else [],
            contact={"email_valid": True},
            enrichment={"status": "ok"},
            classification={"layer": "fuzzy"},
            score={"score": i % 101, "tier": "ABCD"[i % 4]},
            cluster={"cluster_id": f"k{i // 2}", "cluster_size": 2, "is_primary": i % 2 == 0,
                     "match_reason": "email"} if in_cluster else {},
        )


@pytest.mark.slow
def test_streaming_50k_leads_keeps_memory_flat(tmp_path: Path) -> None:
    n = 50_000
    out = tmp_path / "big.xlsx"
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        written = write_xlsx(out, make_summary(n, original_columns=["Company", "Email"]),
                             _synthetic(n))
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert written == n
    assert peak < 60 * 1024 * 1024, f"peak growth {peak / 1e6:.1f} MB"
    wb = load_workbook(out, read_only=True)
    try:
        assert wb["Leads"].max_row == n + 1
        assert wb["Duplicates"].max_row == 1 + 2_000  # 4 in every 100 rows are in clusters
    finally:
        wb.close()


def test_rich_string_markup_is_kept_as_text(tmp_path: Path) -> None:
    """xlsxwriter passes '<r>…</r>' through unescaped in constant_memory mode; we must not."""
    markup = "<r><t>pwned</t></r>"
    lead = make_lead(1)
    lead.raw["<r>col</r>"] = markup
    lead.fields["company"] = markup
    out = tmp_path / "markup.xlsx"
    write_xlsx(out, make_summary(1, original_columns=["<r>col</r>"]), [lead])
    wb = load_workbook(out)
    assert wb["Leads"]["A1"].value == "<r>col</r>"
    assert wb["Leads"]["A2"].value == markup
    assert wb["Classification"]["B2"].value == markup


def test_contact_error_already_in_row_errors_is_listed_once(tmp_path: Path) -> None:
    lead = make_lead(9, row_errors=["E-mail: The email address is not valid. It must have an @."])
    lead.contact["email_error"] = "The email address is not valid"
    lead.contact["phone_error"] = "not a valid number for region DE"
    out = tmp_path / "errs.xlsx"
    write_xlsx(out, make_summary(1), [lead])
    wb = load_workbook(out)
    assert rows(wb["Errors"])[1:] == [
        (9, "Müller & Söhne 9 GmbH", "row",
         "E-mail: The email address is not valid. It must have an @."),
        (9, "Müller & Söhne 9 GmbH", "phone", "not a valid number for region DE"),
    ]
    assert as_dicts(wb["Leads"])[0]["row errors"] == (
        "E-mail: The email address is not valid. It must have an @.; "
        "phone: not a valid number for region DE"
    )
