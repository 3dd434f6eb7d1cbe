"""Slot values from a requirement's text, and their substitution into a pattern's graph.

Without an LLM the generator fills a pattern's slots with simple, explainable rules: an
explicit `name: value` first, then by the kind of value the slot's example shows (a URL, an
email, a cron schedule, a number near the slot's words, a language, a currency, a company or
product name after "for"/"called"). A slot nothing matches keeps its example. Every pattern
example appears verbatim in its graph, so filling is a careful find-and-replace.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

URL_RE = re.compile(r"https?://[^\s\"'<>)\]]+")
EMAIL_RE = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
NUMBER_RE = re.compile(r"(?<![\w.])[$€£]?(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?![\w.]*\w)")
CRON_RE = re.compile(
    r"(?<!\S)((?:[\d*/,-]+\s+){4}[\d*/,A-Za-z-]+)(?!\S)"
)
WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
LANGUAGES = (
    "English", "German", "French", "Spanish", "Italian", "Portuguese", "Dutch", "Polish",
    "Swedish", "Danish", "Norwegian", "Finnish", "Czech", "Greek", "Turkish", "Russian",
    "Ukrainian", "Arabic", "Hebrew", "Hindi", "Japanese", "Korean", "Chinese", "Vietnamese",
    "Thai", "Indonesian",
)
CURRENCIES = {"usd": "USD", "eur": "EUR", "gbp": "GBP", "chf": "CHF", "jpy": "JPY",
              "cad": "CAD", "aud": "AUD", "inr": "INR", "sek": "SEK", "nok": "NOK",
              "dollar": "USD", "dollars": "USD", "euro": "EUR", "euros": "EUR",
              "pound": "GBP", "pounds": "GBP", "yen": "JPY", "$": "USD", "€": "EUR", "£": "GBP"}
_STOP = frozenset({
    "the", "a", "an", "of", "to", "and", "or", "for", "in", "on", "at", "by", "with", "from",
    "is", "are", "be", "that", "this", "it", "as", "what", "which", "when", "where", "who",
    "how", "many", "much", "name", "value", "used", "use", "your", "our", "their", "its",
    "into", "then", "than", "each", "every", "all", "any", "one", "per", "max", "min",
})
# Capitalised words that start a name phrase only by accident.
_NOT_NAMES = frozenset({w.capitalize() for w in WEEKDAYS}) | {
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December", "Slack", "Teams", "Discord", "Email", "Gmail", "The",
    "Our", "We", "I", "A", "An", "Every", "Each", "When", "If", "Dify", "LLM", "AI", "API",
    "CRM", "CSV", "JSON", "PDF", "URL", "SEO", "FAQ", *LANGUAGES,
}
_NAME = r"((?:[A-Z][\w&'.-]*[\w&'])(?:\s+(?:[A-Z][\w&'.-]*[\w&']|&)){0,3})"


@dataclass(frozen=True, slots=True)
class SlotFill:
    """A value found for a slot and the rule that found it."""

    name: str
    value: str
    rule: str
    example: str


def words(text: str) -> list[str]:
    """Lower-case word tokens."""
    return re.findall(r"[a-z0-9]+", text.lower())


def _stem(word: str) -> str:
    return word[:5]


def slot_keywords(slot: dict[str, Any]) -> tuple[set[str], set[str]]:
    """Stems of the slot's name words and of its description words (anchors in the text)."""
    def stems(text: str) -> set[str]:
        return {_stem(w) for w in words(text) if w not in _STOP and len(w) > 2}

    name = stems(str(slot.get("name", "")).replace("_", " "))
    return name, stems(str(slot.get("description", ""))) - name


def _explicit(text: str, name: str) -> str | None:
    """`company_name: Globex`, `company name = "Globex Corp"`, `hot_threshold=80`."""
    spelled = r"[\s_-]*".join(re.escape(part) for part in name.split("_"))
    pattern = re.compile(
        rf"(?i)\b{spelled}\s*(?:=|:|\bis\b)\s*(?:\"([^\"]+)\"|'([^']+)'|([^,;\n]+?))"
        r"(?=\s*(?:[,;\n]|$|\.\s|\.$|\band\b))"
    )
    match = pattern.search(text)
    if match is None:
        return None
    value = next(g for g in match.groups() if g is not None).strip()
    return value or None


