"""Contact-aware identity keys: emails, names, phones, domains (pure functions, no Splink)."""

from __future__ import annotations

import pytest

from revline.leads.dedupe.keys import (
    DedupeRecord,
    canonical_email,
    company_domain,
    company_key,
    email_key,
    natural_key,
    person_name,
    phone_key,
    recency_value,
    record_from_lead,
    website_domain,
)
from revline.leads.validate import ContactValidator


@pytest.mark.parametrize(
    ("raw", "canon"),
    [
        ("John.Smith+news@GMail.com", "johnsmith@gmail.com"),
        ("j.o.h.n@googlemail.com", "john@gmail.com"),
        (" Ann+crm@Acme.com ", "ann@acme.com"),
        ("first.last@acme.com", "first.last@acme.com"),  # dots only matter outside Gmail
        ("not-an-email", "not-an-email"),
        ("+tag@acme.com", "+tag@acme.com"),  # nothing left of the local part: keep as is
    ],
)
def test_canonical_email(raw: str, canon: str) -> None:
    assert canonical_email(raw) == canon


def test_email_key_flags_mailbox_kinds() -> None:
    person = email_key("Mailto:<Ann.Lee+leads@Acme-Plumbing.co.uk>")
    assert person.key == "ann.lee@acme-plumbing.co.uk"
    assert (person.role, person.free, person.disposable) == (False, False, False)
    assert person.company_domain == "acme-plumbing.co.uk"  # public-suffix aware

    role = email_key("Sales@shop.acme.com; other@acme.com")  # first address of a list
    assert role.key == "sales@shop.acme.com"
    assert role.role is True
    assert role.company_domain == "acme.com"

    free = email_key("a.n.n@googlemail.com")
    assert (free.key, free.free, free.company_domain) == ("ann@gmail.com", True, "")
    throwaway = email_key("x123@mailinator.com")
    assert throwaway.disposable is True
    assert throwaway.company_domain == ""

    for bad in ("", "n/a", "ann@", "ann at acme.com", "ann@acme", "a@b@c"):
        assert email_key(bad).key == "", bad


def test_person_names_normalize_swaps_and_honorifics() -> None:
    assert person_name("Lee, Ann") == person_name("Ann Lee")
    assert person_name("Dr. Zoë  O'Brien Jr") == ("zoe", "obrien", "zoe obrien", "obrien zoe")
    assert person_name("Ann McDonald").last == person_name("ANN MCDONALD").last == "mcdonald"
    assert person_name("", "Ann", "Lee").full == "ann lee"
    swapped = person_name("Lee Ann")
    assert swapped.full == "lee ann"
    assert swapped.sorted == person_name("Ann Lee").sorted
    assert person_name("Mr.") == ("", "", "", "")


def test_phone_and_domain_keys_reuse_the_validator() -> None:
    v = ContactValidator()
    assert phone_key("(415) 555-0100 ext. 4", "US", "", v) == phone_key("+1 415 555 0100", "", "",
                                                                        v)
    assert phone_key("020 7946 0018", "United Kingdom", "", v) == "+442079460018"
    assert phone_key("123", "US", "", v) == ""  # invalid numbers give no key
    assert website_domain("https://www.shop.acme.co.uk/about?x=1", v) == "acme.co.uk"
    assert website_domain("facebook.com/acmeplumbing", v) == ""  # a platform page, not a site
    assert company_domain("bluesky.wixsite.com") == ""  # shared site builders say nothing
    assert company_domain("mail.acme.com") == "acme.com"
    assert company_key("The Zorbly Widgets, LLC #12") == "zorbly widgets"


def test_record_from_lead_prefers_validated_values() -> None:
    fields = {"company": "Acme", "first_name": "Ann", "last_name": "Lee", "email": "ANN@acme.com",
              "phone": "415 555 0100", "website": "acme.com", "city": "SF"}
    contact = {"email_normalized": "ann@acme.com", "email_valid": True,
               "phone_e164": "+14155550100", "domain": "acme.com"}
    rec = record_from_lead("7", fields, contact, {"Last Updated": "2025-03-01"},
                           ("updated_at", "last_updated"))
    assert rec == DedupeRecord(
        id="7", company="Acme", name="Ann Lee", email="ann@acme.com", phone="",
        phone_e164="+14155550100", domain="acme.com", website="", city="SF",
        updated_at="2025-03-01",
    )
    # Not validated yet (email_valid is None): the raw cell goes through for prepare to key.
    raw = record_from_lead("8", fields, {})
    assert (raw.email, raw.phone, raw.website) == ("ANN@acme.com", "415 555 0100", "acme.com")
    assert recency_value({"Modified": " "}, ("modified",)) == ""


def test_natural_key_orders_ids_as_people_do() -> None:
    ids = ["rec-10", "rec-2", "10", "2", "b", "a1"]
    assert sorted(ids, key=natural_key) == ["2", "10", "a1", "b", "rec-2", "rec-10"]


def test_key_mapper_workers_give_the_same_keys_as_one_process() -> None:
    from functools import partial

    from revline.leads.dedupe.prepare import KeyMapper, _k_company, _k_phone

    phones = [(f"(415) 555-01{i:02d}", "US") for i in range(40)]
    companies = [(f"Acme {i} Plumbing, LLC",) for i in range(40)]
    serial = KeyMapper(1)
    pool = KeyMapper(2, parallel_min=1)
    pool.CHUNK = 7  # several chunks per worker
    try:
        assert pool.map(partial(_k_phone, region="US"), phones) == serial.map(
            partial(_k_phone, region="US"), phones)
        assert pool.map(_k_company, companies) == [("acme plumbing",)] * 40
        assert pool._pool is not None  # the work really went to worker processes
    finally:
        pool.close()
