"""Per-pair explanations and vetoes, as SQL over the scored pairs (engine-independent).

Splink numbers a comparison's levels from the top: with k non-null levels the first gets
gamma k-1 and the else level gamma 0; the null level is -1. The explanation names each
compared field's level and its match weight (mw_<name>: log2 of the Bayes factor), e.g.
"email: same personal email (+12.9); name: different (-4.1)".
"""

from __future__ import annotations

from revline.leads.dedupe.config import ProfileSpec


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def level_labels(profile: ProfileSpec) -> dict[str, dict[int, str]]:
    """comparison -> gamma value -> label (the YAML label, else a generated one)."""
    out: dict[str, dict[int, str]] = {}
    for comp in profile.comparisons:
        levels = [lv for lv in comp.levels if lv.kind != "missing"]
        labels: dict[int, str] = {}
        for pos, level in enumerate(levels):
            gamma = len(levels) - 1 - pos
            labels[gamma] = level.label or (
                "different" if level.kind == "else" else f"{level.kind.replace('_', ' ')}"
            )
        out[comp.name] = labels
    return out


def explanation_sql(profile: ProfileSpec) -> str:
    """SQL expression: '; '-joined field explanations of one scored pair, strongest evidence first
    in config order (nulls, i.e. fields missing on either side, are left out)."""
    parts = []
    for name, labels in level_labels(profile).items():
        whens = " ".join(
            f"when {gamma} then {_quote(f'{name}: {label}')}" for gamma, label in labels.items()
        )
        parts.append(
            f"case when gamma_{name} >= 0 then (case gamma_{name} {whens} end) "
            f"|| printf(' (%+.1f)', mw_{name}) end"
        )
    return f"concat_ws('; ', {', '.join(parts)})" if parts else "''"


def veto_sql(profile: ProfileSpec) -> str:
    """SQL expression naming the first veto that forbids the pair, else NULL."""
    if not profile.vetoes:
        return "cast(null as varchar)"
    whens = " ".join(f"when ({v.sql}) then {_quote(v.name)}" for v in profile.vetoes)
    return f"case {whens} end"
