"""Fuzzy/phonetic layer: catches typos ("Dentel Clinic", "Plumbng Pros", "Rofing") by a weighted
vote of string-similarity (rapidfuzz, Jaro-Winkler) and phonetic (metaphone, NYSIIS, soundex)
algorithms; a match needs several algorithms to agree, which keeps false positives down."""

from __future__ import annotations

import jellyfish
from rapidfuzz import fuzz, process

from revline.leads.classify.dictionary import STOPWORDS, VerticalDictionary, normalize
from revline.leads.classify.rules import Match, category_parts

# Votes per algorithm; they sum to 1.0, so the consensus is the weighted share that agrees.
ALGORITHM_WEIGHTS: dict[str, float] = {
    "ratio": 0.30,
    "jaro_winkler": 0.25,
    "metaphone": 0.20,
    "nysiis": 0.15,
    "soundex": 0.10,
}
# 82, not 80: one substituted letter in a 5-letter word ("solon" vs "salon") scores 80.
RATIO_MIN = 82.0
JARO_WINKLER_MIN = 0.90
DEFAULT_THRESHOLD = 0.6
# The fuzzy layer is never as sure as an exact hit.
CONFIDENCE_SCALE = 0.85


def consensus(a: str, b: str) -> tuple[float, list[str]]:
    """Weighted share of algorithms that say strings a and b are the same word(s)."""
    agree: list[str] = []
    if fuzz.ratio(a, b) >= RATIO_MIN:
        agree.append("ratio")
    if jellyfish.jaro_winkler_similarity(a, b) >= JARO_WINKLER_MIN:
        agree.append("jaro_winkler")
    a_words, b_words = a.split(), b.split()
    if len(a_words) == len(b_words):
        pairs = list(zip(a_words, b_words, strict=True))
        if all(jellyfish.metaphone(x) == jellyfish.metaphone(y) for x, y in pairs):
            agree.append("metaphone")
        if all(jellyfish.nysiis(x) == jellyfish.nysiis(y) for x, y in pairs):
            agree.append("nysiis")
        if all(jellyfish.soundex(x) == jellyfish.soundex(y) for x, y in pairs):
            agree.append("soundex")
    return sum(ALGORITHM_WEIGHTS[n] for n in agree), agree


class FuzzyMatcher:
    """Matches name/category tokens against precomputed dictionary keywords and categories."""

    def __init__(self, dictionary: VerticalDictionary, threshold: float = DEFAULT_THRESHOLD):
        self.d = dictionary
        self.threshold = threshold
        self._order = {k: i for i, k in enumerate(dictionary.verticals)}
        self._phrase_words = [p for p, _, _ in dictionary.phrases]
        # Per-token results repeat a lot across a lead list (same typos, same town names).
        self._token_cache: dict[str, tuple[float, int, list[str]] | None] = {}

    def match(self, name: str, category: str) -> Match | None:
        """Best fuzzy match for an item the exact layer could not resolve, or None."""
        candidates: list[tuple[float, float, str, str]] = []  # consensus, weight, vertical, why
        for part in category_parts(category):
            hit = self._category(part)
            if hit is not None:
                candidates.append(hit)
        norm_name = normalize(name)
        tokens = dict.fromkeys(norm_name.split() + normalize(category).split())
        d = self.d
        min_weight = d.min_score / max(d.field_weights.get("name", 1.0), 1e-9)
        for token in tokens:
            if (
                len(token) < d.fuzzy_min_token_len
                or token in STOPWORDS
                or token in d.fuzzy_exclude
                or token in d.keyword_index
                or token.isdigit()
            ):
                continue
            found = self._token(token)
            if found is None:
                continue
            score, idx, agree = found
            target = d.fuzzy_targets[idx]
            if target.weight < min_weight:
                continue
            why = f"'{token}'~'{target.word}' ({'+'.join(agree)})"
            candidates.append((score, target.weight, target.vertical, why))
        if len(norm_name.split()) >= 2 and self._phrase_words:
            hit = self._phrase(norm_name, min_weight)
            if hit is not None:
                candidates.append(hit)
        if not candidates:
            return None
        best = min(candidates, key=lambda c: (-c[0], -c[1], self._order[c[2]]))
        if best[0] < self.threshold:
            return None
        return Match(
            best[2],
            round(CONFIDENCE_SCALE * best[0], 3),
            f"fuzzy {best[3]} consensus {best[0]:.2f}",
        )

    def _category(self, part: str) -> tuple[float, float, str, str] | None:
        """Closest dictionary category by token-sorted ratio, confirmed by the other votes."""
        # token_sort_ratio, not token_set_ratio, picks the candidate: token_set scores a subset as
        # 100, which would map a bare "clinic" onto "dental clinic".
        found = process.extractOne(
            part, self.d.category_list, scorer=fuzz.token_sort_ratio, score_cutoff=RATIO_MIN
        )
        if found is None:
            return None
        choice = found[0]
        score, agree = consensus(part, choice)
        if fuzz.token_set_ratio(part, choice) >= 90 and len(part.split()) == len(choice.split()):
            # Same words, other order ("clinic dental"): a full extra vote.
            score = min(1.0, score + 0.2)
            agree.append("token_set")
        if score <= 0:
            return None
        return (
            score,
            10.0,
            self.d.category_index[choice],
            f"category '{part}'~'{choice}' " + (f"({'+'.join(agree)})"),
        )

    def _token(self, token: str) -> tuple[float, int, list[str]] | None:
        """Best keyword for one token: candidates from rapidfuzz and shared phonetic codes."""
        if token in self._token_cache:
            return self._token_cache[token]
        d = self.d
        cands: set[int] = set()
        found = process.extractOne(token, d.fuzzy_words, scorer=fuzz.ratio, score_cutoff=75)
        if found is not None:
            cands.add(found[2])
        cands.update(d.fuzzy_by_code.get("m:" + jellyfish.metaphone(token), ()))
        cands.update(d.fuzzy_by_code.get("n:" + jellyfish.nysiis(token), ()))
        best: tuple[float, int, list[str]] | None = None
        for idx in sorted(cands):
            target = d.fuzzy_targets[idx]
            # Typos almost never change the first letter; requiring it removes most noise.
            if target.word[0] != token[0]:
                continue
            score, agree = consensus(token, target.word)
            if best is None or score > best[0]:
                best = (score, idx, agree)
        self._token_cache[token] = best
        if len(self._token_cache) > 200_000:
            self._token_cache.clear()
        return best

    def _phrase(self, norm_name: str, min_weight: float) -> tuple[float, float, str, str] | None:
        """Multi-word keyword inside the name with a typo ("reel estate group")."""
        found = process.extractOne(
            norm_name, self._phrase_words, scorer=fuzz.partial_ratio, score_cutoff=88
        )
        if found is None:
            return None
        phrase, _, idx = found
        _, vertical, weight = self.d.phrases[idx]
        if weight < min_weight:
            return None
        al = fuzz.partial_ratio_alignment(phrase, norm_name)
        if al is None:
            return None
        window = norm_name[al.dest_start : al.dest_end].strip()
        if window == phrase or not window:
            return None
        # Widen the window to whole words so phonetic codes compare like with like.
        start = norm_name.rfind(" ", 0, al.dest_start) + 1
        end = norm_name.find(" ", al.dest_end)
        window = norm_name[start : end if end != -1 else len(norm_name)]
        if window == phrase:
            return None
        score, agree = consensus(window, phrase)
        return score, weight, vertical, f"'{window}'~'{phrase}' ({'+'.join(agree)})"
