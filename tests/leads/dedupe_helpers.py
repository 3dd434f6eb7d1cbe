"""Shared builders for the dedupe tests: unique background leads and cluster views."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from revline.leads.dedupe.keys import DedupeRecord

_SYL = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
_WORDS = ("Dental", "Plumbing", "Roofing", "Bakery", "Law Group", "Realty", "Auto", "Salon")
_FIRST = ("Ann", "Bob", "Carla", "Dmitri", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas")
_LAST = ("Alvarez", "Brooks", "Chen", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad")


def background(n: int, seed: int = 1) -> list[DedupeRecord]:
    """n leads that are all different businesses and people (so the prior is realistic)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        brand = "".join(rng.choice(_SYL) for _ in range(3)).capitalize()
        company = f"{brand} {rng.choice(_WORDS)}"
        slug = company.lower().replace(" ", "")
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        out.append(DedupeRecord(
            id=f"bg{i}", company=company, name=f"{first} {last} {brand}",
            email=f"{first.lower()}@{slug}.com", phone_e164=f"+1212{7000000 + i:07d}",
            domain=f"{slug}.com", city=rng.choice(("Austin", "Denver", "Boston", "Tampa")),
        ))
    return out


def groups(clusters: Mapping[str, Mapping[str, Any]], prefix: str = "") -> set[frozenset[str]]:
    """Clusters (of records whose id starts with prefix) as a set of id sets."""
    by: dict[str, set[str]] = {}
    for rid, info in clusters.items():
        if rid.startswith(prefix):
            by.setdefault(str(info["cluster_id"]), set()).add(rid)
    return {frozenset(g) for g in by.values()}
