"""Scoring engine: bundled weights, operators, groups, plugins, validation, speed."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from revline.kernel.errors import InvalidInput
from revline.leads.schemas import LeadResult
from revline.leads.scoring import ScoringEngine, lookup, register_scorer


def lead(
    fields: dict[str, str] | None = None,
    contact: dict[str, Any] | None = None,
    enrichment: dict[str, Any] | None = None,
    classification: dict[str, Any] | None = None,
    cluster: dict[str, Any] | None = None,
    row_errors: list[str] | None = None,
) -> LeadResult:
    return LeadResult(
        row_index=1,
        raw={},
        fields=fields or {},
        row_errors=row_errors or [],
        contact=contact or {},
        enrichment=enrichment or {},
        classification=classification or {},
        cluster=cluster or {},
    )


def good_contact(**extra: Any) -> dict[str, Any]:
    base = {
        "email_normalized": "ann@smithdental.com",
        "email_valid": True,
        "email_role": False,
        "email_free": False,
        "email_disposable": False,
        "phone_valid": True,
        "phone_type": "mobile",
    }
    base.update(extra)
    return base


FIELDS = {"company": "Smith Dental", "contact_name": "Ann Smith", "title": "Owner"}


@pytest.fixture(scope="module")
def engine() -> ScoringEngine:
    return ScoringEngine.load()


def from_yaml(tmp_path: Path, text: str) -> ScoringEngine:
    path = tmp_path / "scoring.yml"
    path.write_text(text, encoding="utf-8")
    return ScoringEngine.load(path)


# --- bundled weights ---------------------------------------------------------------------


def test_strong_lead_is_tier_a_with_reasons(engine: ScoringEngine) -> None:
    result = engine.score(
        lead(
            FIELDS,
            good_contact(),
            {"status": "ok", "audit": {"score": 42, "has_viewport": False, "https": True}},
            {"vertical": "dental"},
        )
    )
    assert result["tier"] == "A"
    assert 75 <= result["score"] <= 100
    reasons = result["reasons"]
    assert reasons[0] == "+15 valid email"
    assert "+10 website needs work (audit 42/100)" in reasons
    assert "+10 priority vertical (dental)" in reasons
    assert len(reasons) <= 6


def test_empty_lead_scores_zero(engine: ScoringEngine) -> None:
    assert engine.score(lead()) == {"score": 0, "tier": "D", "reasons": []}


def test_poor_audit_is_a_better_agency_lead(engine: ScoringEngine) -> None:
    def with_audit(score: int) -> int:
        enr = {"status": "ok", "audit": {"score": score, "has_viewport": True, "https": True}}
        result = engine.score(lead(FIELDS, good_contact(), enr, {"vertical": "plumbing"}))
        return int(result["score"])

    assert with_audit(35) > with_audit(65) > with_audit(80) > with_audit(95)


def test_missing_website_is_an_opportunity(engine: ScoringEngine) -> None:
    no_site = engine.score(lead(FIELDS, good_contact(), {"status": "no_website"}))
    good_site = engine.score(lead(FIELDS, good_contact(), {"status": "ok", "audit": {"score": 95}}))
    assert no_site["score"] > good_site["score"]
    assert "+12 no website (opportunity)" in no_site["reasons"]
    strong_only = engine.score(lead(enrichment={"status": "ok", "audit": {"score": 95}}))
    assert strong_only["reasons"] == [
        "+3 website reachable",
        "-3 website already strong (audit 95/100)",
    ]


def test_role_inbox_and_bad_contacts_cost_points(engine: ScoringEngine) -> None:
    base = engine.score(lead(FIELDS, good_contact()))
    role = engine.score(
        lead(FIELDS, good_contact(email_role=True, email_normalized="info@smithdental.com"))
    )
    assert role["score"] < base["score"]
    assert "-10 role inbox (info@)" in role["reasons"]
    disposable = engine.score(lead(FIELDS, good_contact(email_valid=False, email_disposable=True)))
    assert "-20 disposable email" in disposable["reasons"]
    assert not any("invalid email" in r for r in disposable["reasons"])  # same group
    invalid = engine.score(lead(FIELDS, good_contact(email_valid=False, email_error="no @ sign")))
    assert "-5 invalid email (no @ sign)" in invalid["reasons"]


def test_duplicates_and_competitors_score_down(engine: ScoringEngine) -> None:
    primary = engine.score(lead(FIELDS, good_contact(), cluster={"is_primary": True}))
    dup = engine.score(
        lead(FIELDS, good_contact(), cluster={"is_primary": False, "cluster_id": "c-1"})
    )
    assert dup["score"] < primary["score"]
    assert "-25 duplicate of another lead (c-1)" in dup["reasons"]
    agency = engine.score(
        lead(FIELDS, good_contact(), classification={"vertical": "marketing_agency"})
    )
    dentist = engine.score(lead(FIELDS, good_contact(), classification={"vertical": "dental"}))
    assert agency["score"] < dentist["score"]
    assert "-10 low-fit vertical (marketing_agency)" in agency["reasons"]


# --- engine mechanics --------------------------------------------------------------------


def test_normalization_clamp_and_tiers(tmp_path: Path) -> None:
    e = from_yaml(
        tmp_path,
        """
