"""The Meta Marketing API adapter against the local Graph API emulator."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from revline.ads import service
from revline.ads.adapters.base import PlatformError
from revline.ads.adapters.meta import MetaAdapter, parse_usage
from revline.ads.executor import ChangeExecutor
from revline.ads.models import Ad, AdAccount, AdChangeHistory, PendingAdChange
from revline.ads.schemas import BudgetChangeIn
from revline.kernel.config import Settings, get_settings
from revline.kernel.db import Database
from tests.emulators.meta_server import ACCOUNT, META_TOKEN, VERSION, DayStats, MetaEmulator


def _adapter_call(meta: MetaEmulator, fn: str, *args: object, token: str = META_TOKEN) -> object:
    async def go() -> object:
        async with httpx.AsyncClient() as client:
            adapter = MetaAdapter(client, meta.base_url, VERSION, token)
            return await getattr(adapter, fn)(*args)

    return asyncio.run(go())


def _synced(db: Database, meta: MetaEmulator, tenant_id: uuid.UUID) -> dict[str, Ad]:
    with db.session() as session:
        service.sync_meta(session, get_settings(), tenant_id)
    with db.session() as session:
        return {a.external_id: a for a in session.scalars(select(Ad))}


def _queue(db: Database, tenant_id: uuid.UUID, ad_id: uuid.UUID, budget: int) -> uuid.UUID:
    with db.session() as session:
        return service.request_budget(session, get_settings(), tenant_id, ad_id,
                                      BudgetChangeIn(daily_budget_minor=budget),
                                      execute_after=False).id


def _one_change(db: Database, meta: MetaEmulator, tenant_id: uuid.UUID, adset: str,
                requested: int) -> tuple[Ad, uuid.UUID]:
    """A synced $100/day ad set with one queued budget change: (ad, change id)."""
    meta.add_adset(adset, daily_budget=10_000)
    ad = _synced(db, meta, tenant_id)[adset]
    return ad, _queue(db, tenant_id, ad.id, requested)


def test_sync_reads_adsets_learning_insights_and_usage(
    db: Database, meta: MetaEmulator, tenant_id: uuid.UUID
) -> None:
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    meta.add_adset("11", daily_budget=5_000, learning="LEARNING", campaign_id="c-7",
                   days=[DayStats(yesterday, "123.45", purchases=3, purchase_value="400.10")])
    meta.add_adset("12", daily_budget=7_500, days=[DayStats(yesterday, "10.00")])
    meta.add_adset("13", daily_budget=2_000, status="PAUSED")
    meta.usage_pct = 42
    ads = _synced(db, meta, tenant_id)
    assert set(ads) == {"11", "12", "13"}  # three ad sets over two pages
    assert ads["11"].daily_budget_minor == 5_000
    assert ads["11"].campaign_id == "c-7"
    assert ads["11"].learning_status == "LEARNING"
    assert ads["13"].status == "paused"
    with db.session() as session:
        view = {v.external_id: v for v in service.ad_views(session, tenant_id)}
        account = session.scalars(select(AdAccount)).one()
    assert view["11"].spend_minor == 12_345
    # purchase and omni_purchase report the same sale: counted once.
    assert view["11"].platform_revenue_minor == 40_010
    assert view["12"].spend_minor == 1_000
    assert account.external_id == ACCOUNT
    assert account.usage_pct == 42
    # A second sync updates in place.
    meta.adsets["12"].daily_budget = 9_000
    assert _synced(db, meta, tenant_id)["12"].daily_budget_minor == 9_000


def test_budget_change_reaches_meta_as_minor_unit_string(
    db: Database, meta: MetaEmulator, tenant_id: uuid.UUID
) -> None:
    _, change = _one_change(db, meta, tenant_id, "21", 11_500)
    report = ChangeExecutor(db, get_settings(), rng=random.Random(4)).run()
    assert report.outcomes == {"applied": 1}
    [body] = meta.writes("21")
    assert body["daily_budget"].isdigit()
    applied = int(body["daily_budget"])
    assert applied == 11_500  # already on the $1 grid, so fuzzy rounding keeps it
    assert meta.adsets["21"].daily_budget == applied
    with db.session() as session:
        row = session.get(PendingAdChange, change)
        assert row is not None
        assert row.applied_budget_minor == applied


def test_kill_pauses_the_adset(db: Database, meta: MetaEmulator, tenant_id: uuid.UUID) -> None:
    from revline.ads.executor import enqueue

    meta.add_adset("31", daily_budget=10_000)
    ad = _synced(db, meta, tenant_id)["31"]
    with db.session() as session:
        enqueue(session, tenant_id, ad.id, "pause", requested_budget_minor=None, reason="kill",
                origin="rules", now=datetime.now(UTC), jitter_s=0, lease_s=300)
    assert ChangeExecutor(db, get_settings()).run().outcomes == {"applied": 1}
    assert meta.adsets["31"].status == "PAUSED"
    with db.session() as session:
        row = session.get(Ad, ad.id)
        assert row is not None
        assert row.status == "paused"


def test_rate_limit_error_throttles_the_account_and_holds(
    db: Database, meta: MetaEmulator, tenant_id: uuid.UUID
) -> None:
    meta.add_adset("41", daily_budget=10_000)
    meta.add_adset("42", daily_budget=10_000)
    ads = _synced(db, meta, tenant_id)
    first = _queue(db, tenant_id, ads["41"].id, 11_000)
    meta.fail_next(80004, subcode=2446079, regain=7)
    now = datetime.now(UTC) + timedelta(seconds=1)
    report = ChangeExecutor(db, get_settings(), clock=lambda: now).run()
    assert report.outcomes == {"rate_limited": 1}
    with db.session() as session:
        account = session.scalars(select(AdAccount)).one()
        change = session.get(PendingAdChange, first)
        [row] = session.scalars(select(AdChangeHistory)).all()
        assert account.throttled_until == now + timedelta(minutes=7)
        assert account.usage_pct == 100
        assert change is not None
        assert change.status == "pending"
        assert change.not_before == now + timedelta(minutes=7)
    assert row.outcome == "rate_limited"
    assert row.details["code"] == 80004
    # While throttled, the account guard holds other changes without calling Meta at all.
    second = _queue(db, tenant_id, ads["42"].id, 11_000)
    calls = len(meta.requests)
    later = now + timedelta(minutes=1)
    assert ChangeExecutor(db, get_settings(), clock=lambda: later).run().outcomes == \
        {"held": 1}
    assert len(meta.requests) == calls
    with db.session() as session:
        held = session.scalars(select(AdChangeHistory).where(
            AdChangeHistory.change_id == second)).one()
    assert held.guard == "account_rate_limit"
    # After the wait, with usage back to normal, both go through.
    meta.usage_pct, meta.regain_minutes = 10, 0
    after = now + timedelta(minutes=8)
    with db.session() as session:
        session.scalars(select(AdAccount)).one().usage_pct = 10
    assert ChangeExecutor(db, get_settings(), clock=lambda: after).run().outcomes == \
        {"applied": 2}


def test_high_usage_header_holds_the_next_change(
    db: Database, meta: MetaEmulator, tenant_id: uuid.UUID
) -> None:
    meta.add_adset("51", daily_budget=10_000)
    ad = _synced(db, meta, tenant_id)["51"]
    meta.usage_pct, meta.regain_minutes = 88, 4
    _queue(db, tenant_id, ad.id, 11_000)
    report = ChangeExecutor(db, get_settings()).run()
    # The state read returned the 88% header: the write is held, not attempted.
    assert report.outcomes == {"held": 1}
    assert meta.writes("51") == []
    with db.session() as session:
        row = session.scalars(select(AdChangeHistory)).one()
    assert row.guard == "account_rate_limit"
    assert "88%" in row.reason


def test_learning_stage_from_meta_holds(
    db: Database, meta: MetaEmulator, tenant_id: uuid.UUID
) -> None:
    meta.add_adset("61", daily_budget=10_000, learning="SUCCESS")
    ad = _synced(db, meta, tenant_id)["61"]
    meta.adsets["61"].learning = "LEARNING"  # a fresh edit elsewhere restarted learning
    _queue(db, tenant_id, ad.id, 11_000)
    assert ChangeExecutor(db, get_settings()).run().outcomes == {"held": 1}
    assert meta.writes("61") == []


def test_velocity_uses_todays_insights(
    db: Database, meta: MetaEmulator, tenant_id: uuid.UUID
) -> None:
    meta.add_adset("71", daily_budget=10_000, spend_today="160.00")
    ad = _synced(db, meta, tenant_id)["71"]
    _queue(db, tenant_id, ad.id, 11_000)
    assert ChangeExecutor(db, get_settings()).run().outcomes == {"held": 1}
    with db.session() as session:
        assert session.scalars(select(AdChangeHistory)).one().guard == "spend_velocity"


def test_transient_errors_retry_then_give_up(
    db: Database, meta: MetaEmulator, tenant_id: uuid.UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REVLINE_ADS_CHANGE_MAX_ATTEMPTS", "2")
    get_settings.cache_clear()
    meta.add_adset("91", daily_budget=10_000)
    ad = _synced(db, meta, tenant_id)["91"]
    change = _queue(db, tenant_id, ad.id, 11_000)
    for _ in range(2):
        meta.fail_next(2, message="An unexpected error has occurred.", status=500)
    now = datetime.now(UTC) + timedelta(seconds=1)
    executor = ChangeExecutor(db, get_settings(), clock=lambda: now)
    assert executor.run().outcomes == {"failed": 1}
    with db.session() as session:
        row = session.get(PendingAdChange, change)
        assert row is not None
        assert (row.status, row.not_before) == ("pending", now + timedelta(minutes=2))
    now += timedelta(minutes=3)
    assert executor.run().outcomes == {"failed": 1}
    with db.session() as session:
        row = session.get(PendingAdChange, change)
        assert row is not None
        assert row.status == "failed"
        assert "unexpected error" in (row.outcome or "")
    # A request Meta calls invalid is not retried at all.
    meta.add_adset("92", daily_budget=10_000)
    ad2 = _synced(db, meta, tenant_id)["92"]
    _queue(db, tenant_id, ad2.id, 11_000)
    meta.fail_next(100, message="(#100) Invalid parameter")
    assert ChangeExecutor(db, get_settings(), clock=lambda: now).run().outcomes == \
        {"failed": 1}
    assert meta.writes("92") == []


def test_adapter_errors(meta: MetaEmulator) -> None:
    meta.add_adset("81", daily_budget=10_000)
    with pytest.raises(PlatformError, match="access token is invalid") as bad:
        _adapter_call(meta, "get_adset", "81", token="wrong")
    assert bad.value.code == 190
    assert not bad.value.rate_limited
    assert "wrong" not in bad.value.message
    with pytest.raises(PlatformError, match="does not exist"):
        _adapter_call(meta, "get_adset", "nope")
    # Meta's own limit: a fifth budget edit within the hour is refused with code 17.
    for budget in (11_000, 12_000, 13_000, 14_000):
        _adapter_call(meta, "set_daily_budget", "81", budget)
    with pytest.raises(PlatformError) as limited:
        _adapter_call(meta, "set_daily_budget", "81", 15_000)
    assert limited.value.code == 17
    assert limited.value.rate_limited
    with pytest.raises(PlatformError, match="too low"):
        _adapter_call(meta, "set_daily_budget", "81", 50)


def test_parse_usage_headers() -> None:
    usage = parse_usage({"x-business-use-case-usage": (
        '{"1001": [{"type": "ads_management", "call_count": 28, "total_cputime": 61, '
        '"total_time": 12, "estimated_time_to_regain_access": 0}], '
        '"1002": [{"type": "ads_insights", "call_count": 3, "total_cputime": 1, '
        '"total_time": 1, "estimated_time_to_regain_access": 11}]}')})
    assert usage is not None
    assert (usage.pct, usage.regain_minutes) == (61, 11)
    legacy = parse_usage({"x-ad-account-usage":
                          '{"acc_id_util_pct": 9.67, "reset_time_duration": 100}'})
    assert legacy is not None
    assert (legacy.pct, legacy.regain_minutes) == (9, 2)
    assert parse_usage({"x-business-use-case-usage": "not json"}) is None
    assert parse_usage({}) is None


def test_sync_needs_configuration(db: Database, settings: Settings, tenant_id: uuid.UUID) -> None:
    from revline.kernel.errors import ConfigError

    with db.session() as session, pytest.raises(ConfigError, match="REVLINE_META_ACCESS_TOKEN"):
        service.sync_meta(session, settings, tenant_id)
    with db.session() as session:
        assert session.scalars(select(AdAccount)).all() == []


class _WriteLandsThenTimesOut(httpx.AsyncBaseTransport):
    """Meta takes the budget write, but its answer never arrives (a read timeout)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST":
            await response.aclose()
            raise httpx.ReadTimeout("no answer", request=request)
        return response


