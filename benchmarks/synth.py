"""Synthetic agency leads for benchmarks and large-file tests (deterministic, streaming).

Same columns as examples/leads.csv. About 10% of rows are corrupted copies of an earlier row
(typos, swapped first/last name, reformatted phone, gmail dot/plus variants, www/https
changes), so dedupe has real work to do. Domains are fictional (``-demo`` names).

Usage: python benchmarks/synth.py OUT.csv [--rows 1000000] [--seed 7]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import sys
import time
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

COLUMNS: tuple[str, ...] = (
    "Company Name", "Contact", "Title", "Email", "Phone", "Website", "City", "State",
    "Country", "Category", "Notes",
)

DUPLICATE_RATE = 0.10
_RECENT = 2048  # ring buffer of recent originals that duplicates are drawn from (bounded memory)

_VERTICALS: dict[str, tuple[str, ...]] = {
    "Dentist": ("Dental", "Dentistry", "Family Dental", "Smiles", "Dental Care", "Orthodontics"),
    "Plumber": ("Plumbing", "Plumbing & Heating", "Drain Services", "Plumbers", "Pipe Works"),
    "Law Firm": ("Law", "Legal", "Law Group", "& Associates", "Solicitors", "Attorneys"),
    "Roofer": ("Roofing", "Roofing Co", "Roof Repair", "Exteriors", "Roofing & Gutters"),
    "Restaurant": ("Kitchen", "Bistro", "Grill", "Trattoria", "Diner", "Eatery", "Cafe"),
    "Gym": ("Fitness", "Gym", "Strength Studio", "CrossFit", "Athletic Club", "Training"),
    "Salon": ("Hair Studio", "Salon", "Beauty Bar", "Barbers", "Hair & Beauty"),
    "Accountant": ("Accounting", "CPA", "Tax Services", "Bookkeeping", "Chartered Accountants"),
    "Real Estate": ("Realty", "Real Estate", "Properties", "Homes", "Estate Agents"),
    "HVAC": ("Heating & Air", "HVAC", "Climate Control", "Air Conditioning"),
    "Chiropractor": ("Chiropractic", "Spine Center", "Wellness Clinic"),
    "Auto Repair": ("Auto Repair", "Motors", "Autocare", "Garage", "Collision Center"),
    "Landscaping": ("Landscaping", "Lawn Care", "Gardens", "Tree Service"),
    "Veterinarian": ("Veterinary Clinic", "Animal Hospital", "Vets", "Pet Clinic"),
}
_CATEGORY_SPELLINGS: dict[str, tuple[str, ...]] = {
    "Dentist": ("Dentist", "dentist", "Dental Clinic", "Dentists"),
    "Law Firm": ("Law Firm", "Lawyer", "Attorney", "legal services"),
    "Real Estate": ("Real Estate", "Real Estate Agency", "realtor"),
    "Restaurant": ("Restaurant", "restaurant", "Food & Drink"),
}
_ADJECTIVES = (
    "Bright", "Summit", "Golden", "Blue Ridge", "Evergreen", "Harbor", "Pioneer", "Liberty",
    "Silver Oak", "Maple", "Cedar", "Northside", "Riverside", "Lakeside", "Keystone", "Elite",
    "Premier", "Trusted", "Apex", "Cornerstone", "Heritage", "Redwood", "Granite", "Coastal",
    "Sunrise", "Prairie", "Highland", "Oakwood", "Willow", "Ironclad", "Crescent", "Meridian",
    "Bluebird", "True North", "Copper", "Atlas", "Beacon", "Sterling", "Ember", "Juniper",
)
_NOUNS = (
    "Smile", "Peak", "Valley", "Bridge", "Stone", "Crown", "Anchor", "Compass", "Pine", "Falcon",
    "Lantern", "Orchard", "Harvest", "Arrow", "Haven", "Point", "Creek", "Field", "Park", "Hill",
)
_FIRST = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Chris", "Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Sandra", "Mark", "Emily",
    "Steven", "Ashley", "Paul", "Michelle", "Andrew", "Amanda", "Joshua", "Melissa", "Kevin",
    "Laura", "Brian", "Rebecca", "George", "Sharon", "Oliver", "Amelia", "Harry", "Isla", "Jack",
    "Ava", "Noah", "Chloe", "Liam", "Zoë", "José", "Sofía", "Björn", "Renée", "François", "Aoife",
    "Siobhán", "Priya", "Wei", "Mohammed", "Fatima", "Hiroshi", "Olga", "Mateo", "Lucía",
)
_LAST = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
    "Jackson", "Martin", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson",
    "Hill", "Campbell", "Mitchell", "Roberts", "Carter", "Phillips", "Evans", "Turner", "Patel",
    "O'Brien", "MacDonald", "Murphy", "Kelly", "Singh", "Nguyen", "Chen", "Müller", "Schröder",
    "Núñez", "Dubois", "Kowalski", "Okafor", "Fitzgerald", "Sullivan", "Hughes", "Price",
)
_TITLES = (
    "Owner", "Owner", "Founder", "Office Manager", "Practice Manager", "Managing Partner",
    "General Manager", "Director", "Marketing Manager", "Principal", "CEO", "President", "",
    "Operations Manager", "Head Chef", "Broker", "Partner", "",
)
# country label variants, (city, state, phone area prefixes)
_GEO: dict[str, tuple[tuple[str, ...], tuple[tuple[str, str, tuple[str, ...]], ...]]] = {
    "US": (
        ("US", "USA", "United States", "U.S.", ""),
        (
            ("Austin", "TX", ("512", "737")), ("Denver", "CO", ("303", "720")),
            ("Portland", "OR", ("503", "971")), ("Phoenix", "AZ", ("602", "480")),
            ("Atlanta", "GA", ("404", "678")), ("Chicago", "IL", ("312", "773")),
            ("Tampa", "FL", ("813",)), ("Columbus", "OH", ("614",)),
            ("Nashville", "TN", ("615",)), ("San Diego", "CA", ("619", "858")),
            ("Raleigh", "NC", ("919",)), ("Boise", "ID", ("208",)),
            ("Seattle", "WA", ("206",)), ("Boston", "MA", ("617",)),
        ),
    ),
    "GB": (
        ("UK", "United Kingdom", "GB", "England"),
        (
            ("London", "", ("20",)), ("Manchester", "", ("161",)), ("Leeds", "", ("113",)),
            ("Bristol", "", ("117",)), ("Birmingham", "", ("121",)), ("Glasgow", "", ("141",)),
        ),
    ),
    "CA": (
        ("Canada", "CA", "CAN"),
        (
            ("Toronto", "ON", ("416", "647")), ("Vancouver", "BC", ("604", "778")),
            ("Calgary", "AB", ("403", "587")), ("Ottawa", "ON", ("613",)),
            ("Halifax", "NS", ("902",)),
        ),
    ),
    "AU": (
        ("Australia", "AU", "AUS"),
        (
            ("Sydney", "NSW", ("2",)), ("Melbourne", "VIC", ("3",)), ("Brisbane", "QLD", ("7",)),
            ("Perth", "WA", ("8",)), ("Adelaide", "SA", ("8",)),
        ),
    ),
}
_COUNTRY_POOL = ("US",) * 60 + ("GB",) * 18 + ("CA",) * 12 + ("AU",) * 10
_TLD = {"US": ".com", "GB": ".co.uk", "CA": ".ca", "AU": ".com.au"}
_FREE = ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "aol.com", "icloud.com")
_FREE_BY_COUNTRY = {
    "GB": ("gmail.com", "btinternet.com", "yahoo.co.uk", "hotmail.co.uk"),
    "CA": ("gmail.com", "shaw.ca", "rogers.com", "hotmail.ca"),
    "AU": ("gmail.com", "bigpond.com", "optusnet.com.au", "outlook.com"),
}
_DISPOSABLE = ("mailinator.com", "guerrillamail.com", "yopmail.com", "10minutemail.com")
_ROLES = ("info", "office", "hello", "contact", "admin", "sales", "reception", "enquiries")
_NOTES = (
    "", "", "", "", "Met at trade show", "Asked for a quote", "Website looks dated",
    "No SSL on site", "Call back after 3pm", "Referred by existing client", "Not interested",
    "Follow up in Q3", "Has Facebook page only", "Left voicemail", "Wants SEO audit",
    "Slow mobile site", "Opened 2 emails",
)
_BAD_EMAILS = (
    "{local}@{domain_no_tld}", "{local}{domain}", "{local}@@{domain}", "{local} @{domain}",
    "{local}@{domain}.", "{local}@gmial.com", "n/a", "{local}@{domain},",
)


_ASCII_FOLD = str.maketrans({
    "ë": "e", "é": "e", "è": "e", "ê": "e", "ü": "u", "ú": "u", "ö": "o", "ó": "o", "ø": "o",
    "á": "a", "à": "a", "ä": "a", "å": "a", "í": "i", "ñ": "n", "ç": "c", "ß": "ss", "'": "",
})
_NON_SLUG = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=1 << 16)
def _slug(text: str) -> str:
    return _NON_SLUG.sub("-", text.lower().translate(_ASCII_FOLD)).strip("-")


class _Rng(random.Random):
    """random.Random with cheap pick/below/span: choice() and randint() dominate otherwise."""

    def pick(self, seq: Sequence[T]) -> T:
        return seq[int(self.random() * len(seq))]

    def below(self, n: int) -> int:
        return int(self.random() * n)

    def span(self, lo: int, hi: int) -> int:
        return lo + int(self.random() * (hi - lo + 1))


def _phone(rng: _Rng, country: str, areas: tuple[str, ...]) -> str:
    """A number in a fictional-use range, in one of many real-world formats."""
    area = rng.pick(areas)
    if country in ("US", "CA"):
        line = f"01{rng.span(0, 99):02d}"  # 555-0100..0199 is reserved for fiction
        fmt = rng.below(8)
        if fmt == 0:
            return f"({area}) 555-{line}"
        if fmt == 1:
            return f"{area}-555-{line}"
        if fmt == 2:
            return f"{area}.555.{line}"
        if fmt == 3:
            return f"+1 {area} 555 {line}"
        if fmt == 4:
            return f"1-{area}-555-{line}"
        if fmt == 5:
            return f"{area}555{line}"
        if fmt == 6:
            return f"+1{area}555{line}"
        return f"({area}) 555-{line} ext. {rng.span(1, 40)}"
    if country == "GB":
        if rng.random() < 0.05:  # Ofcom drama mobiles: libphonenumber calls them invalid
            mobile = f"7700 900{rng.span(0, 999):03d}"  # Ofcom drama range
            return rng.pick((f"0{mobile}", f"+44 {mobile}", f"+44 (0){mobile}"))
        if area == "20":
            local = f"7946 0{rng.span(0, 999):03d}"
            return rng.pick((f"020 {local}", f"+44 20 {local}", f"(020) {local}"))
        local = f"496 0{rng.span(0, 999):03d}"
        return rng.pick((f"0{area} {local}", f"+44 {area} {local}", f"0{area}-{local}"))
    # AU: 5550 xxxx landline and 0491 570 xxx mobile ranges are reserved for fiction
    if rng.random() < 0.35:
        mobile = f"491 570 {rng.span(110, 159)}"
        return rng.pick((f"0{mobile}", f"+61 {mobile}"))
    local = f"5550 {rng.span(0, 9999):04d}"
    return rng.pick((f"(0{area}) {local}", f"0{area} {local}", f"+61 {area} {local}"))


_VERTICAL_NAMES = tuple(_VERTICALS)
_SITE_STYLES = (
    "{}", "{}", "www.{}", "https://{}", "http://www.{}/", "https://www.{}/", "https://{}/about",
)


def _original(rng: _Rng) -> dict[str, str]:
    country = rng.pick(_COUNTRY_POOL)
    labels, places = _GEO[country]
    city, state, areas = rng.pick(places)
    vertical = rng.pick(_VERTICAL_NAMES)
    word = rng.pick(_VERTICALS[vertical])
    first, last = rng.pick(_FIRST), rng.pick(_LAST)
    style = rng.below(4)
    if style == 0:
        company = f"{last} {word}"
    elif style == 1:
        company = f"{rng.pick(_ADJECTIVES)} {word}"
    elif style == 2:
        company = f"{rng.pick(_ADJECTIVES)} {rng.pick(_NOUNS)} {word}"
    else:
        company = f"{city} {rng.pick(_NOUNS)} {word}"
    domain = f"{_slug(company)}-{_slug(city)}-demo{_TLD[country]}"
    if rng.random() < 0.15:
        company += rng.pick((" LLC", " Inc.", " Ltd", " Co.", " Pty Ltd", " LLP"))
    website = ""
    if rng.random() < 0.85:
        website = rng.pick(_SITE_STYLES).format(domain)
        if rng.random() < 0.03:
            website = website.upper()
    f_ascii, l_ascii = _slug(first), _slug(last).replace("-", "")
    r = rng.random()
    if r < 0.35:
        email = f"{f_ascii}@{domain}"
    elif r < 0.50:
        email = f"{f_ascii}.{l_ascii}@{domain}"
    elif r < 0.65:
        email = f"{rng.pick(_ROLES)}@{domain}"
    elif r < 0.85:
        free = rng.pick(_FREE_BY_COUNTRY.get(country, _FREE))
        email = f"{f_ascii}{rng.pick(('.', '', '_'))}{l_ascii}{rng.span(1, 99)}@{free}"
    elif r < 0.87:
        email = f"{f_ascii}{rng.span(100, 999)}@{rng.pick(_DISPOSABLE)}"
    elif r < 0.92:
        email = rng.pick(_BAD_EMAILS).format(
            local=f_ascii, domain=domain, domain_no_tld=domain.split(".", 1)[0]
        )
    else:
        email = ""
    phone = _phone(rng, country, areas) if rng.random() < 0.9 else ""
    if rng.random() < 0.02:
        phone = rng.pick(("555-CALL", "123", "n/a", "0000000000"))
    category = rng.pick(_CATEGORY_SPELLINGS.get(vertical, (vertical,)))
    return {
        "Company Name": company,
        "Contact": f"{first} {last}" if rng.random() < 0.9 else "",
        "Title": rng.pick(_TITLES),
        "Email": email,
        "Phone": phone,
        "Website": website,
        "City": city,
        "State": state,
        "Country": rng.pick(labels),
        "Category": category if rng.random() < 0.9 else "",
        "Notes": rng.pick(_NOTES),
    }


def _typo(rng: _Rng, text: str) -> str:
    if len(text) < 4:
        return text
    i = rng.span(1, len(text) - 3)
    kind = rng.below(3)
    if kind == 0:  # swap adjacent
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if kind == 1:  # drop a character
        return text[:i] + text[i + 1 :]
    return text[:i] + text[i] + text[i:]  # double a character


def _reformat_phone(phone: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit())
    if phone.startswith("+1") or (len(digits) == 11 and digits.startswith("1")):
        digits = digits[1:]
    if len(digits) == 10 and not phone.startswith("+"):
        return f"{digits[:3]}.{digits[3:6]}.{digits[6:]}"
    return phone.replace(" ", "-") if " " in phone else phone


def _gmail_variant(rng: _Rng, email: str) -> str:
    local, _, domain = email.partition("@")
    if domain not in ("gmail.com", "googlemail.com"):
        return email.upper() if rng.random() < 0.3 else email
    if rng.random() < 0.5 and len(local) > 2:
        i = rng.span(1, len(local) - 2)
        local = local[:i] + "." + local[i:]
    else:
        local = f"{local}+{rng.pick(('leads', 'web', 'promo'))}"
    return f"{local}@{rng.pick(('gmail.com', 'googlemail.com', 'Gmail.com'))}"


def _corrupt(rng: _Rng, base: dict[str, str]) -> dict[str, str]:
    row = dict(base)
    for _ in range(rng.span(1, 3)):
        kind = rng.below(7)
        if kind == 0:
            row["Company Name"] = _typo(rng, row["Company Name"])
        elif kind == 1 and " " in row["Contact"]:
            first, _, last = row["Contact"].partition(" ")
            row["Contact"] = rng.pick((f"{last}, {first}", f"{last} {first}"))
        elif kind == 2 and row["Phone"]:
            row["Phone"] = _reformat_phone(row["Phone"])
        elif kind == 3 and "@" in row["Email"]:
            row["Email"] = _gmail_variant(rng, row["Email"])
        elif kind == 4:
            site = row["Website"].removeprefix("https://").removeprefix("http://")
            row["Website"] = rng.pick((site, f"https://{site}", site.removeprefix("www.")))
        elif kind == 5:
            row["Company Name"] = rng.pick(
                (row["Company Name"].upper(), row["Company Name"].lower(),
                 row["Company Name"].replace("&", "and"), f"  {row['Company Name']} ")
            )
        else:
            row["Notes"] = rng.pick(_NOTES)
    return row


def synth_leads(n: int, seed: int = 7) -> Iterator[dict[str, str]]:
    """Yield n synthetic leads (about 10% near-duplicates) without holding them in memory."""
    rng = _Rng(seed)
    recent: list[dict[str, str]] = []
    for i in range(n):
        if recent and rng.random() < DUPLICATE_RATE:
            yield _corrupt(rng, rng.pick(recent))
            continue
        row = _original(rng)
        if len(recent) < _RECENT:
            recent.append(row)
        else:
            recent[i % _RECENT] = row
        yield row


def write_csv(path: Path | str, n: int, seed: int = 7) -> Path:
    """Write n synthetic leads as UTF-8 CSV (streamed) and return the path."""
    out = Path(path)
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        # Rows are built in COLUMNS order; writing values skips DictWriter's per-row checks.
        writer.writerows(row.values() for row in synth_leads(n, seed))
    return out


def main(argv: list[str] | None = None) -> None:
    """CLI: write a synthetic leads CSV and print timing as JSON on the last line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("out", type=Path)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    write_csv(args.out, args.rows, args.seed)
    seconds = time.perf_counter() - started
    print(json.dumps({"rows": args.rows, "seconds": round(seconds, 2),
                      "rows_per_s": round(args.rows / seconds)}))


if __name__ == "__main__":
    main(sys.argv[1:])
