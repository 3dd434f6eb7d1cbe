"""Winner index: proven performance beats lucky small samples, recency, near-duplicates."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from revline.kernel.config import Settings
from revline.kernel.db import Database
from revline.kernel.db.base import utcnow
from revline.kernel.errors import InvalidInput
from revline.knowledge import service
from revline.knowledge.winners import WinnerInput


def _add(db: Database, tenant: uuid.UUID, body: str, **kw: object) -> tuple[str, bool]:
    with db.session() as session:
        row, created = service.add_winner(session, tenant, WinnerInput(body=body, **kw))  # type: ignore[arg-type]
        return str(row.id), created


def _find(db: Database, tenant: uuid.UUID, text: str, **kw: object) -> list[dict[str, object]]:
    with db.session() as session:
        return [h.to_dict() for h in service.find_similar(session, tenant, text, **kw)]  # type: ignore[arg-type]


def test_proven_winners_outrank_lucky_small_samples(
    db: Database, kb_settings: Settings, tenant_id: uuid.UUID
) -> None:
    lucky, _ = _add(db, tenant_id, "Summer sale: 40% off all running shoes this week only",
                    channel="meta", impressions=20, clicks=8)
    proven, _ = _add(db, tenant_id, "Running shoes summer sale, save 40 percent this week",
                     channel="meta", impressions=50_000, clicks=1_500)
    weak, _ = _add(db, tenant_id, "Summer running shoe sale with big discounts this week",
                   channel="meta", impressions=50_000, clicks=150)
    hits = _find(db, tenant_id, "40% off running shoes for summer", k=3)
    order = [h["id"] for h in hits]
    assert order.index(proven) < order.index(weak)
    assert order.index(proven) < order.index(lucky)
    by_id = {h["id"]: h for h in hits}
    assert by_id[lucky]["rate"] == pytest.approx(0.4)  # highest raw CTR ...
    assert by_id[lucky]["lower_bound"] == 0.0  # ... but under the impressions floor
    assert by_id[proven]["performance"] == pytest.approx(1.0)
    assert 0 < by_id[weak]["performance"] < 1


def test_recency_decay_and_channel_filter(
    db: Database, kb_settings: Settings, tenant_id: uuid.UUID
) -> None:
    old = utcnow() - timedelta(days=365)
    stale, _ = _add(db, tenant_id, "Book a free dental checkup today", channel="google",
                    impressions=10_000, clicks=500, observed_at=old)
    fresh, _ = _add(db, tenant_id, "Free dental checkup, book today", channel="google",
                    impressions=10_000, clicks=450)
    email, _ = _add(db, tenant_id, "Your free dental checkup is waiting", channel="email",
                    kind="email", headline="Free checkup", impressions=5_000, clicks=400)
    hits = _find(db, tenant_id, "free dental check-up booking", k=5, channel="google")
    assert [h["id"] for h in hits][:2] == [fresh, stale]
    assert hits[1]["decay"] == pytest.approx(0.5 ** (365 / 90), rel=1e-3)
    assert email not in [h["id"] for h in hits]
    emails = _find(db, tenant_id, "free dental check-up booking", k=5, kind="email")
    assert [h["id"] for h in emails] == [email]


def test_same_creative_updates_and_near_duplicates_collapse(
    db: Database, kb_settings: Settings, tenant_id: uuid.UUID
) -> None:
    first, created = _add(db, tenant_id, "Try our new vegan burger today", channel="meta",
                          impressions=1_000, clicks=30)
    again, created_again = _add(db, tenant_id, "  try our NEW vegan burger today ",
                                channel="meta", impressions=5_000, clicks=200)
    assert created
    assert not created_again
    assert again == first
    twin, _ = _add(db, tenant_id, "Try our new vegan burger today!", channel="meta",
                   impressions=4_000, clicks=100)
    other, _ = _add(db, tenant_id, "Cold brew coffee, now half price", channel="meta",
                    impressions=9_000, clicks=300)
    hits = _find(db, tenant_id, "new vegan burger", k=5)
    ids = [h["id"] for h in hits]
    assert first in ids
    assert twin not in ids
    head = next(h for h in hits if h["id"] == first)
    assert head["duplicates"] == [twin]
    assert head["impressions"] == 5_000
    assert other not in ids or ids.index(other) > ids.index(first)


def test_invalid_winners_and_queries(db: Database, kb_settings: Settings,
                                     tenant_id: uuid.UUID) -> None:
    with pytest.raises(InvalidInput, match="cannot exceed impressions"):
        _add(db, tenant_id, "x", channel="meta", impressions=1, clicks=5)
    with pytest.raises(InvalidInput, match="channel"):
        _add(db, tenant_id, "x", channel=" ")
    with pytest.raises(InvalidInput, match="metric"):
        _find(db, tenant_id, "x", metric="roas")