tiers: {A: 80, B: 60, C: 40}
rules:
  - {field: contact.email_valid, op: eq, value: true, points: 30, reason: valid email}
  - {field: contact.phone_valid, op: eq, value: true, points: 10, reason: valid phone}
  - {field: contact.email_disposable, op: eq, value: true, points: -100, reason: throwaway}
vertical_weights: {dental: 10, legal: 5}
""",
    )
    assert e.max_points == 50  # 30 + 10 + best vertical bonus
    r = e.score(lead(contact={"email_valid": True}, classification={"vertical": "legal"}))
    assert r["score"] == 70  # 35 / 50
    assert r["tier"] == "B"
    assert r["reasons"] == ["+30 valid email", "+5 priority vertical (legal)"]
    full = e.score(
        lead(
            contact={"email_valid": True, "phone_valid": True},
            classification={"vertical": "dental"},
        )
    )
    assert (full["score"], full["tier"]) == (100, "A")
    clamped = e.score(lead(contact={"email_disposable": True}))
    assert (clamped["score"], clamped["tier"]) == (0, "D")


RICH = lead(
    fields={"title": "Founder & CEO", "company": "Acme"},
    contact={"phone_type": "mobile", "email_valid": None},
    enrichment={"audit": {"score": 42.5, "has_viewport": False}, "social": {"fb": "x"}, "seo": {}},
    row_errors=["email: bad"],
)


@pytest.mark.parametrize(
    ("rule", "fires"),
    [
        ("{field: contact.phone_type, op: eq, value: mobile}", True),
        ("{field: contact.phone_type, op: ne, value: mobile}", False),
        ("{field: contact.phone_type, op: ne, value: landline}", True),
        ("{field: contact.missing, op: ne, value: landline}", False),
        ("{field: contact.phone_type, op: in, value: [voip, mobile]}", True),
        ("{field: enrichment.audit.score, op: gt, value: 42}", True),
        ("{field: enrichment.audit.score, op: lt, value: 42}", False),
        ("{field: enrichment.audit.score, op: gte, value: 42.5}", True),
        ("{field: enrichment.audit.score, op: lte, value: 40}", False),
        ("{field: enrichment.audit.score, op: between, value: [40, 50]}", True),
        ("{field: enrichment.audit.score, op: between, value: [43, 50]}", False),
        ("{field: fields.title, op: contains, value: ceo}", True),
        ("{field: fields.title, op: contains, value: [owner, president]}", False),
        ("{field: enrichment.social, op: contains, value: fb}", True),
        ("{field: enrichment.social, op: truthy}", True),
        ("{field: enrichment.seo, op: truthy}", False),
        ("{field: enrichment.seo, op: truthy, value: false}", True),
        ("{field: enrichment.audit.https, op: exists}", False),
        ("{field: enrichment.audit.https, op: exists, value: false}", True),
        ("{field: contact.email_valid, op: exists}", False),
        ("{field: fields.company, op: exists}", True),
        ("{field: enrichment.audit.has_viewport, op: eq, value: false}", True),
        ("{field: enrichment.audit.score.deeper, op: eq, value: 1}", False),
        ("{field: row_errors, op: truthy}", True),
        ("{field: fields.title, op: gt, value: 3}", False),  # strings never compare to numbers
    ],
)
def test_operators(tmp_path: Path, rule: str, fires: bool) -> None:
    e = from_yaml(tmp_path, f"rules:\n  - {rule[:-1]}, points: 10, reason: hit}}\n")
    assert (e.score(RICH)["score"] == 100) is fires


def test_group_is_first_match_only(tmp_path: Path) -> None:
    e = from_yaml(
        tmp_path,
        """
