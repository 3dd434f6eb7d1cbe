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
class ChunkFields:
    """What every stored chunk carries: identity, source, span and text."""

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


@dataclass
class StoreRow(ChunkFields):
    """A chunk as a store keeps it: text for BM25, vector for similarity, span for citing."""

    search_text: str
    vector: Vector


@dataclass
class StoreHit(ChunkFields):
    """One leg's result: the row's fields plus that leg's raw score (higher is better)."""

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


@dataclass(frozen=True)
class Ranked:
    """A leg's light result: enough to fuse, plus a backend handle to fetch the row later."""

    chunk_id: str
    document_id: str
    score: float
    ref: int | str


class VectorStore(ABC):
    """Chunk storage with vector and BM25 legs; every call is scoped to one collection.

    Legs return light `Ranked` results; only the final top-k rows are fetched in full,
    because reading text columns for every candidate costs more than the search itself.
    """

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
    def rank_vector(
        self, collection: Collection, vector: Vector, k: int, filters: FilterSpec
    ) -> list[Ranked]:
        """Nearest rows by cosine similarity (score = similarity), best first."""

    @abstractmethod
    def rank_text(
        self, collection: Collection, text: str, k: int, filters: FilterSpec
    ) -> list[Ranked]:
        """Rows matching any query term, ranked by BM25 (score = BM25), best first."""

    @abstractmethod
    def fetch(
        self, collection: Collection, ranked: list[Ranked], with_vectors: bool = False
    ) -> list[StoreHit]:
        """Full rows for `ranked`, in that order, carrying its scores (vanished rows drop)."""

    @abstractmethod
    def optimize(self, collection: Collection) -> dict[str, Any]:
        """Compact files and bring indexes up to date; returns what was done."""

    def vector_search(
        self,
        collection: Collection,
        vector: Vector,
        k: int,
        filters: FilterSpec,
        with_vectors: bool = False,
    ) -> list[StoreHit]:
        """Nearest rows in full (score = cosine similarity)."""
        return self.fetch(collection, self.rank_vector(collection, vector, k, filters),
                          with_vectors)

    def text_search(
        self, collection: Collection, text: str, k: int, filters: FilterSpec
    ) -> list[StoreHit]:
        """BM25 matches in full (score = BM25)."""
        return self.fetch(collection, self.rank_text(collection, text, k, filters))

    def after_ingest(self, collection: Collection) -> None:  # noqa: ARG002 - hook
        """Index upkeep after a batch of writes (default: the backend needs none)."""
        return None

    def close(self) -> None:
        """Release connections (tests, forked workers)."""
        return None


def ordered_hits(
    ranked: list[Ranked], rows: dict[str, dict[str, Any]], vectors: dict[str, Vector] | None
) -> list[StoreHit]:
    """Fetched rows (by chunk id) back in ranked order with the leg's scores."""
    return [
        hit_from_mapping(rows[r.chunk_id], r.score,
                         vectors.get(r.chunk_id) if vectors is not None else None)
        for r in ranked
        if r.chunk_id in rows
    ]
