"""Regenerate examples/leads.csv: 200 fictional local-business leads in a messy export style.

Deterministic (seeded). All businesses, people and websites are invented; websites use
``-demo`` domain names and phone numbers come from ranges reserved for fiction (US 555-01xx,
UK Ofcom drama numbers, AU 5550/0491 570). The mess is on purpose: bad and role emails,
webmail, disposable domains, many phone formats, missing websites/companies, exact and
near duplicates, unicode names.

Usage: python examples/make_leads.py [OUT.csv]
"""

from __future__ import annotations

import csv
import random
import re
import sys
from pathlib import Path

HEADER = (
    "Company Name", "Contact", "Title", "Email", "Phone", "Website", "City", "State",
    "Country", "Category", "Notes",
)
SEED = 20241105
N_BASE = 184  # + 16 duplicates = 200 rows

# vertical -> (category spellings, name patterns, titles)
VERTICALS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "dentist": (
        ("Dentist", "Dental Clinic", "dentist", "Cosmetic Dentist"),
        ("{brand} Dental", "{last} Family Dentistry", "{brand} Smiles", "{place} Dental Care"),
        ("Practice Manager", "Dentist", "Office Manager", "Owner"),
    ),
    "plumber": (
        ("Plumber", "Plumbing", "plumbing services"),
        ("{last} Plumbing", "{brand} Plumbing & Heating", "{place} Drain Pros", "{last} & Sons"),
        ("Owner", "Master Plumber", "Dispatcher"),
    ),
    "law": (
        ("Law Firm", "Attorney", "Lawyer", "Solicitors"),
        ("{last} Law Group", "{last} & {last2} LLP", "{last}, {last2} & Partners", "{brand} Legal"),
        ("Managing Partner", "Partner", "Office Administrator", "Paralegal"),
    ),
    "roofer": (
        ("Roofing Contractor", "Roofer", "roofing"),
        ("{brand} Roofing", "{last} Roofing & Exteriors", "{place} Roof Repair"),
        ("Owner", "Estimator", "Sales Manager"),
    ),
    "restaurant": (
        ("Restaurant", "Italian Restaurant", "Cafe", "restaurant", "Bistro"),
        ("{brand} Kitchen", "Trattoria {last}", "The {brand} Grill", "{place} Taqueria"),
        ("Owner", "General Manager", "Head Chef"),
    ),
    "gym": (
        ("Gym", "Fitness Center", "Personal Trainer", "CrossFit Box"),
        ("{brand} Fitness", "{place} Strength Co", "{brand} Athletic Club", "Iron {brand} Gym"),
        ("Owner", "Head Coach", "Membership Manager"),
    ),
    "salon": (
        ("Hair Salon", "Beauty Salon", "Barber Shop", "salon"),
        ("{brand} Hair Studio", "Salon {first}", "{brand} Beauty Bar", "{last}'s Barbers"),
        ("Owner", "Salon Manager", "Stylist"),
    ),
    "accountant": (
        ("Accountant", "Accounting Firm", "CPA", "Bookkeeping"),
        ("{last} CPA", "{brand} Accounting", "{last} & {last2} Chartered Accountants"),
        ("Partner", "Principal", "Office Manager"),
    ),
    "real_estate": (
        ("Real Estate Agency", "Real Estate", "Realtor", "Estate Agent"),
        ("{brand} Realty", "{last} Real Estate Group", "{place} Homes", "{brand} Properties"),
        ("Broker", "Principal", "Agent", "Marketing Coordinator"),
    ),
    "hvac": (
        ("HVAC", "Heating & Air Conditioning", "HVAC Contractor"),
        ("{brand} Heating & Air", "{last} HVAC", "{place} Comfort Systems"),
        ("Owner", "Service Manager"),
    ),
    "vet": (
        ("Veterinarian", "Animal Hospital", "Vet Clinic"),
        ("{brand} Animal Hospital", "{place} Vets", "{brand} Pet Clinic"),
        ("Practice Manager", "Veterinarian"),
    ),
}
BRANDS = (
    "BrightSmile", "Summit", "Golden Gate", "Blue Ridge", "Evergreen", "Harborview", "Pioneer",
    "Liberty", "Silver Oak", "Maplewood", "Cedar Lane", "Northstar", "Riverbend", "Lakeshore",
    "Keystone", "Cornerstone", "Heritage", "Redwood", "Granite", "Coastal", "Sunrise", "Prairie",
    "Highland", "Willowbrook", "Crescent", "Meridian", "Bluebird", "True North", "Copperleaf",
    "Beacon", "Sterling", "Juniper", "Foxglove", "Kingfisher", "Lighthouse", "Oak & Ember",
)
FIRST = (
    "James", "Maria", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
    "Sarah", "Chris", "Karen", "Daniel", "Lisa", "Matthew", "Emily", "Oliver", "Amelia", "Harry",
    "Isla", "Noah", "Chloe", "Liam", "Priya", "Wei", "Fatima", "Mateo", "Grace", "Ethan", "Aoife",
)
LAST = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Martinez",
    "Hernandez", "Lopez", "Wilson", "Anderson", "Taylor", "Moore", "Jackson", "Martin", "Lee",
    "Thompson", "White", "Harris", "Clark", "Lewis", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Baker", "Adams", "Campbell", "Mitchell", "Carter", "Evans", "Turner", "Patel",
    "O'Brien", "MacLeod", "Murphy", "Kelly", "Singh", "Nguyen", "Chen", "Fitzgerald", "Hughes",
)
UNICODE_PEOPLE = (
    ("José", "Martínez"), ("Zoë", "Fischer"), ("Jürgen", "Müller"), ("Renée", "Côté"),
    ("François", "Lefèvre"), ("Siobhán", "Ó Briain"), ("Björn", "Åkesson"), ("Lucía", "Peña"),
    ("Chloé", "Dubois"), ("Søren", "Nørgaard"),
)
# country -> (labels as exported, [(city, state, area codes)], website tld)
GEO: dict[str, tuple[tuple[str, ...], tuple[tuple[str, str, tuple[str, ...]], ...], str]] = {
    "US": (
        ("US", "USA", "United States", "U.S.", ""),
        (
            ("Austin", "TX", ("512",)), ("Denver", "CO", ("303", "720")),
            ("Portland", "OR", ("503",)), ("Phoenix", "AZ", ("602",)),
            ("Atlanta", "GA", ("404",)), ("Chicago", "IL", ("312",)), ("Tampa", "FL", ("813",)),
            ("Nashville", "TN", ("615",)), ("San Diego", "CA", ("619",)),
            ("Raleigh", "NC", ("919",)), ("Boston", "MA", ("617",)), ("Columbus", "OH", ("614",)),
        ),
        ".com",
    ),
    "GB": (
        ("UK", "United Kingdom", "GB", "England"),
        (
            ("London", "", ("20",)), ("Manchester", "Greater Manchester", ("161",)),
            ("Leeds", "West Yorkshire", ("113",)), ("Bristol", "", ("117",)),
            ("Glasgow", "Scotland", ("141",)),
        ),
        ".co.uk",
    ),
    "CA": (
        ("Canada", "CA"),
        (
            ("Toronto", "ON", ("416",)), ("Vancouver", "BC", ("604",)), ("Calgary", "AB", ("403",)),
            ("Ottawa", "Ontario", ("613",)), ("Halifax", "NS", ("902",)),
        ),
        ".ca",
    ),
    "AU": (
        ("Australia", "AU"),
        (
            ("Sydney", "NSW", ("2",)), ("Melbourne", "VIC", ("3",)), ("Brisbane", "QLD", ("7",)),
            ("Adelaide", "SA", ("8",)),
        ),
        ".com.au",
    ),
}
COUNTRY_POOL = ("US",) * 55 + ("GB",) * 20 + ("CA",) * 13 + ("AU",) * 12
FREE = {
    "US": ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "aol.com", "icloud.com"),
    "GB": ("gmail.com", "btinternet.com", "yahoo.co.uk", "hotmail.co.uk"),
    "CA": ("gmail.com", "shaw.ca", "rogers.com", "yahoo.ca"),
    "AU": ("gmail.com", "bigpond.com", "optusnet.com.au", "outlook.com"),
}
ROLES = ("info", "office", "hello", "contact", "admin", "reception", "enquiries", "sales")
NOTES = (
    "", "", "", "", "", "Met at Chamber of Commerce mixer", "Asked for a website quote",
    "Website looks dated (2012-ish)", "No SSL on site", "Call back after 3pm",
    "Referred by existing client", "Not interested right now", "Follow up in Q3",
    "Only has a Facebook page", "Left voicemail x2", "Wants SEO audit", "Slow on mobile",
    'Said "send me something in writing"', "Opened 2 emails, no reply", "Competitor of client",
    "Gatekeeper: ask for the owner", "Runs Google Ads already",
)
BAD_EMAIL_PATTERNS = (
    "{local}@{stem}", "{local}{domain}", "{local}@@{domain}", "{local} @{domain}",
    "{local}@{domain}.", "{local}@gmial.com", "{local}@{domain};", "n/a", "{local}.@{domain}",
    "{local}@{stem}..com",
)


