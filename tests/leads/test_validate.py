"""Contact validation: emails, phones, domains and websites, all offline."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

from revline.leads.validate import (
    CONTACT_KEYS,
    ContactValidator,
    disposable_domains,
    free_domains,
    is_role_local,
    normalize_website,
    region_for,
    registered_domain,
    role_accounts,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def v() -> ContactValidator:
    return ContactValidator()


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_returns_exactly_the_documented_json_keys(v: ContactValidator) -> None:
    for fields in ({}, {"email": "a@acme-demo.com", "phone": "x", "website": "acme-demo.com"}):
        out = v.validate(fields)
        assert tuple(out) == CONTACT_KEYS
        assert json.loads(json.dumps(out)) == out


def test_absent_values(v: ContactValidator) -> None:
    out = v.validate({"email": "  ", "phone": "", "website": ""})
    assert out["email_valid"] is None
    assert out["phone_valid"] is None
    assert out["email_normalized"] == out["phone_e164"] == out["domain"] == ""
    assert out["email_error"] == out["phone_error"] == ""
    assert out["domain_source"] == ""


# -- email ------------------------------------------------------------------------------------


def test_valid_business_email(v: ContactValidator, no_network: None) -> None:
    out = v.validate({"email": " Jane.Doe@BrightSmile-Dental-Demo.com "})
    assert out["email_valid"] is True
    assert out["email_error"] == ""
    assert out["email_normalized"] == "jane.doe@brightsmile-dental-demo.com"
    assert out["email_domain"] == "brightsmile-dental-demo.com"
    assert (out["email_free"], out["email_role"], out["email_disposable"]) == (False, False, False)
    # no website: the company domain comes from the (non-free) email
    assert (out["domain"], out["domain_source"]) == ("brightsmile-dental-demo.com", "email")


@pytest.mark.parametrize(
    ("email", "needle"),
    [
        ("jane.doe.acme-demo.com", "@-sign"),
        ("jane@@acme-demo.com", "invalid characters"),
        ("jane@acme-demo", "period"),
        ("jane.@acme-demo.com", "period"),
        ("jane doe@acme-demo.com", ""),
        ("jane@acme-demo.com.", "period"),
        ("n/a", "@-sign"),
        ("jane@localhost.test", "special-use"),
    ],
)
def test_invalid_email_syntax(v: ContactValidator, email: str, needle: str) -> None:
    out = v.validate({"email": email})
    assert out["email_valid"] is False
    assert out["email_error"]
    assert "\n" not in out["email_error"]
    assert needle in out["email_error"]
    assert out["email_normalized"] == ""
    assert out["domain"] == ""  # never derive a company domain from a broken address


def test_disposable_email(v: ContactValidator) -> None:
    out = v.validate({"email": "bob42@Mailinator.com"})
    assert out["email_disposable"] is True
    assert out["email_valid"] is False
    assert out["email_error"] == "disposable mailbox domain mailinator.com"
    assert out["domain"] == ""
    sub = v.validate({"email": "x@inbox.yopmail.com"})
    assert sub["email_disposable"] is True
    assert "mailinator.com" in disposable_domains()
    assert len(disposable_domains()) >= 200
    assert not disposable_domains() & free_domains()


@pytest.mark.parametrize(
    ("email", "role"),
    [
        ("info@acme-demo.com", True),
        ("Sales@acme-demo.com", True),
        ("no-reply@acme-demo.com", True),
        ("office+web@acme-demo.com", True),
        ("front.desk@acme-demo.com", True),
        ("hello@acme-demo.com", True),
        ("jane@acme-demo.com", False),
        ("information.jane@acme-demo.com", False),
    ],
)
def test_role_accounts(v: ContactValidator, email: str, role: bool) -> None:
    assert v.validate({"email": email})["email_role"] is role
    assert is_role_local(email.split("@")[0]) is role
    assert {"info", "sales", "admin", "noreply", "billing"} <= role_accounts()


@pytest.mark.parametrize(
    "email", ["jane.doe@gmail.com", "JD@yahoo.co.uk", "x@hotmail.com", "y@bigpond.com"]
)
def test_free_webmail(v: ContactValidator, email: str) -> None:
    out = v.validate({"email": email, "website": ""})
    assert out["email_free"] is True
    assert out["email_valid"] is True
    assert out["domain"] == ""
    assert out["domain_source"] == ""


def test_unicode_and_idn_email_normalization(v: ContactValidator) -> None:
    out = v.validate({"email": "Zoë.Müller@Bücher-Demo.DE"})
    assert out["email_valid"] is True
    assert out["email_normalized"] == "zoë.müller@bücher-demo.de"
    puny = "bücher-demo.de".encode("idna").decode()
    assert puny.startswith("xn--")
    assert out["email_domain"] == puny
    # the same business's website in unicode or punycode gives the same domain key
    site = v.validate({"website": "https://www.bücher-demo.de/shop"})
    assert site["domain"] == out["domain"] == puny
    nfc = v.validate({"email": "jose\u0301@acme-demo.com"})  # decomposed accent
    assert nfc["email_normalized"] == "jos\u00e9@acme-demo.com"


def test_mailto_display_brackets_and_lists(v: ContactValidator) -> None:
    assert v.validate({"email": "mailto:Ann@acme-demo.com"})["email_normalized"] == (
        "ann@acme-demo.com"
    )
    assert v.validate({"email": "<ann@acme-demo.com>"})["email_valid"] is True
    two = v.validate({"email": "ann@acme-demo.com; bob@acme-demo.com"})
    assert two["email_normalized"] == "ann@acme-demo.com"


def test_mx_check_only_when_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    import revline.leads.validate as mod

    seen: list[Any] = []

    def fake(email: str, **kwargs: Any) -> Any:
        seen.append(kwargs.get("check_deliverability"))
        raise mod.EmailNotValidError("The domain name acme-demo.com does not accept email.")

    monkeypatch.setattr(mod, "validate_email", fake)
    assert ContactValidator().validate({"email": "a@acme-demo.com"})["email_valid"] is False
    ContactValidator(check_mx=True).validate({"email": "a@acme-demo.com"})
    assert seen == [False, True]


# -- phone ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "(415) 555-0134",
        "415-555-0134",
        "415.555.0134",
        "4155550134",
        "1-415-555-0134",
        "+1 415 555 0134",
        "+14155550134",
        "4155550134.0",
    ],
)
def test_us_formats_normalize_to_e164(v: ContactValidator, raw: str) -> None:
    out = v.validate({"phone": raw, "country": "USA"})
    assert out["phone_valid"] is True, out
    assert out["phone_e164"] == "+14155550134"
    assert out["phone_region"] == "US"
    assert out["phone_error"] == ""


def test_extension_is_accepted(v: ContactValidator) -> None:
    out = v.validate({"phone": "(415) 555-0134 ext. 12"})
    assert out["phone_valid"] is True
    assert out["phone_e164"] == "+14155550134"


@pytest.mark.parametrize(
    "country", ["UK", "United Kingdom", "GB", "gb", "England", "Great Britain"]
)
def test_uk_numbers_use_row_country(v: ContactValidator, country: str) -> None:
    out = v.validate({"phone": "020 7946 0123", "country": country})
    assert out["phone_valid"] is True
    assert out["phone_e164"] == "+442079460123"
    assert (out["phone_region"], out["phone_type"]) == ("GB", "fixed_line")


def test_uk_number_without_country_is_invalid_for_us_default(v: ContactValidator) -> None:
    out = v.validate({"phone": "020 7946 0123"})
    assert out["phone_valid"] is False
    assert "US" in out["phone_error"]
    assert ContactValidator(default_region="GB").validate({"phone": "020 7946 0123"})[
        "phone_valid"
    ]


def test_e164_input_ignores_row_region(v: ContactValidator) -> None:
    out = v.validate({"phone": "+61 491 570 156", "country": "United States"})
    assert out["phone_valid"] is True
    assert (out["phone_e164"], out["phone_region"], out["phone_type"]) == (
        "+61491570156",
        "AU",
        "mobile",
    )


def test_state_pins_region_when_country_missing(v: ContactValidator) -> None:
    out = v.validate({"phone": "(02) 5550 1234", "state": "NSW"})
    assert out["phone_e164"] == "+61255501234"
    assert out["phone_region"] == "AU"


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("1-800-555-0199", "toll_free"),
        ("(415) 555-0134", "fixed_line_or_mobile"),
        ("+44 20 7946 0123", "fixed_line"),
        ("+61 491 570 156", "mobile"),
    ],
)
def test_phone_types(v: ContactValidator, raw: str, kind: str) -> None:
    assert v.validate({"phone": raw})["phone_type"] == kind


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ("12", "wrong length"),
        ("hello", "not seem to be a phone number"),
        ("+44 7700 900123", "not a valid number for region GB"),
        ("(415) 555-01", "wrong length"),
    ],
)
def test_invalid_phones(v: ContactValidator, raw: str, needle: str) -> None:
    out = v.validate({"phone": raw})
    assert out["phone_valid"] is False
    assert out["phone_e164"] == ""
    assert needle in out["phone_error"]
    assert "\n" not in out["phone_error"]


@pytest.mark.parametrize(
    ("country", "region"),
    [
        ("US", "US"),
        ("U.S.A.", "US"),
        ("United States", "US"),
        ("uk", "GB"),
        ("Canada", "CA"),
        ("CAN", "CA"),
        ("Australia", "AU"),
        ("Germany", "DE"),
        ("New Zealand", "NZ"),
        ("Narnia", "US"),
        ("", "US"),
    ],
)
def test_region_for(country: str, region: str) -> None:
    assert region_for(country, "US") == region


def test_unknown_default_region_is_rejected() -> None:
    with pytest.raises(ValueError, match="default_region"):
        ContactValidator(default_region="XX")


# -- domains and websites -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "domain"),
    [
        ("https://www.shop.example.co.uk/x", "example.co.uk"),
        ("example.co.uk", "example.co.uk"),
        ("http://Acme-Demo.com:8080/path?q=1", "acme-demo.com"),
        ("www.brightsmile-dental-demo.com.au/", "brightsmile-dental-demo.com.au"),
        ("blog.acme-demo.ca", "acme-demo.ca"),
        ("jane@mail.acme-demo.com", "acme-demo.com"),
        ("localhost", ""),
        ("192.168.0.1", ""),
        ("", ""),
        ("not a url", ""),
    ],
)
def test_registered_domain(value: str, domain: str, no_network: None) -> None:
    assert registered_domain(value) == domain


@pytest.mark.parametrize(
    ("raw", "url"),
    [
        ("acme.com", "https://acme.com"),
        ("www.acme.com/", "https://acme.com"),
        ("WWW.ACME.COM", "https://acme.com"),
        ("http://www.acme.co.uk/contact/", "http://acme.co.uk/contact"),
        ("https://acme.com/?ref=gmb", "https://acme.com/?ref=gmb"),
        ("n/a", ""),
        ("none", ""),
        ("acme", ""),
        ("info@acme.com", ""),
        ("ftp://acme.com", ""),
    ],
)
def test_normalize_website(raw: str, url: str) -> None:
    assert normalize_website(raw) == url


def test_website_beats_email_domain(v: ContactValidator) -> None:
    out = v.validate({"website": "www.harbor-law-demo.co.uk/", "email": "ann@other-demo.com"})
    assert (out["domain"], out["domain_source"]) == ("harbor-law-demo.co.uk", "website")
    assert out["website_url"] == "https://harbor-law-demo.co.uk"


def test_social_page_is_not_the_company_domain(v: ContactValidator) -> None:
    out = v.validate({"website": "facebook.com/acmeplumbing", "email": "joe@gmail.com"})
    assert out["domain"] == ""
    assert out["website_url"] == ""
    with_mail = v.validate({"website": "https://www.yelp.com/biz/acme", "email": "j@acme-demo.com"})
    assert (with_mail["domain"], with_mail["domain_source"]) == ("acme-demo.com", "email")


# -- example data and throughput ------------------------------------------------------------


def test_example_file_has_the_intended_mess(v: ContactValidator) -> None:
    from revline.leads.importer import open_table

    with open_table(REPO / "examples" / "leads.csv") as reader:
        results = [v.validate(row.fields) for row in reader.rows()]
    n = len(results)
    bad = sum(1 for r in results if r["email_valid"] is False and not r["email_disposable"])
    assert 0.03 * n <= bad <= 0.10 * n
    assert sum(r["email_disposable"] for r in results) >= 2
    assert sum(r["email_role"] for r in results) >= 10
    assert sum(r["email_free"] for r in results) >= 20
    assert sum(r["phone_valid"] is True for r in results) >= 0.75 * n
    assert sum(r["domain_source"] == "website" for r in results) >= 0.6 * n


@pytest.mark.slow
def test_synthetic_leads_mostly_valid(v: ContactValidator) -> None:
    """Throughput is measured in benchmarks/leads_pipeline.py; here only the outcomes."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from synth import synth_leads
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    keys = {
        "Company Name": "company",
        "Email": "email",
        "Phone": "phone",
        "Website": "website",
        "Country": "country",
        "State": "state",
    }
    rows = [{keys.get(k, k): val for k, val in r.items()} for r in synth_leads(5_000, seed=3)]
    outs = [v.validate(r) for r in rows]
    assert sum(o["phone_valid"] is True for o in outs) > 0.7 * len(rows)
    assert sum(o["email_valid"] is True for o in outs) > 0.7 * len(rows)
