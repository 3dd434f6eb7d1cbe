"""A strict five-field cron checker for schedule triggers (Dify evaluates them with croniter)."""

from __future__ import annotations

import re

_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
# (name, low, high, symbolic names mapped to numbers)
_FIELDS: list[tuple[str, int, int, dict[str, int]]] = [
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {m: i + 1 for i, m in enumerate(_MONTHS)}),
    ("day of week", 0, 7, {d: i for i, d in enumerate(_DAYS)}),
]
_MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_ATOM = re.compile(r"^(\*|\?|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:/(\d+))?$")


def cron_problem(expression: str) -> str | None:
    """None when `expression` is a valid cron schedule, else what is wrong with it."""
    text = expression.strip()
    if text.lower() in _MACROS:
        return None
    parts = text.split()
    if len(parts) != 5:
        return (f"has {len(parts)} fields; a cron expression has 5: "
                "minute hour day-of-month month day-of-week, e.g. '0 9 * * 1-5'")
    for part, (name, low, high, names) in zip(parts, _FIELDS, strict=True):
        problem = _field_problem(part, low, high, names)
        if problem:
            return f"{name} field {part!r}: {problem}"
    return None


def _value(token: str, low: int, high: int, names: dict[str, int]) -> int | None:
    if token.upper() in names:
        return names[token.upper()]
    if token.isdigit() and low <= int(token) <= high:
        return int(token)
    return None


def _field_problem(part: str, low: int, high: int, names: dict[str, int]) -> str | None:
    for item in part.split(","):
        match = _ATOM.match(item)
        if not match:
            return f"{item!r} is not *, a number, a range a-b or a step x/n"
        body, step = match.groups()
        if step is not None and int(step) == 0:
            return "a step of 0 never fires"
        if body in ("*", "?"):
            continue
        ends = body.split("-")
        values = [_value(e, low, high, names) for e in ends]
        if any(v is None for v in values):
            return f"{body!r} is outside {low}-{high}"
        if len(values) == 2 and values[0] is not None and values[1] is not None \
                and values[0] > values[1]:
            return f"range {body!r} runs backwards"
    return None
