"""The quality score of a generated workflow (0-100) and the coverage checks behind it.

    score = 100 * (0.5 * validity + 0.3 * coverage + 0.2 * assessment)
    score = 100 * (0.6 * validity + 0.4 * coverage)            (no assessment: retrieval, edits)

- validity: 0 with any validator error; otherwise 1 - 0.1 per warning, at least 0.5.
- coverage: the share of the requirement's atomic requirements the workflow covers. With an
  LLM, the quality step judges each one and names the nodes that cover it; a claim that
  names no node of the final graph does not count. Without one (or when the quality step
  did not judge), a requirement counts as covered when at least 40% of its content words
  (stems) appear in the text of the workflow's nodes: titles, prompts, instructions, code
  and URLs (not the app's name or description, which echo the requirement).
- assessment: the quality step's own 0-1 judgement of fitness.
An invalid workflow is capped at 40, so it never outranks a valid one.
"""

from __future__ import annotations

import re
from typing import Any

from revline.workflows.generator.slots import EMAIL_RE, URL_RE, words
from revline.workflows.generator.types import Coverage, Quality

INVALID_CAP = 40.0
LEXICAL_THRESHOLD = 0.4
_STOP = frozenset("""
a an the and or but if then else when while for to of in on at by with from into onto over
under is are was were be been being it its this that these those there here we our you your
they their them he she his her i me my can could should would will shall may might must do
does did done have has had get gets got make makes made use uses using used via per each
every all any some more most less least very just also only not no yes so such than too out
up down off about above below between through during before after again once new want need
needs wants like please workflow app dify build create generate which what who whom whose
""".split())


def stem(word: str) -> str:
    """A crude stem: the first five letters (enough to match plural and verb forms)."""
    return word[:5]


def content_stems(text: str) -> set[str]:
    """Stems of the content words of a text; a URL or email address is one word.

    Whole, because slot filling copies them from the requirement into the graph verbatim:
    split into words, one copied URL would "cover" several of the requirement's words.
    """
    found: set[str] = set()

    def whole(match: re.Match[str]) -> str:
        found.add(match.group(0).lower().rstrip(".,;:!?"))
        return " "

    rest = EMAIL_RE.sub(whole, URL_RE.sub(whole, text))
    return found | {stem(w) for w in words(rest)
                    if len(w) > 2 and w not in _STOP and not w.isdigit()}


def split_requirements(text: str) -> list[str]:
    """Atomic requirements of a free-text requirement: sentences and `;`/bullet clauses."""
    parts = re.split(r"(?:[.!?](?:\s+|$))|[;\n]|\s+-\s+|\s*\u2022\s*|,?\s+and then\s+", text)
    out = [p.strip(" -*\t,") for p in parts if p and len(content_stems(p)) >= 2]
    return out or [text.strip()]


def graph_text(document: dict[str, Any] | None) -> str:
    """The words a workflow's nodes show: every string in node data.

    Not the app's name or description: generation writes those from the requirement itself,
    so counting them would mark every requirement covered whatever the graph does.
    """
    chunks: list[str] = []
    if isinstance(document, dict):
        graph = (document.get("workflow") or {}).get("graph") or {}
        stack: list[Any] = [n.get("data") for n in graph.get("nodes") or [] if isinstance(n, dict)]
        while stack:
            value = stack.pop()
            if isinstance(value, dict):
                stack.extend(value.values())
            elif isinstance(value, list):
                stack.extend(value)
            elif isinstance(value, str):
                chunks.append(value)  # words() splits snake_case; URLs must stay whole
    return "\n".join(chunks)


def lexical_coverage(requirements: list[str], text: str) -> tuple[list[str], list[str]]:
    """(covered, uncovered) requirements by content-word overlap with the workflow text."""
    present = content_stems(text)
    covered: list[str] = []
    uncovered: list[str] = []
    for requirement in requirements:
        stems = content_stems(requirement)
        share = len(stems & present) / len(stems) if stems else 1.0
        (covered if share >= LEXICAL_THRESHOLD else uncovered).append(requirement)
    return covered, uncovered


def judged_coverage(
    requirements: dict[str, str], judged: list[Coverage], node_ids: set[str]
) -> tuple[list[str], list[str]]:
    """(covered, uncovered) from the quality step, counting only claims backed by real nodes."""
    verdict = {c.requirement_id: c for c in judged}
    covered: list[str] = []
    uncovered: list[str] = []
    for rid, text in requirements.items():
        claim = verdict.get(rid)
        # A claim must name at least one node of the final graph: "covered" alone is the
        # model's word for it, which this score exists to check.
        backed = claim is not None and claim.covered and any(
            n in node_ids for n in claim.node_ids)
        (covered if backed else uncovered).append(text)
    return covered, uncovered


def validity(errors: int, warnings: int) -> float:
    """1 for a clean DSL, minus 0.1 per warning (floor 0.5); 0 with any error."""
    if errors:
        return 0.0
    return max(0.5, 1.0 - 0.1 * warnings)


def score(
    *,
    errors: int,
    warnings: int,
    covered: list[str],
    uncovered: list[str],
    assessment: float | None,
    coverage_method: str,
    issues: list[str] | None = None,
) -> Quality:
    """Combine validity, coverage and the assessment into the 0-100 quality score."""
    total = len(covered) + len(uncovered)
    coverage = len(covered) / total if total else 1.0
    valid_part = validity(errors, warnings)
    if assessment is None:
        raw = 100 * (0.6 * valid_part + 0.4 * coverage)
    else:
        raw = 100 * (0.5 * valid_part + 0.3 * coverage + 0.2 * assessment)
    if errors:
        raw = min(raw, INVALID_CAP)
    return Quality(
        score=round(raw, 1), validity=round(valid_part, 3), coverage=round(coverage, 3),
        assessment=None if assessment is None else round(assessment, 3), errors=errors,
        warnings=warnings, covered=covered, uncovered=uncovered,
        coverage_method=coverage_method, issues=list(issues or []),
    )
