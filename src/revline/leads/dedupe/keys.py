"""Contact-aware identity keys: one spelling per mailbox, phone, company domain and person name.

The normalizers themselves are validate.py's (E.164 phones, public-suffix domains, the role,
free-webmail and disposable word lists) and classify's (accent-free name normalization); this
module only decides how their output becomes a dedupe key. Each function here is called once
per *distinct* raw value by `prepare.py`, which joins the results back in DuckDB.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from revline.leads.classify.dictionary import name_key, normalize
from revline.leads.validate import (
    ContactValidator,
    first_address,
    free_domains,
    is_disposable_domain,
    is_role_local,
    registered_domain,
)

GMAIL = frozenset({"gmail.com", "googlemail.com"})

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

# Honorifics and generational suffixes: "Dr. Ann Lee" and "Ann Lee" are the same person.
_NAME_NOISE: frozenset[str] = frozenset(
    "mr mrs ms miss mx dr prof sir dame jr sr ii iii iv phd md dds esq".split()
)
_NUM = re.compile(r"(\d+)")


@dataclass(frozen=True)
class DedupeRecord:
    """The identity fields dedupe compares, as raw text (empty string when unknown).

    `phone_e164`, `domain` and `email` may carry values already validated by the pipeline;
    `prepare` only computes what is missing.
    """

    id: str
    company: str = ""
    name: str = ""
    email: str = ""
    phone: str = ""
    domain: str = ""
    city: str = ""
    website: str = ""
    state: str = ""
    country: str = ""
    postal_code: str = ""
    address: str = ""
    title: str = ""
    source: str = ""
    updated_at: str = ""
    phone_e164: str = ""


def record_from_lead(
    record_id: str,
    fields: Mapping[str, str],
    contact: Mapping[str, Any],
    raw: Mapping[str, str] | None = None,
    recency_columns: tuple[str, ...] = (),
) -> DedupeRecord:
    """Identity fields of one imported, validated lead (used by `run` and `leads dedupe`)."""
    name = fields.get("contact_name") or " ".join(
        p for p in (fields.get("first_name", ""), fields.get("last_name", "")) if p
    )
    email = contact.get("email_normalized") or ""
    if not email and contact.get("email_valid") is None:
        email = fields.get("email", "")  # not validated yet: let prepare canonicalize it
    return DedupeRecord(
        id=record_id,
        company=fields.get("company", ""),
        name=name,
        email=email,
        phone="" if contact.get("phone_e164") else fields.get("phone", ""),
        phone_e164=contact.get("phone_e164") or "",
        domain=contact.get("domain") or "",
        website="" if contact.get("domain") else fields.get("website", ""),
        city=fields.get("city", ""),
        state=fields.get("state", ""),
        country=fields.get("country", ""),
        postal_code=fields.get("postal_code", ""),
        address=fields.get("address", ""),
        title=fields.get("title", ""),
        source=fields.get("source", ""),
        updated_at=recency_value(raw or {}, recency_columns),
    )


def recency_value(raw: Mapping[str, str], columns: tuple[str, ...]) -> str:
    """The first non-empty cell among the configured "last updated" columns (any spelling)."""
    if not columns or not raw:
        return ""
    wanted = {_header(c) for c in columns}
    for col, value in raw.items():
        if _header(col) in wanted and str(value).strip():
            return str(value).strip()
    return ""


def _header(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", name.casefold())


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


class EmailKey(NamedTuple):
    """A mailbox as dedupe sees it: canonical address plus what kind of mailbox it is."""

    key: str  # canonical address, "" when the text is not an address
    role: bool  # info@, sales@: a shared inbox, not a person
    free: bool  # gmail.com, yahoo.com: says nothing about the company
    disposable: bool
    company_domain: str  # registered domain when the mailbox is on the company's own domain


_NO_EMAIL = EmailKey("", False, False, False, "")


def email_key(raw: str) -> EmailKey:
    """Canonical mailbox and flags for one raw email cell (lenient: dedupe, not deliverability)."""
    text = first_address(raw)
    if text.count("@") != 1 or " " in text:
        return _NO_EMAIL
    key = canonical_email(text)
    local, _, domain = key.partition("@")
    domain = domain.strip(".")
    if not local or "." not in domain or ".." in domain:
        return _NO_EMAIL
    free = domain in GMAIL or domain in free_domains()
    disposable = is_disposable_domain(domain)
    company = ""
    if not free and not disposable:
        company = registered_domain(domain)
        if company in SHARED_DOMAINS or company in free_domains():
            company = ""
    return EmailKey(key, is_role_local(local), free, disposable, company)


def company_domain(domain: str) -> str:
    """Registered domain of a validated website/email domain, or "" for shared platforms."""
    reg = registered_domain(domain) if domain else ""
    if not reg or reg in SHARED_DOMAINS or reg in GMAIL or reg in free_domains():
        return ""
    return reg


def website_domain(website: str, validator: ContactValidator) -> str:
    """Company domain of a website cell, via validate.py (platform pages such as Facebook: "")."""
    return company_domain(validator.validate({"website": website})["domain"])


def phone_key(phone: str, country: str, state: str, validator: ContactValidator) -> str:
    """E.164 number via validate.py, using the row's country/state for national formats."""
    if not phone.strip():
        return ""
    return str(validator.validate({"phone": phone, "country": country, "state": state})[
        "phone_e164"
    ] or "")


class PersonName(NamedTuple):
    """A person's name as dedupe compares it (all normalized; "" when unknown)."""

    first: str
    last: str
    full: str  # "first ... last"
    sorted: str  # tokens sorted: equal for "Ann Lee" and "Lee Ann" (swapped fields)


_NO_NAME = PersonName("", "", "", "")


def person_name(contact_name: str, first_name: str = "", last_name: str = "") -> PersonName:
    """Normalize a contact; "Lee, Ann" is read as last, first so it matches "Ann Lee"."""
    if contact_name.strip():
        text = contact_name
        if text.count(",") == 1:
            last, _, first = text.partition(",")
            text = f"{first} {last}"
    else:
        text = f"{first_name} {last_name}"
    # Lowercase first (no CamelCase splitting: "McDonald" stays one word) and drop apostrophes
    # ("O'Brien" == "OBrien").
    text = text.replace("'", "").replace("\u2019", "").lower()
    tokens = [t for t in normalize(text).split() if t not in _NAME_NOISE]
    if not tokens:
        return _NO_NAME
    first, last = tokens[0], tokens[-1] if len(tokens) > 1 else ""
    return PersonName(first, last, " ".join(tokens), " ".join(sorted(tokens)))


def company_key(company: str) -> str:
    """Business name key (classify's name_key: no legal suffixes, filler words or digits)."""
    return name_key(company) if company else ""


def natural_key(record_id: str) -> tuple[tuple[int, int | str], ...]:
    """Sort ids as people do ("2" < "10"), so the primary is the first row of a cluster."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in _NUM.split(record_id) if p)