def slug(text: str) -> str:
    """ASCII slug for fictional domain names."""
    table = str.maketrans("éèêëáàäåíóöøúüñçôõ", "eeeeaaaaiooouuncoo")
    return re.sub(r"[^a-z0-9]+", "-", text.lower().replace("'", "").translate(table)).strip("-")


def phone(rng: random.Random, country: str, area: str) -> str:
    """A fictional-range number in one of many real-world formats."""
    if country in ("US", "CA"):
        line = f"01{rng.randrange(100):02d}"
        return rng.choice(
            (
                f"({area}) 555-{line}", f"{area}-555-{line}", f"{area}.555.{line}",
                f"+1 {area} 555 {line}", f"1-{area}-555-{line}", f"{area}555{line}",
                f"+1{area}555{line}", f"({area}) 555-{line} x{rng.randint(10, 40)}",
                f"{area} 555 {line}",
            )
        )
    if country == "GB":
        if rng.random() < 0.05:  # Ofcom drama mobiles: libphonenumber calls them invalid
            mob = f"7700 900{rng.randrange(1000):03d}"
            return rng.choice((f"0{mob}", f"+44 {mob}", f"+44 (0){mob}", f"0{mob[:4]}{mob[4:]}"))
        if area == "20":
            local = f"7946 0{rng.randrange(1000):03d}"
            return rng.choice((f"020 {local}", f"+44 20 {local}", f"(020) {local}"))
        local = f"496 0{rng.randrange(1000):03d}"
        return rng.choice((f"0{area} {local}", f"+44 {area} {local}", f"0{area}-{local}"))
    if rng.random() < 0.35:
        mob = f"491 570 {rng.randint(110, 159)}"
        return rng.choice((f"0{mob}", f"+61 {mob}", f"0{mob.replace(' ', '')}"))
    local = f"5550 {rng.randrange(10000):04d}"
    return rng.choice((f"(0{area}) {local}", f"0{area} {local}", f"+61 {area} {local}"))


