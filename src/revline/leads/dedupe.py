"""First-version dedupe: exact blocking keys (email, phone, domain), fuzzy confirmation within a
block, union-find. Never compares all pairs, so 10k records cluster in well under a second.

Splink replaces this later ("Record linkage at scale"); keep the interface small.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz

from revline.kernel.errors import InvalidInput
from revline.leads.classify.dictionary import name_key, normalize
from revline.leads.validate import free_domains, is_role_local, registered_domain

GMAIL = frozenset({"gmail.com", "googlemail.com"})
PHONE_SIMILARITY = 85.0
DOMAIN_COMPANY_SIMILARITY = 90.0
ROLE_NAME_SIMILARITY = 85.0
ROLE_COMPANY_SIMILARITY = 90.0
# Above this many distinct names in one block, compare only sorted neighbours: a key shared by
# hundreds of different businesses (a call centre number) is weak evidence anyway.
MAX_PAIRWISE = 200
NEIGHBOUR_WINDOW = 3

# Domains many unrelated businesses share (site builders, directories, social networks):
# sharing one says nothing about being the same company.
SHARED_DOMAINS: frozenset[str] = frozenset(
    """
    facebook.com fb.com instagram.com linkedin.com twitter.com x.com youtube.com tiktok.com
    pinterest.com yelp.com google.com goo.gl business.site g.page wixsite.com wix.com
    squarespace.com godaddysites.com weebly.com wordpress.com blogspot.com linktr.ee
    yellowpages.com square.site myshopify.com shopify.com github.io netlify.app vercel.app
    tripadvisor.com nextdoor.com bbb.org angi.com angieslist.com homeadvisor.com thumbtack.com
    houzz.com zocdoc.com healthgrades.com opentable.com doordash.com ubereats.com grubhub.com
    booksy.com vagaro.com mindbodyonline.com calendly.com etsy.com amazon.com ebay.com
    sites.google.com carrd.co webflow.io jimdosite.com strikingly.com mystrikingly.com
    """.split()
)


@dataclass(frozen=True)
class DedupeRecord:
    """The identity fields dedupe compares; phone is E.164, domain a host or registered domain."""

    id: str
    company: str = ""
    name: str = ""
    email: str = ""
    phone: str = ""
    domain: str = ""
    city: str = ""


def record_from_lead(
    record_id: str, fields: Mapping[str, str], contact: Mapping[str, Any]
) -> DedupeRecord:
    """Identity fields of one imported, validated lead (used by `run` and `leads dedupe`)."""
    name = fields.get("contact_name") or " ".join(
        p for p in (fields.get("first_name", ""), fields.get("last_name", "")) if p
    )
    return DedupeRecord(
        id=record_id,
        company=fields.get("company", ""),
        name=name,
        email=contact.get("email_normalized") or "",
        phone=contact.get("phone_e164") or "",
        domain=contact.get("domain") or "",
        city=fields.get("city", ""),
    )


def canonical_email(email: str) -> str:
    """One spelling per mailbox: lowercase; Gmail ignores dots and +tags, others ignore +tags."""
    email = email.strip().lower()
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain:
        return email
    local = local.split("+", 1)[0]
    if domain in GMAIL:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}" if local else email


_NUM = re.compile(r"(\d+)")


def natural_key(record_id: str) -> tuple[tuple[int, int | str], ...]:
    """Sort ids as people do ("2" < "10"), so the primary is the first row of a cluster."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in _NUM.split(record_id) if p)


