"""Single-file HTML run report: inline SVG charts and CSS, no network needed to open it.

Chart geometry is computed here; the template only draws it, with autoescape on, so every
piece of user data (file names, verticals, notes) is escaped on the way out.
"""

from __future__ import annotations

import os
import statistics
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from revline.leads.dedupe.sheets import summary_rows as dedupe_rows
from revline.leads.schemas import RunSummary

TIER_COLORS: dict[str, str] = {"A": "#2E7D32", "B": "#1E88E5", "C": "#F9A825", "D": "#9E9E9E"}
LAYER_COLORS: dict[str, str] = {
    "rules": "#1F3A5F", "fuzzy": "#3F7CAC", "llm": "#8E5BB5", "none": "#C9CED6",
}
PALETTE: tuple[str, ...] = ("#3F7CAC", "#2E7D5B", "#C77C2E", "#8E5BB5", "#B5475B", "#4E9A9A")
STATUS_COLORS: dict[str, str] = {
    "ok": "#2E7D5B", "offline": "#9E9E9E", "no_website": "#C9CED6", "none": "#C9CED6",
}
TIER_HELP: dict[int, str] = {
    1: "homepage facts", 2: "homepage facts + site audit", 3: "site audit + SEO crawl",
}
HIST_BINS = 10
TOP_VERTICALS = 10
LABEL_CHARS = 22


@dataclass(frozen=True)
class Bar:
    """One drawn bar: geometry in SVG units plus its labels."""

    label: str
    short_label: str
    value: int
    text: str
    color: str
    x: float
    y: float
    w: float
    h: float


@dataclass
class Chart:
    """An inline SVG chart ready to draw."""

    kind: str  # "vbar" | "hbar" | "stack"
    width: int
    height: int
    bars: list[Bar]
    label_x: float = 0.0
    track_x: float = 0.0
    track_w: float = 0.0
    axis: list[tuple[float, str]] = field(default_factory=list)  # (y, label) gridlines
    baseline: float = 0.0
    empty: bool = False


