"""Malformed input never crashes the validator or the builder: issues or a typed error."""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from revline.workflows.dsl import AppSpec, InvalidGraph, SecretInDSL, build_dsl
from revline.workflows.validator import validate_document
from tests.workflows.samples import simple_chatflow, simple_workflow

PATTERNS = Path(__file__).resolve().parents[2] / "src/revline/knowledge/data/patterns"
JUNK: list[Any] = [None, 0, -1, 1.5, True, "", "x", "{{#ghost.var#}}", [], {}, ["a"],
                   ["a", "b"], [1, 2], [[1]], {"a": 1}]


def _seeds() -> list[dict[str, Any]]:
    seeds = [simple_workflow(), simple_chatflow()]
    for path in sorted(PATTERNS.glob("*.yml"))[:8]:
        pattern = yaml.safe_load(path.read_text(encoding="utf-8"))
        built = build_dsl(AppSpec(name=pattern["name"], mode=pattern["mode"]), pattern["graph"])
        seeds.append(built.document)
    return seeds


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, (*path, i))


def _mutate(doc: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    paths = [p for p in _paths(out) if p]
    for _ in range(rng.randint(1, 4)):
        path = rng.choice(paths)
        target: Any = out
        try:
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = copy.deepcopy(rng.choice(JUNK))
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation replaced a parent
    return out


def test_mutated_documents_never_crash() -> None:
    rng = random.Random(20261123)
    seeds = _seeds()
    invalid = 0
    for _ in range(400):
        doc = _mutate(rng.choice(seeds), rng)
        report = validate_document(doc)
        invalid += not report.valid
        assert all("\n" not in i.message for i in report.issues)
        graph = doc.get("workflow", {}).get("graph") if isinstance(doc.get("workflow"), dict) \
            else None
        if isinstance(graph, dict):
            try:
                build_dsl(AppSpec(name="x"), graph).to_yaml()
            except (InvalidGraph, SecretInDSL):
                pass
    assert invalid > 200  # the mutations really broke most documents


@pytest.mark.parametrize(("graph", "message"), [
    ({"nodes": []}, "graph.nodes must be a non-empty list"),
    ({"nodes": ["start"]}, "graph.nodes[0] is not a mapping"),
    ({"nodes": [{"data": {"type": "start"}}]}, "graph.nodes[0].id must be a non-empty string"),
    ({"nodes": [{"id": "a", "data": {"type": "start"}}, {"id": "a", "data": {"type": "end"}}]},
     "graph.nodes[1].id 'a' is used twice"),
    ({"nodes": [{"id": "a", "data": "start"}]}, "graph.nodes[0].data must be a mapping"),
])
def test_builder_refuses_graphs_it_cannot_place(graph: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidGraph) as caught:
        build_dsl(AppSpec(name="x"), graph)
    assert message in caught.value.message
