"""Choosing a base pattern, and the retrieval mode: a workflow assembled without an LLM.

Retrieval mode takes the closest pattern (preferring one whose app mode matches what the
requirement asks for: a chat assistant or a run-once workflow), fills its slots with the
values the requirement states (see slots.py) and keeps each other slot's example. The
result is validated like any candidate; if a filled value makes it invalid, the slots are
filled one by one and any value that breaks the graph is left at its example.
"""

from __future__ import annotations

import re

from revline.workflows.generator.graph import Candidate, build_candidate, draft_from_graph
from revline.workflows.generator.slots import URL_RE, SlotFill, extract_slots, fill_graph
from revline.workflows.generator.types import PatternCandidate, TemplateCandidate

_CHAT = re.compile(
    r"\b(?:chat\s?bot|chatbot|chat assistant|chatflow|conversational|conversation|"
    r"assistant that answers|answers? (?:customer|user)s?'? questions|chat with|"
    r"live chat|support chat|multi-turn)\b", re.I)
_RUN = re.compile(
    r"\b(?:every (?:day|week|month|monday|tuesday|wednesday|thursday|friday|saturday|sunday)|"
    r"daily|weekly|monthly|webhook|batch|csv|spreadsheet|extract|report|returns?|outputs?)\b",
    re.I)


def infer_app_mode(text: str) -> str | None:
    """advanced-chat for a conversational assistant, workflow for a run, None when unclear."""
    chat, run = bool(_CHAT.search(text)), bool(_RUN.search(text))
    if chat and not run:
        return "advanced-chat"
    if run and not chat:
        return "workflow"
    return None


def choose_base(patterns: list[PatternCandidate], app_mode: str | None,
                preferred: str | None = None) -> PatternCandidate | None:
    """The named pattern if retrieved, else the best one of the wanted app mode, else the top."""
    if preferred:
        for pattern in patterns:
            if pattern.id == preferred:
                return pattern
    if app_mode is not None:
        # Within the top three only: a much weaker pattern of the right mode is not better.
        for pattern in patterns[:3]:
            if pattern.mode == app_mode:
                return pattern
    return patterns[0] if patterns else None


_DANGLING = frozenset({"a", "an", "the", "of", "from", "to", "for", "with", "and", "or", "in",
                       "on", "at", "by", "into", "that", "which", "who", "our", "your", "its"})


def title_of(requirement: str, fallback: str) -> str:
    """A short app name from the requirement's first clause."""
    # A clause ends at a newline or at . ; : followed by a space (not inside a URL or domain).
    first = re.split(r"\n|[.;:](?=\s|$)", requirement.strip(), maxsplit=1)[0].strip()
    url = URL_RE.search(first)
    first = first[:url.start()].strip() if url else first  # a name, not an address
    first = re.sub(r"^(?:please\s+)?(?:build|create|make|generate|design|i need|we need|"
                   r"i want|we want)\s+(?:me\s+|us\s+)?(?:an?\s+|the\s+)?", "", first,
                   flags=re.I)
    first = re.sub(r"^(?:an?|the)\s+", "", re.sub(r"\s+", " ", first), flags=re.I)
    if len(first) > 60:
        first = first[:61].rsplit(" ", 1)[0]
    words = first.split(" ")
    while words and words[-1].lower() in _DANGLING:
        words.pop()
    first = " ".join(words)
    if len(first) < 4:
        return fallback
    return first[:1].upper() + first[1:]


def assemble(requirement: str, base: PatternCandidate, name: str) -> tuple[Candidate,
                                                                             list[SlotFill],
                                                                             list[str]]:
    """Fill the base pattern's slots from the requirement and build the candidate.

    Returns the candidate, the fills kept and notes about fills that were dropped.
    """
    fills = list(extract_slots(requirement, base.slots).values())
    description = f"{base.description}\n\nGenerated for: {requirement}"
    notes: list[str] = []

    def build(kept: list[SlotFill]) -> Candidate:
        graph = fill_graph(base.graph, kept)
        return build_candidate(draft_from_graph(name, description, base.mode, graph), {})

    candidate = build(fills)
    if fills and not candidate.valid:
        kept: list[SlotFill] = []
        for fill in fills:
            trial = build([*kept, fill])
            if trial.valid:
                kept.append(fill)
            else:
                notes.append(f"slot {fill.name}: {fill.value!r} would make the workflow "
                             f"invalid; kept the example {fill.example!r}")
        fills = kept
        candidate = build(kept)
    return candidate, fills, notes


def template_note(templates: list[TemplateCandidate]) -> str | None:
    """Retrieval mode does not splice templates into a pattern; it names the ones that fit."""
    if not templates:
        return None
    names = ", ".join(t.template_id for t in templates)
    return f"node templates that may fit (add them in Dify, or generate with an LLM): {names}"
