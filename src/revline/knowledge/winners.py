"""The winner index: winning ad and email creatives, found again by similarity and proof.

A search embeds the new creative, takes the nearest recorded winners, and ranks them by

    score = (w * similarity + (1 - w) * performance) * 0.5 ** (age_days / half_life_days)

where `performance` is the Wilson lower bound of the chosen rate (ctr = clicks/impressions,
cvr = conversions/clicks, conversion_rate = conversions/impressions) divided by the best
bound among the candidates, and is 0 below the minimum-impressions floor: a creative has to
have been seen enough to count as proven. Age runs from `observed_at`. Candidates whose
embeddings are near-duplicates (cosine >= the threshold) collapse into the best one.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from revline.kernel.config import Settings
from revline.kernel.db.base import utcnow
from revline.kernel.errors import InvalidInput, NotFound
from revline.knowledge.embed import get_embedder, model_identity
from revline.knowledge.kbs import (
    WINNERS_KB,
    collection_of,
    ensure_kb,
    new_collection_name,
    store_of,
)
from revline.knowledge.models import KnowledgeBase, Winner
from revline.knowledge.ranking import collapse_near_duplicates, recency_decay, wilson_lower_bound
from revline.knowledge.repository import WinnerRepository
from revline.knowledge.store import StoreRow, parse_filters

METRICS = ("ctr", "cvr", "conversion_rate")
KINDS = ("ad", "email")


@dataclass
class WinnerInput:
    """A creative and its metrics as reported (counts are totals to date)."""

    body: str
    channel: str
    kind: str = "ad"
    headline: str = ""
    impressions: int = 0
    clicks: int = 0
    conversions: int = 0
    spend_minor: int = 0
    revenue_minor: int = 0
    currency: str = "USD"
    launched_at: datetime | None = None
    observed_at: datetime | None = None
    external_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        """One-line errors for impossible metrics or empty creatives."""
        if not self.body.strip() and not self.headline.strip():
            raise InvalidInput("a winner needs creative text (body or headline)")
        if not self.channel.strip():
            raise InvalidInput("channel is required (e.g. meta, google, email)")
        if self.kind not in KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        for name in ("impressions", "clicks", "conversions", "spend_minor", "revenue_minor"):
            if getattr(self, name) < 0:
                raise InvalidInput(f"{name} cannot be negative")
        if self.clicks > self.impressions:
            raise InvalidInput(
                f"clicks ({self.clicks}) cannot exceed impressions ({self.impressions})"
            )
        if len(self.currency) != 3 or not self.currency.isalpha():
            raise InvalidInput(f"currency must be a 3-letter code, got {self.currency!r}")

    def text(self) -> str:
        """What is embedded: headline and body."""
        return "\n".join(p.strip() for p in (self.headline, self.body) if p.strip())


def content_key(text: str) -> str:
    """Whitespace- and case-insensitive identity of a creative."""
    return hashlib.sha256(" ".join(text.lower().split()).encode()).hexdigest()


def winner_dict(row: Winner) -> dict[str, Any]:
    """JSON form of a stored winner."""
    return {
        "id": str(row.id), "kind": row.kind, "channel": row.channel,
        "external_id": row.external_id, "headline": row.headline, "body": row.body,
        "impressions": row.impressions, "clicks": row.clicks, "conversions": row.conversions,
        "spend_minor": row.spend_minor, "revenue_minor": row.revenue_minor,
        "currency": row.currency,
        "launched_at": row.launched_at.isoformat() if row.launched_at else None,
        "observed_at": row.observed_at.isoformat(), "created_at": row.created_at.isoformat(),
        "meta": row.meta,
    }


def _winners_kb(session: Session, settings: Settings, tenant_id: uuid.UUID) -> KnowledgeBase:
    """The internal winners collection; re-embedded from the rows when the model changed."""
    kb = ensure_kb(session, settings, tenant_id, WINNERS_KB, system=True)
    identity = model_identity(settings)
    if (kb.embed_model, kb.embed_sha256, kb.backend) != (
        identity.model_id, identity.sha256, settings.kb_vector_backend
    ):
        old_store, old = store_of(settings, kb), collection_of(kb)
        kb.collection = new_collection_name(kb.id)
        kb.embed_model, kb.embed_sha256, kb.embed_dim = (
            identity.model_id, identity.sha256, identity.dim)
        kb.backend = settings.kb_vector_backend
        session.flush()
        rows = list(session.scalars(WinnerRepository(session, tenant_id).query()))
        _index(settings, kb, rows)
        old_store.drop(old)
    return kb


def _index(settings: Settings, kb: KnowledgeBase, rows: list[Winner]) -> None:
    if not rows:
        return
    texts = ["\n".join(p for p in (r.headline, r.body) if p) for r in rows]
    vectors = get_embedder(settings).embed(texts)
    store_rows = [
        StoreRow(
            chunk_id=str(r.id), document_id=str(r.id), source=f"winner:{r.id}",
            title=r.headline, section="", kind=r.kind, ordinal=0, span_start=0,
            span_end=len(text), page_start=None, page_end=None, text=text, search_text=text,
            meta=[f"channel={r.channel}", f"kind={r.kind}"], vector=vector,
        )
        for r, text, vector in zip(rows, texts, vectors, strict=True)
    ]
    store_of(settings, kb).replace_documents(collection_of(kb), [r.chunk_id for r in store_rows],
                                             store_rows)


def add_winner(
    session: Session, settings: Settings, tenant_id: uuid.UUID, winner: WinnerInput
) -> tuple[Winner, bool]:
    """Record a winner; the same creative on the same channel updates its metrics instead.

    Returns (row, created).
    """
    winner.validate()
    repo = WinnerRepository(session, tenant_id)
    sha = content_key(winner.text())
    values: dict[str, Any] = {
        "kind": winner.kind, "channel": winner.channel.strip().lower(),
        "external_id": winner.external_id, "headline": winner.headline.strip()[:500],
        "body": winner.body.strip(), "impressions": winner.impressions,
        "clicks": winner.clicks, "conversions": winner.conversions,
        "spend_minor": winner.spend_minor, "revenue_minor": winner.revenue_minor,
        "currency": winner.currency.upper(), "launched_at": winner.launched_at,
        "observed_at": winner.observed_at or utcnow(), "meta": dict(winner.meta),
    }
    row = repo.by_content(values["channel"], sha)
    created = row is None
    if row is None:
        row = repo.add(content_sha256=sha, **values)
    else:
        for name, value in values.items():
            setattr(row, name, value)
        session.flush()
    kb = _winners_kb(session, settings, tenant_id)
    if created:
        _index(settings, kb, [row])
    return row, created


def get_winner(session: Session, tenant_id: uuid.UUID, winner_id: uuid.UUID) -> Winner:
    """One winner, else NotFound."""
    return WinnerRepository(session, tenant_id).get(winner_id)


def delete_winner(
    session: Session, settings: Settings, tenant_id: uuid.UUID, winner_id: uuid.UUID
) -> None:
    """Forget a winner and drop it from the index."""
    row = WinnerRepository(session, tenant_id).get(winner_id)
    session.delete(row)
    session.flush()
    kb = _winners_kb(session, settings, tenant_id)
    store_of(settings, kb).replace_documents(collection_of(kb), [str(winner_id)], [])


def rate_counts(row: Winner, metric: str) -> tuple[int, int]:
    """(successes, trials) of a winner for `metric`."""
    if metric == "ctr":
        return row.clicks, row.impressions
    if metric == "cvr":
        return min(row.conversions, row.clicks), row.clicks
    return min(row.conversions, row.impressions), row.impressions


@dataclass
class WinnerHit:
    """A similar winner with the parts of its score and the near-duplicates it stands for."""

    winner: Winner
    score: float
    similarity: float
    rate: float
    lower_bound: float
    performance: float
    decay: float
    duplicates: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            **winner_dict(self.winner), "score": round(self.score, 6),
            "similarity": round(self.similarity, 6), "rate": round(self.rate, 6),
            "lower_bound": round(self.lower_bound, 6),
            "performance": round(self.performance, 6), "decay": round(self.decay, 6),
            "duplicates": self.duplicates,
        }


def find_similar(
    session: Session,
    settings: Settings,
    tenant_id: uuid.UUID,
    text: str,
    k: int = 5,
    channel: str | None = None,
    kind: str | None = None,
    metric: str = "ctr",
    now: datetime | None = None,
) -> list[WinnerHit]:
    """Winners similar to `text`, ranked by similarity, proven performance and recency."""
    if not text.strip():
        raise InvalidInput("text of the creative to match is empty")
    if metric not in METRICS:
        raise InvalidInput(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    if not 1 <= k <= 100:
        raise InvalidInput(f"k must be between 1 and 100, got {k}")
    kb = _winners_kb(session, settings, tenant_id)
    filters: dict[str, Any] = {}
    if channel:
        filters["channel"] = channel.strip().lower()
    if kind:
        filters["kind"] = kind
    spec = parse_filters(filters)
    vector = get_embedder(settings).embed_one(text)
    candidates = store_of(settings, kb).vector_search(
        collection_of(kb), vector, max(50, k * 10), spec, with_vectors=True
    )
    rows = WinnerRepository(session, tenant_id).by_ids([uuid.UUID(c.chunk_id) for c in candidates])
    now = now or utcnow()
    scored: list[tuple[float, Any, WinnerHit]] = []
    bounds: list[float] = []
    pool = []
    for cand in candidates:
        row = rows.get(uuid.UUID(cand.chunk_id))
        if row is None or cand.score < settings.kb_winner_min_similarity:
            continue
        successes, trials = rate_counts(row, metric)
        proven = row.impressions >= settings.kb_winner_min_impressions and trials > 0
        bound = wilson_lower_bound(successes, trials, settings.kb_winner_z) if proven else 0.0
        bounds.append(bound)
        pool.append((cand, row, successes, trials, bound))
    best = max(bounds, default=0.0)
    weight = settings.kb_winner_similarity_weight
    for cand, row, successes, trials, bound in pool:
        performance = bound / best if best > 0 else 0.0
        age = (now - row.observed_at).total_seconds() / 86400.0
        decay = recency_decay(age, settings.kb_winner_half_life_days)
        score = (weight * cand.score + (1 - weight) * performance) * decay
        hit = WinnerHit(row, score, cand.score, successes / trials if trials else 0.0, bound,
                        performance, decay)
        scored.append((score, cand.vector, hit))
    scored.sort(key=lambda item: (-item[0], str(item[2].winner.id)))
    vectors = [v if v is not None else np.zeros(1, dtype=np.float32) for _, v, _ in scored]
    groups = collapse_near_duplicates(vectors, settings.kb_winner_dup_threshold)
    out: list[WinnerHit] = []
    for group in groups[:k]:
        head = scored[group[0]][2]
        head.duplicates = [str(scored[i][2].winner.id) for i in group[1:]]
        out.append(head)
    return out


def require_winner(session: Session, tenant_id: uuid.UUID, winner_id: str) -> Winner:
    """Parse an id from user input and load the winner."""
    try:
        parsed = uuid.UUID(winner_id)
    except ValueError:
        raise NotFound(f"winner {winner_id!r} not found") from None
    return get_winner(session, tenant_id, parsed)