def _near(text: str, keywords: tuple[set[str], set[str]],
          candidates: list[re.Match[str]], window: int = 60) -> re.Match[str] | None:
    """The candidate closest to the slot's words: name words weigh 3, description words 1,
    each divided by its distance in words; None when no slot word is near any candidate."""
    name, description = keywords
    best: tuple[float, re.Match[str]] | None = None
    for match in candidates:
        before = words(text[max(0, match.start() - window):match.start()])[::-1]
        after = words(text[match.end():match.end() + window])
        score = 0.0
        for side in (before, after):
            for distance, word in enumerate(side, 1):
                stem = _stem(word)
                weight = 3.0 if stem in name else 1.0 if stem in description else 0.0
                score += weight / distance
        if score > 0 and (best is None or score > best[0]):
            best = (score, match)
    return best[1] if best else None


def _hour(text: str) -> tuple[int, int] | None:
    match = re.search(r"\bat\s+(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?", text, re.I)
    if match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    suffix = (match.group(3) or "").lower()
    if suffix.startswith("p") and hour < 12:
        hour += 12
    if suffix.startswith("a") and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        return None
    return hour, minute


def natural_cron(text: str, example: str) -> str | None:
    """A cron expression for phrases like "every Monday at 9am", "daily at 7:30", "hourly"."""
    explicit = CRON_RE.search(text)
    if explicit and len(explicit.group(1).split()) == 5:
        return explicit.group(1)
    low = text.lower()
    base = example.split() if len(example.split()) == 5 else ["0", "8", "*", "*", "*"]
    minute, hour = base[0], base[1]
    at = _hour(text)
    if at is not None:
        hour, minute = str(at[0]), str(at[1])
    if re.search(r"\bevery hour\b|\bhourly\b", low):
        return f"{minute if at else '0'} * * * *"
    days = [i for i, day in enumerate(WEEKDAYS) if re.search(rf"\b{day}s?\b", low)]
    if re.search(r"\b(?:every )?weekdays?\b|\bmonday to friday\b", low):
        return f"{minute} {hour} * * 1-5"
    if days:
        return f"{minute} {hour} * * {','.join(str(d) for d in days)}"
    if re.search(r"\bdaily\b|\bevery day\b|\beach day\b|\bevery morning\b", low):
        return f"{minute} {hour} * * *"
    if re.search(r"\bweekly\b|\bevery week\b|\bonce a week\b", low):
        return f"{minute} {hour} * * {base[4] if base[4] != '*' else '1'}"
    if re.search(r"\bmonthly\b|\bevery month\b", low):
        return f"{minute} {hour} 1 * *"
    if at is not None:
        return f"{minute} {hour} {base[2]} {base[3]} {base[4]}"
    return None


def _number(text: str, slot: dict[str, Any], taken: set[str]) -> str | None:
    candidates = [m for m in NUMBER_RE.finditer(text) if not _inside_url(text, m.start())
                  and m.group(1).replace(",", "") not in taken]
    found = _near(text, slot_keywords(slot), candidates)
    if found is None:
        return None
    value = found.group(1).replace(",", "")
    return value


def _inside_url(text: str, index: int) -> bool:
    return any(m.start() <= index < m.end() for m in URL_RE.finditer(text))


def _language(text: str, example: str) -> str | None:
    found = [lang for lang in LANGUAGES
             if re.search(rf"\b(?:to|into|in)\s+{lang}\b", text, re.I)]
    if not found:
        found = [lang for lang in LANGUAGES if re.search(rf"\b{lang}\b", text)]
    if not found:
        return None
    return ", ".join(found) if "," in example else found[0]


def _currency(text: str) -> str | None:
    for token in re.findall(r"[$€£]|\b[A-Za-z]{3,7}\b", text):
        code = CURRENCIES.get(token.lower()) or CURRENCIES.get(token)
        if code:
            return code
    return None


def _name_after(text: str, cues: str) -> str | None:
    for match in re.finditer(rf"\b(?:{cues})\s+{_NAME}", text):
        phrase = match.group(1).rstrip(".")
        first = phrase.split()[0]
        if first not in _NOT_NAMES:
            return phrase
    return None


def _url(text: str, slot: dict[str, Any], taken: set[str]) -> str | None:
    candidates = [m for m in URL_RE.finditer(text) if m.group(0).rstrip(".,") not in taken]
    if not candidates:
        return None
    found = _near(text, slot_keywords(slot), candidates)
    if found is None and len(candidates) == 1:
        found = candidates[0]
    return found.group(0).rstrip(".,") if found else None


