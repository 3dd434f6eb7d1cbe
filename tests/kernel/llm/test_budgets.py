"""Budgets: reserved before the call, settled after, hierarchical, safe under concurrency."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from revline.kernel.auth import ensure_tenant
from revline.kernel.db import Database, utcnow
from revline.kernel.errors import BudgetExceeded, InvalidInput, NotFound
from revline.kernel.llm import CallScope, LLMGateway
from revline.kernel.llm.budgets import delete_budget, list_budgets, release_stale, set_budget
from revline.kernel.llm.models import LLMBudget
from revline.kernel.llm.store import CallRow, Settlement
from tests.emulators.llm_server import LLMEmulator
from tests.kernel.llm.conftest import ledger, user


def _budget(db: Database, tenant: uuid.UUID, scope: str = "tenant",
            ref: str | None = None) -> LLMBudget:
    with db.session() as session:
        return next(b for b in list_budgets(session, tenant)
                    if b.scope == scope and b.scope_ref == (ref or ""))


def _set(db: Database, tenant: uuid.UUID, usd: float, scope: str = "tenant",
         ref: str | None = None, period: str = "total") -> None:
    with db.session() as session:
        set_budget(session, tenant, scope, ref, usd, period)


def test_reservation_is_settled_to_the_actual_cost(
    gateway: LLMGateway, db: Database, tenant: uuid.UUID, scope: CallScope
) -> None:
    _set(db, tenant, 1.0)
    result = gateway.chat(user("hi"), model="openai:gpt-4o", max_tokens=100, scope=scope)
    budget = _budget(db, tenant)
    assert budget.spent_usd_micros == result.cost_usd_micros > 0
    assert budget.reserved_usd_micros == 0
    [row] = ledger(gateway.settings)
    # Reserved from the prompt estimate and max_tokens at gpt-4o prices, before the call.
    assert row.reserved_usd_micros == pytest.approx(100 * 10 + 8 * 2.5, abs=1)
    assert row.reserved_budgets == [str(budget.id)]


def test_a_call_that_could_exceed_the_budget_is_refused_before_sending(
    gateway: LLMGateway, emu: LLMEmulator, db: Database, tenant: uuid.UUID, scope: CallScope
) -> None:
    _set(db, tenant, 0.0005)  # $0.0005 = 500 micro-dollars < ~1,020 needed for 100 tokens
    with pytest.raises(BudgetExceeded) as info:
        gateway.chat(user("hi"), model="openai:gpt-4o", max_tokens=100, scope=scope)
    message = info.value.message
    assert "budget of tenant exceeded" in message
    assert "openai:gpt-4o" in message
    assert "up to $0.001020" in message
    assert "only $0.000500 of $0.000500 is left" in message
    assert "revline llm budgets set --tenant-wide --limit" in message
    assert "\n" not in message
    assert info.value.status_code == 402
    assert emu.count() == 0
    assert ledger(gateway.settings) == []
    # A smaller answer fits: the estimate follows max_tokens.
    gateway.chat(user("hi"), model="openai:gpt-4o", max_tokens=20, scope=scope)


def test_budgets_are_hierarchical(
    gateway: LLMGateway, db: Database, tenant: uuid.UUID
) -> None:
    _set(db, tenant, 1.0)
    _set(db, tenant, 0.0005, "job", "run-7")
    job7 = CallScope(tenant_id=tenant, feature="t", job_id="run-7")
    job8 = CallScope(tenant_id=tenant, feature="t", job_id="run-8")
    with pytest.raises(BudgetExceeded, match="budget of job run-7 exceeded.*--job run-7"):
        gateway.chat(user("hi"), max_tokens=100, scope=job7)
    gateway.chat(user("hi"), max_tokens=100, scope=job8, cache=False)  # only the tenant's
    _set(db, tenant, 0.0001)  # now the tenant level itself is too low for anyone
    with pytest.raises(BudgetExceeded, match="budget of tenant exceeded"):
        gateway.chat(user("hi"), max_tokens=100, scope=job8, cache=False)
    for level, ref in (("workflow", "wf-1"), ("agent", "ag-1"), ("conversation", "c-1")):
        _set(db, tenant, 1.0)
        _set(db, tenant, 0.0001, level, ref)
        deep = CallScope(tenant_id=tenant, **{f"{level}_id": ref})
        with pytest.raises(BudgetExceeded, match=f"budget of {level} {ref} exceeded"):
            gateway.chat(user("hi"), max_tokens=100, scope=deep, cache=False)


def test_cache_hits_cost_nothing_and_pass_an_exhausted_budget(
    gateway: LLMGateway, db: Database, tenant: uuid.UUID, scope: CallScope
) -> None:
    _set(db, tenant, 1.0)
    first = gateway.chat(user("hi"), max_tokens=100, scope=scope)
    _set(db, tenant, 0.0)
    again = gateway.chat(user("hi"), max_tokens=100, scope=scope)
    assert again.cached
    assert again.text == first.text
    assert again.cost_usd_micros == 0


def _fifty_concurrent_calls(gateway: LLMGateway, emu: LLMEmulator) -> None:
    """50 threads start together against a budget that fits a few calls: no overspend."""
    db = gateway.db
    with db.session() as session:
        tenant = ensure_tenant(session, "load").id

    def slow_answer(req: dict[str, Any]) -> str:
        time.sleep(0.05)  # keep calls in flight together
        return "word " * 90  # 90 of the 100 max tokens: the estimate is close to the cost

    emu.responder = slow_answer
    limit_micros = 12_000  # ~11 calls at ~1,020 micro-dollars reserved each
    _set(db, tenant, limit_micros / 1e6)
    barrier = threading.Barrier(50)
    outcomes: list[str] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        scope = CallScope(tenant_id=tenant, feature="load", job_id=f"j{i}")
        barrier.wait()
        try:
            gateway.chat(user(f"call {i}"), model="openai:gpt-4o", max_tokens=100,
                         scope=scope, cache=False)
            outcome = "ok"
        except BudgetExceeded:
            outcome = "refused"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    budget = _budget(db, tenant)
    rows = ledger(gateway.settings)
    one_call = max(r.cost_usd_micros for r in rows)
    assert len(outcomes) == 50
    assert outcomes.count("ok") >= 1
    assert "refused" in outcomes
    assert budget.spent_usd_micros <= budget.limit_usd_micros + one_call
    assert budget.spent_usd_micros == sum(r.cost_usd_micros for r in rows)
    assert budget.reserved_usd_micros == 0
    assert len(rows) == outcomes.count("ok") == emu.count()


def test_fifty_concurrent_calls_respect_the_budget(
    gateway: LLMGateway, emu: LLMEmulator
) -> None:
    _fifty_concurrent_calls(gateway, emu)


@pytest.mark.postgres
def test_fifty_concurrent_calls_respect_the_budget_on_postgresql(
    pg_url: str, make_gateway: Callable[..., LLMGateway], emu: LLMEmulator
) -> None:
    gateway = make_gateway(database_url=pg_url)
    try:
        _fifty_concurrent_calls(gateway, emu)
    finally:
        gateway.close()
        gateway.db.dispose()


def test_a_crashed_call_s_reservation_is_released_when_it_blocks(
    make_gateway: Callable[..., LLMGateway], db: Database, tenant: uuid.UUID,
    scope: CallScope,
) -> None:
    gateway = make_gateway(llm_stale_reservation_s=0.0)
    _set(db, tenant, 0.0015)
    budget = _budget(db, tenant)
    store = gateway.store
    crashed = CallRow(uuid.uuid4(), tenant, "crashed", None, None, None, None, "default")
    with store.connection() as conn:  # a worker reserved, then died before settling
        stale = store.budgets(conn, tenant, scope.refs())
        assert store.reserve(conn, crashed, stale, 1000, utcnow()) is None
    assert _budget(db, tenant).reserved_usd_micros == 1000
    gateway.chat(user("hi"), model="openai:gpt-4o", max_tokens=100, scope=scope)
    rows = {r.id: r for r in ledger(gateway.settings)}
    assert rows[crashed.id].status == "abandoned"
    assert _budget(db, tenant).reserved_usd_micros == 0
    # If the "crashed" call settles after all, its spend counts; its reservation is not
    # given back twice.
    spent_before = _budget(db, tenant).spent_usd_micros
    with store.connection() as conn:
        store.settle(conn, crashed.id, [budget.id], 1000,
                     Settlement("ok", "openai", "gpt-4o", 1, 1, 13, "v", 1.0, 1), utcnow())
    after = _budget(db, tenant)
    assert after.spent_usd_micros == spent_before + 13
    assert after.reserved_usd_micros == 0


def test_daily_budget_rolls_over(
    gateway: LLMGateway, db: Database, tenant: uuid.UUID, scope: CallScope
) -> None:
    _set(db, tenant, 0.002, period="day")
    with db.session() as session:
        session.execute(update(LLMBudget).values(
            spent_usd_micros=2000, period_start=utcnow() - timedelta(days=2)))
    gateway.chat(user("hi"), max_tokens=100, model="openai:gpt-4o", scope=scope)
    budget = _budget(db, tenant)
    assert 0 < budget.spent_usd_micros < 2000
    assert budget.period_start.date() == utcnow().date()


def test_budget_admin_rules(db: Database, tenant: uuid.UUID) -> None:
    with db.session() as session:
        set_budget(session, tenant, "job", "r1", 2.0)
        changed = set_budget(session, tenant, "job", "r1", 3.0)
        assert changed.limit_usd_micros == 3_000_000
        with pytest.raises(InvalidInput, match="needs the job id"):
            set_budget(session, tenant, "job", None, 1.0)
        with pytest.raises(InvalidInput, match="unknown budget scope"):
            set_budget(session, tenant, "team", "x", 1.0)
        with pytest.raises(InvalidInput, match="non-negative"):
            set_budget(session, tenant, "tenant", None, -1)
        with pytest.raises(InvalidInput, match="at most"):  # would overflow the BIGINT column
            set_budget(session, tenant, "tenant", None, 1e300)
        with pytest.raises(InvalidInput, match="unknown budget period"):
            set_budget(session, tenant, "tenant", None, 1, "week")
        with pytest.raises(InvalidInput, match="--older-than"):  # would free calls in flight
            release_stale(session, -5)
        delete_budget(session, tenant, "job", "r1")
        with pytest.raises(NotFound, match="no LLM budget for job r1"):
            delete_budget(session, tenant, "job", "r1")


def test_a_late_abort_never_overwrites_a_settled_call(
    gateway: LLMGateway, db: Database, tenant: uuid.UUID, scope: CallScope
) -> None:
    """A task cancelled while its settlement runs in a worker thread: the abort that follows
    must leave the settled row (and the budget it charged) as they are."""
    from revline.kernel.llm.providers import Completion

    _set(db, tenant, 1.0)
    call = gateway.prepare(user("hi"), model="openai:gpt-4o", max_tokens=100, scope=scope)
    res = gateway.reserve(call, list(call.plan))
    result = gateway.finish(call, res, call.plan[0], Completion("hello", "gpt-4o", 3, 4), None)[0]
    res.settled = False  # the cancelled coroutine has not seen the thread's settlement yet
    gateway.abort(res, RuntimeError("cancelled"))
    [row] = ledger(gateway.settings)
    assert (row.status, row.cost_usd_micros) == ("ok", result.cost_usd_micros)
    budget = _budget(db, tenant)
    assert budget.spent_usd_micros == result.cost_usd_micros
    assert budget.reserved_usd_micros == 0