def base_rows(rng: random.Random) -> list[dict[str, str]]:
    """The distinct businesses, with realistic gaps and mistakes."""
    rows: list[dict[str, str]] = []
    used_domains: set[str] = set()
    bad_slots = set(rng.sample(range(N_BASE), 10))  # ~5% bad emails
    disposable_slots = set(rng.sample(sorted(set(range(N_BASE)) - bad_slots), 2))
    picked = rng.sample(range(N_BASE), len(UNICODE_PEOPLE))
    unicode_slots = dict(zip(picked, UNICODE_PEOPLE, strict=True))
    no_company_slots = {17, 121}
    for i in range(N_BASE):
        country = rng.choice(COUNTRY_POOL)
        labels, places, tld = GEO[country]
        city, state, areas = rng.choice(places)
        vertical = rng.choice(tuple(VERTICALS))
        categories, patterns, titles = VERTICALS[vertical]
        first, last = unicode_slots.get(i) or (rng.choice(FIRST), rng.choice(LAST))
        company = ""
        for _ in range(20):  # avoid two unrelated businesses sharing a domain
            company = rng.choice(patterns).format(
                brand=rng.choice(BRANDS), last=rng.choice(LAST + (last,)),
                last2=rng.choice(LAST), place=city, first=first,
            )
            domain = f"{slug(company)}-demo{tld}"
            if domain not in used_domains:
                break
        used_domains.add(domain)
        if country == "US" and rng.random() < 0.12:
            company += rng.choice((" LLC", " Inc.", ", Inc."))
        elif country == "GB" and rng.random() < 0.15:
            company += " Ltd"
        elif country == "AU" and rng.random() < 0.15:
            company += " Pty Ltd"
        local_first = slug(first).replace("-", "")
        local_last = slug(last).replace("-", "")
        r = rng.random()
        if r < 0.30:
            email = f"{local_first}@{domain}"
        elif r < 0.45:
            email = f"{local_first}.{local_last}@{domain}"
        elif r < 0.50:
            email = f"{local_first[0]}{local_last}@{domain}"
        elif r < 0.68:
            email = f"{rng.choice(ROLES)}@{domain}"
        elif r < 0.92:
            sep = rng.choice((".", "", "_"))
            num = rng.choice(("", "", str(rng.randint(1, 99))))
            email = f"{local_first}{sep}{local_last}{num}@{rng.choice(FREE[country])}"
        else:
            email = ""
        if rng.random() < 0.1 and email:
            email = email.capitalize() if rng.random() < 0.5 else email.upper()
        if i in bad_slots:
            email = rng.choice(BAD_EMAIL_PATTERNS).format(
                local=local_first, domain=domain, stem=domain.split(".", 1)[0]
            )
        if i in disposable_slots:
            throwaway = rng.choice(("mailinator.com", "yopmail.com"))
            email = f"{local_first}{rng.randint(10, 99)}@{throwaway}"
        website = ""
        if rng.random() < 0.85:
            website = rng.choice(
                (domain, f"www.{domain}", f"https://{domain}", f"http://www.{domain}/",
                 f"https://www.{domain}/", f"{domain}/")
            )
            if rng.random() < 0.04:
                website = website.upper()
        elif rng.random() < 0.3:
            website = rng.choice(("n/a", "none", f"facebook.com/{slug(company).replace('-', '')}"))
        tel = phone(rng, country, rng.choice(areas)) if rng.random() < 0.92 else ""
        contact = f"{first} {last}"
        if rng.random() < 0.08:
            contact = ""
        elif rng.random() < 0.06:
            contact = f"{last}, {first}"
        elif rng.random() < 0.05:
            contact = contact.upper()
        row = {
            "Company Name": "" if i in no_company_slots else company,
            "Contact": contact,
            "Title": rng.choice(titles + ("",)),
            "Email": email,
            "Phone": tel,
            "Website": website,
            "City": city if rng.random() > 0.03 else "",
            "State": state,
            "Country": rng.choice(labels),
            "Category": rng.choice(categories) if rng.random() > 0.06 else "",
            "Notes": rng.choice(NOTES),
        }
        if rng.random() < 0.04:  # stray whitespace from copy/paste
            row["Company Name"] = f" {row['Company Name']}  "
        rows.append(row)
    return rows


