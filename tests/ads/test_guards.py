"""Each executor guard on its own, then through the executor with the audit log it leaves."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from revline.ads import service
from revline.ads.executor import ChangeExecutor, guards
from revline.ads.executor.guards import GuardContext
from revline.ads.models import Ad, AdAccount, AdChangeHistory, PendingAdChange
from revline.ads.schemas import AdsRules, BudgetChangeIn
from revline.kernel.config import Settings, get_settings
from revline.kernel.db import Database
from tests.ads.conftest import make_ad

NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def ctx(**kw: object) -> GuardContext:
    base: dict[str, object] = {
        "now": NOON, "action": guards.SET_BUDGET, "currency": "USD",
        "current_budget_minor": 10_000, "requested_budget_minor": 11_000,
        "learning_status": "SUCCESS", "recent_budget_changes": [], "spend_today_minor": None,
        "account_usage_pct": 10, "account_regain_minutes": 0, "throttled_until": None,
    }
    base.update(kw)
    return GuardContext(**base)  # type: ignore[arg-type]


RULES = AdsRules()


def test_jitter_is_random_and_bounded() -> None:
    rng = random.Random(1)
    delays = [guards.jitter_seconds(rng, 120) for _ in range(200)]
    assert all(0 <= d <= 120 for d in delays)
    assert len({round(d, 3) for d in delays}) > 190
    assert guards.jitter_seconds(rng, 0) == 0


def test_fuzzy_budgets_round_randomly_but_unbiased() -> None:
    rng = random.Random(2)
    values = [guards.fuzzy_round(12_345, 100, 8_000, 20_000, rng) for _ in range(4000)]
    assert set(values) == {12_300, 12_400}
    assert sum(values) / len(values) == pytest.approx(12_345, abs=5)
    # Never outside the allowed range, even when rounding up would cross it.
    assert guards.fuzzy_round(11_990, 100, 8_000, 11_990, random.Random(3)) == 11_900


def test_max_step_clamps_both_ways() -> None:
    up = guards.shape_budget(ctx(requested_budget_minor=50_000), RULES, random.Random(0))
    assert up.kind == guards.PROCEED
    assert up.target_budget_minor == 12_000
    assert any("max step 20%" in n for n in up.notes)
    down = guards.shape_budget(ctx(requested_budget_minor=0), RULES, random.Random(0))
    assert down.target_budget_minor == 8_000
    tighter = AdsRules(max_step_pct=5)
    assert guards.shape_budget(ctx(requested_budget_minor=50_000), tighter,
                               random.Random(0)).target_budget_minor == 10_500


def test_minimum_budget_floor() -> None:
    rules = AdsRules(min_budget_minor=9_500)
    shaped = guards.shape_budget(ctx(requested_budget_minor=1_000), rules, random.Random(0))
    assert shaped.target_budget_minor == 9_500
    assert shaped.kind == guards.PROCEED


def test_noop_when_nothing_would_change() -> None:
    verdict = guards.evaluate(ctx(requested_budget_minor=10_000), RULES, random.Random(0))
    assert verdict.kind == guards.NOOP


def test_meta_hourly_budget_change_limit() -> None:
    edits = [NOON - timedelta(minutes=m) for m in (5, 15, 25, 50)]
    held = guards.evaluate(ctx(recent_budget_changes=edits), RULES, random.Random(0))
    assert held.kind == guards.HOLD
    assert held.guard == "budget_changes_per_hour"
    assert held.retry_at == NOON - timedelta(minutes=50) + timedelta(hours=1)
    three = guards.evaluate(ctx(recent_budget_changes=edits[:3]), RULES, random.Random(0))
    assert three.kind == guards.PROCEED


def test_account_rate_limit_from_usage_header() -> None:
    busy = guards.evaluate(ctx(account_usage_pct=80, account_regain_minutes=12), RULES,
                           random.Random(0))
    assert busy.kind == guards.HOLD
    assert busy.guard == "account_rate_limit"
    assert busy.retry_at == NOON + timedelta(minutes=12)
    throttled = guards.evaluate(ctx(throttled_until=NOON + timedelta(minutes=3),
                                    action=guards.PAUSE), RULES, random.Random(0))
    assert throttled.kind == guards.HOLD  # even a pause waits for the account to recover
    assert guards.evaluate(ctx(account_usage_pct=74), RULES, random.Random(0)).kind == \
        guards.PROCEED


def test_spend_velocity_blocks_increases_only() -> None:
    # At noon, $80 spent of a $100/day budget is a $160/day pace: 1.6x > 1.5x.
    fast = guards.evaluate(ctx(spend_today_minor=8_000), RULES, random.Random(0))
    assert fast.kind == guards.HOLD
    assert fast.guard == "spend_velocity"
    slow = guards.evaluate(ctx(spend_today_minor=6_000), RULES, random.Random(0))
    assert slow.kind == guards.PROCEED
    cut = guards.evaluate(ctx(spend_today_minor=8_000, requested_budget_minor=9_000), RULES,
                          random.Random(0))
    assert cut.kind == guards.PROCEED


def test_learning_stage_holds_budget_edits_but_not_pauses() -> None:
    held = guards.evaluate(ctx(learning_status="LEARNING"), RULES, random.Random(0))
    assert held.kind == guards.HOLD
    assert held.guard == "learning_stage"
    assert held.retry_at == NOON + timedelta(minutes=360)
    assert guards.evaluate(ctx(learning_status="LEARNING", action=guards.PAUSE), RULES,
                           random.Random(0)).kind == guards.PROCEED
    off = AdsRules(learning_hold=False)
    assert guards.evaluate(ctx(learning_status="LEARNING"), off, random.Random(0)).kind == \
        guards.PROCEED


# --- Through the executor (manual platform, real SQLite) ------------------------------------
@pytest.fixture
def no_jitter(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Settings:
    monkeypatch.setenv("REVLINE_ADS_JITTER_MAX_S", "0")
    get_settings.cache_clear()
    return get_settings()


def _queue(db: Database, s: Settings, tenant_id: uuid.UUID, ad_id: uuid.UUID,
           budget: int) -> uuid.UUID:
    with db.session() as session:
        return service.request_budget(session, s, tenant_id, ad_id,
                                      BudgetChangeIn(daily_budget_minor=budget),
                                      execute_after=False).id


def _history(db: Database, change_id: uuid.UUID) -> list[AdChangeHistory]:
    with db.session() as session:
        return list(session.scalars(select(AdChangeHistory).where(
            AdChangeHistory.change_id == change_id).order_by(AdChangeHistory.created_at)))


def test_jittered_change_is_not_claimed_before_due(
    db: Database, settings: Settings, tenant_id: uuid.UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REVLINE_ADS_JITTER_MAX_S", "600")
    get_settings.cache_clear()
    s = get_settings()
    ad_id = make_ad(db, tenant_id, "j-1")
    change_id = _queue(db, s, tenant_id, ad_id, 11_000)
    with db.session() as session:
        change = session.get(PendingAdChange, change_id)
        assert change is not None
        due, jitter = change.not_before, change.jitter_s
    assert 0 < jitter <= 600
    now = [due - timedelta(seconds=1)]
    executor = ChangeExecutor(db, s, clock=lambda: now[0], rng=random.Random(0))
    early = executor.run()
    assert early.claimed == 0
    assert early.waiting == 1
    assert early.next_due == due
    now[0] = due
    assert executor.run().outcomes == {"applied": 1}


def test_executor_applies_with_step_and_rounding_and_audits(
    db: Database, no_jitter: Settings, tenant_id: uuid.UUID
) -> None:
    ad_id = make_ad(db, tenant_id, "s-1", budget=10_000)
    change_id = _queue(db, no_jitter, tenant_id, ad_id, 30_000)
    report = ChangeExecutor(db, no_jitter, rng=random.Random(0)).run()
    assert report.outcomes == {"applied": 1}
    with db.session() as session:
        ad = session.get(Ad, ad_id)
        change = session.get(PendingAdChange, change_id)
        assert ad is not None
        assert change is not None
        assert ad.daily_budget_minor == 12_000 == change.applied_budget_minor
        assert change.status == "applied"
        assert change.claimed_at is None
    [row] = _history(db, change_id)
    assert (row.outcome, row.from_budget_minor, row.to_budget_minor) == ("applied", 10_000, 12_000)
    assert "max step 20%" in row.details["notes"][0]


def test_below_minimum_request_is_rejected_without_a_row(
    db: Database, no_jitter: Settings, tenant_id: uuid.UUID
) -> None:
    from revline.kernel.errors import InvalidInput

    ad_id = make_ad(db, tenant_id, "m-1")
    with pytest.raises(InvalidInput, match="below this tenant's minimum 1.00 USD"):
        _queue(db, no_jitter, tenant_id, ad_id, 99)
    with db.session() as session:
        assert session.scalars(select(PendingAdChange)).all() == []


def test_hourly_limit_holds_the_fifth_change_then_releases(
    db: Database, no_jitter: Settings, tenant_id: uuid.UUID
) -> None:
    ad_id = make_ad(db, tenant_id, "h-1", budget=10_000)
    now = [datetime.now(UTC)]  # requests are queued at the real time
    executor = ChangeExecutor(db, no_jitter, clock=lambda: now[0], rng=random.Random(0))
    for i in range(4):
        _queue(db, no_jitter, tenant_id, ad_id, 10_000 + (i + 1) * 1_000 if i % 2 == 0
               else 9_000)
        now[0] += timedelta(minutes=5)
        assert executor.run().outcomes == {"applied": 1}
    fifth = _queue(db, no_jitter, tenant_id, ad_id, 14_000)
    now[0] += timedelta(minutes=5)
    assert executor.run().outcomes == {"held": 1}
    [held] = _history(db, fifth)
    assert held.guard == "budget_changes_per_hour"
    with db.session() as session:
        change = session.get(PendingAdChange, fifth)
        assert change is not None
        assert change.status == "pending"
        assert "4 budget changes in the last hour" in (change.hold_reason or "")
        retry = change.not_before
    now[0] = retry
    assert executor.run().outcomes == {"applied": 1}
    assert [h.outcome for h in _history(db, fifth)] == ["held", "applied"]


def test_velocity_and_learning_hold_through_the_executor(
    db: Database, no_jitter: Settings, tenant_id: uuid.UUID
) -> None:

    from revline.ads.schemas import MetricIn, MetricsIn

    fast = make_ad(db, tenant_id, "v-1", budget=10_000)
    learning = make_ad(db, tenant_id, "l-1", budget=10_000)
    with db.session() as session:
        service.push_metrics(session, tenant_id, fast, MetricsIn(days=[MetricIn(
            # 160% of the daily budget spent already: a >1.5x pace whatever the hour.
            day=datetime.now(UTC).date(), spend_minor=16_000)]))
        row = session.get(Ad, learning)
        assert row is not None
        row.learning_status = "LEARNING"
    a = _queue(db, no_jitter, tenant_id, fast, 11_000)
    b = _queue(db, no_jitter, tenant_id, learning, 11_000)
    report = ChangeExecutor(db, no_jitter, rng=random.Random(0)).run()
    assert report.outcomes == {"held": 2}
    assert _history(db, a)[0].guard == "spend_velocity"
    assert _history(db, b)[0].guard == "learning_stage"


def test_account_usage_guard_through_the_executor(
    db: Database, no_jitter: Settings, tenant_id: uuid.UUID
) -> None:
    ad_id = make_ad(db, tenant_id, "u-1")
    with db.session() as session:
        account = session.scalars(select(AdAccount)).one()
        account.usage_pct = 91
        account.usage = {"regain_minutes": 9}
    change = _queue(db, no_jitter, tenant_id, ad_id, 11_000)
    now = datetime.now(UTC) + timedelta(seconds=1)
    assert ChangeExecutor(db, no_jitter, clock=lambda: now).run().outcomes == {"held": 1}
    [row] = _history(db, change)
    assert row.guard == "account_rate_limit"
    assert "91%" in row.reason
    assert row.details["retry_at"] == (now + timedelta(minutes=9)).isoformat()


def test_stale_changes_expire(db: Database, no_jitter: Settings, tenant_id: uuid.UUID) -> None:
    ad_id = make_ad(db, tenant_id, "e-1")
    change = _queue(db, no_jitter, tenant_id, ad_id, 11_000)
    later = datetime.now(UTC) + timedelta(hours=25)
    assert ChangeExecutor(db, no_jitter, clock=lambda: later).run().outcomes == {"expired": 1}
    assert _history(db, change)[0].outcome == "expired"
