"""Enriched XLSX export: streams any number of leads with flat memory and writes atomically.

xlsxwriter's constant_memory mode flushes each row as soon as the next one starts, so every
sheet is written strictly row by row (each sheet keeps its own row counter). Dict-shaped sheets
take their columns from documented key lists plus extra keys seen in the first leads; keys that
only show up later land in an "other fields" column instead of being dropped.
"""

from __future__ import annotations

import itertools
import math
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xlsxwriter

from revline.kernel.errors import InvalidInput
from revline.leads.dedupe import sheets as dedupe_sheets
from revline.leads.dedupe.sheets import DUPLICATE_COLUMNS, GOLDEN_COLUMNS
from revline.leads.schemas import LeadResult, RunSummary

# Excel limits: 32,767 chars per cell (we keep a margin), 1,048,576 rows per sheet.
MAX_CELL_CHARS = 32_000
MAX_SHEET_ROWS = 1_048_576
PEEK_LEADS = 200
MAX_COL_WIDTH = 60
WIDTH_SAMPLE_ROWS = 2_000
TRUNCATED_MARK = " …[truncated]"

# Keys each stage writes (see schemas.LeadResult); the order here is the column order.
CONTACT_KEYS: tuple[str, ...] = (
    "email_normalized", "email_valid", "email_error", "email_disposable", "email_role",
    "email_free", "email_domain", "phone_e164", "phone_valid", "phone_type", "phone_region",
    "phone_error", "domain", "domain_source", "website_url",
)
ENRICHMENT_KEYS: tuple[str, ...] = (
    "status", "error", "final_url", "http_status", "title", "meta_description", "language",
    "emails", "phones", "social", "structured_types",
)
# Nested enrichment dicts that get their own sheets instead of Website columns.
NESTED_ENRICHMENT: tuple[str, ...] = ("audit", "seo", "mockup")
AUDIT_KEYS: tuple[str, ...] = (
    "https", "load_ms", "page_bytes", "mobile_viewport", "has_favicon", "images",
    "images_without_alt", "broken_links", "score",
)
SEO_KEYS: tuple[str, ...] = (
    "pages_crawled", "missing_titles", "missing_descriptions", "duplicate_titles", "h1_count",
    "sitemap", "robots_txt", "canonical", "score",
)
CLASSIFICATION_COLUMNS: tuple[str, ...] = (
    "row_index", "company", "vertical", "layer", "confidence", "evidence",
)
ERROR_COLUMNS: tuple[str, ...] = ("row_index", "company", "source", "error")
ENRICHED_HEADERS: tuple[str, ...] = (
    "score", "tier", "vertical", "classification layer", "classification confidence",
    "score reasons", "email (normalized)", "email valid", "phone (E.164)", "domain",
    "website status", "website title", "cluster id", "duplicate", "row errors",
)
OTHER_COLUMN = "other fields"
TIER_FILLS: dict[str, str] = {"A": "#C6EFCE", "B": "#DDEBF7", "C": "#FFEB9C", "D": "#E7E6E6"}

Cell = str | int | float | bool | None


