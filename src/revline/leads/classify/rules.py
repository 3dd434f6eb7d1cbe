"""Exact layer: dictionary categories and weighted keywords in name, category, text and domain."""

from __future__ import annotations

import re
from typing import NamedTuple

from revline.leads.classify.dictionary import VerticalDictionary, normalize

_CATEGORY_SPLIT = re.compile(r"[,;|/>]+")
HEAD_BONUS = 0.5
_DOMAIN_TAIL = re.compile(r"\.[a-z]{2,}(\.[a-z]{2})?$")


class Match(NamedTuple):
    """A layer's answer for one item: vertical, confidence 0..1 and a human-readable why."""

    vertical: str
    confidence: float
    evidence: str


def category_parts(category: str) -> list[str]:
    """Normalized category plus its parts: sources join several ("Dentist, Orthodontist")."""
    full = normalize(category)
    if not full:
        return []
    parts = [full]
    if _CATEGORY_SPLIT.search(category):
        for piece in _CATEGORY_SPLIT.split(category):
            norm = normalize(piece)
            if norm and norm not in parts:
                parts.append(norm)
    return parts


def match_category(d: VerticalDictionary, category: str) -> Match | None:
    """Exact dictionary match of the category, or with less confidence of one of its parts."""
    for i, part in enumerate(category_parts(category)):
        vertical = d.category_index.get(part)
        if vertical is not None:
            conf = 0.97 if i == 0 else 0.9
            return Match(vertical, conf, f"category '{part}'")
    return None


def domain_label(domain: str) -> str:
    """Registrable label of a domain without TLD ("www.smithdental.co.uk" -> "smithdental")."""
    host = domain.strip().lower()
    if "://" in host:
        host = host.split("://", 1)[1]
    host = host.split("/", 1)[0].split(":", 1)[0]
    if host.startswith("www."):
        host = host[4:]
    host = _DOMAIN_TAIL.sub("", host)
    return host.rsplit(".", 1)[-1].replace("-", "")


def match_keywords(
    d: VerticalDictionary, name: str, category: str, text: str, domain: str
) -> Match | None:
    """Weighted keyword vote across fields; the best vertical wins if it reaches min_score."""
    scores: dict[str, float] = {}
    hits: dict[str, list[tuple[float, str]]] = {}
    fw = d.field_weights
    index = d.keyword_index
    max_n = d.max_ngram
    fields = (
        ("name", normalize(name)),
        ("category", normalize(category)),
        ("text", normalize(text[: d.text_max_chars]) if text else ""),
    )
    for fname, value in fields:
        mult = fw.get(fname, 0.0)
        if not value or mult == 0.0:
            continue
        seen: set[str] = set()
        last_hit = ""
        tokens = value.split()
        count = len(tokens)
        for i in range(count):
            for n in range(1, max_n + 1):
                if i + n > count:
                    break
                gram = tokens[i] if n == 1 else " ".join(tokens[i : i + n])
                entries = index.get(gram)
                if entries is None:
                    continue
                for vertical, weight, base in entries:
                    key = vertical + "\0" + base
                    if key in seen:
                        continue
                    seen.add(key)
                    pts = weight * mult
                    scores[vertical] = scores.get(vertical, 0.0) + pts
                    hits.setdefault(vertical, []).append((pts, f"{fname} '{base}'"))
                    if weight > 0:
                        last_hit = vertical
        if fname == "name" and last_hit and scores[last_hit] >= d.min_score:
            # English business names end with what the business is ("Smith Dental Marketing"
            # is an agency): the right-most decisive name keyword breaks ties.
            scores[last_hit] += HEAD_BONUS
    mult = fw.get("domain", 0.0)
    label = domain_label(domain) if domain and mult else ""
    if label:
        for word, vertical, weight in d.domain_words:
            if word in label:
                pts = weight * mult
                scores[vertical] = scores.get(vertical, 0.0) + pts
                hits.setdefault(vertical, []).append((pts, f"domain '{word}'"))
    if not scores:
        return None
    order = {k: i for i, k in enumerate(d.verticals)}
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], order[kv[0]]))
    best, top = ranked[0]
    if top < d.min_score:
        return None
    second = max(ranked[1][1], 0.0) if len(ranked) > 1 else 0.0
    strength = min(1.0, top / d.strong_score)
    margin = (top - second) / top
    confidence = round((0.55 + 0.4 * strength) * (0.7 + 0.3 * margin), 3)
    top_hits = sorted(hits[best], key=lambda h: -h[0])[:4]
    evidence = "keywords: " + ", ".join(f"{label_} {pts:+.2g}" for pts, label_ in top_hits)
    if second > 0:
        evidence += f" (runner-up {ranked[1][0]} {second:.2g})"
    return Match(best, confidence, evidence)