def _slug(text: str) -> str:
    return "-".join(words(text)) or text


def _by_kind(text: str, slot: dict[str, Any], taken: set[str]) -> tuple[str, str] | None:
    name = str(slot.get("name", "")).lower()
    example = str(slot.get("example", ""))
    if example.startswith(("http://", "https://")):
        value = _url(text, slot, taken)
        return (value, "url") if value else None
    if EMAIL_RE.fullmatch(example):
        emails = [e for e in EMAIL_RE.findall(text) if e not in taken]
        return (emails[0], "email") if emails else None
    if name == "cron" or "cron" in str(slot.get("description", "")).lower():
        value = natural_cron(text, example)
        return (value, "schedule") if value else None
    if re.fullmatch(r"\d+(?:\.\d+)?", example):
        value = _number(text, slot, taken)
        return (value, "number") if value else None
    if "language" in name:
        value = _language(text, example)
        return (value, "language") if value else None
    if "currency" in name:
        value = _currency(text)
        return (value, "currency") if value else None
    if name in ("company_name", "company", "brand", "brand_name"):
        value = _name_after(text, "for|at|from|company|brand|called|named")
        return (value, "name") if value else None
    if name in ("product_name", "product"):
        value = _name_after(text, "product|called|named|about")
        return (value, "name") if value else None
    if name.endswith("kb_id") or name in ("kb_name", "dataset", "dataset_id"):
        value = _dataset(text)
        return (value, "dataset") if value else None
    return None


_SLUG = r"[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)+"
_KB = r"(?:knowledge[ -]base|kb|dataset)"


def _dataset(text: str) -> str | None:
    """`the acme-docs knowledge base`, `knowledge base called Product Docs`, `dataset x-y`."""
    for pattern in (
        rf"(?i)\b({_SLUG})\s+{_KB}\b",
        rf"(?i)\b{_KB}\s+(?:called|named)\s+[\"']?(\w[\w .-]{{0,60}}?)[\"']?"
        r"(?=[,.;\n]|$|\s+(?:to|and|for|with|that|which)\b)",
        rf"(?i)\b{_KB}\s+[\"']?({_SLUG})",
    ):
        match = re.search(pattern, text)
        if match:
            return _slug(match.group(1))
    return None


def extract_slots(text: str, slots: list[dict[str, Any]]) -> dict[str, SlotFill]:
    """Values for the slots that the requirement states (explicitly or by rule)."""
    found: dict[str, SlotFill] = {}
    taken: set[str] = set()
    for slot in slots:
        name = str(slot.get("name", ""))
        if not name or "example" not in slot:
            continue
        example = str(slot["example"])
        value = _explicit(text, name)
        rule = "explicit"
        if value is None:
            guess = _by_kind(text, slot, taken)
            if guess is None:
                continue
            value, rule = guess
        taken.add(value)
        found[name] = SlotFill(name, value, rule, example)
    return found


def _replace_in(text: str, example: str, value: str) -> str:
    head = r"(?<![\w.-])" if example[:1].isalnum() else ""
    tail = r"(?![\w-])" if example[-1:].isalnum() else ""
    return re.sub(head + re.escape(example) + tail, lambda _: value, text)


def _typed(value: str, like: Any) -> Any:
    if isinstance(like, bool):
        return like
    try:
        return int(value) if isinstance(like, int) else float(value)
    except ValueError:
        return like


def fill_graph(graph: dict[str, Any], fills: list[SlotFill]) -> dict[str, Any]:
    """A copy of the graph with each slot's example replaced by its value (longest first)."""
    out = copy.deepcopy(graph)
    ordered = sorted(fills, key=lambda f: -len(f.example))

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, str):
            for fill in ordered:
                if fill.example and fill.example in value:
                    value = _replace_in(value, fill.example, fill.value)
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            for fill in ordered:
                if str(value) == fill.example:
                    return _typed(fill.value, value)
        return value

    nodes = out.get("nodes")
    if isinstance(nodes, list):
        # Ids and edges stay as they are: only node data carries slot values.
        for node in nodes:
            if isinstance(node, dict) and isinstance(node.get("data"), dict):
                node["data"] = walk(node["data"])
    return out