def near_duplicate(rng: random.Random, row: dict[str, str], kind: int) -> dict[str, str]:
    """The same business as exported a second time by another list or person."""
    dup = dict(row)
    company = row["Company Name"].strip()
    if kind == 0:
        dup["Company Name"] = company.upper()
    elif kind == 1:
        dup["Company Name"] = company.replace(" & ", " and ").replace(" LLC", "").replace(
            " Ltd", " Limited"
        )
    elif kind == 2:
        dup["Company Name"] = company + (" Inc" if "Inc" not in company else "")
        digits = re.sub(r"\D", "", row["Phone"])
        dup["Phone"] = digits or row["Phone"]
    elif kind == 3:
        local, _, domain = row["Email"].partition("@")
        if "." in local:
            local = local.replace(".", "")
        elif len(local) > 3:
            local = f"{local[:3]}.{local[3:]}"
        dup["Email"] = f"{local}@{domain}"
    elif kind == 4:
        local, _, domain = row["Email"].partition("@")
        dup["Email"] = f"{local}+leads@{domain}" if domain else row["Email"]
    elif kind == 5:
        first, _, last = row["Contact"].partition(" ")
        dup["Contact"] = f"{last} {first}".strip()
        dup["Website"] = row["Website"].removeprefix("https://").removeprefix("www.")
    else:
        dup["Company Name"] = company[:-2] + company[-1] + company[-2]  # transposed typo
    dup["Notes"] = rng.choice(NOTES)
    return dup


def build(seed: int = SEED) -> list[dict[str, str]]:
    """All 200 rows in final order."""
    rng = random.Random(seed)
    rows = base_rows(rng)
    with_company = [r for r in rows if r["Company Name"].strip()]
    exact = rng.sample(with_company, 4)
    gmail = [r for r in with_company if r["Email"].lower().endswith("@gmail.com")]
    near_sources = rng.sample(gmail, 3) + rng.sample(with_company, 9)
    dups = [dict(r) for r in exact]
    for k, src in enumerate(near_sources):
        kind = 3 if k < 2 else 4 if k == 2 else k % 7
        dups.append(near_duplicate(rng, src, kind))
    for dup in dups:
        rows.insert(rng.randrange(len(rows) + 1), dup)
    return rows


def main(argv: list[str]) -> None:
    """Write the CSV (default: next to this script)."""
    out = Path(argv[0]) if argv else Path(__file__).resolve().parent / "leads.csv"
    rows = build()
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=HEADER, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    sys.stdout.write(f"wrote {len(rows)} rows to {out}\n")


if __name__ == "__main__":
    main(sys.argv[1:])
