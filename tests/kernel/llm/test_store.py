"""Hot-path rows (plain DBAPI) read back through the ORM identically, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import select

from revline.kernel.auth import ensure_tenant
from revline.kernel.db import get_database
from revline.kernel.errors import BudgetExceeded
from revline.kernel.llm import CallScope, LLMGateway
from revline.kernel.llm.budgets import list_budgets, set_budget
from revline.kernel.llm.ledger import cost_summary, recent_calls
from revline.kernel.llm.models import LLMCacheEntry, LLMCall
from tests.emulators.llm_server import LLMEmulator
from tests.kernel.llm.conftest import user


def _exercise(gateway: LLMGateway, emu: LLMEmulator) -> None:
    db = gateway.db
    with db.session() as session:
        tenant = ensure_tenant(session, "acme").id
        set_budget(session, tenant, "tenant", None, 1.0)
        set_budget(session, tenant, "job", "run-1", 0.5, "month")
    scope = CallScope(tenant_id=tenant, feature="store", job_id="run-1", agent_id="ag")
    first = gateway.chat(user("hi"), scope=scope, max_tokens=100)
    hit = gateway.chat(user("hi"), scope=scope, max_tokens=100)
    streamed = gateway.stream(user("more"), scope=scope, max_tokens=100, cache=False)
    assert "".join(streamed)
    assert streamed.result is not None
    with pytest.raises(BudgetExceeded):
        gateway.chat(user("big"), scope=scope, max_tokens=100_000)
    assert hit.cached
    assert emu.count() == 2
    with db.session() as session:
        rows = list(session.scalars(select(LLMCall).order_by(LLMCall.created_at)))
        assert [r.id for r in rows[:2]] == [first.call_id, hit.call_id]
        row = rows[0]
        assert isinstance(row.id, uuid.UUID)
        assert row.tenant_id == tenant
        assert row.created_at.tzinfo is not None
        assert (row.feature, row.job_id, row.agent_id, row.workflow_id) == (
            "store", "run-1", "ag", None)
        assert (row.status, row.cached, row.cost_usd_micros) == ("ok", False,
                                                                 first.cost_usd_micros)
        assert rows[1].cached is True
        assert rows[1].cost_usd_micros == 0
        budgets = {b.scope: b for b in list_budgets(session, tenant)}
        assert str(budgets["job"].id) in row.reserved_budgets
        spent = first.cost_usd_micros + streamed.result.cost_usd_micros
        for budget in budgets.values():
            assert budget.spent_usd_micros == spent
            assert budget.reserved_usd_micros == 0
        entry = session.scalars(select(LLMCacheEntry)).one()
        assert entry.tenant_id == tenant
        assert entry.value["text"] == first.text
        assert entry.expires_at > row.created_at
        summary = cost_summary(session, tenant, by="day")
        assert summary["total"]["calls"] == 3
        assert summary["total"]["cache_hits"] == 1
        assert summary["groups"][0]["key"] == row.created_at.strftime("%Y-%m-%d")
        assert recent_calls(session, tenant, limit=1)[0]["id"] == str(rows[-1].id)


def test_sqlite_rows(gateway: LLMGateway, emu: LLMEmulator) -> None:
    _exercise(gateway, emu)


@pytest.mark.postgres
def test_postgresql_rows(
    pg_url: str, make_gateway: Callable[..., LLMGateway], emu: LLMEmulator
) -> None:
    gateway = make_gateway(database_url=pg_url)
    try:
        _exercise(gateway, emu)
    finally:
        gateway.close()
        get_database(gateway.settings).dispose()
