"""The bundled pattern library: schema v1; every pattern builds into DSL the validator accepts."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from revline.workflows.dsl import AppSpec, build_dsl
from revline.workflows.validator import validate_text

PATTERNS_DIR = Path(__file__).resolve().parents[2] / "src" / "revline" / "knowledge" / "data" \
    / "patterns"
FILES = sorted(PATTERNS_DIR.glob("*.yml"))
REQUIRED = {"schema", "id", "name", "mode", "category", "description", "use_when", "tags",
            "slots", "graph"}


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [str(value)]


def test_library_size_and_variety() -> None:
    patterns = [_load(p) for p in FILES]
    assert len(patterns) >= 18
    modes = Counter(p["mode"] for p in patterns)
    assert modes["workflow"] >= 10
    assert modes["advanced-chat"] >= 3
    node_types = {n["data"]["type"] for p in patterns for n in p["graph"]["nodes"]}
    assert {"llm", "knowledge-retrieval", "question-classifier", "if-else", "code",
            "http-request", "tool", "iteration", "loop", "parameter-extractor",
            "document-extractor", "list-operator", "variable-aggregator", "assigner",
            "template-transform", "agent", "human-input", "trigger-schedule",
            "trigger-webhook", "answer", "end"} <= node_types
    assert len({p["category"] for p in patterns}) >= 6
    assert len({p["id"] for p in patterns}) == len(patterns)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_pattern_schema(path: Path) -> None:
    pattern = _load(path)
    assert REQUIRED <= set(pattern), REQUIRED - set(pattern)
    assert pattern["schema"] == 1
    assert pattern["id"] == path.stem
    assert re.fullmatch(r"[a-z0-9-]+", pattern["id"])
    assert pattern["mode"] in ("workflow", "advanced-chat")
    assert isinstance(pattern["description"], str)
    assert len(pattern["description"]) > 120
    assert len(pattern["use_when"]) >= 2
    assert all(isinstance(u, str) for u in pattern["use_when"])
    assert pattern["tags"]
    assert all(re.fullmatch(r"[a-z0-9-]+", t) for t in pattern["tags"])
    graph = pattern["graph"]
    assert set(graph) == {"nodes", "edges"}
    strings = _strings(graph)
    for slot in pattern["slots"]:
        assert set(slot) == {"name", "description", "example"}
        # The example appears verbatim, so a generator can substitute the user's value.
        assert any(str(slot["example"]) in s for s in strings), slot["name"]


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_pattern_builds_into_valid_dsl(path: Path) -> None:
    pattern = _load(path)
    built = build_dsl(
        AppSpec(name=pattern["name"], mode=pattern["mode"], description=pattern["description"]),
        pattern["graph"],
    )
    assert built.repairs == []  # patterns are written with correct handles
    report = validate_text(built.to_yaml(), source=path.name)
    assert report.valid, [i.line() for i in report.errors]
    assert not report.warnings, [i.line() for i in report.warnings]
    assert report.mode == pattern["mode"]