def _pct(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole else 0.0


def _fmt_pct(part: float, whole: float) -> str:
    pct = _pct(part, whole)
    if 0 < pct < 1:
        return "<1%"
    return f"{pct:.0f}%"


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def _nice_max(value: int) -> int:
    """Round an axis maximum up to a round number whose half is round too, so gridlines read."""
    if value <= 2:
        return 2
    step = 1
    while True:
        for m in (2, 3, 4, 5, 6, 8, 10):
            if step == 1 and m % 2:
                continue  # an odd maximum puts the middle gridline on a half
            if value <= m * step:
                return m * step
        step *= 10


def score_bins(scores: list[int]) -> list[int]:
    """Counts per 10-point score band (90-100 is the last band) for the histogram."""
    bins = [0] * HIST_BINS
    for score in scores:
        s = min(max(int(score), 0), 100)
        bins[min(s // 10, HIST_BINS - 1)] += 1
    return bins


def vbar_chart(items: list[tuple[str, int, str]], width: int = 560, height: int = 230) -> Chart:
    """Vertical bars (histogram, tiers): items are (label, value, color)."""
    left, right, top, bottom = 44.0, 8.0, 22.0, 28.0
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = _nice_max(max((v for _, v, _ in items), default=0))
    slot = plot_w / max(len(items), 1)
    bar_w = min(slot * 0.84, 72.0)
    total = sum(v for _, v, _ in items)
    bars = []
    for i, (label, value, color) in enumerate(items):
        h = plot_h * value / top_value
        bars.append(Bar(
            label=label, short_label=label, value=value,
            text=f"{value:,}" if value else "",
            color=color, x=round(left + i * slot + (slot - bar_w) / 2, 2),
            y=round(top + plot_h - h, 2), w=round(bar_w, 2), h=round(h, 2),
        ))
    axis = [
        (round(top + plot_h - plot_h * frac, 2), f"{round(top_value * frac):,}")
        for frac in (0.0, 0.5, 1.0)
    ]
    return Chart("vbar", width, height, bars, label_x=left - 6, axis=axis,
                 baseline=top + plot_h, empty=total == 0)


def hbar_chart(items: list[tuple[str, int, str]], whole: int, *, scale_to_whole: bool,
               width: int = 560) -> Chart:
    """Horizontal bars with a value and share label; scaled to the total or to the largest."""
    row_h, label_w, value_w = 26.0, 178.0, 92.0
    track_w = width - label_w - value_w
    scale = whole if scale_to_whole else max((v for _, v, _ in items), default=0)
    bars = []
    for i, (label, value, color) in enumerate(items):
        w = track_w * value / scale if scale else 0.0
        bars.append(Bar(
            label=label, short_label=_short(label), value=value,
            text=f"{value:,} · {_fmt_pct(value, whole)}",
            color=color, x=label_w, y=round(6 + i * row_h, 2), w=round(w, 2), h=row_h - 9,
        ))
    height = int(12 + row_h * max(len(items), 1))
    return Chart("hbar", width, height, bars, label_x=label_w - 8, track_x=label_w,
                 track_w=track_w, empty=not items)


def stack_chart(items: list[tuple[str, int, str]], width: int = 560) -> Chart:
    """One 100% bar split into segments (classification layers)."""
    total = sum(v for _, v, _ in items)
    bars, x = [], 0.0
    for label, value, color in items:
        if value <= 0:
            continue
        w = width * value / total
        bars.append(Bar(label=label, short_label=_short(label), value=value,
                        text=f"{_pct(value, total):.1f}%", color=color,
                        x=round(x, 2), y=0.0, w=round(w, 2), h=34.0))
        x += w
    return Chart("stack", width, 34, bars, empty=total == 0)


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _money(usd: float) -> str:
    return f"${usd:,.4f}" if 0 < usd < 0.01 else f"${usd:,.2f}"


def build_context(summary: RunSummary) -> dict[str, Any]:
    """Everything the template draws, precomputed and plain (kept separate for testing)."""
    total = summary.total or len(summary.scores)
    bins = score_bins(summary.scores)
    labels = [f"{i * 10}–{i * 10 + 9}" for i in range(HIST_BINS - 1)] + ["90–100"]
    hist_colors = ["#B5475B"] * 3 + ["#C77C2E"] * 3 + ["#3F7CAC"] * 2 + ["#2E7D5B"] * 2
    histogram = vbar_chart(list(zip(labels, bins, hist_colors, strict=True)))

    tiers = sorted(set(summary.tier_counts) | set(TIER_COLORS))
    tier_chart = vbar_chart(
        [(f"Tier {t}", summary.tier_counts.get(t, 0), TIER_COLORS.get(t, "#607D8B"))
         for t in tiers],
    )

    layer_order = [k for k in LAYER_COLORS if k in summary.layer_counts]
    layer_order += sorted(k for k in summary.layer_counts if k not in LAYER_COLORS)
    layer_items = [
        (k, summary.layer_counts[k], LAYER_COLORS.get(k, PALETTE[i % len(PALETTE)]))
        for i, k in enumerate(layer_order)
    ]
    layers = stack_chart(layer_items)

    top_verticals = sorted(summary.vertical_counts.items(), key=lambda kv: (-kv[1], kv[0]))
    verticals = hbar_chart(
        [(k, v, PALETTE[0]) for k, v in top_verticals[:TOP_VERTICALS]], total,
        scale_to_whole=False,
    )
    coverage = hbar_chart(
        [(k, v, PALETTE[1]) for k, v in summary.coverage.items()], total, scale_to_whole=True
    )
    statuses = sorted(summary.enrichment_status_counts.items(), key=lambda kv: (-kv[1], kv[0]))
    status_chart = hbar_chart(
        [(k, v, STATUS_COLORS.get(k, "#C77C2E")) for k, v in statuses], total,
        scale_to_whole=False,
    )

    scores = summary.scores
    tier_a = summary.tier_counts.get("A", 0)
    llm = summary.llm_calls > 0
    kpis = [
        {"label": "Leads", "value": f"{total:,}", "sub": _plural(
            len(summary.original_columns), "input column") + " kept"},
        {"label": "Rows with errors", "value": f"{summary.rows_with_errors:,}",
         "sub": f"{_fmt_pct(summary.rows_with_errors, total)} of leads"},
        {"label": "Duplicates", "value": f"{summary.duplicates:,}",
         "sub": "in " + _plural(summary.clusters, "cluster") + _uncertain(summary)},
        {"label": "Tier A leads", "value": f"{tier_a:,}",
         "sub": f"{_fmt_pct(tier_a, total)} of leads"},
        {"label": "LLM cost", "value": _money(summary.llm_cost_usd) if llm else "$0",
         "sub": f"{summary.llm_calls:,} calls" if llm else "no LLM configured"},
    ]
    per_lead = summary.llm_cost_usd / total if total else 0.0
    return {
        "s": summary,
        "title": f"Lead run report: {Path(summary.input_path).name or summary.input_path}",
        "input_name": Path(summary.input_path).name or summary.input_path,
        "total": total,
        "tier_help": TIER_HELP.get(summary.tier, ""),
        "duration": _duration(summary.duration_s),
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "kpis": kpis,
        "histogram": histogram,
        "score_stats": {
            "median": f"{statistics.median(scores):.0f}" if scores else "–",
            "mean": f"{statistics.fmean(scores):.1f}" if scores else "–",
        },
        "tiers": tier_chart,
        "layers": layers,
        "layer_legend": [
            (b.label, b.color, f"{b.value:,}", b.text) for b in layers.bars
        ],
        "verticals": verticals,
        "vertical_more": max(0, len(top_verticals) - TOP_VERTICALS),
        "coverage": coverage,
        "statuses": status_chart,
        "llm": llm,
        "llm_cost": _money(summary.llm_cost_usd),
        "llm_per_1k": _money(per_lead * 1000),
        "notes": list(summary.notes),
        "dedupe": [(label, _figure(value)) for label, value in dedupe_rows(summary)],
    }


def _uncertain(summary: RunSummary) -> str:
    n = int(summary.dedupe.get("uncertain_pairs") or 0)
    return f", {_plural(n, 'uncertain pair')}" if n else ""


def _figure(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("revline.leads", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_report(summary: RunSummary) -> str:
    """The report as one self-contained HTML string."""
    return _environment().get_template("report.html.j2").render(**build_context(summary))


def write_report(path: Path, summary: RunSummary) -> None:
    """Write the HTML report atomically, so a crash never leaves a half-written page."""
    path = Path(path)
    html = render_report(summary)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(html)
        os.chmod(tmp_name, 0o644)  # mkstemp makes 0600; the report is meant to be shared
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