def cell_value(value: Any) -> Cell:
    """Coerce anything into a value Excel can hold, without losing what a reader needs."""
    if isinstance(value, str):
        return value if len(value) <= MAX_CELL_CHARS else _clip(value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        # Excel keeps 15 significant digits; bigger ints (IDs, phone numbers) stay exact as text.
        return value if abs(value) < 2**53 else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return _clip("; ".join(f"{k}: {_flat(v)}" for k, v in value.items()))
    if isinstance(value, list | tuple | set | frozenset):
        items = list(value)
        if items and all(isinstance(i, Mapping) for i in items):
            return len(items)  # lists of records (pages, links): the count is what fits a cell
        return _clip(", ".join(_flat(i) for i in items if i is not None))
    return _clip(str(value))


def _flat(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_flat(v)}" for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(_flat(i) for i in value if i is not None)
    return "" if value is None else str(value)


def _clip(text: str) -> str:
    if len(text) <= MAX_CELL_CHARS:
        return text
    return text[: MAX_CELL_CHARS - len(TRUNCATED_MARK)] + TRUNCATED_MARK


def _yes_no(value: Any) -> str:
    return "" if value is None else ("yes" if value else "no")


def _write_text(ws: Any, row: int, col: int, text: str, fmt: Any) -> None:
    """Write text as text: never a formula, number or URL, and never raw XML."""
    if text.startswith("<r>") and text.endswith("</r>"):
        # In constant_memory mode xlsxwriter copies such strings into the XML unescaped (its
        # rich-string marker); as plain fragments of a rich string they are escaped instead.
        parts = (text[:1], text[1:2], text[2:])
        ws.write_rich_string(row, col, *parts, *((fmt,) if fmt is not None else ()))
    else:
        ws.write_string(row, col, text, fmt)


@dataclass
class _Sheet:
    """One worksheet plus its own row counter and observed column widths."""

    ws: Any
    columns: list[str]
    header_fmt: Any
    row: int = 0
    widths: list[int] = field(default_factory=list)

    def start(self) -> None:
        self.widths = [min(MAX_COL_WIDTH, max(8, len(c) + 2)) for c in self.columns]
        for col, name in enumerate(self.columns):
            _write_text(self.ws, 0, col, name, self.header_fmt)
        self.ws.freeze_panes(1, 0)
        self.row = 1

    def write_row(self, values: Sequence[Any], formats: Mapping[int, Any] | None = None) -> None:
        row = self.row
        if row >= MAX_SHEET_ROWS:
            raise InvalidInput(
                f"too many rows for the {self.ws.get_name()!r} sheet (Excel allows "
                f"{MAX_SHEET_ROWS - 1:,}); split the input file"
            )
        ws, widths = self.ws, self.widths
        # Widths from the first rows are representative; measuring all 100k+ rows costs time.
        measure = row <= WIDTH_SAMPLE_ROWS
        for col, raw in enumerate(values):
            fmt = formats.get(col) if formats else None
            value = cell_value(raw)
            if value is None or value == "":
                if fmt is not None:
                    ws.write_blank(row, col, None, fmt)
                continue
            if value is True or value is False:
                ws.write_boolean(row, col, value, fmt)
                width = 6
            elif isinstance(value, str):
                _write_text(ws, row, col, value, fmt)
                width = len(value)
            else:
                ws.write_number(row, col, value, fmt)
                width = len(str(value))
            if measure and width + 2 > widths[col]:
                widths[col] = min(MAX_COL_WIDTH, width + 2)
        self.row = row + 1

    def finish(self, filter_rows: bool = True) -> None:
        for col, width in enumerate(self.widths):
            self.ws.set_column(col, col, width)
        if filter_rows and self.columns:
            self.ws.autofilter(0, 0, max(self.row - 1, 0), len(self.columns) - 1)


@dataclass
class _DictSheet:
    """A sheet built from one dict per lead: fixed columns, late keys folded into 'other'."""

    name: str
    keys: list[str]
    skip: frozenset[str] = frozenset()
    sheet: _Sheet | None = None

    def values(self, lead: LeadResult, data: Mapping[str, Any]) -> list[Any]:
        known = set(self.keys) | self.skip
        other = {k: v for k, v in data.items() if k not in known}
        return [
            lead.row_index,
            lead.fields.get("company", ""),
            *(data.get(k) for k in self.keys),
            "; ".join(f"{k}: {_flat(v)}" for k, v in other.items()),
        ]


def _columns(known: Sequence[str], sample: Iterable[Mapping[str, Any]], skip: Iterable[str] = ()
             ) -> list[str]:
    cols = list(known)
    seen = set(cols) | set(skip)
    for data in sample:
        for key in data:
            if key not in seen:
                seen.add(key)
                cols.append(key)
    return cols


def _nested(lead: LeadResult, key: str) -> Any:
    return lead.enrichment.get(key) if isinstance(lead.enrichment, Mapping) else None


def _lead_errors(lead: LeadResult) -> list[tuple[str, str]]:
    errors = [("row", str(e)) for e in lead.row_errors]
    for source in ("email", "phone"):
        message = str(lead.contact.get(f"{source}_error") or "").strip().rstrip(".")
        # Validation usually records the same problem as a row error already; say it once.
        if message and not any(message in text for _, text in errors):
            errors.append((source, message))
    return errors


def _leads_row(lead: LeadResult, original: Sequence[str]) -> list[Any]:
    c, s, k, e, cl = lead.contact, lead.score, lead.classification, lead.enrichment, lead.cluster
    reasons = s.get("reasons")
    score = s.get("score")
    return [
        *(lead.raw.get(col, "") for col in original),
        score if isinstance(score, int | float) and not isinstance(score, bool) else None,
        s.get("tier") or "",
        k.get("vertical") or "",
        k.get("layer") or "",
        k.get("confidence"),
        "; ".join(str(r) for r in reasons) if isinstance(reasons, list) else reasons,
        c.get("email_normalized") or "",
        _yes_no(c.get("email_valid")),
        c.get("phone_e164") or "",
        c.get("domain") or "",
        e.get("status") or "",
        e.get("title") or "",
        cl.get("cluster_id") or "",
        "yes" if cl and not cl.get("is_primary", True) else "no",
        "; ".join(f"{src}: {msg}" if src != "row" else msg for src, msg in _lead_errors(lead)),
    ]


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def _summary_rows(summary: RunSummary, written: int) -> Iterator[tuple[str, Any, Any, bool]]:
    total = summary.total or written
    yield ("Run", None, None, True)
    yield ("run id", summary.run_id, None, False)
    yield ("input file", summary.input_path, None, False)
    yield ("enrichment tier", summary.tier, None, False)
    yield ("offline", "yes" if summary.offline else "no", None, False)
    yield ("duration (s)", round(summary.duration_s, 2), None, False)
    yield ("Totals", "count", "% of leads", True)
    yield ("leads", total, 100.0 if total else 0.0, False)
    yield ("rows written", written, None, False)
    errs = summary.rows_with_errors
    yield ("rows with errors", errs, _pct(errs, total), False)
    yield ("duplicates", summary.duplicates, _pct(summary.duplicates, total), False)
    yield ("clusters", summary.clusters, None, False)
    if summary.dedupe:
        yield ("Dedupe", None, None, True)
        for label, value in dedupe_sheets.summary_rows(summary):
            yield (label, value, None, False)
    yield ("Score tiers", "count", "% of leads", True)
    for tier in sorted(set(summary.tier_counts) | set("ABCD")):
        n = summary.tier_counts.get(tier, 0)
        yield (f"tier {tier}", n, _pct(n, total), False)
    yield ("Classification layers", "count", "% of leads", True)
    for layer, n in sorted(summary.layer_counts.items(), key=lambda kv: -kv[1]):
        yield (layer, n, _pct(n, total), False)
    yield ("Enrichment coverage", "leads", "% of leads", True)
    for name, n in summary.coverage.items():
        yield (name, n, _pct(n, total), False)
    yield ("Website status", "leads", "% of leads", True)
    for status, n in sorted(summary.enrichment_status_counts.items(), key=lambda kv: -kv[1]):
        yield (status, n, _pct(n, total), False)
    yield ("Top verticals", "leads", "% of leads", True)
    for vertical, n in sorted(summary.vertical_counts.items(), key=lambda kv: -kv[1])[:25]:
        yield (vertical, n, _pct(n, total), False)
    yield ("Costs", None, None, True)
    yield ("LLM calls", summary.llm_calls, None, False)
    yield ("LLM cost (USD)", round(summary.llm_cost_usd, 4), None, False)
    if summary.llm_calls == 0:
        yield ("LLM", "no LLM configured or used", None, False)
    if summary.notes:
        yield ("Notes", None, None, True)
        for note in summary.notes:
            yield ("note", note, None, False)


def write_xlsx(path: Path, summary: RunSummary, leads: Iterable[LeadResult]) -> int:
    """Write the enriched workbook atomically (never a half file) and return lead rows written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        written = _write(Path(tmp_name), summary, leads)
        os.chmod(tmp_name, 0o644)  # mkstemp makes 0600; the export is meant to be shared
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return written


def _write(target: Path, summary: RunSummary, leads: Iterable[LeadResult]) -> int:
    stream = iter(leads)
    head = list(itertools.islice(stream, PEEK_LEADS))
    all_leads = itertools.chain(head, stream)

    wb = xlsxwriter.Workbook(
        str(target),
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    try:
        return _fill(wb, summary, head, all_leads)
    finally:
        wb.close()


def _fill(
    wb: Any, summary: RunSummary, head: list[LeadResult], all_leads: Iterator[LeadResult]
) -> int:
    header = wb.add_format(
        {"bold": True, "bg_color": "#1F3A5F", "font_color": "#FFFFFF", "border": 1,
         "text_wrap": False, "valign": "vcenter"}
    )
    enriched_header = wb.add_format(
        {"bold": True, "bg_color": "#2E7D5B", "font_color": "#FFFFFF", "border": 1}
    )
    tier_fmt = {t: wb.add_format({"bg_color": color, "bold": True, "align": "center"})
                for t, color in TIER_FILLS.items()}
    score_fmt = wb.add_format({"num_format": "0"})
    conf_fmt = wb.add_format({"num_format": "0.00"})
    prob_fmt = wb.add_format({"num_format": "0.0000"})
    section_fmt = wb.add_format({"bold": True, "bg_color": "#DCE6F1"})
    pct_fmt = wb.add_format({"num_format": '0.0"%"'})
    wrap_fmt = wb.add_format({"text_wrap": True, "valign": "top"})

    original = list(summary.original_columns)
    leads_sheet = _Sheet(wb.add_worksheet("Leads"), [*original, *ENRICHED_HEADERS], header)
    leads_sheet.start()
    for col in range(len(original), len(leads_sheet.columns)):
        _write_text(leads_sheet.ws, 0, col, leads_sheet.columns[col], enriched_header)
    n_orig = len(original)
    score_col, tier_col, conf_col = n_orig, n_orig + 1, n_orig + 4

    def dict_sheet(name: str, keys: Sequence[str], sample: Iterable[Mapping[str, Any]],
                   skip: Iterable[str] = ()) -> _DictSheet:
        skip = frozenset(skip)
        return _DictSheet(name, _columns(keys, sample, skip), skip)

    def open_sheet(spec: _DictSheet) -> _Sheet:
        sheet = _Sheet(
            wb.add_worksheet(spec.name), ["row_index", "company", *spec.keys, OTHER_COLUMN], header
        )
        sheet.start()
        spec.sheet = sheet
        return sheet

    contacts = dict_sheet("Contacts", CONTACT_KEYS, (lead.contact for lead in head))
    website = dict_sheet(
        "Website", ENRICHMENT_KEYS, (lead.enrichment for lead in head), NESTED_ENRICHMENT
    )
    open_sheet(contacts)
    open_sheet(website)

    def nested_sample(key: str) -> list[Mapping[str, Any]]:
        return [v for lead in head if isinstance(v := _nested(lead, key), Mapping)]

    coverage = summary.coverage
    audit = dict_sheet("Audit", AUDIT_KEYS, nested_sample("audit"))
    seo = dict_sheet("SEO", SEO_KEYS, nested_sample("seo"))
    # Sheets for tier-2/3 data exist when the run says so or the first leads show it; if the
    # data only appears later, the sheet is opened then (at the end of the tab order).
    if nested_sample("audit") or coverage.get("site audit"):
        open_sheet(audit)
    if nested_sample("seo") or coverage.get("SEO audit"):
        open_sheet(seo)
    mockup: _Sheet | None = None

    def open_mockup() -> _Sheet:
        sheet = _Sheet(wb.add_worksheet("Mockup"), ["row_index", "company", "mockup brief"],
                       header)
        sheet.start()
        return sheet

    if any(_nested(lead, "mockup") for lead in head) or coverage.get("mockup"):
        mockup = open_mockup()
    classification = _Sheet(wb.add_worksheet("Classification"), list(CLASSIFICATION_COLUMNS),
                            header)
    classification.start()
    duplicates = _Sheet(wb.add_worksheet("Duplicates"), list(DUPLICATE_COLUMNS), header)
    duplicates.start()
    golden = _Sheet(wb.add_worksheet("Golden records"), list(GOLDEN_COLUMNS), header)
    golden.start()
    errors = _Sheet(wb.add_worksheet("Errors"), list(ERROR_COLUMNS), header)
    errors.start()
    summary_sheet = _Sheet(wb.add_worksheet("Summary"), ["metric", "value", "% of leads"], header)
    summary_sheet.start()

    dup_rows: list[tuple[Any, ...]] = []
    golden_rows: list[tuple[Any, ...]] = []
    written = 0
    for lead in all_leads:
        company = lead.fields.get("company", "")
        tier = str(lead.score.get("tier") or "")
        formats: dict[int, Any] = {score_col: score_fmt, conf_col: conf_fmt}
        if tier in tier_fmt:
            formats[tier_col] = tier_fmt[tier]
        leads_sheet.write_row(_leads_row(lead, original), formats)
        written += 1

        for spec, data in ((contacts, lead.contact), (website, lead.enrichment)):
            assert spec.sheet is not None
            spec.sheet.write_row(spec.values(lead, data if isinstance(data, Mapping) else {}))
        for spec, key in ((audit, "audit"), (seo, "seo")):
            nested = _nested(lead, key)
            if isinstance(nested, Mapping) and nested:
                target = spec.sheet or open_sheet(spec)
                target.write_row(spec.values(lead, nested))
        brief = _nested(lead, "mockup")
        if brief:
            mockup = mockup or open_mockup()
            mockup.write_row([lead.row_index, company, brief], {2: wrap_fmt})

        k = lead.classification
        classification.write_row(
            [lead.row_index, company, k.get("vertical"), k.get("layer"), k.get("confidence"),
             k.get("evidence")],
            {4: conf_fmt},
        )
        if (dup := dedupe_sheets.duplicate_row(lead)) is not None:
            dup_rows.append(dup)
        if (gold := dedupe_sheets.golden_row(lead)) is not None:
            golden_rows.append(gold)
        for source, message in _lead_errors(lead):
            errors.write_row([lead.row_index, company, source, message])

    dup_rows.sort(key=dedupe_sheets.duplicate_sort_key)
    for row in dup_rows:
        duplicates.write_row(row, {5: prob_fmt})
    golden_rows.sort(key=dedupe_sheets.golden_sort_key)
    for row in golden_rows:
        golden.write_row(row)

    for metric, value, pct, is_section in _summary_rows(summary, written):
        fmts = dict.fromkeys(range(3), section_fmt) if is_section else {2: pct_fmt}
        summary_sheet.write_row([metric, value, pct], fmts)

    leads_sheet.finish()
    for spec in (contacts, website, audit, seo):
        if spec.sheet is not None:
            spec.sheet.finish()
    if mockup is not None:
        mockup.finish()
        mockup.ws.set_column(2, 2, 100)
    for sheet in (classification, duplicates, golden, errors):
        sheet.finish()
    summary_sheet.finish(filter_rows=False)
    leads_sheet.ws.activate()
    return written
