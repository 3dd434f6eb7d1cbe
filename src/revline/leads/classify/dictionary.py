"""Load and validate the vertical dictionary (YAML) and precompute everything the layers need."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jellyfish

from revline.kernel.errors import InvalidInput
from revline.kernel.yamlfile import read_yaml

BUNDLED_PATH = Path(__file__).resolve().parent.parent / "data" / "verticals.yml"

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_DIGITS = re.compile(r"\d+")

# Tokens that say nothing about the business: never fuzzy-matched against keywords.
STOPWORDS: frozenset[str] = frozenset(
    "the and of for at in on by to a an our your my we us with from de la le el los las "
    "llc inc ltd co corp corporation company companies limited plc gmbh pty pc pllc lp llp "
    "group services service solutions professional professionals pro pros best top quality "
    "premier first new local family brothers bros sons amp".split()
)
# Dropped from business-name keys so "The Acme Co., LLC" and "Acme" share one key.
LEGAL_AND_FILLER: frozenset[str] = frozenset(
    "the and of llc inc ltd co corp corporation company limited plc gmbh pty pc pllc lp llp "
    "sa srl amp".split()
)

_TOP_KEYS = {"version", "settings", "verticals"}
_SETTING_KEYS = {
    "fuzzy_exclude",
    "min_score",
    "strong_score",
    "field_weights",
    "text_max_chars",
    "fuzzy_min_token_len",
}
_FIELD_NAMES = {"name", "category", "text", "domain"}
_VERTICAL_KEYS = {"label", "categories", "keywords", "description"}
DEFAULT_FIELD_WEIGHTS: dict[str, float] = {
    "name": 1.0,
    "category": 1.5,
    "text": 0.35,
    "domain": 0.6,
}


def normalize(text: str) -> str:
    """Lowercase, strip accents, split CamelCase and keep only [a-z0-9] words, so matching is
    insensitive to how each source spells things ("CafeOrCoffeeShop", "roofing_contractor")."""
    if not text:
        return ""
    text = _CAMEL.sub(" ", text)
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return " ".join(_NON_ALNUM.split(text.lower())).strip()


def name_key(name: str) -> str:
    """Key that identifies a business name across rows: normalized, without legal suffixes,
    filler words and digits ("The Zorbly Widgets, LLC #12" -> "zorbly widgets")."""
    norm = _DIGITS.sub(" ", normalize(name))
    return " ".join(t for t in norm.split() if t not in LEGAL_AND_FILLER)


def _variants(keyword: str) -> list[str]:
    """A keyword plus its plural form, so "dentist" also matches "dentists"."""
    words = keyword.split()
    last = words[-1]
    forms = [keyword]
    if len(last) > 3 and not last.endswith("s"):
        if last.endswith("y") and last[-2] not in "aeiou":
            forms.append(" ".join([*words[:-1], last[:-1] + "ies"]))
        elif last.endswith(("ch", "sh", "x")):
            forms.append(keyword + "es")
        else:
            forms.append(keyword + "s")
    return forms


@dataclass(frozen=True)
class Vertical:
    """One industry vertical: exact categories and weighted keywords (all normalized)."""

    key: str
    label: str
    categories: tuple[str, ...]
    keywords: dict[str, float]


@dataclass(frozen=True)
class FuzzyTarget:
    """A single-word keyword usable by the fuzzy layer, with its phonetic codes precomputed."""

    word: str
    vertical: str
    weight: float
    metaphone: str
    nysiis: str
    soundex: str


@dataclass
class VerticalDictionary:
    """Validated dictionary plus lookup tables precomputed once for fast classification."""

    verticals: dict[str, Vertical]
    source: str = "<dict>"
    min_score: float = 2.0
    strong_score: float = 6.0
    field_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_FIELD_WEIGHTS))
    text_max_chars: int = 4000
    fuzzy_min_token_len: int = 5
    # real words and surnames that look like typos of keywords ("Baker" vs "bakery")
    fuzzy_exclude: frozenset[str] = frozenset()
    # normalized category (and its plural) -> vertical
    category_index: dict[str, str] = field(default_factory=dict)
    # normalized keyword or plural variant -> [(vertical, weight, base keyword)]; the base
    # keyword stops "dentist" and "dentists" in one field counting twice
    keyword_index: dict[str, list[tuple[str, float, str]]] = field(default_factory=dict)
    max_ngram: int = 1
    # single-word keywords of 5+ letters, searched as substrings of the domain label
    domain_words: list[tuple[str, str, float]] = field(default_factory=list)
    fuzzy_targets: list[FuzzyTarget] = field(default_factory=list)
    fuzzy_words: list[str] = field(default_factory=list)
    fuzzy_by_code: dict[str, list[int]] = field(default_factory=dict)
    phrases: list[tuple[str, str, float]] = field(default_factory=list)
    category_list: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._build()

    @property
    def names(self) -> list[str]:
        """Vertical keys in file order: the only answers the LLM may give."""
        return list(self.verticals)

    @classmethod
    def load(cls, path: Path | None = None) -> VerticalDictionary:
        """Load and validate a dictionary file; None loads the bundled verticals.yml."""
        p = path or BUNDLED_PATH
        return cls.from_dict(read_yaml(Path(p), "vertical dictionary"), source=str(p))

    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>") -> VerticalDictionary:
        """Validate an already-parsed dictionary document and build the lookup tables."""

        def fail(msg: str) -> InvalidInput:
            return InvalidInput(f"{source}: {msg}")

        if not isinstance(data, dict):
            raise fail("top level must be a mapping with a 'verticals' key")
        unknown = set(data) - _TOP_KEYS
        if unknown:
            raise fail(f"unknown top-level key(s): {', '.join(sorted(map(str, unknown)))}")
        settings = data.get("settings") or {}
        if not isinstance(settings, dict):
            raise fail("'settings' must be a mapping")
        unknown = set(settings) - _SETTING_KEYS
        if unknown:
            raise fail(f"settings: unknown key(s): {', '.join(sorted(map(str, unknown)))}")
        kwargs: dict[str, Any] = {}
        for key in ("min_score", "strong_score"):
            if key in settings:
                kwargs[key] = _number(settings[key], f"settings.{key}", fail, positive=True)
        for key in ("text_max_chars", "fuzzy_min_token_len"):
            if key in settings:
                val = settings[key]
                if not isinstance(val, int) or isinstance(val, bool) or val < 1:
                    raise fail(f"settings.{key} must be a positive integer, got {val!r}")
                kwargs[key] = val
        if "fuzzy_exclude" in settings:
            ex = settings["fuzzy_exclude"]
            if not isinstance(ex, list) or not all(isinstance(w, str) for w in ex):
                raise fail("settings.fuzzy_exclude must be a list of words")
            kwargs["fuzzy_exclude"] = frozenset(normalize(w) for w in ex)
        if "field_weights" in settings:
            fw = settings["field_weights"]
            if not isinstance(fw, dict):
                raise fail("settings.field_weights must be a mapping")
            bad = set(fw) - _FIELD_NAMES
            if bad:
                names = ", ".join(sorted(map(str, bad)))
                raise fail(f"settings.field_weights: unknown field(s): {names}")
            weights = dict(DEFAULT_FIELD_WEIGHTS)
            for k, v in fw.items():
                weights[k] = _number(v, f"settings.field_weights.{k}", fail, positive=False)
            kwargs["field_weights"] = weights

        raw_verticals = data.get("verticals")
        if not isinstance(raw_verticals, dict) or not raw_verticals:
            raise fail("'verticals' must be a non-empty mapping of vertical key -> definition")
        verticals: dict[str, Vertical] = {}
        category_owner: dict[str, str] = {}
        for key, spec in raw_verticals.items():
            if not isinstance(key, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", key):
                raise fail(f"vertical key {key!r} must be snake_case ([a-z][a-z0-9_]*)")
            where = f"verticals.{key}"
            if not isinstance(spec, dict):
                raise fail(f"{where} must be a mapping")
            unknown = set(spec) - _VERTICAL_KEYS
            if unknown:
                raise fail(f"{where}: unknown key(s): {', '.join(sorted(map(str, unknown)))}")
            label = spec.get("label", key)
            if not isinstance(label, str):
                raise fail(f"{where}.label must be a string")
            cats = spec.get("categories") or []
            if not isinstance(cats, list) or not all(isinstance(c, str) for c in cats):
                raise fail(f"{where}.categories must be a list of strings")
            norm_cats: list[str] = []
            for c in cats:
                nc = normalize(c)
                if not nc:
                    continue
                owner = category_owner.get(nc)
                if owner is not None and owner != key:
                    raise fail(f"{where}.categories: {c!r} is also listed under {owner}")
                category_owner[nc] = key
                norm_cats.append(nc)
            kws = spec.get("keywords") or {}
            if not isinstance(kws, dict):
                raise fail(f"{where}.keywords must be a mapping of keyword -> weight")
            norm_kws: dict[str, float] = {}
            for kw, w in kws.items():
                if not isinstance(kw, str):
                    raise fail(f"{where}.keywords: keyword {kw!r} must be a string")
                weight = _number(w, f"{where}.keywords.{kw}", fail, positive=False)
                nk = normalize(kw)
                if nk:
                    norm_kws[nk] = weight
            if not norm_cats and not norm_kws:
                raise fail(f"{where} needs at least one category or keyword")
            verticals[key] = Vertical(key, label, tuple(dict.fromkeys(norm_cats)), norm_kws)
        return cls(verticals=verticals, source=source, **kwargs)

    def _build(self) -> None:
        """Precompute indexes, plural variants and phonetic codes (once per load)."""
        for v in self.verticals.values():
            for c in v.categories:
                self.category_index[c] = v.key
                for variant in _variants(c)[1:]:
                    self.category_index.setdefault(variant, v.key)
            for kw, weight in v.keywords.items():
                for variant in _variants(kw):
                    entries = self.keyword_index.setdefault(variant, [])
                    if all(vert != v.key for vert, _, _ in entries):
                        entries.append((v.key, weight, kw))
                    self.max_ngram = max(self.max_ngram, len(variant.split()))
                if weight <= 0:
                    continue
                if " " in kw:
                    if len(kw) >= 8:
                        self.phrases.append((kw, v.key, weight))
                    continue
                if len(kw) >= 5:
                    self.domain_words.append((kw, v.key, weight))
                if len(kw) >= self.fuzzy_min_token_len and kw.isalpha():
                    self.fuzzy_targets.append(
                        FuzzyTarget(
                            kw,
                            v.key,
                            weight,
                            jellyfish.metaphone(kw),
                            jellyfish.nysiis(kw),
                            jellyfish.soundex(kw),
                        )
                    )
        self.fuzzy_words = [t.word for t in self.fuzzy_targets]
        for i, t in enumerate(self.fuzzy_targets):
            self.fuzzy_by_code.setdefault("m:" + t.metaphone, []).append(i)
            self.fuzzy_by_code.setdefault("n:" + t.nysiis, []).append(i)
        self.category_list = list(self.category_index)


def _number(
    value: Any, where: str, fail: Callable[[str], InvalidInput], *, positive: bool
) -> float:
    """Validate a YAML number (bools are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail(f"{where} must be a number, got {value!r}")
    if positive and value <= 0:
        raise fail(f"{where} must be > 0, got {value!r}")
    return float(value)
