"""The VectorStore interface both backends implement, and the rows and hits they exchange.

A backend keeps, per collection, chunk rows with a vector and a text index. It answers two
legs, nearest vectors and BM25 text matches; fusion (RRF) happens above it, in the same code
for every backend, so equal legs give equal answers.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from revline.kernel.errors import InvalidInput

Vector = npt.NDArray[np.float32]
# {"kind": "pdf"} or {"lang": ["en", "de"]}: a list means any of these values.
Filters = dict[str, "str | int | float | bool | list[str | int | float | bool]"]
COLUMN_FILTERS = ("source", "kind", "document_id", "title")
_FILTER_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class Collection:
    """Where one knowledge base's chunks live in a store."""

    name: str
    tenant_id: str
    dim: int


@dataclass
class StoreRow:
    """A chunk as a store keeps it: text for BM25, vector for similarity, span for citing."""

    chunk_id: str
    document_id: str
    source: str
    title: str
    section: str
    kind: str
    ordinal: int
    span_start: int
    span_end: int
    page_start: int | None
    page_end: int | None
    text: str
    search_text: str
    meta: list[str]
    vector: Vector


@dataclass
class StoreHit:
    """One leg's result: the row's fields plus that leg's raw score (higher is better)."""

    chunk_id: str
    document_id: str
    source: str
    title: str
    section: str
    kind: str
    ordinal: int
    span_start: int
    span_end: int
    page_start: int | None
    page_end: int | None
    text: str
    meta: list[str]
    score: float
    vector: Vector | None = None


HIT_FIELDS = (
    "chunk_id", "document_id", "source", "title", "section", "kind", "ordinal", "span_start",
    "span_end", "page_start", "page_end", "text", "meta",
)


def hit_from_mapping(row: dict[str, Any], score: float, vector: Vector | None = None) -> StoreHit:
    """Build a hit from a row mapping that has every HIT_FIELDS key."""
    values = {name: row[name] for name in HIT_FIELDS}
    values["meta"] = list(values["meta"] or [])
    return StoreHit(**values, score=float(score), vector=vector)


def meta_tags(meta: dict[str, Any]) -> list[str]:
    """Document metadata as `key=value` tags, the portable form both backends filter on."""
    tags: list[str] = []
    for key, value in sorted(meta.items()):
        values = value if isinstance(value, list) else [value]
        tags.extend(f"{key}={v}" for v in values if v is not None and not isinstance(v, dict))
    return tags


@dataclass(frozen=True)
class FilterSpec:
    """Filters split into column equality (any-of) and metadata tags (any-of per key)."""

    columns: dict[str, list[str]]
    tags: list[list[str]]


def parse_filters(filters: Filters | None) -> FilterSpec:
    """Validate filter keys and values; unknown keys become metadata tag filters."""
    columns: dict[str, list[str]] = {}
    tags: list[list[str]] = []
    for key, raw in (filters or {}).items():
        if not _FILTER_KEY.match(key):
            raise InvalidInput(f"filter key {key!r} must match [A-Za-z0-9_.-]{{1,64}}")
        values = raw if isinstance(raw, list) else [raw]
        if not values:
            raise InvalidInput(f"filter {key!r} has no values")
        texts = [str(v).lower() if isinstance(v, bool) else str(v) for v in values]
        if key in COLUMN_FILTERS:
            columns[key] = texts
        else:
            tags.append([f"{key}={v}" for v in texts])
    return FilterSpec(columns, tags)


class VectorStore(ABC):
    """Chunk storage with vector and BM25 legs; every call is scoped to one collection."""

    backend: str = ""

    @abstractmethod
    def replace_documents(
        self, collection: Collection, document_ids: list[str], rows: list[StoreRow]
    ) -> None:
        """Atomically make `rows` the only chunks of `document_ids` (an empty list deletes)."""

    @abstractmethod
    def drop(self, collection: Collection) -> None:
        """Remove the collection and all its rows."""

    @abstractmethod
    def count(self, collection: Collection) -> int:
        """Rows in the collection (0 when it does not exist yet)."""

    @abstractmethod
    def vector_search(
        self,
        collection: Collection,
        vector: Vector,
        k: int,
        filters: FilterSpec,
        with_vectors: bool = False,
    ) -> list[StoreHit]:
        """Nearest rows by cosine similarity (score = similarity), best first."""

    @abstractmethod
    def text_search(
        self, collection: Collection, text: str, k: int, filters: FilterSpec
    ) -> list[StoreHit]:
        """Rows matching any query term, ranked by BM25 (score = BM25), best first."""

    @abstractmethod
    def optimize(self, collection: Collection) -> dict[str, Any]:
        """Compact files and bring indexes up to date; returns what was done."""

    def close(self) -> None:
        """Release connections (tests, forked workers)."""
        return None
