"""Dedupe v1: canonical emails, blocking rules, role inboxes, stable cluster ids, speed."""

from __future__ import annotations

import random

import pytest

from revline.kernel.errors import InvalidInput
from revline.leads.dedupe import DedupeRecord, canonical_email, cluster_records, natural_key


def R(id: str, **kw: str) -> DedupeRecord:  # noqa: N802 - short constructor for tables
    return DedupeRecord(id=id, **kw)


def groups(result: dict[str, dict[str, object]]) -> set[frozenset[str]]:
    by: dict[object, set[str]] = {}
    for rid, info in result.items():
        by.setdefault(info["cluster_id"], set()).add(rid)
    return {frozenset(g) for g in by.values()}


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


def test_same_canonical_email_merges() -> None:
    out = cluster_records(
        [
            R("1", company="Acme", email="John.Smith@gmail.com"),
            R("2", company="Totally Different", email="johnsmith+x@googlemail.com"),
            R("3", company="Acme", email="jane@gmail.com"),
        ]
    )
    assert out["1"] == {
        "cluster_id": "c-1",
        "cluster_size": 2,
        "is_primary": True,
        "match_reason": "same email",
    }
    assert out["2"]["cluster_id"] == "c-1"
    assert out["2"]["is_primary"] is False
    assert out["3"] == {
        "cluster_id": "c-3",
        "cluster_size": 1,
        "is_primary": True,
        "match_reason": "",
    }


def test_role_inbox_does_not_merge_different_people_or_companies() -> None:
    out = cluster_records(
        [
            R("1", company="Acme Plumbing", name="John Smith", email="info@shared-host.com"),
            R("2", company="Zenith Roofing", name="Mary Jones", email="info@shared-host.com"),
            R("3", company="Bolt Electric", email="info@shared-host.com"),
            R("4", company="Acme Plumbing", name="Jon Smith", email="INFO@shared-host.com"),
            R("5", company="Bolt Electric LLC", email="info@shared-host.com"),
            R("6", company="Other Co", email="sales@shared-host.com"),
        ]
    )
    assert groups(out) == {
        frozenset({"1", "4"}),
        frozenset({"2"}),
        frozenset({"3", "5"}),
        frozenset({"6"}),
    }
    # The email's domain is also a company domain, so the same company links that way too.
    assert out["4"]["match_reason"] == "same domain + company; same role inbox + name"
    assert "same role inbox + company" in out["5"]["match_reason"]


def test_phone_needs_similar_company_or_name() -> None:
    out = cluster_records(
        [
            R("1", company="Smith Plumbing LLC", phone="+14155550100"),
            R("2", company="Smith Plumbing", phone="+14155550100"),
            R("3", company="Harbor Dental", phone="+14155550100"),  # shared switchboard
            R("4", name="Ann Lee", company="Lee Consulting", phone="+14155550199"),
            R("5", name="Ann Lee", company="Blue Sky Media", phone="+14155550199"),
            R("6", company="Smith Plumbing", phone="+14155550111"),
        ]
    )
    assert groups(out) == {
        frozenset({"1", "2"}),
        frozenset({"3"}),
        frozenset({"4", "5"}),
        frozenset({"6"}),
    }
    assert out["2"]["match_reason"] == "same phone + company"
    assert out["5"]["match_reason"] == "same phone + name"


def test_domain_needs_similar_company_and_ignores_shared_domains() -> None:
    out = cluster_records(
        [
            R("1", company="Acme Roofing Inc", domain="www.acmeroofing.com"),
            R("2", company="Acme Roofing", email="bob@acmeroofing.com"),  # domain from email
            R("3", company="Acme Gutters", domain="acmeroofing.com"),
            R("4", company="Blue Sky Spa", domain="bluesky.wixsite.com"),
            R("5", company="Blue Sky Spa", domain="blueskyspa2.wixsite.com"),
            R("6", company="Joe Smith", email="joe@gmail.com"),
            R("7", company="Joe Smith", email="joe.s@gmail.com"),
        ]
    )
    assert groups(out) == {
        frozenset({"1", "2"}),
        frozenset({"3"}),
        frozenset({"4"}),
        frozenset({"5"}),
        frozenset({"6"}),
        frozenset({"7"}),
    }
    assert out["2"]["match_reason"] == "same domain + company"


