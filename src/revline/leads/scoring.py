"""Pluggable lead scoring: YAML rules over dotted paths into a LeadResult, optional Python
scorer plugins, vertical bonuses; the sum is normalized to 0-100 and mapped to a tier A-D."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

from revline.kernel.errors import InvalidInput
from revline.kernel.yamlfile import read_yaml
from revline.leads.schemas import LeadResult

BUNDLED_PATH = Path(__file__).resolve().parent / "data" / "scoring.yml"

# A plugin gets the lead and its YAML `params`; it returns (points, reason) or None (no effect).
ScorerFn = Callable[[LeadResult, Mapping[str, Any]], tuple[float, str] | None]

_SCORERS: dict[str, ScorerFn] = {}
_MISSING: Any = object()
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")
_LEAD_ATTRS = frozenset(
    {
        "row_index",
        "raw",
        "fields",
        "row_errors",
        "contact",
        "enrichment",
        "classification",
        "score",
        "cluster",
    }
)
_RULE_KEYS = frozenset(
    {
        "name",
        "field",
        "op",
        "value",
        "points",
        "reason",
        "group",
        "scorer",
        "params",
        "max_points",
        "min_points",
    }
)
_TOP_KEYS = frozenset({"version", "tiers", "rules", "weights", "vertical_weights", "max_reasons"})
DEFAULT_TIERS: dict[str, float] = {"A": 75.0, "B": 50.0, "C": 25.0}


def register_scorer(name: str, fn: ScorerFn) -> None:
    """Make a Python scorer usable from YAML as `{scorer: NAME, max_points: N, params: {...}}`."""
    _SCORERS[name] = fn


def registered_scorers() -> list[str]:
    """Names YAML may reference (builtins plus plugins registered so far)."""
    return sorted(_SCORERS)


def _is_number(v: Any) -> TypeGuard[int | float]:
    """True for int/float but not bool (YAML true is not 1 point)."""
    return isinstance(v, int | float) and not isinstance(v, bool)


def _contains(actual: Any, expected: Any) -> bool:
    """Case-insensitive substring for strings, membership for lists/dicts; a list expected value
    means "any of these"."""
    wanted = expected if isinstance(expected, list) else [expected]
    if isinstance(actual, str):
        low = actual.lower()
        return any(str(w).lower() in low for w in wanted)
    if isinstance(actual, list | tuple | set | frozenset | dict):
        return any(w in actual for w in wanted)
    return False


def _compare(fn: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def op(actual: Any, expected: Any) -> bool:
        return _is_number(actual) and bool(fn(actual, expected))

    return op


def _present(actual: Any) -> bool:
    return actual is not _MISSING and actual is not None and actual != ""


OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a is not _MISSING and a == b,
    "ne": lambda a, b: a is not _MISSING and a is not None and a != b,
    "in": lambda a, b: a is not _MISSING and a in b,
    "gt": _compare(operator.gt),
    "lt": _compare(operator.lt),
    "gte": _compare(operator.ge),
    "lte": _compare(operator.le),
    "between": lambda a, b: _is_number(a) and bool(b[0] <= a <= b[1]),
    "contains": lambda a, b: a is not _MISSING and _contains(a, b),
    "exists": lambda a, b: _present(a) == b,
    "truthy": lambda a, b: (a is not _MISSING and bool(a)) == b,
}


def _lookup(lead: LeadResult, parts: tuple[str, ...]) -> Any:
    """Follow a pre-split dotted path; _MISSING when any step is absent."""
    current: Any = getattr(lead, parts[0], _MISSING)
    for part in parts[1:]:
        if isinstance(current, Mapping):
            current = current.get(part, _MISSING)
        else:
            return _MISSING
        if current is _MISSING:
            return _MISSING
    return current


def lookup(lead: LeadResult, path: str) -> Any:
    """Value at a dotted path ("enrichment.audit.score"), or None when absent."""
    value = _lookup(lead, tuple(path.split(".")))
    return None if value is _MISSING else value


def _show(value: Any) -> str:
    if value is _MISSING or value is None:
        return "?"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict | list):
        return str(len(value))
    return str(value)


@dataclass(frozen=True)
class Rule:
    """One compiled rule: a field test or a plugin scorer, with points and a reason template."""

    name: str
    field: str
    parts: tuple[str, ...]
    op: str
    value: Any
    points: float
    reason: str
    group: str
    scorer: str | None = None
    params: Mapping[str, Any] | None = None
    max_points: float = 0.0
    min_points: float = -100.0

    def render(self, lead: LeadResult, value: Any) -> str:
        """Reason text with {value} and {dotted.path} placeholders filled from the lead."""
        if "{" not in self.reason:
            return self.reason

        def fill(m: re.Match[str]) -> str:
            key = m.group(1)
            if key == "value":
                return _show(value)
            return _show(_lookup(lead, tuple(key.split("."))))

        return _PLACEHOLDER.sub(fill, self.reason)


class ScoringEngine:
    """Scores leads from compiled rules; reasons list the biggest contributions first."""

    def __init__(
        self,
        rules: Sequence[Rule],
        tiers: Mapping[str, float] | None = None,
        vertical_weights: Mapping[str, float] | None = None,
        max_reasons: int = 6,
        source: str = "<rules>",
    ) -> None:
        self.rules = list(rules)
        self.tiers = sorted((tiers or DEFAULT_TIERS).items(), key=lambda kv: -kv[1])
        self.vertical_weights = dict(vertical_weights or {})
        self.max_reasons = max_reasons
        self.source = source
        self.max_points = self._max_points()

    def _max_points(self) -> float:
        """Best achievable total: per group (alternatives) the largest positive points."""
        best: dict[str, float] = {}
        for rule in self.rules:
            pts = rule.max_points if rule.scorer else rule.points
            best[rule.group] = max(best.get(rule.group, 0.0), pts)
        total = sum(best.values())
        total += max([0.0, *self.vertical_weights.values()])
        return total

    @classmethod
    def load(cls, path: Path | None = None) -> ScoringEngine:
        """Load scoring rules from YAML; None loads the bundled scoring.yml."""
        p = path or BUNDLED_PATH
        return cls.from_dict(read_yaml(Path(p), "scoring rules"), source=str(p))

    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>") -> ScoringEngine:
        """Validate parsed YAML; every problem is one line naming the file and the rule."""

        def fail(msg: str) -> InvalidInput:
            return InvalidInput(f"{source}: {msg}")

        if not isinstance(data, dict):
            raise fail("top level must be a mapping with a 'rules' list")
        unknown = set(data) - _TOP_KEYS
        if unknown:
            raise fail(f"unknown top-level key(s): {', '.join(sorted(map(str, unknown)))}")
        specs: list[Any] = []
        for key in ("weights", "rules"):
            block = data.get(key)
            if block is None:
                continue
            if not isinstance(block, list):
                raise fail(f"'{key}' must be a list of rules")
            specs.extend((key, i, s) for i, s in enumerate(block))
        if not specs:
            raise fail("needs a non-empty 'rules' list")
        rules = [_compile(key, i, spec, fail) for key, i, spec in specs]

        tiers_raw = data.get("tiers", DEFAULT_TIERS)
        if not isinstance(tiers_raw, dict) or not tiers_raw:
            raise fail("'tiers' must be a mapping like {A: 75, B: 50, C: 25}")
        tiers: dict[str, float] = {}
        for name, floor in tiers_raw.items():
            if name not in ("A", "B", "C") or not _is_number(floor) or not 0 <= floor <= 100:
                raise fail(f"tiers.{name}: tiers are A, B, C with a number 0-100 (D is the rest)")
            tiers[name] = float(floor)
        ordered = [tiers[t] for t in ("A", "B", "C") if t in tiers]
        if ordered != sorted(ordered, reverse=True):
            raise fail("tiers must satisfy A >= B >= C")

        vw_raw = data.get("vertical_weights") or {}
        if not isinstance(vw_raw, dict):
            raise fail("'vertical_weights' must be a mapping of vertical -> points")
        vertical_weights: dict[str, float] = {}
        for vertical, pts in vw_raw.items():
            if not _is_number(pts):
                raise fail(f"vertical_weights.{vertical} must be a number, got {pts!r}")
            vertical_weights[str(vertical)] = float(pts)
        max_reasons = data.get("max_reasons", 6)
        if not isinstance(max_reasons, int) or isinstance(max_reasons, bool) or max_reasons < 0:
            raise fail("max_reasons must be a non-negative integer")
        return cls(rules, tiers, vertical_weights, max_reasons, source)

    def score(self, lead: LeadResult) -> dict[str, Any]:
        """Score one lead: {"score": 0-100, "tier": "A".."D", "reasons": ["+15 valid email"]}."""
        total = 0.0
        hits: list[tuple[float, int, str]] = []
        done_groups: set[str] = set()
        for idx, rule in enumerate(self.rules):
            if rule.group in done_groups:
                continue
            if rule.scorer is not None:
                params = rule.params or {}
                answer = _SCORERS[rule.scorer](lead, params)
                if answer is None:
                    continue
                pts = max(rule.min_points, min(rule.max_points, float(answer[0])))
                why = answer[1]
            else:
                value = _lookup(lead, rule.parts)
                try:
                    matched = OPS[rule.op](value, rule.value)
                except TypeError:  # e.g. "in" against an unhashable value
                    matched = False
                if not matched:
                    continue
                pts = rule.points
                why = rule.render(lead, value)
            done_groups.add(rule.group)
            if pts:
                total += pts
                hits.append((pts, idx, why))
        vertical = lead.classification.get("vertical")
        if vertical:
            bonus = self.vertical_weights.get(str(vertical), 0.0)
            if bonus:
                total += bonus
                label = "priority vertical" if bonus > 0 else "low-fit vertical"
                hits.append((bonus, len(self.rules), f"{label} ({vertical})"))
        raw = 100.0 * total / self.max_points if self.max_points > 0 else 0.0
        score = max(0, min(100, round(raw)))
        tier = next((name for name, floor in self.tiers if score >= floor), "D")
        hits.sort(key=lambda h: (-abs(h[0]), h[1]))
        reasons = [f"{pts:+g} {why}" for pts, _, why in hits[: self.max_reasons]]
        return {"score": score, "tier": tier, "reasons": reasons}


def _compile(block: str, index: int, spec: Any, fail: Callable[[str], InvalidInput]) -> Rule:
    """Validate one YAML rule and turn it into a Rule."""
    where = f"{block}[{index}]"
    if not isinstance(spec, dict):
        raise fail(f"{where} must be a mapping")
    unknown = set(spec) - _RULE_KEYS
    if unknown:
        raise fail(f"{where}: unknown key(s): {', '.join(sorted(map(str, unknown)))}")
    name = spec.get("name", f"{block}{index}")
    if not isinstance(name, str):
        raise fail(f"{where}.name must be a string")
    where = f"{where} ({name})" if "name" in spec else where
    group = spec.get("group", f"#{block}{index}")
    if not isinstance(group, str):
        raise fail(f"{where}.group must be a string")
    reason = spec.get("reason", name)
    if not isinstance(reason, str):
        raise fail(f"{where}.reason must be a string")
    if "scorer" in spec:
        scorer = spec["scorer"]
        if not isinstance(scorer, str) or scorer not in _SCORERS:
            raise fail(
                f"{where}: unknown scorer {scorer!r}; registered: "
                f"{', '.join(registered_scorers()) or 'none'}"
            )
        params = spec.get("params") or {}
        if not isinstance(params, dict):
            raise fail(f"{where}.params must be a mapping")
        max_points = spec.get("max_points", 0)
        min_points = spec.get("min_points", -100)
        if not _is_number(max_points) or not _is_number(min_points) or min_points > max_points:
            raise fail(f"{where}: max_points/min_points must be numbers with min <= max")
        return Rule(
            name,
            "",
            ("",),
            "scorer",
            None,
            0.0,
            reason,
            group,
            scorer,
            params,
            float(max_points),
            float(min_points),
        )
    field = spec.get("field")
    if not isinstance(field, str) or not field:
        raise fail(f"{where} needs a 'field' (dotted path like contact.email_valid) or 'scorer'")
    parts = tuple(field.split("."))
    if parts[0] not in _LEAD_ATTRS or not all(parts):
        raise fail(
            f"{where}.field {field!r} must start with one of {', '.join(sorted(_LEAD_ATTRS))}"
        )
    op = spec.get("op", "eq")
    if op not in OPS:
        raise fail(f"{where}: unknown op {op!r}; use one of {', '.join(OPS)}")
    points = spec.get("points")
    if not _is_number(points):
        raise fail(f"{where}.points must be a number, got {points!r}")
    value = spec.get("value", True if op in ("exists", "truthy") else _MISSING)
    if value is _MISSING:
        raise fail(f"{where}: op {op!r} needs a 'value'")
    if op in ("exists", "truthy") and not isinstance(value, bool):
        raise fail(f"{where}: op {op!r} takes value true or false")
    if op == "in" and not isinstance(value, list):
        raise fail(f"{where}: op 'in' needs a list value")
    if op in ("gt", "lt", "gte", "lte") and not _is_number(value):
        raise fail(f"{where}: op {op!r} needs a number value")
    if op == "between" and not (
        isinstance(value, list)
        and len(value) == 2
        and all(_is_number(v) for v in value)
        and value[0] <= value[1]
    ):
        raise fail(f"{where}: op 'between' needs [low, high] numbers")
    return Rule(name, field, parts, op, value, float(points), reason, group)


def _role_inbox(lead: LeadResult, params: Mapping[str, Any]) -> tuple[float, str] | None:
    """Penalty for shared inboxes, naming the inbox so the reason is actionable."""
    if not lead.contact.get("email_role"):
        return None
    email = str(lead.contact.get("email_normalized") or lead.fields.get("email") or "")
    local = email.split("@", 1)[0].strip().lower()
    label = f"{local}@" if local else "shared inbox"
    return float(params.get("points", -10)), f"role inbox ({label})"


def _audit_need(lead: LeadResult, params: Mapping[str, Any]) -> tuple[float, str] | None:
    """Graded points for a weak website: the worse the local audit, the bigger the opportunity."""
    audit = lead.enrichment.get("audit")
    if not isinstance(audit, Mapping):
        return None
    score = audit.get("score")
    if not _is_number(score):
        return None
    bands = params.get("bands") or [
        [50, 10, "website needs work"],
        [70, 6, "website could be better"],
    ]
    for below, pts, text in bands:
        if score < below:
            return float(pts), f"{text} (audit {score:g}/100)"
    strong = params.get("strong")
    if isinstance(strong, list) and len(strong) == 3 and score >= strong[0]:
        return float(strong[1]), f"{strong[2]} (audit {score:g}/100)"
    return None


register_scorer("role_inbox", _role_inbox)
register_scorer("audit_need", _audit_need)
