"""The exact-match response cache: on at temperature 0, TTL, per-tenant isolation, admin."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from revline.kernel.auth import ensure_tenant
from revline.kernel.db import Database
from revline.kernel.llm import CallScope, LLMGateway
from revline.kernel.llm.cache import cache_clear, cache_stats
from tests.emulators.llm_server import LLMEmulator
from tests.kernel.llm.conftest import ledger, user


def test_temperature_zero_is_cached_and_recorded_as_a_free_hit(
    gateway: LLMGateway, emu: LLMEmulator, scope: CallScope
) -> None:
    first = gateway.chat(user("hi"), scope=scope)
    second = gateway.chat(user("hi"), scope=scope)
    assert emu.count() == 1
    assert (second.text, second.model, second.cached) == (first.text, first.model, True)
    assert second.cost_usd_micros == 0
    assert second.call_id != first.call_id
    rows = ledger(gateway.settings)
    assert [(r.cached, r.status) for r in rows] == [(False, "ok"), (True, "ok")]
    assert rows[1].cost_usd_micros == 0
    assert rows[1].feature == "tests.llm"


def test_what_changes_the_answer_changes_the_key(
    gateway: LLMGateway, emu: LLMEmulator, scope: CallScope
) -> None:
    gateway.chat(user("hi"), scope=scope)
    gateway.chat(user("hi"), scope=scope, max_tokens=99)
    gateway.chat(user("hi"), scope=scope, model="cheap")
    gateway.chat(user("hi"), scope=scope, json_mode=True)
    gateway.chat(user("hello"), scope=scope)
    assert emu.count() == 5


def test_sampling_calls_are_not_cached_unless_asked(
    gateway: LLMGateway, emu: LLMEmulator, scope: CallScope
) -> None:
    gateway.chat(user("hi"), scope=scope, temperature=0.7)
    gateway.chat(user("hi"), scope=scope, temperature=0.7)
    assert emu.count() == 2
    gateway.chat(user("hi"), scope=scope, temperature=0.7, cache=True)
    gateway.chat(user("hi"), scope=scope, temperature=0.7, cache=True)
    assert emu.count() == 3
    gateway.chat(user("zero"), scope=scope, cache=False)
    gateway.chat(user("zero"), scope=scope, cache=False)
    assert emu.count() == 5


def test_tenants_never_see_each_other_s_answers(
    gateway: LLMGateway, emu: LLMEmulator, db: Database, tenant: uuid.UUID
) -> None:
    with db.session() as session:
        other = ensure_tenant(session, "globex").id
    emu.responder = lambda req: f"answer {emu.count()}"
    a = gateway.chat(user("same question"), scope=CallScope(tenant_id=tenant))
    b = gateway.chat(user("same question"), scope=CallScope(tenant_id=other))
    assert not b.cached
    assert a.text != b.text
    assert emu.count() == 2
    assert gateway.chat(user("same question"), scope=CallScope(tenant_id=other)).text == b.text


def test_entries_expire_after_the_ttl(
    make_gateway: Callable[..., LLMGateway], emu: LLMEmulator, scope: CallScope
) -> None:
    gateway = make_gateway(llm_cache_ttl_s=0)
    gateway.chat(user("hi"), scope=scope)
    assert not gateway.chat(user("hi"), scope=scope).cached
    assert emu.count() == 2


def test_cache_can_be_switched_off(
    make_gateway: Callable[..., LLMGateway], emu: LLMEmulator, scope: CallScope
) -> None:
    gateway = make_gateway(llm_cache_enabled=False)
    gateway.chat(user("hi"), scope=scope)
    gateway.chat(user("hi"), scope=scope)
    assert emu.count() == 2


def test_stats_and_clear_are_per_tenant(
    make_gateway: Callable[..., LLMGateway], db: Database, tenant: uuid.UUID
) -> None:
    gateway = make_gateway(llm_cache_ttl_s=0)
    gateway.chat(user("a"), scope=CallScope(tenant_id=tenant))
    live = make_gateway()
    live.chat(user("b"), scope=CallScope(tenant_id=tenant))
    with db.session() as session:
        assert cache_stats(session, tenant) == {"entries": 2, "live": 1, "expired": 1}
        assert cache_clear(session, tenant, expired_only=True) == 1
        assert cache_clear(session, uuid.uuid4()) == 0
        assert cache_clear(session, tenant) == 1
