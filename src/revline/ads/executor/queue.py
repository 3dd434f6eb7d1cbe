"""The pending_ad_changes queue: enqueue, claim with a lease, renew, hold and finish.

A change is claimable when it is pending, due (`not_before <= now`) and either unclaimed or
its lease is stale (`claimed_at < now - lease`): a worker that died mid-change loses it to the
next one. PostgreSQL claims a batch in one statement, `WITH picked AS MATERIALIZED (SELECT ...
FOR UPDATE SKIP LOCKED) UPDATE ... FROM picked`, so concurrent workers never wait on or
double-claim a row. SQLite has no row locks; there each row is taken by an atomic conditional
`UPDATE ... WHERE id = :id AND (claimed_at IS NULL OR claimed_at < :stale)` and only the
worker whose update hit a row owns it.

Claiming serves every tenant (a worker is a system process); everything else is scoped to the
claimed row's tenant. Every write after the claim checks the claim token, so a worker whose
lease was taken over can no longer touch the row.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session

from revline.ads.models import CHANGE_PENDING, PendingAdChange
from revline.ads.repository import ChangeRepository
from revline.kernel.db import Database

T = PendingAdChange


@dataclass(frozen=True)
class Claim:
    """A worker's hold on one change until it finishes or its lease goes stale."""

    change_id: uuid.UUID
    tenant_id: uuid.UUID
    token: uuid.UUID
    attempt: int


def enqueue(
    session: Session,
    tenant_id: uuid.UUID,
    ad_id: uuid.UUID,
    action: str,
    *,
    requested_budget_minor: int | None,
    reason: str,
    origin: str,
    now: datetime,
    jitter_s: float,
    lease_s: int,
    decision_id: uuid.UUID | None = None,
) -> PendingAdChange:
    """Queue a change for an ad, retiring its older unclaimed ones (the newest decision wins)."""
    repo = ChangeRepository(session, tenant_id)
    repo.supersede_unclaimed(ad_id, now - timedelta(seconds=lease_s))
    return repo.add(
        ad_id=ad_id, action=action, requested_budget_minor=requested_budget_minor,
        reason=reason, origin=origin, decision_id=decision_id,
        not_before=now + timedelta(seconds=jitter_s), jitter_s=round(jitter_s, 3),
        created_at=now, updated_at=now,
    )


def _claimable(now: datetime, stale: datetime) -> ColumnElement[bool]:
    return and_(
        T.status == CHANGE_PENDING,
        T.not_before <= now,
        or_(T.claimed_at.is_(None), T.claimed_at < stale),
    )


def claim(db: Database, worker: str, limit: int, lease_s: int, now: datetime) -> list[Claim]:
    """Take up to `limit` due changes for this worker."""
    stale = now - timedelta(seconds=lease_s)
    token = uuid.uuid4()
    values: dict[str, Any] = {
        "claimed_at": now, "claimed_by": worker[:200], "claim_token": token,
        "attempts": T.attempts + 1, "updated_at": now,
    }
    if db.is_sqlite:
        return _claim_sqlite(db, values, token, limit, now, stale)
    # A MATERIALIZED CTE locks exactly `limit` rows once; as an IN (subquery) PostgreSQL may
    # re-run the SKIP LOCKED subquery per outer row and claim far more than asked for.
    picked = (
        select(T.id).where(_claimable(now, stale)).order_by(T.not_before).limit(limit)
        .with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED")
    )
    stmt = (
        update(T).where(T.id == picked.c.id).values(**values)
        .returning(T.id, T.tenant_id, T.attempts)
        .execution_options(synchronize_session=False)
    )
    with db.session() as session:
        rows = session.execute(stmt).all()
    return [Claim(r[0], r[1], token, int(r[2])) for r in rows]


def _claim_sqlite(
    db: Database, values: dict[str, Any], token: uuid.UUID, limit: int, now: datetime,
    stale: datetime,
) -> list[Claim]:
    with db.session() as session:
        candidates = list(session.execute(
            select(T.id, T.tenant_id).where(_claimable(now, stale)).order_by(T.not_before)
            .limit(limit * 4)
        ).all())
    won: list[Claim] = []
    for change_id, tenant_id in candidates:
        if len(won) >= limit:
            break
        with db.session() as session:
            result = session.execute(
                update(T).where(T.id == change_id, _claimable(now, stale)).values(**values)
                .execution_options(synchronize_session=False)
            )
            if int(getattr(result, "rowcount", 0) or 0) != 1:
                continue  # another worker got there first
            attempts = session.scalar(select(T.attempts).where(T.id == change_id))
        won.append(Claim(change_id, tenant_id, token, int(attempts or 1)))
    return won


def waiting(db: Database, now: datetime) -> tuple[int, datetime | None]:
    """Pending changes not yet due (jitter or a hold) and when the next one becomes due."""
    with db.session() as session:
        rows = list(session.scalars(
            select(T.not_before).where(T.status == CHANGE_PENDING, T.not_before > now)
        ))
    return len(rows), min(rows) if rows else None


def _owned(claim_: Claim) -> ColumnElement[bool]:
    return and_(T.id == claim_.change_id, T.claim_token == claim_.token,
                T.status == CHANGE_PENDING)


def _write(session: Session, claim_: Claim, values: dict[str, Any]) -> bool:
    result = session.execute(
        update(T).where(_owned(claim_)).values(**values)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


def renew(session: Session, claim_: Claim, now: datetime, intent_minor: int | None = None
          ) -> bool:
    """Refresh the lease right before touching the platform; False means it was lost.

    `intent_minor` records the budget about to be written: if the write lands but its answer
    is lost (a timeout, a killed worker), the next attempt finds the platform already there
    and closes the change instead of moving the budget a second max step.
    """
    values: dict[str, Any] = {"claimed_at": now, "updated_at": now}
    if intent_minor is not None:
        values["applied_budget_minor"] = intent_minor
    return _write(session, claim_, values)


def hold(session: Session, claim_: Claim, retry_at: datetime, reason: str, now: datetime) -> bool:
    """Give the change back to the queue, due again at retry_at."""
    return _write(session, claim_, {
        "claimed_at": None, "claimed_by": None, "claim_token": None, "not_before": retry_at,
        "hold_reason": reason[:2000], "updated_at": now,
    })


def finish(
    session: Session, claim_: Claim, status: str, outcome: str, now: datetime,
    applied_budget_minor: int | None = None,
) -> bool:
    """Close the change with a final status."""
    return _write(session, claim_, {
        "status": status, "outcome": outcome[:2000], "finished_at": now, "updated_at": now,
        "applied_budget_minor": applied_budget_minor, "claimed_at": None, "claim_token": None,
    })