def test_transitive_clusters_and_combined_reasons() -> None:
    out = cluster_records(
        [
            R("a", company="Acme", email="ann@acme.com"),
            R("b", company="Acme Inc", email="ann@acme.com", phone="+442079460123"),
            R("c", company="ACME", phone="+442079460123"),
        ]
    )
    assert {info["cluster_id"] for info in out.values()} == {"c-a"}
    assert all(info["cluster_size"] == 3 for info in out.values())
    assert [rid for rid, info in out.items() if info["is_primary"]] == ["a"]
    reason = out["c"]["match_reason"]
    assert "same email" in reason
    assert "same phone + company" in reason


def test_cluster_ids_are_stable_under_reordering() -> None:
    records = [
        R("10", company="Acme", email="ann@acme.com"),
        R("2", company="Acme", email="ann@acme.com"),
        R("33", company="Solo"),
        R("9", company="Zed", phone="+14155550100"),
        R("100", company="Zed Ltd", phone="+14155550100"),
    ]
    first = cluster_records(records)
    shuffled = records[:]
    random.Random(1).shuffle(shuffled)
    assert cluster_records(shuffled) == first
    assert list(first) == [r.id for r in records]  # output follows input order
    # Natural order: "2" < "10", so row 2 is the primary.
    assert first["10"]["cluster_id"] == "c-2"
    assert first["2"]["is_primary"] is True
    assert first["100"]["cluster_id"] == "c-9"
    assert natural_key("rec-2") < natural_key("rec-10")


def test_duplicate_ids_are_rejected() -> None:
    with pytest.raises(InvalidInput, match="duplicate record id '1'"):
        cluster_records([R("1"), R("1")])


def test_empty_input() -> None:
    assert cluster_records([]) == {}


def _synthetic(n: int, seed: int = 5) -> tuple[list[DedupeRecord], set[frozenset[str]]]:
    """n businesses, ~20% with a second row that shares email, phone or domain (with noise)."""
    rng = random.Random(seed)
    words = ["Summit", "Harbor", "Pioneer", "Golden", "Metro", "Oak", "Cedar", "Bright", "Apex"]
    kinds = ["Dental", "Plumbing", "Roofing", "Realty", "Law Group", "Bakery", "Auto", "Spa"]
    records: list[DedupeRecord] = []
    truth: set[frozenset[str]] = set()
    for i in range(n):
        company = f"{rng.choice(words)} {rng.choice(kinds)} {i}"
        slug = company.lower().replace(" ", "")
        base = R(
            f"r{i}",
            company=company,
            name=f"Owner {i}",
            email=f"owner{i}@{slug}.com",
            phone=f"+1415{i:07d}",
            domain=f"{slug}.com",
        )
        records.append(base)
        if rng.random() < 0.2:
            how = rng.choice(["email", "phone", "domain"])
            dup_id = f"r{i}-dup"
            if how == "email":
                dup = R(dup_id, company=company + " LLC", email=base.email.upper())
            elif how == "phone":
                dup = R(dup_id, company=company.upper() + " Inc.", phone=base.phone)
            else:
                dup = R(dup_id, company="The " + company, domain="www." + base.domain)
            records.append(dup)
            truth.add(frozenset({base.id, dup_id}))
    rng.shuffle(records)
    return records, truth


def test_synthetic_duplicates_found_exactly() -> None:
    records, truth = _synthetic(10_000)
    out = cluster_records(records)
    found = {g for g in groups(out) if len(g) > 1}
    assert found == truth  # every planted pair, and nothing else
