"""Classification cascade: dictionary loading, exact rules, fuzzy layer, LLM learning."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import pytest

from revline.kernel.errors import InvalidInput
from revline.leads.classify import (
    Cascade,
    Classification,
    ClassifyInput,
    LearnedRule,
    VerticalDictionary,
    consensus,
    name_key,
    normalize,
)


@pytest.fixture(scope="module")
def dictionary() -> VerticalDictionary:
    return VerticalDictionary.load()


def one(cascade: Cascade, name: str, category: str = "", text: str = "", domain: str = ""):
    return cascade.classify([ClassifyInput("k", name, category, text, domain)])[0]


class FakeLLM:
    """Records calls; answers from a name/category -> vertical table."""

    def __init__(self, answers: dict[str, str | None], fail_on: set[int] | None = None) -> None:
        self.answers = answers
        self.calls: list[list[str]] = []
        self.allowed: list[list[str]] = []
        self.fail_on = fail_on or set()

    def __call__(
        self, items: Sequence[ClassifyInput], allowed: Sequence[str]
    ) -> list[tuple[str | None, float]]:
        self.calls.append([it.name for it in items])
        self.allowed.append(list(allowed))
        if len(self.calls) in self.fail_on:
            raise RuntimeError("provider down")
        out: list[tuple[str | None, float]] = []
        for it in items:
            vertical = self.answers.get(it.category) or self.answers.get(it.name)
            out.append((vertical, 0.9 if vertical else 0.2))
        return out


# --- dictionary --------------------------------------------------------------------------


def test_bundled_dictionary_covers_agency_verticals(dictionary: VerticalDictionary) -> None:
    expected = {
        "dental", "medical", "legal", "accounting", "real_estate", "plumbing", "hvac",
        "roofing", "electrical", "landscaping", "auto_repair", "restaurant", "cafe_bakery",
        "fitness", "beauty_spa", "veterinary", "insurance", "construction", "cleaning",
        "marketing_agency", "software_saas", "retail_ecommerce", "education", "photography",
        "hospitality",
    }  # fmt: skip
    assert expected <= set(dictionary.names)
    for v in dictionary.verticals.values():
        assert len(v.categories) >= 5, v.key
        assert len(v.keywords) >= 10, v.key
        assert v.label


def test_normalize_and_name_key() -> None:
    assert normalize("CafeOrCoffeeShop") == "cafe or coffee shop"
    assert normalize("roofing_contractor") == "roofing contractor"
    assert normalize("HVACBusiness") == "hvac business"
    assert normalize("Café  Crème!") == "cafe creme"
    assert name_key("The Zorbly Widgets, LLC #12") == "zorbly widgets"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "verticals.yml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("verticals:\n  dental:\n    keywords: {dental: 3\n", "YAML syntax error at line"),
        ("verticals:\n  dental:\n    keywords: {dental: 3}\n    colour: red\n", "colour"),
        ("verticals:\n  dental:\n    keywords: {dental: three}\n", "must be a number"),
        ("verticals:\n  dental:\n    categories: Dentist\n", "must be a list of strings"),
        ("vertical:\n  dental: {}\n", "unknown top-level key(s): vertical"),
        ("verticals: []\n", "non-empty mapping"),
        (
            "verticals:\n  a:\n    categories: [Dentist]\n  b:\n    categories: [dentist]\n",
            "also listed under a",
        ),
        ("settings: {min_score: -1}\nverticals:\n  a:\n    categories: [X]\n", "must be > 0"),
        ("verticals:\n  Bad-Key:\n    categories: [X]\n", "snake_case"),
        ("settings: {fuzzy_exclude: baker}\nverticals:\n  a:\n    categories: [X]\n", "list"),
    ],
)
def test_broken_dictionary_is_one_line_invalid_input(
    tmp_path: Path, text: str, needle: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InvalidInput) as err:
        VerticalDictionary.load(path)
    message = str(err.value)
    assert needle in message
    assert str(path) in message
    assert "\n" not in message


def test_missing_dictionary_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot read"):
        VerticalDictionary.load(tmp_path / "nope.yml")


def test_custom_dictionary_settings_are_used(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "settings: {min_score: 5}\nverticals:\n  widgets:\n    keywords: {widget: 3, gizmo: 3}\n",
    )
    d = VerticalDictionary.load(path)
    c = Cascade(d)
    assert one(c, "Acme Widget").vertical is None  # 3 < min_score 5
    assert one(c, "Acme Widget Gizmo").vertical == "widgets"


# --- rules layer -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "vertical"),
    [
        ("Dentist", "dental"),
        ("Dentists", "dental"),
        ("CafeOrCoffeeShop", "cafe_bakery"),
        ("roofing_contractor", "roofing"),
        ("Heating & Air Conditioning/HVAC", "hvac"),
        ("Personal injury attorney", "legal"),
        ("VeterinaryCare", "veterinary"),
        ("Insurance agency", "insurance"),
    ],
)
def test_exact_category(dictionary: VerticalDictionary, category: str, vertical: str) -> None:
    r = one(Cascade(dictionary), "Acme", category)
    assert (r.vertical, r.layer) == (vertical, "rules")
    assert r.confidence >= 0.95
    assert "category" in r.evidence


def test_category_part_match_and_precedence(dictionary: VerticalDictionary) -> None:
    c = Cascade(dictionary)
    r = one(c, "Acme", "Widget maker, Orthodontist")
    assert (r.vertical, r.layer) == ("dental", "rules")
    assert r.confidence < 0.95  # a secondary part is weaker than the whole category
    # An exact category beats keywords in the name.
    assert one(c, "Smith Plumbing", "Dentist").vertical == "dental"


@pytest.mark.parametrize(
    ("name", "vertical"),
    [
        ("Smith Family Dentistry", "dental"),
        ("Law Offices of Jane Doe", "legal"),
        ("Green Lawn Care", "landscaping"),
        ("Joe's Pizza", "restaurant"),
        ("Main Street Auto Repair", "auto_repair"),
        ("Keller Williams Realty", "real_estate"),
        ("Summit Heating and Cooling", "hvac"),
        ("Pawsome Pet Grooming", "veterinary"),
        ("Coffee Bean Roasters", "cafe_bakery"),
        ("Smith Dental Marketing", "marketing_agency"),  # the last word names the business
        ("Landscape Photography by Ann", "photography"),
        ("Austin Auto Insurance", "insurance"),
    ],
)
def test_keywords_in_name(dictionary: VerticalDictionary, name: str, vertical: str) -> None:
    r = one(Cascade(dictionary), name)
    assert (r.vertical, r.layer) == (vertical, "rules"), r.evidence
    assert "keywords" in r.evidence


def test_website_text_and_domain_add_evidence(dictionary: VerticalDictionary) -> None:
    c = Cascade(dictionary)
    text = "Gentle family dentistry: cleanings, teeth whitening, Invisalign and dental implants."
    r = one(c, "Bright Smiles", text=text)
    assert (r.vertical, r.layer) == ("dental", "rules")
    assert "text" in r.evidence
    # A weight-1 name word alone is not enough; the domain tips it.
    assert one(c, "Bright Smiles").vertical is None
    r = one(c, "Bright Smiles", domain="https://www.brightsmilesdental.com/about")
    assert r.vertical == "dental"
    assert "domain 'dental'" in r.evidence


# --- fuzzy layer -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "category", "vertical"),
    [
        ("Dentel Clinic", "", "dental"),
        ("Plumbng Pros", "", "plumbing"),
        ("Rofing", "", "roofing"),
        ("Austin Rofing Co", "", "roofing"),
        ("Restaraunt Roma", "", "restaurant"),
        ("Summit Insurnce Agency", "", "insurance"),
        ("Blue Sky Photgraphy", "", "photography"),
        ("Reel Estate Group", "", "real_estate"),
        ("Acme", "Dentel clinic", "dental"),
    ],
)
def test_fuzzy_catches_typos(
    dictionary: VerticalDictionary, name: str, category: str, vertical: str
) -> None:
    r = one(Cascade(dictionary), name, category)
    assert (r.vertical, r.layer) == (vertical, "fuzzy"), r.evidence
    assert 0.5 <= r.confidence <= 0.85
    assert "consensus" in r.evidence


@pytest.mark.parametrize(
    "name",
    [
        "Zorbly Widgets",
        "Solon Heights Partners",
        "Rental Depot",
        "Proofing Inc",
        "Baker & Associates",  # surname, not a typo of "bakery" (settings.fuzzy_exclude)
        "Gardner Consulting",
    ],
)
def test_fuzzy_does_not_invent_matches(dictionary: VerticalDictionary, name: str) -> None:
    r = one(Cascade(dictionary), name)
    assert r.vertical is None, r.evidence
    assert r.layer == "none"


def test_consensus_weights_agreeing_algorithms() -> None:
    score, agree = consensus("dentel", "dental")
    assert score == pytest.approx(1.0)
    assert set(agree) == {"ratio", "jaro_winkler", "metaphone", "nysiis", "soundex"}
    score, agree = consensus("dental", "rental")
    assert score < 0.6
    assert "metaphone" not in agree


def test_fuzzy_threshold_is_configurable(dictionary: VerticalDictionary) -> None:
    # "plumbng" gets 0.85 consensus (NYSIIS disagrees): passes 0.6, fails 0.9.
    assert one(Cascade(dictionary, fuzzy_threshold=0.6), "Plumbng Pros").vertical == "plumbing"
    assert one(Cascade(dictionary, fuzzy_threshold=0.9), "Plumbng Pros").vertical is None


# --- LLM layer and learning --------------------------------------------------------------


def test_llm_answer_is_learned_and_reused(dictionary: VerticalDictionary) -> None:
    llm = FakeLLM({"Widget maker": "retail_ecommerce"})
    learned: list[LearnedRule] = []
    c = Cascade(dictionary, llm=llm, on_learn=learned.append)
    items = [
        ClassifyInput("1", "Zorbly Widgets", "Widget maker"),
        ClassifyInput("2", "Acme Dental"),
        ClassifyInput("3", "Quxco Gizmos", "Widget Maker"),
    ]
    results = c.classify(items)
    assert c.llm_calls == 1
    assert llm.calls == [["Zorbly Widgets"]]
    assert llm.allowed[0] == dictionary.names
    assert [r.layer for r in results] == ["llm", "rules", "learned"]
    assert results[0].vertical == results[2].vertical == "retail_ecommerce"
    assert learned == [LearnedRule("category", "widget maker", "retail_ecommerce", "llm")]
    # A later call needs no LLM either.
    again = c.classify([ClassifyInput("4", "Blorp", "widget-maker")])[0]
    assert (again.vertical, again.layer) == ("retail_ecommerce", "learned")
    assert c.llm_calls == 1
    assert c.layer_counts == {"rules": 1, "learned": 2, "fuzzy": 0, "llm": 1, "none": 0}


def test_persisted_rules_resolve_without_llm(dictionary: VerticalDictionary) -> None:
    llm = FakeLLM({})
    rules = [
        LearnedRule("category", "Widget maker", "retail_ecommerce"),
        LearnedRule("name_key", "Zorbly Holdings LLC", "software_saas"),
        LearnedRule("category", "anything", "not_a_vertical"),  # ignored
    ]
    c = Cascade(dictionary, llm=llm, learned=rules)
    r1, r2 = c.classify(
        [ClassifyInput("1", "X", "WIDGET MAKER"), ClassifyInput("2", "The Zorbly Holdings, Inc.")]
    )
    assert (r1.vertical, r1.layer) == ("retail_ecommerce", "learned")
    assert (r2.vertical, r2.layer) == ("software_saas", "learned")
    assert llm.calls == []
    assert len(c.learned_rules) == 2


def test_name_key_learning_without_category(dictionary: VerticalDictionary) -> None:
    llm = FakeLLM({"Zorbly Holdings": "software_saas"})
    seen: list[LearnedRule] = []
    c = Cascade(dictionary, llm=llm, on_learn=seen.append)
    results = c.classify(
        [ClassifyInput("1", "Zorbly Holdings"), ClassifyInput("2", "Zorbly Holdings LLC")]
    )
    assert [r.layer for r in results] == ["llm", "learned"]
    assert seen == [LearnedRule("name_key", "zorbly holdings", "software_saas")]
    assert len(llm.calls) == 1


def test_batches_and_recheck_between_batches(dictionary: VerticalDictionary) -> None:
    # 60 distinct unknown categories, then 5 repeats of the first one at the end.
    answers = {f"Category {i}": "retail_ecommerce" for i in range(60)}
    llm = FakeLLM(answers)
    items = [ClassifyInput(str(i), f"Qz{i}", f"Category {i}") for i in range(60)]
    items += [ClassifyInput(f"r{i}", f"Other{i}", "Category 0") for i in range(5)]
    c = Cascade(dictionary, llm=llm, batch_size=25)
    results = c.classify(items)
    assert [len(b) for b in llm.calls] == [25, 25, 10]
    assert c.llm_calls == 3
    assert all(r.vertical == "retail_ecommerce" for r in results)
    assert [r.layer for r in results[-5:]] == ["learned"] * 5


def test_llm_error_keeps_other_results(dictionary: VerticalDictionary) -> None:
    llm = FakeLLM({f"Cat {i}": "legal" for i in range(4)}, fail_on={1})
    items = [ClassifyInput("d", "Acme Dental")] + [
        ClassifyInput(str(i), f"Qz{i}", f"Cat {i}") for i in range(4)
    ]
    results = Cascade(dictionary, llm=llm, batch_size=2).classify(items)
    assert results[0].vertical == "dental"
    assert [r.layer for r in results[1:]] == ["none", "none", "llm", "llm"]
    assert results[1].evidence.startswith("llm error: RuntimeError: provider down")
    assert results[1].vertical is None
    assert [r.vertical for r in results[3:]] == ["legal", "legal"]


def test_llm_bad_answers_are_not_learned(dictionary: VerticalDictionary) -> None:
    def llm(items: Sequence[ClassifyInput], allowed: Sequence[str]):
        return [("spaceships", 0.99), (None, 0.1), ("legal", 0.3)][: len(items)]

    seen: list[LearnedRule] = []
    c = Cascade(dictionary, llm=llm, on_learn=seen.append)
    results = c.classify([ClassifyInput(str(i), f"Qz{i}", f"Cat {i}") for i in range(3)])
    assert [r.vertical for r in results] == [None, None, "legal"]
    assert all(r.layer == "llm" for r in results)
    assert "unknown vertical" in results[0].evidence
    assert seen == []  # unknown, empty and low-confidence answers are not remembered


def test_llm_wrong_answer_count_is_an_error(dictionary: VerticalDictionary) -> None:
    def llm(items: Sequence[ClassifyInput], allowed: Sequence[str]):
        return []

    r = Cascade(dictionary, llm=llm).classify([ClassifyInput("1", "Qz", "Cat")])[0]
    assert r.layer == "none"
    assert "expected 1 answers, got 0" in r.evidence


def test_without_llm_unresolved_is_none(dictionary: VerticalDictionary) -> None:
    c = Cascade(dictionary)
    results = c.classify([ClassifyInput("1", "Zorbly Widgets"), ClassifyInput("2", "Rofing")])
    assert results[0] == Classification(None, "none", 0.0, "no rule matched; no LLM")
    assert results[1].layer == "fuzzy"
    c.classify([ClassifyInput("3", "Acme Dental")])
    assert c.layer_counts == {"rules": 1, "learned": 0, "fuzzy": 1, "llm": 0, "none": 1}
    assert c.llm_calls == 0


def test_local_layers_place_typos_without_llm(dictionary: VerticalDictionary) -> None:
    """Speed is a benchmark figure (benchmarks/leads_pipeline.py); here the outcome."""
    rng = random.Random(3)
    words = ["Summit", "Blue", "Oak", "Metro", "Pioneer", "Harbor", "Lakeside", "Golden"]
    kinds = ["Dental", "Dentel", "Plumbng", "Rofing", "Law Group", "Realty", "Ventures", "Pizza"]
    items = [
        ClassifyInput(
            str(i),
            f"{rng.choice(words)} {rng.choice(kinds)} {rng.randint(1, 9999)}",
            rng.choice(["", "Dentist", "Business consultant"]),
            "Serving the metro area since 1998. Free estimates, call today. " * 3,
        )
        for i in range(4000)
    ]
    c = Cascade(dictionary)
    results = c.classify(items)
    typo = [
        r for it, r in zip(items, results, strict=True) if "Plumbng" in it.name and not it.category
    ]
    assert typo
    assert all(r.vertical == "plumbing" for r in typo)
    assert c.layer_counts.get("llm", 0) == 0