class _UnionFind:
    """Union-find over record indexes with path halving."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        self.parent[max(ra, rb)] = min(ra, rb)
        return True


@dataclass
class _Prepared:
    """Per-record keys computed once."""

    company: str
    person: str
    email: str
    role: bool
    domain: str


def _prepare(r: DedupeRecord, free: frozenset[str]) -> _Prepared:
    email = canonical_email(r.email) if "@" in r.email else ""
    local, _, email_domain = email.partition("@")
    role = bool(local) and is_role_local(local)
    domain = registered_domain(r.domain) if r.domain else ""
    if not domain and email_domain:
        domain = registered_domain(email_domain)
    if domain in free or domain in SHARED_DOMAINS or domain in GMAIL:
        domain = ""
    return _Prepared(name_key(r.company), normalize(r.name), email, role, domain)


def cluster_records(records: Sequence[DedupeRecord]) -> dict[str, dict[str, Any]]:
    """Cluster records that are the same lead; returns id -> cluster_id ("c-" + smallest member
    id), cluster_size, is_primary (smallest id) and match_reason ("" for singletons)."""
    n = len(records)
    seen: set[str] = set()
    for r in records:
        if r.id in seen:
            raise InvalidInput(f"duplicate record id {r.id!r}: dedupe needs unique ids")
        seen.add(r.id)
    # Index order = natural id order, so the union-find root (smallest index) is the primary.
    order = sorted(range(n), key=lambda i: natural_key(records[i].id))
    recs = [records[i] for i in order]
    free = free_domains()
    prep = [_prepare(r, free) for r in recs]
    uf = _UnionFind(n)
    reasons: dict[int, set[str]] = defaultdict(set)  # index -> reasons for its merges

    def link(a: int, b: int, why: str) -> None:
        uf.union(a, b)
        reasons[a].add(why)
        reasons[b].add(why)

    email_blocks: dict[str, list[int]] = defaultdict(list)
    phone_blocks: dict[str, list[int]] = defaultdict(list)
    domain_blocks: dict[str, list[int]] = defaultdict(list)
    for i, (r, p) in enumerate(zip(recs, prep, strict=True)):
        if p.email:
            email_blocks[p.email].append(i)
        phone = r.phone.strip()
        if phone:
            phone_blocks[phone].append(i)
        if p.domain:
            domain_blocks[p.domain].append(i)

    for members in email_blocks.values():
        if len(members) < 2:
            continue
        if not prep[members[0]].role:
            for other in members[1:]:
                link(members[0], other, "same email")
            continue
        # A shared info@/sales@ is not a person: it merges only records that also name the
        # same person, or (with no person on either side) the same company.
        named = [i for i in members if prep[i].person]
        _link_similar(
            named, lambda i: prep[i].person, ROLE_NAME_SIMILARITY, "same role inbox + name", link
        )
        unnamed = [i for i in members if not prep[i].person]
        _link_similar(
            unnamed,
            lambda i: prep[i].company,
            ROLE_COMPANY_SIMILARITY,
            "same role inbox + company",
            link,
        )
    for members in phone_blocks.values():
        if len(members) < 2:
            continue
        _link_similar(
            members, lambda i: prep[i].company, PHONE_SIMILARITY, "same phone + company", link
        )
        _link_similar(
            members, lambda i: prep[i].person, PHONE_SIMILARITY, "same phone + name", link
        )
    for members in domain_blocks.values():
        if len(members) < 2:
            continue
        _link_similar(
            members,
            lambda i: prep[i].company,
            DOMAIN_COMPANY_SIMILARITY,
            "same domain + company",
            link,
        )

    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        groups[uf.find(i)].append(i)
    out: dict[str, dict[str, Any]] = {}
    for root, members in groups.items():
        cluster_id = f"c-{recs[root].id}"
        why: set[str] = set()
        for i in members:
            why |= reasons.get(i, set())
        reason = "; ".join(sorted(why)) if len(members) > 1 else ""
        for i in members:
            out[recs[i].id] = {
                "cluster_id": cluster_id,
                "cluster_size": len(members),
                "is_primary": i == root,
                "match_reason": reason,
            }
    return {r.id: out[r.id] for r in records}


def _link_similar(
    members: list[int],
    key: Callable[[int], str],
    cutoff: float,
    why: str,
    link: Callable[[int, int, str], None],
) -> None:
    """Link members of one block whose keys are equal or similar (token_sort_ratio >= cutoff)."""
    reps: dict[str, int] = {}
    for i in members:
        k = key(i)
        if not k:
            continue
        first = reps.setdefault(k, i)
        if first != i:
            link(first, i, why)
    if len(reps) < 2:
        return
    items = sorted(reps.items())
    if len(items) <= MAX_PAIRWISE:
        for a in range(len(items)):
            ka, ia = items[a]
            for b in range(a + 1, len(items)):
                kb, ib = items[b]
                if fuzz.token_sort_ratio(ka, kb, score_cutoff=cutoff):
                    link(ia, ib, why)
        return
    for a in range(len(items)):
        ka, ia = items[a]
        for b in range(a + 1, min(a + 1 + NEIGHBOUR_WINDOW, len(items))):
            kb, ib = items[b]
            if fuzz.token_sort_ratio(ka, kb, score_cutoff=cutoff):
                link(ia, ib, why)