rules:
  - {group: audit, field: enrichment.audit.score, op: lt, value: 50, points: 10,
     reason: "weak site ({value}/100, viewport {enrichment.audit.has_viewport})"}
  - {group: audit, field: enrichment.audit.score, op: lt, value: 70, points: 6, reason: so-so}
  - {field: fields.company, op: truthy, points: 5, reason: "company {value}"}
""",
    )
    assert e.max_points == 15  # the group counts once, with its best points
    r = e.score(RICH)
    assert r["reasons"] == ["+10 weak site (42.5/100, viewport False)", "+5 company Acme"]
    assert r["score"] == 100


def test_plugin_scorer(tmp_path: Path) -> None:
    def domain_age(result: LeadResult, params: Mapping[str, Any]) -> tuple[float, str] | None:
        years = result.enrichment.get("domain_age")
        if years is None:
            return None
        return (params["per_year"] * years, f"domain {years} years old")

    register_scorer("test_domain_age", domain_age)
    e = from_yaml(
        tmp_path,
        """
rules:
  - {scorer: test_domain_age, max_points: 20, params: {per_year: 4}}
  - {field: fields.company, op: truthy, points: 5, reason: company}
""",
    )
    assert e.max_points == 25
    assert e.score(lead({"company": "A"}, enrichment={"domain_age": 2}))["reasons"] == [
        "+8 domain 2 years old",
        "+5 company",
    ]
    capped = e.score(lead({"company": "A"}, enrichment={"domain_age": 30}))
    assert capped["score"] == 100
    assert capped["reasons"][0] == "+20 domain 30 years old"  # clamped to max_points
    assert e.score(lead({"company": "A"}))["score"] == 20


def test_lookup_paths() -> None:
    assert lookup(RICH, "enrichment.audit.score") == 42.5
    assert lookup(RICH, "enrichment.audit.nope") is None
    assert lookup(RICH, "nope.x") is None


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("rules:\n  - {field: a.b, op: eq\n", "YAML syntax error at line"),
        ("rules:\n  - {field: contact.x, op: like, value: 1, points: 1}\n", "unknown op 'like'"),
        ("rules:\n  - {field: contact.x, op: eq, value: 1, points: lots}\n", "points must be"),
        ("rules:\n  - {field: contact.x, op: eq, value: 1, points: 1, colour: red}\n", "colour"),
        ("rules:\n  - {field: contact.x, op: eq, points: 1}\n", "needs a 'value'"),
        ("rules:\n  - {field: contact.x, op: gt, value: high, points: 1}\n", "number value"),
        ("rules:\n  - {field: contact.x, op: between, value: [5, 1], points: 1}\n", "between"),
        ("rules:\n  - {field: contact.x, op: in, value: a, points: 1}\n", "list value"),
        ("rules:\n  - {field: lead.x, op: truthy, points: 1}\n", "must start with one of"),
        ("rules:\n  - {scorer: no_such_plugin, max_points: 5}\n", "unknown scorer"),
        ("rules: []\n", "non-empty 'rules'"),
        ("rules:\n  - {field: fields.a, op: truthy, points: 1}\ntiers: {A: 10, B: 50}\n", "A >= B"),
        ("rules:\n  - {field: fields.a, op: truthy, points: 1}\ntiers: {S: 90}\n", "tiers.S"),
        ("rules:\n  - {field: fields.a, op: truthy, points: 1}\nextra: 1\n", "extra"),
        (
            "rules:\n  - {field: fields.a, op: truthy, points: 1}\nvertical_weights: {x: big}\n",
            "vertical_weights.x",
        ),
    ],
)
def test_bad_scoring_file_is_one_line_invalid_input(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(InvalidInput) as err:
        from_yaml(tmp_path, text)
    message = str(err.value)
    assert needle in message
    assert "scoring.yml" in message
    assert "\n" not in message


def test_missing_scoring_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot read"):
        ScoringEngine.load(tmp_path / "missing.yml")


def test_scores_spread_over_many_leads(engine: ScoringEngine) -> None:
    """Varied leads get varied scores (speed lives in benchmarks/leads_pipeline.py)."""
    leads = [
        lead(
            FIELDS,
            good_contact(email_role=i % 3 == 0),
            {"status": "ok", "audit": {"score": i % 100, "has_viewport": i % 2 == 0}},
            {"vertical": ["dental", "legal", None][i % 3]},
        )
        for i in range(5000)
    ]
    scores = [engine.score(x)["score"] for x in leads]
    assert len(set(scores)) > 5
