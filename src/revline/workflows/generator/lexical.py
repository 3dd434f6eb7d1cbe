"""Keyword ranking for small sets (node templates; patterns when vector search is down)."""

from __future__ import annotations

import math
from collections import Counter

from revline.workflows.generator.scoring import content_stems


def rank(query: str, documents: list[tuple[str, str]], k: int) -> list[tuple[str, float]]:
    """Top-k (key, score) by idf-weighted overlap of content stems; zero scores are dropped."""
    wanted = content_stems(query)
    if not wanted or not documents:
        return []
    stems = {key: content_stems(text) for key, text in documents}
    df = Counter(s for doc in stems.values() for s in doc)
    n = len(documents)
    scored = []
    for key, doc in stems.items():
        shared = wanted & doc
        if not shared:
            continue
        value = sum(math.log(1 + n / df[s]) for s in shared) / math.sqrt(len(doc) or 1)
        scored.append((key, round(value, 6)))
    scored.sort(key=lambda item: (-item[1], item[0]))
    return scored[:k]
