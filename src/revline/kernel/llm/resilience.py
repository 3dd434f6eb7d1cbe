"""Clock, retry policy, circuit breaker and cost-spike guard (per deployment, per process)."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from tenacity import RetryCallState, wait_exponential_jitter

from revline.kernel.config import Settings
from revline.kernel.llm.errors import ProviderFailure
from revline.kernel.llm.prices import Price


class Clock(Protocol):
    """Time source for backoff, breaker and cost windows; tests pass a fake one."""

    def monotonic(self) -> float:
        """Seconds on a monotonic clock."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block the thread."""
        ...

    async def asleep(self, seconds: float) -> None:
        """Suspend the task."""
        ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        """time.monotonic()."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """time.sleep()."""
        time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        """asyncio.sleep()."""
        await asyncio.sleep(seconds)


def make_wait(settings: Settings, rng: random.Random | None = None) -> Callable[
    [RetryCallState], float
]:
    """Tenacity wait: Retry-After of the attempt that just failed, else jittered backoff."""
    backoff = wait_exponential_jitter(
        multiplier=settings.llm_backoff_base_s,
        max=settings.llm_backoff_max_s,
        jitter=settings.llm_backoff_base_s,
    )
    rand = rng or random.Random()

    def wait(state: RetryCallState) -> float:
        # state.outcome is this attempt's outcome: the Retry-After is never a stale one.
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, ProviderFailure) and exc.retry_after is not None:
            spread = min(1.0, 0.1 * exc.retry_after)  # de-synchronise a herd of retriers
            return exc.retry_after + rand.uniform(0.0, spread)
        return float(backoff(state))

    return wait


@dataclass
class _Circuit:
    failures: int = 0  # consecutive
    trips: int = 0
    open_until: float | None = None


class CircuitBreaker:
    """Per-deployment breaker: N consecutive failures open it for an exponential cool-down.

    When the cool-down ends, traffic flows again (half-open); one more failure re-opens it
    for twice as long (capped), one success closes it and resets the cool-down.
    """

    def __init__(self, clock: Clock, failures: int, cooldown_s: float, cooldown_max_s: float):
        self.clock = clock
        self.threshold = failures
        self.cooldown_s = cooldown_s
        self.cooldown_max_s = cooldown_max_s
        self._circuits: dict[str, _Circuit] = {}
        self._lock = threading.Lock()

    def open_for(self, key: str) -> float:
        """Seconds the deployment stays closed to traffic (0 when it may be called)."""
        circuit = self._circuits.get(key)
        if circuit is None or circuit.open_until is None:
            return 0.0
        return max(0.0, circuit.open_until - self.clock.monotonic())

    def success(self, key: str) -> None:
        """A call succeeded: close the circuit and forget past trips."""
        circuit = self._circuits.get(key)
        if circuit is not None and (circuit.failures or circuit.open_until is not None):
            with self._lock:
                self._circuits[key] = _Circuit()

    def failure(self, key: str) -> bool:
        """An attempt failed for availability reasons; True when this opened the circuit."""
        with self._lock:
            circuit = self._circuits.setdefault(key, _Circuit())
            circuit.failures += 1
            half_open = circuit.open_until is not None
            if not half_open and circuit.failures < self.threshold:
                return False
            circuit.trips += 1
            cooldown = min(self.cooldown_max_s, self.cooldown_s * 2 ** (circuit.trips - 1))
            circuit.open_until = self.clock.monotonic() + cooldown
            circuit.failures = 0
            return True

    def state(self) -> dict[str, dict[str, float | int]]:
        """Breaker state per deployment, for `revline llm models` and the API."""
        return {
            key: {"failures": c.failures, "trips": c.trips, "open_for_s": self.open_for(key)}
            for key, c in list(self._circuits.items())
        }


@dataclass
class _Window:
    costs: deque[tuple[float, int]] = field(default_factory=deque)


class CostGuard:
    """Skips a deployment whose price per token, or rolling $ per success, is over a limit."""

    MIN_SAMPLES = 3

    def __init__(
        self,
        clock: Clock,
        spike_usd: float | None,
        window: int,
        window_s: float,
        max_usd_per_mtok: float | None,
    ) -> None:
        self.clock = clock
        self.spike_micros = None if spike_usd is None else spike_usd * 1_000_000
        self.window = window
        self.window_s = window_s
        self.max_per_mtok = max_usd_per_mtok
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()

    def _prune(self, win: _Window) -> None:
        horizon = self.clock.monotonic() - self.window_s
        while win.costs and (win.costs[0][0] < horizon or len(win.costs) > self.window):
            win.costs.popleft()

    def rolling_mean_micros(self, key: str) -> float | None:
        """Mean cost of the recent successful calls, None with too few samples."""
        win = self._windows.get(key)
        if win is None:
            return None
        with self._lock:
            self._prune(win)
            if len(win.costs) < min(self.MIN_SAMPLES, self.window):
                return None
            return sum(c for _, c in win.costs) / len(win.costs)

    def check(self, key: str, price: Price) -> str | None:
        """Why this deployment is too expensive right now, or None."""
        if self.max_per_mtok is not None and price.max_per_mtok > self.max_per_mtok:
            return (f"price ${price.max_per_mtok:g}/1M tokens is above llm_max_usd_per_mtok "
                    f"${self.max_per_mtok:g}")
        if self.spike_micros is not None:
            mean = self.rolling_mean_micros(key)
            if mean is not None and mean > self.spike_micros:
                return (f"cost spike: ${mean / 1e6:.4f} per call (rolling mean) is above "
                        f"llm_cost_spike_usd ${self.spike_micros / 1e6:g}")
        return None

    def record(self, key: str, cost_micros: int) -> None:
        """Add a successful call's cost to the deployment's rolling window."""
        if self.spike_micros is None:
            return
        with self._lock:
            win = self._windows.setdefault(key, _Window())
            win.costs.append((self.clock.monotonic(), cost_micros))
            self._prune(win)
