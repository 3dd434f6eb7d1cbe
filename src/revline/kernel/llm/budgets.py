"""Budgets: the admin side (set, list, delete, release stale reservations) and the messages.

Reservation and settlement run on the hot path in `store.py`; this module never commits
(the CLI, the API or the gateway's own unit of work does).
"""

from __future__ import annotations

import math
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from revline.kernel.db.base import utcnow
from revline.kernel.db.repository import TenantRepository
from revline.kernel.errors import InvalidInput, NotFound
from revline.kernel.llm.models import BUDGET_PERIODS, BUDGET_SCOPES, LLMBudget, LLMCall
from revline.kernel.llm.store import BudgetRow, period_start

# Far above any real budget, and well inside the BIGINT columns (about $9.2e12 in micros).
MAX_LIMIT_USD = 1e12


def usd_to_micros(usd: float) -> int:
    """Dollars to integer micro-dollars (the unit every table stores)."""
    if not math.isfinite(usd) or usd < 0:
        raise InvalidInput(f"budget limit must be a non-negative amount in USD, not {usd}")
    if usd > MAX_LIMIT_USD:
        raise InvalidInput(f"budget limit must be at most ${MAX_LIMIT_USD:,.0f}, not {usd:g}; "
                           "delete the budget for no limit")
    return round(usd * 1_000_000)


def fmt_usd(micros: int) -> str:
    """$1.23 for display; more decimals for small amounts so they never show as $0."""
    usd = micros / 1_000_000
    if abs(usd) >= 1:
        return f"${usd:,.2f}"
    return f"${usd:.4f}" if abs(usd) >= 0.01 or usd == 0 else f"${usd:.6f}"


def scope_label(scope: str, ref: str) -> str:
    """'tenant' or 'job run-42'."""
    return "tenant" if scope == "tenant" else f"{scope} {ref}"


def exceeded_message(budget: BudgetRow, estimate: int, model: str, max_tokens: int) -> str:
    """One actionable line: which budget, what is left, what the call needed, how to fix it."""
    left = budget.limit_usd_micros - budget.spent_usd_micros - budget.reserved_usd_micros
    option = "--tenant-wide" if budget.scope == "tenant" else f"--{budget.scope} {budget.scope_ref}"
    return (
        f"LLM budget of {scope_label(budget.scope, budget.scope_ref)} exceeded: this call may "
        f"cost up to {fmt_usd(estimate)} ({model}, max_tokens={max_tokens}) but only "
        f"{fmt_usd(max(0, left))} of {fmt_usd(budget.limit_usd_micros)} is left (spent "
        f"{fmt_usd(budget.spent_usd_micros)}, reserved by calls in flight "
        f"{fmt_usd(budget.reserved_usd_micros)}); raise it with `revline llm budgets set "
        f"{option} --limit USD` or lower max_tokens"
    )


class BudgetRepository(TenantRepository[LLMBudget]):
    """Budgets of one tenant."""

    model = LLMBudget

    def find(self, scope: str, ref: str) -> LLMBudget | None:
        """The budget of one scope level, if set."""
        return self.session.scalars(
            self.query().where(LLMBudget.scope == scope, LLMBudget.scope_ref == ref)
        ).first()


def _check_scope(scope: str, ref: str | None) -> str:
    if scope not in BUDGET_SCOPES:
        raise InvalidInput(f"unknown budget scope {scope!r}; use one of {', '.join(BUDGET_SCOPES)}")
    if scope == "tenant":
        return ""
    if not ref:
        raise InvalidInput(f"a {scope} budget needs the {scope} id")
    if len(ref) > 64:
        raise InvalidInput(f"{scope} id is longer than 64 characters")
    return ref


def set_budget(
    session: Session,
    tenant_id: uuid.UUID,
    scope: str,
    ref: str | None,
    limit_usd: float,
    period: str = "total",
) -> LLMBudget:
    """Create or change a budget; spent and in-flight reservations are kept."""
    ref = _check_scope(scope, ref)
    if period not in BUDGET_PERIODS:
        raise InvalidInput(f"unknown budget period {period!r}; use one of "
                           f"{', '.join(BUDGET_PERIODS)}")
    repo = BudgetRepository(session, tenant_id)
    budget = repo.find(scope, ref)
    limit = usd_to_micros(limit_usd)
    if budget is None:
        return repo.add(scope=scope, scope_ref=ref, limit_usd_micros=limit, period=period,
                        period_start=period_start(period, utcnow()))
    if budget.period != period:
        budget.period = period
        budget.period_start = period_start(period, utcnow())
        budget.spent_usd_micros = 0
    budget.limit_usd_micros = limit
    session.flush()
    return budget


def list_budgets(session: Session, tenant_id: uuid.UUID) -> list[LLMBudget]:
    """Every budget of the tenant, tenant level first."""
    rows = BudgetRepository(session, tenant_id).list(limit=10_000)
    return sorted(rows, key=lambda b: (BUDGET_SCOPES.index(b.scope), b.scope_ref))


def delete_budget(session: Session, tenant_id: uuid.UUID, scope: str, ref: str | None) -> None:
    """Remove a budget (its ledger history stays)."""
    ref = _check_scope(scope, ref)
    budget = BudgetRepository(session, tenant_id).find(scope, ref)
    if budget is None:
        raise NotFound(f"no LLM budget for {scope_label(scope, ref)}")
    session.delete(budget)
    session.flush()


def budget_view(budget: LLMBudget) -> dict[str, Any]:
    """Plain data for the CLI and the API."""
    left = budget.limit_usd_micros - budget.spent_usd_micros - budget.reserved_usd_micros
    return {
        "id": str(budget.id),
        "scope": budget.scope,
        "ref": budget.scope_ref or None,
        "period": budget.period,
        "period_start": budget.period_start.isoformat(),
        "limit_usd_micros": budget.limit_usd_micros,
        "spent_usd_micros": budget.spent_usd_micros,
        "reserved_usd_micros": budget.reserved_usd_micros,
        "remaining_usd_micros": left,
        "currency": budget.currency,
    }


def release_stale(
    session: Session, older_than_s: float, tenant_id: uuid.UUID | None = None
) -> int:
    """Give back reservations of calls pending longer than `older_than_s` (a crashed process).

    The ledger row becomes `abandoned`; if the call settles after all, settlement notices
    and only adds the spend. Returns how many reservations were released.
    """
    if not math.isfinite(older_than_s) or older_than_s < 0:
        raise InvalidInput(f"--older-than must be a number of seconds >= 0, not {older_than_s}; "
                           "a negative age would free the reservations of calls in flight")
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    stmt = select(LLMCall).where(LLMCall.status == "pending", LLMCall.created_at < cutoff)
    if tenant_id is not None:
        stmt = stmt.where(LLMCall.tenant_id == tenant_id)
    released = 0
    for call in session.scalars(stmt).all():
        done = session.execute(
            update(LLMCall)
            .where(LLMCall.id == call.id, LLMCall.status == "pending")
            .values(status="abandoned",
                    error=f"reservation released after {older_than_s:g}s without settlement")
            .execution_options(synchronize_session=False)
        )
        if not done.rowcount:  # type: ignore[attr-defined]
            continue  # settled meanwhile
        released += 1
        for budget_id in call.reserved_budgets:
            session.execute(
                update(LLMBudget)
                .where(LLMBudget.id == uuid.UUID(str(budget_id)))
                .values(reserved_usd_micros=LLMBudget.reserved_usd_micros
                        - call.reserved_usd_micros)
                .execution_options(synchronize_session=False)
            )
    return released