def _assert_one_step_applied(db: Database, meta: MetaEmulator, adset: str,
                             change: uuid.UUID) -> None:
    """$100 -> $120 written to Meta exactly once, and the change closed as applied at $120."""
    assert meta.adsets[adset].daily_budget == 12_000
    assert len(meta.writes(adset)) == 1
    with db.session() as session:
        row = session.get(PendingAdChange, change)
        assert row is not None
        assert (row.status, row.applied_budget_minor) == ("applied", 12_000)


def test_a_write_that_landed_is_not_written_again_after_a_timeout(
    db: Database, meta: MetaEmulator, tenant_id: uuid.UUID
) -> None:
    _, change = _one_change(db, meta, tenant_id, "93", 20_000)
    now = datetime.now(UTC) + timedelta(seconds=1)
    flaky = ChangeExecutor(db, get_settings(), clock=lambda: now, rng=random.Random(0),
                           transport=_WriteLandsThenTimesOut())
    assert flaky.run().outcomes == {"failed": 1}  # retryable: held for a retry
    assert meta.adsets["93"].daily_budget == 12_000  # ... but Meta applied it
    later = now + timedelta(minutes=3)
    retry = ChangeExecutor(db, get_settings(), clock=lambda: later, rng=random.Random(0))
    assert retry.run().outcomes == {"applied": 1}
    # One change, one step: the retry sees its own write and does not add a second 20%.
    _assert_one_step_applied(db, meta, "93", change)
    with db.session() as session:
        applied = session.scalars(select(AdChangeHistory).where(
            AdChangeHistory.change_id == change, AdChangeHistory.outcome == "applied")).one()
    assert applied.to_budget_minor == 12_000
    assert "already landed" in applied.reason


def test_a_rescuer_does_not_repeat_a_dead_workers_write(
    db: Database, meta: MetaEmulator, tenant_id: uuid.UUID
) -> None:
    from revline.ads.executor import claim
    from revline.ads.executor import queue as q

    _, change = _one_change(db, meta, tenant_id, "94", 20_000)
    settings = get_settings()
    t0 = datetime.now(UTC) + timedelta(seconds=1)
    [dead] = claim(db, "dead-worker", 1, settings.ads_executor_lease_s, t0)
    # The dead worker got as far as the write: its lease renewal named the target, Meta
    # applied it, and the process died before recording anything.
    with db.session() as session:
        assert q.renew(session, dead, t0, intent_minor=12_000)
    _adapter_call(meta, "set_daily_budget", "94", 12_000)
    later = t0 + timedelta(seconds=settings.ads_executor_lease_s + 1)
    rescuer = ChangeExecutor(db, settings, worker="rescuer", clock=lambda: later)
    assert rescuer.run().outcomes == {"applied": 1}
    _assert_one_step_applied(db, meta, "94", change)
