"""Fixtures of the workflows tests: the shared Dify DSL corpus, read in place."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def corpus_dir() -> Path | None:
    """`shared/data/dify_dsl` next to the repository (or REVLINE_DIFY_DSL_DIR), if present."""
    override = os.environ.get("REVLINE_DIFY_DSL_DIR")
    if override:
        return Path(override) if Path(override).is_dir() else None
    for base in REPO.parents:
        candidate = base / "shared" / "data" / "dify_dsl"
        if candidate.is_dir():
            return candidate
    return None


@pytest.fixture(scope="session")
def dify_corpus() -> Path:
    """The corpus folder; tests using it skip when it is absent."""
    found = corpus_dir()
    if found is None:
        pytest.skip("shared Dify DSL corpus (shared/data/dify_dsl) not found")
    return found
