"""HTML run report: self-contained, escaped, well-formed, and the charts draw the real numbers."""

from __future__ import annotations

import os
import re
import statistics
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from revline.leads.report import render_report, score_bins, write_report
from revline.leads.schemas import RunSummary

XSS = "<script>alert(1)</script>"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class Page(HTMLParser):
    """Collects tags, attributes, per-section SVG bars and checks that tags nest properly."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.section: str | None = None
        self.svgs: dict[str, list[dict[str, str | None]]] = {}
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "section" and a.get("id"):
            self.section = a["id"]
        if tag == "svg":
            assert self.section is not None
            self.svgs.setdefault(self.section, [])
        if tag == "rect" and "bar" in (a.get("class") or "").split():
            assert self.section is not None
            self.svgs[self.section].append(a)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def make_summary(**over: Any) -> RunSummary:
    summary = RunSummary(
        run_id="3f2c7a9e-1b4d-4e8a-9c1f-0d2e3a4b5c6d",
        input_path=f"/home/ana/leads/spring {XSS}.csv",
        tier=2,
        original_columns=["Company", "Email", "Phone", "Website"],
        total=20,
        rows_with_errors=3,
        duration_s=754.2,
        layer_counts={"rules": 12, "fuzzy": 5, "llm": 2, "none": 1},
        tier_counts={"A": 4, "B": 6, "C": 7, "D": 3},
        vertical_counts={"plumbing": 7, "dental": 5, f"cafés {XSS}": 3, "roofing": 2,
                         "law": 1, "hvac": 1},
        scores=[0, 5, 12, 25, 33, 38, 41, 45, 47, 52, 55, 58, 61, 64, 72, 77, 85, 91, 99, 100],
        enrichment_status_counts={"ok": 14, "timeout": 3, "no_website": 3},
        coverage={"valid email": 15, "valid phone": 12, "website reached": 14, "page title": 13,
                  "social links": 6, "site audit": 14, "SEO audit": 0},
        duplicates=2,
        clusters=18,
        llm_calls=7,
        llm_cost_usd=0.3821,
        notes=[f"Row 7: company was {XSS}", "See https://docs.example.org/offline for help"],
    )
    for key, value in over.items():
        setattr(summary, key, value)
    return summary


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


@pytest.fixture
def written(tmp_path: Path) -> tuple[Path, str, Page]:
    out = tmp_path / "reports" / "leads.enriched.html"
    write_report(out, make_summary())
    html = out.read_text(encoding="utf-8")
    return out, html, parse(html)


def test_file_is_well_formed_html(written: tuple[Path, str, Page]) -> None:
    out, html, page = written
    assert html.startswith("<!DOCTYPE html>")
    assert page.errors == []
    assert page.stack == []  # every opened tag was closed
    assert [t for t, _ in page.tags].count("html") == 1
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temp file left


def test_svgs_are_well_formed_xml(written: tuple[Path, str, Page]) -> None:
    _, html, _ = written
    chunks = re.findall(r"<svg\b.*?</svg>", html, flags=re.S)
    assert len(chunks) == 6
    for chunk in chunks:
        root = ET.fromstring(chunk)
        assert root.tag == "svg"
        assert root.get("viewBox")


def test_charts_have_one_bar_per_value(written: tuple[Path, str, Page]) -> None:
    _, _, page = written
    bars = page.svgs
    assert len(bars["scores"]) == 10
    assert len(bars["tiers"]) == 4
    assert len(bars["layers"]) == 4
    assert len(bars["verticals"]) == 6
    assert len(bars["coverage"]) == 7
    assert len(bars["status"]) == 3


def test_bar_sizes_follow_the_data(written: tuple[Path, str, Page]) -> None:
    _, _, page = written
    bins = score_bins(make_summary().scores)
    heights = [float(b["height"] or 0) for b in page.svgs["scores"]]
    assert heights.index(max(heights)) == bins.index(max(bins))
    for count, h in zip(bins, heights, strict=True):
        assert (h == 0) == (count == 0)
    tier_heights = [float(b["height"] or 0) for b in page.svgs["tiers"]]
    assert tier_heights[2] == max(tier_heights)  # C has the most leads (7)
    stack = [float(b["width"] or 0) for b in page.svgs["layers"]]
    assert sum(stack) == pytest.approx(560, abs=0.1)
    assert stack[0] == pytest.approx(560 * 12 / 20, abs=0.1)  # rules: 60%
    coverage = {float(b["width"] or 0) for b in page.svgs["coverage"]}
    assert 0.0 in coverage  # SEO audit: 0 leads draws an empty bar


def test_user_data_is_escaped(written: tuple[Path, str, Page]) -> None:
    _, html, page = written
    assert XSS not in html
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    text = "".join(page.text)
    assert f"Row 7: company was {XSS}" in text  # shown to the reader as text
    assert not any(tag == "script" for tag, _ in page.tags)


def test_no_external_resources(written: tuple[Path, str, Page]) -> None:
    _, html, page = written
    for tag, attrs in page.tags:
        assert tag not in {"link", "script", "img", "iframe", "object", "embed"}, tag
        for name, value in attrs.items():
            assert "http" not in (value or "").lower(), (tag, name, value)
            assert not (value or "").startswith("//"), (tag, name, value)
    assert "@import" not in html
    assert "url(" not in html
    # The only URL in the page is the one a note (user data) mentions.
    assert re.findall(r"https?://[^\s<\"']+", html) == ["https://docs.example.org/offline"]


def test_header_and_kpis(written: tuple[Path, str, Page]) -> None:
    _, _, page = written
    text = " ".join(" ".join(page.text).split())
    assert "3f2c7a9e-1b4d-4e8a-9c1f-0d2e3a4b5c6d" in text
    assert "Tier 2 (homepage facts + site audit)" in text
    assert "12 min 34 s" in text
    assert "Online run" in text
    assert "Leads 20" in text
    assert "Rows with errors 3 15% of leads" in text
    assert "Duplicates 2 in 18 clusters" in text
    assert "Tier A leads 4 20% of leads" in text
    assert "LLM cost $0.38 7 calls" in text
    scores = make_summary().scores
    assert f"median {statistics.median(scores):.0f}, mean {statistics.fmean(scores):.1f}" in text


def test_costs_without_llm_and_offline(tmp_path: Path) -> None:
    html = render_report(make_summary(llm_calls=0, llm_cost_usd=0.0, offline=True, notes=[]))
    text = " ".join(" ".join(parse(html).text).split())
    assert "No LLM configured" in text
    assert "no LLM configured" in text  # KPI card
    assert "Offline run: websites not fetched" in text
    assert "Nothing to report" in text


def test_empty_run_renders(tmp_path: Path) -> None:
    summary = RunSummary(run_id="r0", input_path="empty.csv", tier=1, original_columns=["A"])
    out = tmp_path / "empty.html"
    write_report(out, summary)
    page = parse(out.read_text(encoding="utf-8"))
    assert page.errors == []
    assert "tiers" not in page.svgs  # "No data" instead of an empty chart
    assert "No data for this chart." in "".join(page.text)


def test_score_bins_clamp_and_edges() -> None:
    assert score_bins([0, 9, 10, 19, 89, 90, 99, 100, 105, -3]) == [3, 2, 0, 0, 0, 0, 0, 0, 1, 4]
    assert sum(score_bins(list(range(101)))) == 101


def test_failed_write_keeps_previous_report(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "r.html"
    out.write_text("previous", encoding="utf-8")

    def disk_full(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_report(out, make_summary())
    assert out.read_text(encoding="utf-8") == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # temp file removed
