"""Dify DSL validator speed on the shared corpus (78 valid + 12 broken files).

Reads and validates every file (YAML parsing included) several times and reports the best
pass, plus how many files were accepted and rejected. Last line: JSON. Goal: the 90 files in
well under a second (< 0.5 s per pass).

Usage: python benchmarks/workflows_validator.py [--rounds 5] [--corpus DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    """Validate the corpus `rounds` times; print the best pass as JSON."""
    from tests.workflows.conftest import corpus_dir

    from revline.workflows.validator import validate_file

    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--corpus", type=Path, default=None)
    args = parser.parse_args()
    corpus = args.corpus or corpus_dir()
    if corpus is None:
        sys.exit("corpus not found: pass --corpus shared/data/dify_dsl")
    valid = sorted(corpus.glob("*.yml"))
    invalid = sorted((corpus / "invalid").glob("*.yml"))
    best = float("inf")
    accepted = rejected = 0
    for _ in range(args.rounds):
        started = time.perf_counter()
        accepted = sum(validate_file(p).valid for p in valid)
        rejected = sum(not validate_file(p).valid for p in invalid)
        best = min(best, time.perf_counter() - started)
    files = len(valid) + len(invalid)
    print(f"{files} files, best of {args.rounds}: {best:.3f} s")
    print(json.dumps({
        "files": files, "seconds_per_pass": round(best, 4),
        "files_per_second": round(files / best, 1),
        "valid_accepted": f"{accepted}/{len(valid)}",
        "invalid_rejected": f"{rejected}/{len(invalid)}",
        "goal_seconds": 0.5,
    }))


if __name__ == "__main__":
    main()
