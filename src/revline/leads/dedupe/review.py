"""Uncertain pairs: ask the LLM gateway, or export them for a person and read the answers back.

Answers are keyed by the two records' identity fingerprints (a hash of their canonical keys),
not by row ids, so a label given once applies to the same two identities in any later file.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from revline.kernel.errors import InvalidInput, RevlineError

REVIEW_FIELDS: tuple[str, ...] = (
    "company", "name", "title", "email", "phone", "website", "domain", "address", "city",
    "state", "country",
)
CSV_HEADER: tuple[str, ...] = (
    "fp_l", "fp_r", "record_id_l", "record_id_r", "match_probability", "match_weight", "why",
    *(f"{f}_{side}" for f in REVIEW_FIELDS for side in ("l", "r")),
    "label",
)
_YES = frozenset({"yes", "y", "1", "true", "match", "same", "duplicate", "dup"})
_NO = frozenset({"no", "n", "0", "false", "non-match", "nonmatch", "different", "distinct"})

LLM_SYSTEM = (
    "You decide whether two lead records describe the same real-world entity: the same person "
    "when a contact name is given, otherwise the same business. A shared role inbox (info@, "
    "sales@), a shared phone switchboard or a shared website does not by itself make two "
    "different people the same. Typos, swapped first/last names, reformatted phone numbers and "
    'Gmail dot/plus variants are the same. Answer JSON: {"results": [{"id": str, "same": bool, '
    '"confidence": 0..1, "reason": str}]} with one result per pair.'
)


@dataclass(frozen=True)
class PairLabel:
    """A decision about two identities: the same entity or not, and who said so."""

    fp_a: str
    fp_b: str
    match: bool
    source: str  # "llm" | "human"
    confidence: float = 1.0
    reason: str = ""
    record_a: str = ""
    record_b: str = ""

    @classmethod
    def of(cls, fp_l: str, fp_r: str, match: bool, source: str, **kw: Any) -> PairLabel:
        """Label with the fingerprints in canonical (sorted) order."""
        a, b = sorted((fp_l, fp_r))
        if (a, b) != (fp_l, fp_r):
            kw["record_a"], kw["record_b"] = kw.get("record_b", ""), kw.get("record_a", "")
        return cls(a, b, match, source, **kw)


@dataclass
class ReviewPair:
    """One uncertain pair as shown to a reviewer."""

    fp_l: str
    fp_r: str
    record_id_l: str
    record_id_r: str
    match_probability: float
    match_weight: float
    why: str
    left: dict[str, str] = field(default_factory=dict)
    right: dict[str, str] = field(default_factory=dict)


Judge = Callable[[Sequence[ReviewPair]], Sequence[PairLabel | None]]


def write_review_csv(path: Path, pairs: Iterable[ReviewPair]) -> int:
    """Write pairs for a person to label (fill `label` with yes/no); returns rows written."""
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_HEADER)
        for p in pairs:
            writer.writerow([
                p.fp_l, p.fp_r, p.record_id_l, p.record_id_r, round(p.match_probability, 4),
                round(p.match_weight, 2), p.why,
                *(side.get(f, "") for f in REVIEW_FIELDS for side in (p.left, p.right)),
                "",
            ])
            n += 1
    tmp.replace(path)
    return n


def read_review_csv(path: Path) -> Iterator[PairLabel]:
    """Labels a person filled in; blank labels are skipped, anything else unclear is an error."""
    if not path.is_file():
        raise InvalidInput(f"{path}: file not found")
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = {"fp_l", "fp_r", "label"} - set(reader.fieldnames or [])
        if missing:
            raise InvalidInput(
                f"{path}: not a dedupe review file (missing column(s) "
                f"{', '.join(sorted(missing))}); write one with "
                "`revline leads dedupe ... --uncertain-out FILE.csv`"
            )
        for line, row in enumerate(reader, start=2):
            text = (row.get("label") or "").strip().lower()
            if not text:
                continue
            if text not in _YES and text not in _NO:
                raise InvalidInput(
                    f"{path}: line {line}: label {row.get('label')!r} is not yes or no"
                )
            fp_l, fp_r = (row.get("fp_l") or "").strip(), (row.get("fp_r") or "").strip()
            if len(fp_l) != 32 or len(fp_r) != 32:
                raise InvalidInput(f"{path}: line {line}: fp_l/fp_r must be kept as written")
            yield PairLabel.of(
                fp_l, fp_r, text in _YES, "human",
                record_a=(row.get("record_id_l") or ""), record_b=(row.get("record_id_r") or ""),
            )


def _prompt(pairs: Sequence[ReviewPair]) -> str:
    items = []
    for i, p in enumerate(pairs):
        items.append({
            "id": f"p{i}",
            "a": {k: v for k, v in p.left.items() if v},
            "b": {k: v for k, v in p.right.items() if v},
        })
    return json.dumps({"pairs": items}, ensure_ascii=False)


def make_llm_judge(gateway: Any, scope: Any = None) -> Judge:
    """Judge via `gateway.chat_json` (one call per batch); a failed call answers nothing.

    `scope` (a CallScope) bills the calls to the tenant, feature and job, so their budgets
    apply and the ledger shows what review cost.
    """

    def judge(pairs: Sequence[ReviewPair]) -> list[PairLabel | None]:
        answer = gateway.chat_json(
            [
                {"role": "system", "content": LLM_SYSTEM},
                {"role": "user", "content": _prompt(pairs)},
            ],
            max_tokens=70 * len(pairs) + 60,
            temperature=0,
            scope=scope,
        )
        results = answer.get("results", []) if isinstance(answer, dict) else []
        by_id = {str(r.get("id")): r for r in results if isinstance(r, dict)}
        out: list[PairLabel | None] = []
        for i, p in enumerate(pairs):
            r = by_id.get(f"p{i}")
            same = None if r is None else r.get("same")
            if not isinstance(same, bool):
                out.append(None)
                continue
            try:
                conf = min(max(float(r.get("confidence", 0.5)), 0.0), 1.0)  # type: ignore[union-attr]
            except (TypeError, ValueError):
                conf = 0.5
            out.append(PairLabel.of(
                p.fp_l, p.fp_r, same, "llm", confidence=conf,
                reason=str(r.get("reason") or "")[:300],  # type: ignore[union-attr]
                record_a=p.record_id_l, record_b=p.record_id_r,
            ))
        return out

    return judge


def review_in_batches(
    pairs: Sequence[ReviewPair],
    judge: Judge,
    batch_size: int,
    on_batch: Callable[[Sequence[PairLabel]], None] | None = None,
) -> tuple[list[PairLabel], str | None]:
    """Run the judge over batches; stop at the first failure and say why.

    `on_batch` gets each batch's answers as soon as they arrive, so a crash later in the
    review loses none of the answers already paid for.
    """
    labels: list[PairLabel] = []
    for start in range(0, len(pairs), batch_size):
        batch = pairs[start : start + batch_size]
        try:
            answers = [a for a in judge(batch) if a is not None]
        except RevlineError as exc:
            return labels, f"LLM review stopped after {len(labels)} pair(s): {exc}"
        if answers and on_batch is not None:
            on_batch(answers)
        labels.extend(answers)
    return labels, None
