"""The classification cascade: exact rules -> learned rules -> fuzzy/phonetic -> batched LLM.

Every LLM answer becomes a LearnedRule (persisted through ``on_learn`` and applied in memory), so
the same unknown category or business name costs one LLM call, ever.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from revline.leads.classify.dictionary import VerticalDictionary, name_key, normalize
from revline.leads.classify.fuzzy import DEFAULT_THRESHOLD, FuzzyMatcher
from revline.leads.classify.rules import Match, match_category, match_keywords

log = logging.getLogger(__name__)

LAYERS: tuple[str, ...] = ("rules", "learned", "fuzzy", "llm", "none")


@dataclass(frozen=True)
class ClassifyInput:
    """What the cascade looks at for one lead; ``key`` is the caller's id for the item."""

    key: str
    name: str
    category: str = ""
    text: str = ""
    domain: str = ""


@dataclass(frozen=True)
class Classification:
    """The cascade's answer: vertical (None when unknown), deciding layer, confidence, why."""

    vertical: str | None
    layer: str  # "rules" | "learned" | "fuzzy" | "llm" | "none"
    confidence: float
    evidence: str


@dataclass(frozen=True)
class LearnedRule:
    """A rule learned from an LLM answer: normalized category or business-name key -> vertical."""

    field: str  # "category" or "name_key"
    value: str
    vertical: str
    source: str = "llm"


# items, allowed verticals -> one (vertical or None, confidence) per item, in order
LLMClassifier = Callable[
    [Sequence[ClassifyInput], Sequence[str]], Sequence[tuple[str | None, float]]
]


def learn_key(item: ClassifyInput) -> tuple[str, str] | None:
    """The (field, value) an LLM answer for this item is remembered under: its category when it
    has one (categories repeat across leads far more than names), else its name key."""
    cat = normalize(item.category)
    if cat:
        return "category", cat
    key = name_key(item.name)
    if key:
        return "name_key", key
    return None


