"""Unit tests of the breaker, the cost guard, Retry-After parsing and the wait policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from tenacity import RetryCallState, Retrying

from revline.kernel.config import Settings
from revline.kernel.llm.errors import ProviderFailure
from revline.kernel.llm.prices import Price
from revline.kernel.llm.providers import retry_after_seconds
from revline.kernel.llm.resilience import CircuitBreaker, CostGuard, make_wait
from tests.kernel.llm.conftest import FakeClock


def test_breaker_opens_after_consecutive_failures_with_doubling_cooldown() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(clock, failures=3, cooldown_s=10, cooldown_max_s=25)
    assert not breaker.failure("d")
    assert not breaker.failure("d")
    breaker.success("d")  # a success resets the count
    assert not breaker.failure("d")
    assert not breaker.failure("d")
    assert breaker.failure("d")
    assert breaker.open_for("d") == 10
    clock.advance(10)
    assert breaker.open_for("d") == 0  # half-open: traffic may probe
    assert breaker.failure("d")
    assert breaker.open_for("d") == 20
    clock.advance(20)
    assert breaker.failure("d")
    assert breaker.open_for("d") == 25
    breaker.success("d")
    assert breaker.open_for("d") == 0
    assert breaker.state()["d"]["trips"] == 0


def test_cost_guard_rolling_mean_and_price_limit() -> None:
    clock = FakeClock()
    guard = CostGuard(clock, spike_usd=0.01, window=4, window_s=60, max_usd_per_mtok=20)
    cheap, dear = Price(1, 2), Price(30, 60)
    assert guard.check("d", dear) is not None
    assert "llm_max_usd_per_mtok" in str(
        guard.check("d", dear))
    guard.record("d", 20_000)
    guard.record("d", 20_000)
    assert guard.check("d", cheap) is None  # too few samples to call it a spike
    guard.record("d", 20_000)
    assert "cost spike: $0.0200 per call" in str(guard.check("d", cheap))
    for _ in range(4):  # cheap calls push the expensive ones out of the window
        guard.record("d", 100)
    assert guard.check("d", cheap) is None
    guard.record("e", 50_000)
    guard.record("e", 50_000)
    guard.record("e", 50_000)
    clock.advance(61)
    assert guard.check("e", cheap) is None  # old samples age out


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({"retry-after": "3"}, 3.0), ({"retry-after": "0.5"}, 0.5),
     ({"retry-after-ms": "250", "retry-after": "9"}, 0.25), ({}, None),
     ({"retry-after": "soon"}, None)],
)
def test_retry_after_parsing(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_seconds(headers) == expected


def test_retry_after_http_date() -> None:
    when = datetime.now(UTC) + timedelta(seconds=30)
    seconds = retry_after_seconds({"retry-after": format_datetime(when, usegmt=True)})
    assert seconds is not None
    assert 28 <= seconds <= 31


def _state(exc: BaseException, attempt: int) -> RetryCallState:
    state = RetryCallState(Retrying(), fn=None, args=(), kwargs={})
    state.attempt_number = attempt
    state.set_exception((type(exc), exc, None))
    return state


def test_wait_prefers_the_failed_attempt_s_retry_after() -> None:
    wait = make_wait(Settings(llm_backoff_base_s=1, llm_backoff_max_s=8))
    limited = ProviderFailure("rate_limit", "slow down", status=429, retry_after=4)
    assert 4 <= wait(_state(limited, 1)) <= 4.4
    broken = ProviderFailure("server", "oops", status=500)
    assert 1 <= wait(_state(broken, 1)) <= 2
    assert 4 <= wait(_state(broken, 3)) <= 5
    assert wait(_state(broken, 10)) == 8  # capped