class Cascade:
    """Classifies items layer by layer; cheap layers first, the LLM only for what is left."""

    def __init__(
        self,
        dictionary: VerticalDictionary,
        llm: LLMClassifier | None = None,
        learned: Iterable[LearnedRule] = (),
        on_learn: Callable[[LearnedRule], None] | None = None,
        batch_size: int = 25,
        fuzzy_threshold: float = DEFAULT_THRESHOLD,
        learn_min_confidence: float = 0.5,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.dictionary = dictionary
        self.llm = llm
        self.on_learn = on_learn
        self.batch_size = batch_size
        self.learn_min_confidence = learn_min_confidence
        self.fuzzy = FuzzyMatcher(dictionary, fuzzy_threshold)
        self.llm_calls = 0
        self._counts: dict[str, int] = dict.fromkeys(LAYERS, 0)
        self._learned: dict[tuple[str, str], LearnedRule] = {}
        self._unanswered: dict[tuple[str, str], str] = {}
        for rule in learned:
            self._remember(rule)

    @property
    def layer_counts(self) -> dict[str, int]:
        """Items decided per layer, cumulative over all classify calls."""
        return dict(self._counts)

    @property
    def learned_rules(self) -> list[LearnedRule]:
        """All learned rules currently applied (given at start plus learned since)."""
        return list(self._learned.values())

    def _remember(self, rule: LearnedRule) -> None:
        """Index a rule by its normalized value; unknown verticals are ignored, not trusted."""
        if rule.field not in ("category", "name_key") or rule.vertical not in (
            self.dictionary.verticals
        ):
            log.warning("ignoring learned rule %r: unknown field or vertical", rule)
            return
        value = normalize(rule.value) if rule.field == "category" else name_key(rule.value)
        if value:
            self._learned[(rule.field, value)] = rule

    def _from_learned(self, item: ClassifyInput) -> Classification | None:
        """Apply learned rules: category first, then business-name key."""
        if not self._learned:
            return None
        cat = normalize(item.category)
        if cat:
            rule = self._learned.get(("category", cat))
            if rule is not None:
                return Classification(
                    rule.vertical, "learned", 0.85, f"learned category '{cat}' ({rule.source})"
                )
        key = name_key(item.name)
        if key:
            rule = self._learned.get(("name_key", key))
            if rule is not None:
                return Classification(
                    rule.vertical, "learned", 0.8, f"learned name '{key}' ({rule.source})"
                )
        return None

    def _local(self, item: ClassifyInput) -> Classification | None:
        """Layers 1 and 2 (no LLM): exact category, learned, keywords, fuzzy."""
        d = self.dictionary
        hit: Match | None = match_category(d, item.category) if item.category else None
        if hit is not None:
            return Classification(hit.vertical, "rules", hit.confidence, hit.evidence)
        learned = self._from_learned(item)
        if learned is not None:
            return learned
        hit = match_keywords(d, item.name, item.category, item.text, item.domain)
        if hit is not None:
            return Classification(hit.vertical, "rules", hit.confidence, hit.evidence)
        hit = self.fuzzy.match(item.name, item.category)
        if hit is not None:
            return Classification(hit.vertical, "fuzzy", hit.confidence, hit.evidence)
        return None

    def classify(self, items: Sequence[ClassifyInput]) -> list[Classification]:
        """Classify items in order; leftovers go to the LLM in batches and answers are learned."""
        results: list[Classification | None] = [self._local(item) for item in items]
        pending = [i for i, r in enumerate(results) if r is None]
        if pending and self.llm is None:
            for i in pending:
                results[i] = Classification(None, "none", 0.0, "no rule matched; no LLM")
            pending = []
        allowed = self.dictionary.names
        while pending:
            # Re-check learned rules first: an earlier batch may have answered these already.
            still: list[int] = []
            for i in pending:
                learned = self._from_learned(items[i])
                key = learn_key(items[i])
                if learned is not None:
                    results[i] = learned
                elif key is not None and key in self._unanswered:
                    # Same question already asked this run and the LLM had no answer (or failed):
                    # do not pay for it again.
                    results[i] = Classification(None, "none", 0.0, self._unanswered[key])
                else:
                    still.append(i)
            # One representative per learn key per batch; its twins wait for the learned rule.
            batch: list[int] = []
            keys: set[tuple[str, str]] = set()
            deferred: list[int] = []
            for i in still:
                if len(batch) >= self.batch_size:
                    deferred.append(i)
                    continue
                key = learn_key(items[i])
                if key is not None and key in keys:
                    deferred.append(i)
                    continue
                if key is not None:
                    keys.add(key)
                batch.append(i)
            if not batch:
                break
            self._ask_llm(items, batch, allowed, results)
            pending = deferred
        out: list[Classification] = []
        for r in results:
            if r is None:  # defensive: every path above fills results
                r = Classification(None, "none", 0.0, "unresolved")
            self._counts[r.layer] += 1
            out.append(r)
        return out

    def _ask_llm(
        self,
        items: Sequence[ClassifyInput],
        batch: list[int],
        allowed: list[str],
        results: list[Classification | None],
    ) -> None:
        """One LLM call for a batch; answers are applied, learned and persisted immediately."""
        assert self.llm is not None
        self.llm_calls += 1
        batch_items = [items[i] for i in batch]
        try:
            answers = list(self.llm(batch_items, allowed))
            if len(answers) != len(batch_items):
                raise ValueError(f"expected {len(batch_items)} answers, got {len(answers)}")
        except Exception as exc:  # any provider failure must not lose the rest of the run
            msg = f"llm error: {type(exc).__name__}: {exc}".splitlines()[0][:300]
            for i in batch:
                results[i] = Classification(None, "none", 0.0, msg)
                key = learn_key(items[i])
                if key is not None:
                    self._unanswered[key] = msg
            return
        for i, (vertical, confidence) in zip(batch, answers, strict=True):
            item = items[i]
            conf = max(0.0, min(1.0, float(confidence)))
            if vertical is None or vertical not in self.dictionary.verticals:
                why = (
                    "llm: no vertical"
                    if vertical is None
                    else f"llm: unknown vertical {vertical!r}"
                )
                results[i] = Classification(None, "llm", conf, why)
                key = learn_key(item)
                if key is not None:
                    self._unanswered[key] = f"{why} (asked before)"
                continue
            results[i] = Classification(vertical, "llm", conf, f"llm answer ({conf:.2f})")
            key = learn_key(item)
            if key is None or conf < self.learn_min_confidence:
                continue
            rule = LearnedRule(field=key[0], value=key[1], vertical=vertical)
            self._remember(rule)
            if self.on_learn is not None:
                self.on_learn(rule)
